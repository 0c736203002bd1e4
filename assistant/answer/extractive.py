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
from ..index.vocabulary import acronym_words, defined_acronyms
from ..retrieve import Evidence
from .asked import KIND_FIT, answer_fit, asked_parts, asks_a_kind, figure_of, figure_test, names_only
from .attribution import (contribution, distinct_attributions, in_first_person, is_background, is_finding,
                          is_fragment, needs_the_sentence_before)
from .drafting import Brief, Draft, Embed, cluster_themes
from .themes import Theme
from .markers import quotable
from .relevance import TermWeights, focus_words, question_coverage, specificity
from ..text import content_terms, split_sentences

# Evidence sentences too short to stand alone as an answer sentence ("Code is available.").
_MIN_QUOTE_WORDS = 6
_BOILERPLATE = ("http://", "https://", "github.com", "code is available", "code will be", "is available at")


@dataclass(frozen=True)
class Candidate:
    source: int  # the evidence number it comes from (1-based), cited as [source]
    paper: str  # the paper's key: a paper's sentences are grouped and capped together
    text: str  # the sentence as it may be quoted
    terms: frozenset[str]  # its content terms
    prior: float  # how well its paper as a whole answers the question (0..1)
    subject: bool = False  # its paper is what the question asks about (quotable_candidates)


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
        """The sentences to quote, grouped by paper (the best paper first). Within a paper: the
        sentence of the kind asked first, the field's background and a sentence only naming a
        thing last, else the most relevant first. (A question about one paper reaches here with
        that paper's evidence alone: about_its_subject.)"""
        w = self.weights
        if not candidates:
            return []
        parts = asked_parts(question)
        asks_kind = asks_a_kind(parts)
        fit = [answer_fit(parts, c.text, c.terms) for c in candidates]
        overlap = _term_overlap(question_terms, candidates)
        prior = np.array([c.prior for c in candidates], dtype=np.float32)
        fit = np.array(fit, dtype=np.float32)
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
        # A sentence naming what only the sentence before says ("This replacement allows ...")
        # is picked, as background is, only while nothing else is.
        background = [is_background(candidates[i].text) or needs_the_sentence_before(candidates[i].text)
                      for i in shortlist]
        chosen = self._choose(relevance, sentence_vectors, papers, paper_score, background)
        # Within a paper, the sentence that best fits the kind asked leads: slimIPL's "we propose
        # to iteratively re-generate transcriptions ..." before "slimIPL is also highly-efficient",
        # σReparam's proposal before "we investigate the training dynamics ... by examining ...";
        # the field as the paper found it after what the paper adds; and a sentence only naming
        # what the one before described ("We call this model Omni-router Transformer") after
        # what the thing does.
        of_kind = {j: float(fit[shortlist[j]]) if asks_kind and fit[shortlist[j]] >= KIND_FIT else 0.0 for j in chosen}
        # A paper that answers with a sentence of the kind asked before one that does not: "more
        # speakers or more hours - which matters more?" opens with Berrebbi et al.'s finding, not
        # with Libri-Light's "It contains over 60K hours of audio".
        answers_kind = {papers[j] for j in chosen if of_kind[j]}
        chosen.sort(key=lambda j: (papers[j] not in answers_kind, -paper_score[papers[j]], papers[j], -of_kind[j],
                                   background[j], names_only(candidates[shortlist[j]].text), -relevance[j]))
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
        maximal marginal relevance and never a near-duplicate of one already chosen. In the order
        picked."""
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
        return chosen


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


# The share of a question's focus weight the title of a paper it names must hold for the
# question to be about that paper.
_SUBJECT_SHARE = 0.5
# A question setting things side by side: "X vs Y", "X compared with Y", "is X better than Y",
# "X or Y, which is better?" (not "with or without an LM", "less than 10 hours").
_COMPARES = re.compile(r"\b(?:vs\.?|versus|compared?\s+(?:to|with)|(?:better|worse|faster|slower)\s+than)\s"
                       r"|\bwhich\b.*\bor\b|\bor\b.*\bwhich\b", re.IGNORECASE)


def quotable_candidates(
    question: str, evidence: Sequence[Evidence], weights: TermWeights, floor: float
) -> list[Candidate]:
    """The evidence sentences the extractive drafter may quote: from evidence at least as
    relevant as the floor, long enough to stand alone, and not boilerplate (links, code) or a
    fragment; each marked when its paper is what the question is about."""
    candidates = []
    # A named paper is what the question is about when it names it by the question's weightiest
    # term, or by most of the weight of its terms: "Conformer" in "what WER does conformer get
    # ...", and "does word order matter for asr" (Pratap et al.'s title but "ASR"); not
    # "conformer" in "with an 8B-parameter pretrained conformer, how little of a 34k-hour labeled
    # set ..." (BigSSL's question).
    focus = focus_words(question)
    weightiest = max(focus, key=weights.weight) if focus else None
    focus_weight = sum(map(weights.weight, focus))
    compares = bool(_COMPARES.search(question))

    def names_its_subject(named: set[str]) -> bool:
        # A comparison is about each paper it names: "conformer vs contextnet which is better".
        return ((bool(named) and compares) or weightiest in named
                or sum(map(weights.weight, named & set(focus))) >= _SUBJECT_SHARE * focus_weight)

    asked = content_terms(question)
    figure_paper = _figure_paper(question, evidence, weights)
    for number, item in enumerate(evidence, 1):
        dense = item.dense_score or 0.0
        if dense < floor:
            continue
        # How well the paper as a whole answers: its similarity and its share of the key terms.
        prior = (dense + question_coverage(question, item, weights)[0]) / 2
        # A paper the question names answers it as a whole, and is what each of its sentences is
        # about ("our model achieves 2.1%" in the Conformer paper answers "what WER does Conformer reach?").
        named = asked & content_terms(item.paper.title or "") if item.named else set()
        prior = 1.0 if item.named else prior
        for text, terms, spelled in _quotable_sentences(item.text):
            # An acronym stands for the long form the question says: after "federated learning
            # (FL) and differential privacy (DP)", "we establish the first benchmark for FL with
            # DP" answers "federated learning that uses differential privacy". Only a long form
            # said whole: SSL's "self-supervised learning" does not make every SSL sentence one on "learning".
            terms = terms.union(named, *(form for form in spelled if form <= asked))
            candidates.append(Candidate(number, item.paper.key, text, terms, prior,
                                        names_its_subject(named) or item.paper.key == figure_paper))
    return candidates


def about_its_subject(question: str, evidence: Sequence[Evidence], weights: TermWeights,
                      floor: float) -> list[Evidence]:
    """The evidence narrowed to the paper the question is about, when the question asks a kind of
    sentence (asked.py) and that paper has one; else all of it. What the question asks of its
    paper, that paper answers, whoever drafts: "what WER does conformer get without a language
    model" is the Conformer paper's 2.1%/4.3%, and another paper's CTC-based Conformer results,
    or w2v-BERT's "outperforms our internal conformer-based wav2vec 2.0", only pad it."""
    parts = asked_parts(question)
    if not asks_a_kind(parts):
        return list(evidence)
    subjects = {c.paper for c in quotable_candidates(question, evidence, weights, floor)
                if c.subject and answer_fit(parts, c.text, c.terms) >= KIND_FIT}
    return [item for item in evidence if item.paper.key in subjects] or list(evidence)


