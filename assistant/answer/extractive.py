"""The extractive drafter: an answer quoted from the evidence, with no model.

It is not a chat model and does not pretend to be one. Given the evidence sentences, it scores
each against the question (embedding similarity, idf-weighted term overlap, how well its paper
as a whole answers, whether it states a finding rather than background, and whether it is the
kind of sentence the question asks for: a definition for "what is X", a figure for "how much",
a method for "how does"), then picks: first
the best sentence of every paper that answers well enough, then more sentences of the best
papers, diverse (maximal marginal relevance) and never near-duplicates. It writes them grouped
by paper, best first, each citing its evidence as [n]; the draft then passes the same
enforcement as a model's. Only a shortlist chosen by the cheap scores is embedded: embedding is
the cost (~8 ms a sentence on two cores), and a process remembers the vectors it made
(index.embedder.remembered), so a warm one embeds only sentences it has not quoted before.

A related-work section it builds from the papers' records and own sentences ("Zhai et al.
(2023) propose ... [n]"), one paragraph per theme found by clustering.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np

from ..config import ExtractiveWeights
from ..retrieve import Evidence
from .attribution import contribution, distinct_attributions, in_first_person, is_background, is_finding
from .drafting import Brief, Draft, Embed, cluster_themes
from .themes import Theme
from .markers import quotable
from .relevance import TermWeights, focus_words, question_coverage
from ..text import STOPWORDS, content_terms, split_sentences, stem

# Evidence sentences too short to stand alone as an answer sentence ("Code is available.").
_MIN_QUOTE_WORDS = 6
_BOILERPLATE = ("http://", "https://", "github.com", "code is available", "code will be", "is available at")
# Pieces of a sentence, not sentences: "(3) What capabilities ...", "... show that: 1.", a
# question, or a split that starts inside a clause ("and improves ...").
_FRAGMENT = re.compile(r"^\(?\d+[).]\s|^(?:and|or|but|which|that|while|whereas|as well as)\b|[:;]\s*\d*\.?$|\?$")


class Asked:
    """What kind of sentence answers a question: a definition, a figure, a method, or any."""

    DEFINITION, FIGURE, METHOD, ANY = "definition", "figure", "method", "any"

    # "What is X", "what's X", "what does X do", and where X comes from: "which paper introduced
    # the Conformer?" is answered by the sentence that proposes it, not by its WER.
    _DEFINITION = re.compile(r"^\s*(?:what|who)(?:\s+(?:is|are|was|were)\s+|['’]s\s+)"
                             r"(?!the\s+(?:best|most|effect|impact|role|difference))"
                             r"|^\s*what\s+(?:does|do|did)\s+.+?\s+(?:stand\s+for|mean|do)\s*\??\s*$"
                             r"|^\s*(?:define|explain)\s"
                             r"|^\s*(?:which|what)\s+(?:paper|papers|work|study)\s+(?:first\s+)?"
                             r"(?:introduced?|proposed?|presented?|coined|came\s+up\s+with)\b"
                             r"|^\s*who\s+(?:first\s+)?(?:introduced|proposed|invented|came\s+up\s+with|coined)\b"
                             r"|^\s*where\s+(?:does|do|did)\s+.+?\s+come\s+from\b", re.IGNORECASE)
    _FIGURE = re.compile(r"\bhow\s+(?:much|many|fast|slow|low|high|good|well|big|large|small|little|accurate|often|long"
                         r"|badly|far|quickly)\b|\b(?:is|are|was|were|does|do|did)\b[^?]*\b(?:faster|slower|cheaper|smaller|larger"
                         r"|better|worse|more\s+accurate)\s+than\b"
                         r"|\bwhat\s+(?:wer|word\s+error|accuracy|score|percentage|speed|latency"
                         r"|size|number|improvement)\b|\bby\s+how\s+much\b|\bhow\s+(?:does|do|did)\s+.*\bcompare\b",
                         re.IGNORECASE)
    _METHOD = re.compile(r"^\s*how\s+(?:does|do|did|is|are|can|could|should|would)\b|\bhow\s+to\b|\bwhat\s+(?:method|technique|approach)",
                         re.IGNORECASE)

    @classmethod
    def of(cls, question: str) -> str:
        if cls._FIGURE.search(question):
            return cls.FIGURE
        if cls._DEFINITION.search(question):
            return cls.DEFINITION
        if cls._METHOD.search(question):
            return cls.METHOD
        return cls.ANY


_DEFINES = re.compile(r"\b(?:we\s+(?:introduce|propose|present|call|term|name|dub|design|develop|build)|is\s+(?:a|an)\b"
                      r"|are\s+(?:a|an)\b|called|termed|named|dubbed|refers?\s+to|stands?\s+for|consists?\s+of)\b"
                      # an apposition after a name: "AXLearn, a production deep learning system"
                      r"|\b(?-i:[A-Z][\w-]*[A-Z0-9][\w-]*),\s+(?:a|an)\s", re.IGNORECASE)
_FIGURE_IN = re.compile(r"(?<![\w.])\d[\d.,]*(?:\+|%|×|x\b)?(?![\w])|\d[\d.,]*\s*(?:[kKMB]|ms|hours?)\b|\bsub-second\b"
                        r"|\b(?:two|three|four|five|six|seven|eight|nine|ten|several)\s+(?:times|million|thousand|hundred)\b")
_HOW = re.compile(r"\b(?:we\s+(?:propose|introduce|present|develop|use|apply|replace|reparametri[sz]e|combine|train|add)"
                  r"|by\s+\w+ing|through|via|using|uses|where|which\s+(?:uses|applies|replaces|combines|encourages))\b",
                  re.IGNORECASE)
# A paper's closing verdict ("Our results demonstrate the effectiveness of X ...") names its
# subject without saying what it is or does.
_VERDICT = re.compile(r"\b(?:demonstrate|show|confirm|highlight)s?\s+the\s+(?:effectiveness|efficacy|potential|benefits?|importance)\b"
                      r"|\bpaving\s+the\s+way\b", re.IGNORECASE)


# Where a question asks a second thing: "how many languages does it cover, and which LLM ...".
_SECOND_QUESTION = re.compile(r",?\s+and\s+(?=(?:which|what|how|why|where|when|who|on\s+what|by\s+how|is|are|does|do)\b)"
                              r"|[;?]\s+", re.IGNORECASE)


# "how much audio", "how many parameters": the measure a figure must be of to answer. Audio is
# counted in hours; anything else in its own word ("how many languages" -> "... 100+ languages").
_MEASURE = re.compile(r"\bhow\s+(?:much|many)((?:\s+[^\W\d_]+){1,3})", re.IGNORECASE)
_UNITS_OF = {"audio": ("hour", "minute"), "speech": ("hour", "minute"), "data": ("hour", "minute", "token"),
             "recording": ("hour", "minute"), "param": ("param", "parameter"), "parameter": ("param", "parameter")}
# A count of parameters written as one token: "3B", "1.5B" (not "12M", which may count hours).
_BILLIONS = re.compile(r"\d+(?:\.\d+)?b")
_COMPARATIVES = frozenset("""faster slower better worse more less fewer larger smaller bigger lower higher cheaper
longer shorter""".split())
_NUMBER_WORDS = frozenset("""two three four five six seven eight nine ten eleven twelve fifteen twenty thirty fifty
hundred hundreds thousand thousands million millions billion billions dozen dozens several""".split())
# Words after a number before its unit: "12 million (M) hours", "60K hours of English".
_UNIT_REACH = 3


@dataclass(frozen=True)
class Part:
    """One thing a question asks: the kind of sentence that answers it, its focus terms, and for
    a figure, the units it is counted in (empty: any figure) and whether those are all there are
    (audio is counted in hours; "pictures" may be "18k images")."""

    asked: str
    subject: frozenset[str]
    units: frozenset[str] = frozenset()
    units_known: bool = False


def asked_parts(question: str) -> list[Part]:
    """What each part of the question asks for, its focus terms, and the units of its figure."""
    parts = [p for p in _SECOND_QUESTION.split(question) if p.strip()] or [question]
    return [Part(asked, frozenset(focus_words(p)), *(_units(p) if asked == Asked.FIGURE else (frozenset(), False)))
            for p in parts for asked in [Asked.of(p)]]


def _units(question: str) -> tuple[frozenset[str], bool]:
    """The stems a figure answering `question` is counted in ("how much audio" -> hours), none
    when it asks "how much faster" or "how many does"; and whether they are the measure's only
    units (else the measure's own word, which a paper may put otherwise)."""
    measure = _MEASURE.search(question)
    words = measure.group(1).lower().split() if measure else []
    if not words or words[0] in STOPWORDS or words[0] in _COMPARATIVES:
        return frozenset(), False
    # "how much training data": the measure is the noun a known unit counts, else the first word.
    term = next((stem(w) for w in words if stem(w) in _UNITS_OF), stem(words[0]))
    return frozenset(map(stem, _UNITS_OF.get(term, (term,)))), term in _UNITS_OF


def answer_fit(parts: Sequence[Part], candidate: "Candidate") -> float:
    """How much `candidate` is the kind of sentence some part of the question asks for (0..1)."""
    return max(_fit(part, candidate) for part in parts)


def _fit(part: Part, candidate: "Candidate") -> float:
    """A definition that names the subject, a figure (of the measure asked), a method, or else the
    part's terms; a closing verdict answers none."""
    subject = part.subject
    names_subject = bool(subject & candidate.terms) if subject else True
    defines, figure, how, verdict = _kinds(candidate.text)
    if part.asked == Asked.DEFINITION:
        fit = (0.6 * defines + 0.4) * names_subject
    elif part.asked == Asked.FIGURE:
        # "five language pairs" counts what was asked; "1/7-th the size of Whisper's set" is no
        # amount of audio; "18k images" may be the pictures asked for.
        if part.units and _counts_in(candidate.text, part.units):
            amount = 1.0
        else:
            amount = 0.0 if part.units_known else figure * (0.5 if part.units else 1.0)
        fit = 0.7 * amount + 0.3 * names_subject
    elif part.asked == Asked.METHOD:
        fit = (0.6 * how + 0.4) * names_subject
    else:  # asked for nothing in particular: the sentence that holds that part's terms
        fit = 0.3 + 0.7 * (len(subject & candidate.terms) / len(subject) if subject else 0.3)
    return fit * (0.3 if verdict else 1.0)


@lru_cache(maxsize=4096)
def _counts_in(sentence: str, units: frozenset[str]) -> bool:
    """Whether a number in `sentence` is followed, within _UNIT_REACH words, by one of `units`
    ("3B" counts parameters by itself). A number after a name is a version ("PaLM 2 language
    model"), not a count; a capital opening the sentence is no name ("Over 60K hours")."""
    written = re.findall(r"[\w.+%]+", sentence)
    words = [stem(w.lower()) for w in written]

    def version(i: int) -> bool:
        before = written[i - 1] if i else ""
        return bool(before) and (i > 1 and before[0].isupper() or any(c.isupper() for c in before[1:]))

    return any(("param" in units and _BILLIONS.fullmatch(w))
               or ((w[0].isdigit() or w in _NUMBER_WORDS) and not version(i) and units & set(words[i + 1:i + 1 + _UNIT_REACH]))
               for i, w in enumerate(words))


@lru_cache(maxsize=4096)  # the same sentences are scored question after question
def _kinds(sentence: str) -> tuple[bool, bool, bool, bool]:
    """Whether `sentence` defines, states a figure, says how, and is a closing verdict."""
    return (bool(_DEFINES.search(sentence)), bool(_FIGURE_IN.search(sentence)), bool(_HOW.search(sentence)),
            bool(_VERDICT.search(sentence)))


@dataclass(frozen=True)
class Candidate:
    source: int  # the evidence number it comes from (1-based), cited as [source]
    paper: str  # the paper's key: a paper's sentences are grouped and capped together
    text: str  # the sentence as it may be quoted
    terms: frozenset[str]  # its content terms
    prior: float  # how well its paper as a whole answers the question (0..1)


class ExtractiveDrafter:
    name = "extractive"
    model = None
    endpoint = None

    def __init__(self, weights: ExtractiveWeights | None = None) -> None:
        self.weights = weights or ExtractiveWeights()

    def draft_answer(self, brief: Brief) -> Draft:
        candidates = quotable_candidates(brief.question, brief.evidence, brief.weights, brief.relevance_floor)
        return Draft(self.quote(brief.question, frozenset(focus_words(brief.question)), candidates, brief.embed))

    def draft_related_work(self, brief: Brief) -> Draft:
        text, themes = related_work_draft(brief.question, brief.evidence, cluster_themes(brief))
        return Draft(text, themes=themes)

    def quote(
        self, question: str, question_terms: frozenset[str], candidates: Sequence[Candidate], embed: Embed
    ) -> str:
        """A draft citing each picked sentence as [n]: one line per sentence, one paragraph per
        paper. Empty when there is nothing to quote."""
        picked = self.pick(question, question_terms, candidates, embed)
        groups: dict[str, list[Candidate]] = {}
        for candidate in picked:  # picked is best-first, so groups are too
            groups.setdefault(candidate.paper, []).append(candidate)
        return "\n\n".join(
            "\n".join(f"{c.text} [{c.source}]" for c in group) for group in groups.values()
        )

    def pick(
        self, question: str, question_terms: frozenset[str], candidates: Sequence[Candidate], embed: Embed
    ) -> list[Candidate]:
        """The sentences to quote, grouped by paper (the best paper first), best first within."""
        w = self.weights
        if not candidates:
            return []
        overlap = _term_overlap(question_terms, candidates)
        prior = np.array([c.prior for c in candidates], dtype=np.float32)
        parts = asked_parts(question)
        fit = np.array([answer_fit(parts, c) for c in candidates], dtype=np.float32)
        rough = (w.terms * overlap + w.prior * prior + w.answers * fit
                 + w.specific * np.array([_specificity(c.text) for c in candidates]))
        shortlist = _shortlist(rough, candidates, w.shortlist, w.shortlist_per_paper)
        vectors = embed([question] + [candidates[i].text for i in shortlist])
        question_vector, sentence_vectors = vectors[0], vectors[1:]
        relevance = w.meaning * (sentence_vectors @ question_vector) + rough[shortlist]
        papers = [candidates[i].paper for i in shortlist]
        paper_score: dict[str, float] = {}
        for j, i in enumerate(shortlist):  # how well a paper answers: as a whole, and at its best
            score = (candidates[i].prior + float(relevance[j])) / 2
            paper_score[papers[j]] = max(paper_score.get(papers[j], -math.inf), score)
        background = [is_background(candidates[i].text) for i in shortlist]
        chosen = self._choose(relevance, sentence_vectors, papers, paper_score, background)
        return [candidates[shortlist[j]] for j in chosen]

    def _choose(
        self, relevance: np.ndarray, vectors: np.ndarray, papers: list[str], paper_score: dict[str, float],
        background: list[bool],
    ) -> list[int]:
        """Breadth, then depth. First the best sentence of each paper that answers well enough,
        best papers first; then further relevant sentences of those papers, the best papers'
        first (a result is read in the context of the paper that answers best). A background
        sentence is picked only while nothing else is (the answer would otherwise be empty):
        after that it pads the answer with the field, not the paper. Each pick is by
        maximal marginal relevance and never a near-duplicate of one already chosen."""
        w = self.weights
        paper_floor = w.keep_ratio * max(paper_score.values())
        floor = w.keep_ratio * float(relevance.max())
        in_context = relevance + w.context * np.array([paper_score[p] for p in papers])
        chosen: list[int] = []
        count: dict[str, int] = {}

        def best_of(score: np.ndarray, allowed: Callable[[int], bool], diversity: float) -> int | None:
            choice, choice_score = None, -math.inf
            for j in range(len(papers)):
                if j in chosen or not allowed(j):
                    continue
                resemblance = max((float(vectors[j] @ vectors[k]) for k in chosen), default=0.0)
                if resemblance >= w.duplicate:
                    continue
                marginal = (1 - diversity) * score[j] - diversity * resemblance
                if marginal > choice_score:
                    choice, choice_score = j, marginal
            return choice

        # Sentences of different papers differ already: diversity matters within a paper.
        breadth = (relevance, 0.0, lambda j: papers[j] not in count and not (background[j] and chosen),
                   lambda j: paper_score[papers[j]] >= paper_floor)
        depth = (in_context, w.diversity, lambda j: 0 < count.get(papers[j], 0) < w.per_paper and not background[j],
                 lambda j: relevance[j] >= floor)
        for score, diversity, allowed, good_enough in (breadth, depth):
            while len(chosen) < w.max_sentences:
                choice = best_of(score, allowed, diversity)
                if choice is None or (not good_enough(choice) and len(chosen) >= w.min_sentences):
                    break
                chosen.append(choice)
                count[papers[choice]] = count.get(papers[choice], 0) + 1
        # Grouped by paper, the best paper first; within a paper, the most relevant first.
        return sorted(chosen, key=lambda j: (-paper_score[papers[j]], papers[j], -relevance[j]))


@lru_cache(maxsize=4096)
def _specificity(sentence: str) -> float:
    """How much a sentence states a finding rather than background: a figure, and a claim of
    the authors' own ("we show", "our model") each count half; the field as the paper found it
    ("MoEs have recently gained popularity ...") counts against."""
    if is_background(sentence):
        return -1.0
    return 0.5 * any(ch.isdigit() for ch in sentence) + 0.5 * in_first_person(sentence)


def _shortlist(rough: np.ndarray, candidates: Sequence[Candidate], size: int, per_paper: int) -> list[int]:
    """The best candidates by `rough`, no more than `per_paper` from one paper."""
    chosen: list[int] = []
    taken: dict[str, int] = {}
    for i in np.argsort(-rough, kind="stable"):
        paper = candidates[int(i)].paper
        if taken.get(paper, 0) < per_paper:
            taken[paper] = taken.get(paper, 0) + 1
            chosen.append(int(i))
            if len(chosen) == size:
                break
    return chosen


def _term_overlap(question_terms: frozenset[str], candidates: Sequence[Candidate]) -> np.ndarray:
    """For each candidate, the idf-weighted share of the question's terms it contains
    (idf over the candidates: a term every sentence has tells them apart least)."""
    if not question_terms:
        return np.zeros(len(candidates), dtype=np.float32)
    n = len(candidates)
    idf = {t: math.log(1 + n / (1 + sum(t in c.terms for c in candidates))) for t in question_terms}
    total = sum(idf.values())
    return np.array([sum(idf[t] for t in question_terms & c.terms) / total for c in candidates], dtype=np.float32)


def quotable_candidates(
    question: str, evidence: Sequence[Evidence], weights: TermWeights, floor: float
) -> list[Candidate]:
    """The evidence sentences the extractive drafter may quote: from evidence at least as
    relevant as the floor, long enough to stand alone, and not boilerplate (links, code)."""
    candidates = []
    for number, item in enumerate(evidence, 1):
        dense = item.dense_score or 0.0
        if dense < floor:
            continue
        # How well the paper as a whole answers: its similarity and its share of the key terms.
        prior = (dense + question_coverage(question, item, weights)[0]) / 2
        # A paper the question names answers it as a whole, and is what each of its sentences is
        # about ("our model achieves 2.1%" in the Conformer paper answers "what WER does Conformer reach?").
        named = content_terms(question) & content_terms(item.paper.title or "") if item.named else set()
        prior = 1.0 if item.named else prior
        for text, terms in _quotable_sentences(item.text):
            candidates.append(Candidate(number, item.paper.key, text, terms | named if named else terms, prior))
    return candidates


# Answers in one process quote the same abstracts again and again: each is split once.
@lru_cache(maxsize=1024)
def _quotable_sentences(text: str) -> tuple[tuple[str, frozenset[str]], ...]:
    """The sentences of `text` that may be quoted (long enough, no boilerplate, no fragment),
    each with its content terms."""
    sentences = []
    for sentence in split_sentences(text):
        quote = quotable(sentence)
        if (len(quote.split()) < _MIN_QUOTE_WORDS or any(b in quote.lower() for b in _BOILERPLATE)
                or _FRAGMENT.search(quote)):
            continue
        sentences.append((quote, frozenset(content_terms(quote))))
    return tuple(sentences)


# -- related work ------------------------------------------------------------------------------

def related_work_draft(topic: str, evidence: Sequence[Evidence], themes: Sequence[Theme]) -> tuple[str, list[Theme]]:
    """Paragraphs built from the papers' own sentences and records, each sentence cited [n],
    and the themes they are about, in order (a theme none of whose papers has a sentence to
    quote, as a listing with a title only, has none).

    One paragraph per theme, oldest paper first, each "<Authors> (<year>) <what the abstract says
    they do> [n]"; the theme's name heads it. Closing: the newest paper's result, as where the
    topic stands now. No opening sentence: a list of the themes claims of every paper it cites
    what only some say, and the headings already give it. No "Similarly, ...": the writer cannot
    tell that two papers are alike, only that they share a theme.
    """
    topic_terms = {w.lower() for w in re.findall(r"[A-Za-z][\w-]+", topic)}
    subjects = distinct_attributions([e.paper for e in evidence])
    used: dict[int, str] = {}
    paragraphs, written = [], []
    for theme in themes:
        ordered = sorted(theme.members, key=lambda m: (evidence[m].paper.year or 9999, m))
        lines = []
        for member in ordered:
            paper = evidence[member].paper
            try:
                sentence, source = contribution(paper, topic_terms, subject=subjects[paper.key])
            except ValueError:  # no abstract sentence to quote (a listing with a title only)
                continue
            used[member] = source
            lines.append(f"{sentence} [{member + 1}]")
        if lines:
            paragraphs.append(" ".join(lines))
            written.append(theme)
    closing = _closing(evidence, used, topic_terms, subjects)
    if closing:
        paragraphs.append(closing)
    return "\n\n".join(paragraphs), written


def _closing(evidence: Sequence[Evidence], used: dict[int, str], topic_terms: set[str],
             subjects: dict[str, str]) -> str | None:
    dated = [i for i, e in enumerate(evidence) if e.paper.year]
    if len(dated) < 2:
        return None
    newest = max(dated, key=lambda i: (evidence[i].paper.year, -i))
    try:
        paper = evidence[newest].paper
        sentence, written = contribution(paper, topic_terms, exclude=used.get(newest), subject=subjects[paper.key])
    except ValueError:
        return None
    # Where the topic stands now is a result: neither the field as the paper found it nor a
    # second description of a paper its theme already introduced.
    if is_background(written) or not is_finding(written):
        return None
    return f"Most recently, {_lower_lead(sentence)} [{newest + 1}]"


def _lower_lead(sentence: str) -> str:
    """Lower-case a sentence's first letter after a connective, unless it starts a name ("One study")."""
    return sentence[0].lower() + sentence[1:] if sentence.startswith(("One study", "A ")) else sentence