# A figure question is about one paper when that paper holds this much of what the figure is of,
# and every other paper this much less.
_FIGURE_PAPER_COVERAGE = 0.75
_FIGURE_PAPER_LEAD = 0.3


def _figure_paper(question: str, evidence: Sequence[Evidence], weights: TermWeights) -> str | None:
    """The key of the paper a figure question asks the figure of, when one paper alone holds
    what it is of (asked.figure_of): "What LibriSpeech WER does training without word order
    reach?" asks the WER of the paper on training without word order, and other papers'
    LibriSpeech WERs do not answer it."""
    wanted = figure_of(question)
    if not wanted:
        return None
    coverage = sorted(((question_coverage(question, item, weights, wanted)[0], item.paper.key) for item in evidence),
                      reverse=True)
    best, key = coverage[0] if coverage else (0.0, None)
    runner_up = next((share for share, other in coverage if other != key), 0.0)
    return key if best >= _FIGURE_PAPER_COVERAGE and runner_up <= best - _FIGURE_PAPER_LEAD else None


# A thing a figure question names (Whisper, slimIPL), not a field's word (LibriSpeech, benchmark):
# a term at most this share of the papers hold, and rare in English.
_NAME_SHARE = 0.05
_NAME_SPECIFICITY = 0.5


def unreported_figure(question: str, evidence: Sequence[Evidence], weights: TermWeights,
                      floor: float) -> tuple[str, str] | None:
    """For a figure question of a thing the evidence names but gives no such figure of, the
    thing's term and word as the question writes it: "What WER does Whisper get on LibriSpeech?"
    was answered with another model's 1.4%/2.6%, "what WER does slimIPL reach with 10 hours" with
    what slimIPL is. None otherwise."""
    wanted = figure_of(question)
    rare = max(1, int(_NAME_SHARE * weights.papers))
    names = sorted((term for term in wanted if weights.document_frequency.get(term, 0) <= rare
                    and specificity(term) >= _NAME_SPECIFICITY), key=weights.weight, reverse=True)
    if not names:
        return None
    candidates = quotable_candidates(question, evidence, weights, floor)
    gives_figure = figure_test(question)
    titles = [content_terms(item.paper.title or "") for item in evidence]
    for term in names:
        # A paper whose title names the thing is about it in every sentence ("Google USM: ...").
        naming = [c for c in candidates if term in c.terms or c.subject or term in titles[c.source - 1]]
        if any(term in c.terms for c in naming) and not any(gives_figure(c.text) for c in naming):
            return term, _as_named(question, term, wanted[term], evidence)
    return None


def _as_named(question: str, term: str, word: str, evidence: Sequence[Evidence]) -> str:
    """The thing a question names by `term`, as typed: the whole of a compound the word is part of
    ("dual-mode", not "dual"; "BL-JUST", not "bljust"), with the words after it a paper's title
    goes on with ("dual-mode asr" for "Dual-mode ASR: Unify and Improve ...")."""
    tokens = re.findall(r"[\w-]+", question)
    start = next((i for i, token in enumerate(tokens) if term in content_terms(token)), None)
    if start is None:
        return word
    titles = [(e.paper.title or "").lower() for e in evidence]
    end = start + 1
    while end < len(tokens) and any(re.search(rf"\b{re.escape(' '.join(tokens[start:end + 1]).lower())}\b", title)
                                    for title in titles):
        end += 1
    return " ".join(tokens[start:end])


def sentences_naming(question: str, term: str, evidence: Sequence[Evidence],
                     weights: TermWeights) -> list[tuple[Evidence, str]]:
    """Each evidence item with a quotable sentence saying `term` (not only its title), with the
    one of them holding most of the question's focus terms."""
    focus = frozenset(focus_words(question))
    best: dict[int, Candidate] = {}
    for c in quotable_candidates(question, evidence, weights, -1.0):
        if term in content_terms(c.text) and (c.source not in best
                                              or len(c.terms & focus) > len(best[c.source].terms & focus)):
            best[c.source] = c
    return [(evidence[source - 1], c.text) for source, c in sorted(best.items())]


# Answers in one process quote the same abstracts again and again: each is split once.
@lru_cache(maxsize=1024)
def _quotable_sentences(text: str) -> tuple[tuple[str, frozenset[str], tuple[frozenset[str], ...]], ...]:
    """The sentences of `text` that may be quoted (long enough, no boilerplate, no fragment),
    each with its content terms and the terms of the long form of each acronym it uses that
    `text` defines ("federated learning (FL)")."""
    long_forms: dict[str, set[str]] = {}
    for long_form, acronym in defined_acronyms(text):
        long_forms.setdefault(acronym, set()).update(content_terms(long_form))
    sentences = []
    for sentence in split_sentences(text):
        quote = quotable(sentence)
        if (len(quote.split()) < _MIN_QUOTE_WORDS or any(b in quote.lower() for b in _BOILERPLATE)
                or is_fragment(quote)):
            continue
        used = acronym_words(quote) & long_forms.keys() if long_forms else set()
        spelled = tuple(frozenset(long_forms[acronym]) for acronym in sorted(used))
        sentences.append((quote, frozenset(content_terms(quote)), spelled))
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
