"""Citation enforcement: what a draft must pass before any of it is shown as an answer.

A draft (from a model or the extractive backend) cites numbered evidence as [n]. Here it is
split into sentences; markers are parsed ([1], [1, 3], [1][2], [2-4], [1–3], before or after
the full stop); markers pointing at no evidence are removed and reported; sentences left
uncited are repaired once (when the caller can ask the model) or dropped and reported; every
cited sentence is checked against the text it cites (numbers, key terms, embedding similarity)
and flagged when it fails; finally citations are renumbered by the references they point at.

Pure functions over the draft, the evidence and an embedding function: no I/O, no model calls
(the repair request is a callback the caller supplies).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from ..corpus.paper import Paper
from ..retrieve import Evidence
from .model import AnswerSentence, Citation, Issue, Reference

SENTINEL = "INSUFFICIENT_EVIDENCE"  # what the model replies when the evidence does not answer
REFUSAL = "The indexed papers do not address this question."
DROP = "DROP"  # what the model replies in a repair for a sentence it cannot cite

Embed = Callable[[list[str]], np.ndarray]  # texts -> unit-length rows
Repair = Callable[[list[str]], str]  # uncited sentences -> the model's numbered reply

# -- sentences ---------------------------------------------------------------------------------

# A citation marker: [3], [1, 3], [1;3], [2-4], [1–3]; several may follow each other ([1][2]).
_MARKER = re.compile(r"\[\s*(\d+(?:\s*[-–—]\s*\d+)?(?:\s*[,;]\s*\d+(?:\s*[-–—]\s*\d+)?)*)\s*\]")
_MARKER_RUN = re.compile(rf"\s*{_MARKER.pattern}(?:\s*[,;]?\s*{_MARKER.pattern})*")
# Terminal punctuation, closing quotes or brackets, and any markers placed after the full stop
# (they belong to the sentence before), followed by the space before the next sentence.
_BOUNDARY = re.compile(rf"[.!?]+[\"'”’)]*+(?:\s*{_MARKER.pattern})*+(?=\s+\S)")
# Words that end in a full stop without ending the sentence ("et al.", "e.g.", "Fig. 2").
_ABBREVIATIONS = frozenset(
    "al eg ie cf vs etc fig figs eq eqs sec secs tab ref refs no nos vol pp ch approx resp viz "
    "incl esp dr mr mrs ms prof st jr sr inc ltd co".split()
)
_LIST_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, each keeping its markers; whitespace inside is left as is."""
    sentences, start = [], 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if _is_sentence_end(text, match.start(), end):
            sentence = text[start:end].strip()
            if sentence:
                sentences.append(sentence)
            start = end
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _is_sentence_end(text: str, stop: int, end: int) -> bool:
    following = text[end:].split(maxsplit=1)[0]
    if following.islower() and following[:1].isalpha():  # "e.g. transformers", "et al. show"
        return False  # ("σReparam" or "iPhone" may start a sentence: not all lower case)
    if text[stop] != ".":
        return True
    word = re.search(r"([^\W\d_][\w.]*)$", text[:stop])
    if not word:
        return True
    token = word.group(1)
    if len(token) == 1 and token.isupper():  # an initial: "J. Smith"
        return False
    return token.replace(".", "").lower() not in _ABBREVIATIONS


_LATEX_COMMAND = re.compile(r"\\(?:textit|textbf|textrm|texttt|text|emph|mathrm|mathbf|mathit|url)\{([^{}]*)\}")


def quotable(sentence: str) -> str:
    """An evidence sentence as an answer may quote it: without bracketed numbers (they would
    read as citations to our evidence) and without LaTeX markup ("$\\textit{x}$" -> "x")."""
    text = _LATEX_COMMAND.sub(r"\1", _MARKER_RUN.sub("", sentence))
    text = re.sub(r"\\([%&#_$])", r"\1", text.replace("$", ""))
    return _clean(re.sub(r"(?<!\\)[{}]", "", text))


# -- markers -----------------------------------------------------------------------------------


def parse_markers(sentence: str) -> tuple[str, list[tuple[int, int]]]:
    """The sentence without its markers, and each cited span (first, last) in order.

    "[1, 3]" gives (1, 1), (3, 3); "[2-4]" gives (2, 4); a reversed range is read in order.
    """
    spans: list[tuple[int, int]] = []
    for match in _MARKER.finditer(sentence):
        for part in re.split(r"\s*[,;]\s*", match.group(1)):
            ends = [int(x) for x in re.split(r"\s*[-–—]\s*", part)]
            spans.append((min(ends), max(ends)))
    return _clean(_MARKER_RUN.sub("", sentence)), spans


def _clean(text: str) -> str:
    text = re.sub(r"\(\s*\)", "", text)  # "(see [1])" leaves "(see)", but "([1])" leaves nothing
    text = re.sub(r"\s+([.,;:!?)])", r"\1", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class DraftSentence:
    text: str  # without markers
    cited: tuple[int, ...]  # valid evidence numbers (1-based), in order of first mention
    paragraph: int = 0


def parse_draft(draft: str, n_sources: int) -> tuple[list[DraftSentence], list[Issue]]:
    """Split a draft into sentences with valid citations; report markers citing no evidence.

    Paragraphs are separated by blank lines; each line is at least one sentence (a model's
    list items are separate claims). A line of markers alone cites the sentence before it.
    Sentences carrying the refusal sentinel are not content and are left out.
    """
    sentences: list[DraftSentence] = []
    issues: list[Issue] = []
    for paragraph, block in enumerate(re.split(r"\n\s*\n", draft.strip())):
        for line in block.splitlines():
            for raw in split_sentences(_LIST_BULLET.sub("", line)):
                if SENTINEL in raw:
                    continue
                text, spans = parse_markers(raw)
                cited, invalid = _resolve(spans, n_sources)
                if invalid:
                    issues.append(Issue("invalid_marker", _invalid_detail(invalid, n_sources), text or raw))
                if not re.search(r"\w", text):
                    if sentences and cited:  # markers on a line of their own
                        last = sentences[-1]
                        sentences[-1] = replace(last, cited=_merge(last.cited, cited))
                    continue
                sentences.append(DraftSentence(text, cited, paragraph))
    return sentences, issues


def _resolve(spans: Iterable[tuple[int, int]], n_sources: int) -> tuple[tuple[int, ...], list[str]]:
    cited: list[int] = []
    invalid: list[str] = []
    for first, last in spans:
        inside = range(max(first, 1), min(last, n_sources) + 1)
        cited.extend(inside)
        if first < 1 or last > n_sources:
            invalid.append(f"[{first}]" if first == last else f"[{first}-{last}]")
    return _merge((), tuple(cited)), invalid


def _merge(first: tuple[int, ...], second: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(first + second))


def _invalid_detail(invalid: list[str], n_sources: int) -> str:
    what = ", ".join(invalid)
    return f"removed citation {what}: it points at no evidence (there are {n_sources} sources)"


# -- repair and dropping -----------------------------------------------------------------------


def repair_request(uncited: Sequence[str]) -> str:
    """The uncited sentences as a numbered list, for the repair prompt."""
    return "\n".join(f"{i}. {text}" for i, text in enumerate(uncited, 1))


def apply_repair(
    sentences: list[DraftSentence], reply: str, n_sources: int
) -> tuple[list[DraftSentence], list[Issue]]:
    """Replace each uncited sentence the model's numbered reply now cites validly.

    The reply has one line per uncited sentence, "k. <sentence> [n]" or "k. DROP"; anything
    else leaves the sentence uncited (and so dropped later).
    """
    uncited = [i for i, s in enumerate(sentences) if not s.cited]
    answers: dict[int, str] = {}
    for line in reply.splitlines():
        match = re.match(r"\s*(\d+)\s*[.):]\s*(.*\S)", line)
        if match:
            answers.setdefault(int(match.group(1)), match.group(2))
    repaired = list(sentences)
    issues: list[Issue] = []
    for k, index in enumerate(uncited, 1):
        answer = answers.get(k, "")
        if not answer or answer.strip(" .").upper() == DROP:
            continue
        text, spans = parse_markers(answer)
        cited, invalid = _resolve(spans, n_sources)
        if invalid:
            issues.append(Issue("invalid_marker", _invalid_detail(invalid, n_sources), text))
        if cited and re.search(r"\w", text):
            repaired[index] = DraftSentence(text, cited, sentences[index].paragraph)
            issues.append(Issue("repaired", "an uncited sentence was given a citation on request", text))
    return repaired, issues


def drop_uncited(sentences: Sequence[DraftSentence]) -> tuple[list[DraftSentence], list[Issue]]:
    kept = [s for s in sentences if s.cited]
    issues = [
        Issue("uncited_dropped", "removed a sentence that cites no evidence", s.text)
        for s in sentences
        if not s.cited
    ]
    return kept, issues


# -- verification ------------------------------------------------------------------------------

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "hundred": 100, "thousand": 1000, "twice": 2, "thrice": 3, "half": 0.5,
}
# Words that count in evidence but are not claims in a sentence ("one of the", "zero-shot").
_WEAK_NUMBER_WORDS = frozenset({"zero", "one", "half"})
_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "b": 1e9, "billion": 1e9}
_DIGITS = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:\s?(thousand|million|billion)\b|([kKmMbB])\b)?"
)
_WORD_NUMBER = re.compile(
    r"\b(" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")(?:[-\s](one|two|three|four|five|six|seven|eight|nine))?(?:-?fold)?\b",
    re.IGNORECASE,
)


def numbers_in(text: str, *, claims: bool = False) -> set[float]:
    """The numbers `text` states, normalised: "3x", "3×", "three times" and "threefold" are 3;
    "2.3%" is 2.3; "10,000" and "10k" are 10000. With `claims`, words like "one" (as in "one of
    the") are not counted, since a sentence saying them states no figure to check."""
    found: set[float] = set()
    for whole, fraction, scale_word, scale_letter in _DIGITS.findall(text):
        value = float(whole.replace(",", "") + fraction)
        scale = (scale_word or scale_letter).lower()
        found.add(_rounded(value * _SCALE.get(scale, 1.0)))
    for word, unit in _WORD_NUMBER.findall(text):
        word = word.lower()
        if claims and word in _WEAK_NUMBER_WORDS and not unit:
            continue
        found.add(_rounded(_NUMBER_WORDS[word] + (_NUMBER_WORDS[unit.lower()] if unit else 0)))
    return found


def _rounded(value: float) -> float:
    return float(f"{value:.6g}")


_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing done during each either few for
    from further had has have having he her here hers him his how however i if in into is it its
    itself just may me might more most much must my neither no nor not now of off on once only or
    other our ours out over own per same she should so some such than that the their theirs them
    then there these they this those through thus to too under until up upon us very via was we
    were what when where whether which while who whom whose why will with within without would
    yet you your et al paper papers work works study studies propose proposed proposes present
    presents presented show shows shown showed demonstrate demonstrates approach approaches
    method methods result results use used uses using based new novel several various many
    find finds found well able allow allows author authors authored coauthor coauthored write
    wrote written writes collection corpus indexed tell explain describe discuss mention get
    gets reach reaches""".split()
)
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


def content_terms(text: str) -> set[str]:
    """Stemmed content words: what a sentence claims about, for overlap with its source."""
    return set(_term_words(text))


def _term_words(text: str) -> dict[str, str]:
    """Each content term of `text` with the first word it came from."""
    terms: dict[str, str] = {}
    for word in _WORD.findall(_MARKER.sub(" ", text).lower()):
        for part in re.split(r"['’-]", word):  # "self-attention" is "self" and "attention"
            if len(part) > 2 and part not in _STOPWORDS and not part.isdigit():
                terms.setdefault(_stem(part), part)
    return terms


def _stem(word: str) -> str:
    """A crude stem: enough that "stabilize", "stabilizing" and "stabilization" meet."""
    if word.endswith("ies") and len(word) > 5:
        word = word[:-3] + "y"
    else:
        for suffix in ("izations", "ization", "ations", "ation", "ings", "ing", "ed", "es", "s", "ly"):
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
    return word[:6]


@dataclass(frozen=True)
class Floors:
    support: float  # embedding similarity to the best cited evidence sentence
    terms: float  # share of the sentence's content terms found in what it cites


@dataclass(frozen=True)
class Verdict:
    sentence: DraftSentence
    quotes: dict[int, str]  # evidence number -> its sentence that best supports this one
    similarity: float  # to the best of those quotes
    supported: bool
    note: str | None


# How many sentences of each cited evidence item are compared by embedding: the best by term
# overlap. Embedding is the cost of verification (~8 ms a sentence here); lexical pre-selection
# keeps it to a few per claim without losing the sentence a claim paraphrases.
_QUOTE_CANDIDATES = 2


def verify(
    sentences: Sequence[DraftSentence], evidence: Sequence[Evidence], embed: Embed, floors: Floors
) -> list[Verdict]:
    """Check each cited sentence against the evidence it cites; pick the quote per citation.

    A sentence is supported when every number it states occurs in the cited evidence (its text,
    title or year), enough of its key terms occur there, and it is close enough in meaning to
    the best cited evidence sentence. All texts are embedded in one batch.
    """
    pieces = {n: [quotable(p) for p in split_sentences(evidence[n - 1].text)] or [evidence[n - 1].text]
              for s in sentences for n in s.cited}
    piece_terms = {n: [content_terms(p) for p in ps] for n, ps in pieces.items()}
    candidates: list[dict[int, list[str]]] = []
    for s in sentences:
        terms = content_terms(s.text)
        candidates.append({
            n: _best_by_overlap(s.text, terms, pieces[n], piece_terms[n], _QUOTE_CANDIDATES) for n in s.cited
        })
    texts = list(dict.fromkeys([s.text for s in sentences] + [p for c in candidates for ps in c.values() for p in ps]))
    vectors = dict(zip(texts, embed(texts))) if texts else {}
    verdicts = []
    for s, by_source in zip(sentences, candidates):
        quotes: dict[int, str] = {}
        similarity = -1.0
        for n, options in by_source.items():
            scores = [float(vectors[s.text] @ vectors[o]) for o in options]
            best = int(np.argmax(scores))
            quotes[n] = options[best]
            similarity = max(similarity, scores[best])
        reasons = _unsupported_reasons(s, [evidence[n - 1] for n in s.cited], similarity, floors)
        verdicts.append(Verdict(s, quotes, similarity, not reasons, "; ".join(reasons) or None))
    return verdicts


def _best_by_overlap(
    sentence: str, terms: set[str], pieces: list[str], piece_terms: list[set[str]], k: int
) -> list[str]:
    if sentence in pieces:  # an exact quote is its own best support: nothing else to compare
        return [sentence]
    order = sorted(range(len(pieces)), key=lambda i: -len(terms & piece_terms[i]))
    return [pieces[i] for i in order[:k]]


def _unsupported_reasons(
    sentence: DraftSentence, cited: Sequence[Evidence], similarity: float, floors: Floors
) -> list[str]:
    source = " ".join(
        f"{e.text} {e.paper.title or ''} {e.paper.year or ''} {' '.join(e.paper.authors)} {e.paper.arxiv_id or ''}"
        for e in cited
    )
    reasons = []
    missing = sorted(numbers_in(sentence.text, claims=True) - numbers_in(source))
    if missing:
        shown = ", ".join(f"{m:g}" for m in missing)
        reasons.append(f"the number{'s' if len(missing) > 1 else ''} {shown} "
                       f"{'do' if len(missing) > 1 else 'does'} not appear in the cited evidence")
    terms = content_terms(sentence.text)
    if terms:
        overlap = len(terms & content_terms(source)) / len(terms)
        if overlap < floors.terms:
            reasons.append(f"few of its key terms appear in the cited evidence ({overlap:.0%})")
    if similarity < floors.support:
        reasons.append(f"its meaning is far from the cited evidence (similarity {similarity:.2f})")
    return reasons


# -- the answer's citations and references -----------------------------------------------------


def assemble(
    verdicts: Sequence[Verdict], evidence: Sequence[Evidence]
) -> tuple[list[AnswerSentence], list[Reference], list[Issue]]:
    """Renumber citations by reference (cited papers, in order of first citation) and report
    the unsupported sentences. Two evidence items from one paper share one reference."""
    numbers: dict[str, int] = {}
    references: list[Reference] = []
    sentences: list[AnswerSentence] = []
    issues: list[Issue] = []
    for verdict in verdicts:
        citations: dict[int, Citation] = {}
        for source, quote in verdict.quotes.items():
            paper = evidence[source - 1].paper
            if paper.key not in numbers:
                numbers[paper.key] = len(references) + 1
                references.append(_reference(numbers[paper.key], evidence[source - 1]))
            n = numbers[paper.key]
            citations.setdefault(n, Citation(n, paper.key, quote))
        sentences.append(AnswerSentence(
            text=verdict.sentence.text,
            citations=tuple(citations.values()),
            supported=verdict.supported,
            note=verdict.note,
            paragraph=verdict.sentence.paragraph,
        ))
        if not verdict.supported:
            issues.append(Issue("unsupported", verdict.note or "not supported by the cited evidence", verdict.sentence.text))
    return sentences, references, issues


def _reference(n: int, evidence: Evidence) -> Reference:
    paper = evidence.paper
    return Reference(
        n=n,
        key=paper.key,
        title=paper.title,
        label=paper.label,
        authors=paper.authors,
        authors_truncated=paper.authors_truncated,
        year=paper.year,
        source=paper.source,
        arxiv_id=paper.arxiv_id,
        authors_display=paper.authors_display(),
        abstract=paper.abstract,
    )


# -- the whole enforcement ---------------------------------------------------------------------


@dataclass(frozen=True)
class Enforced:
    sentences: list[AnswerSentence]
    references: list[Reference]
    issues: list[Issue]
    refused_by_model: bool  # the draft was the refusal sentinel

    @property
    def refused(self) -> bool:
        return self.refused_by_model or not self.sentences


def enforce(
    draft: str,
    evidence: Sequence[Evidence],
    *,
    embed: Embed,
    floors: Floors,
    repair: Repair | None = None,
) -> Enforced:
    """Everything above, in order: parse, drop bad markers, repair once or drop uncited
    sentences, verify, renumber. `repair` (optional) asks the model to cite or drop the
    sentences it is given and returns its reply."""
    sentences, issues = parse_draft(draft, len(evidence))
    if re.match(rf"\W*{SENTINEL}", draft) or (not sentences and SENTINEL in draft):
        return Enforced([], [], issues, refused_by_model=True)  # whatever explanation follows
    missing = [s for s in sentences if not s.cited]
    if missing and repair is not None:
        sentences, repaired = apply_repair(sentences, repair([s.text for s in missing]), len(evidence))
        issues += repaired
    sentences, dropped = drop_uncited(sentences)
    issues += dropped
    answer_sentences, references, flagged = assemble(verify(sentences, evidence, embed, floors), evidence)
    return Enforced(answer_sentences, references, issues + flagged, refused_by_model=False)


# -- relevance: is there anything to answer from? ---------------------------------------------


@dataclass(frozen=True)
class TermWeights:
    """How rare each content term is among the indexed papers (inverse document frequency):
    the rare terms of a question are what it is about, so they weigh most in its coverage."""

    document_frequency: Mapping[str, int]
    papers: int

    @classmethod
    def from_papers(cls, papers: Iterable[Paper]) -> "TermWeights":
        frequency: dict[str, int] = {}
        count = 0
        for paper in papers:
            count += 1
            for term in _paper_terms(paper, paper.abstract):
                frequency[term] = frequency.get(term, 0) + 1
        return cls(frequency, count)

    def idf(self, term: str) -> float:
        return math.log((self.papers + 1) / (self.document_frequency.get(term, 0) + 0.5))


def _paper_terms(paper: Paper, text: str) -> set[str]:
    return content_terms(" ".join([text, paper.title or "", " ".join(paper.authors)]))


def question_coverage(question: str, item: Evidence, weights: TermWeights) -> tuple[float, list[str]]:
    """The idf-weighted share of the question's key terms found in the item's text, title or
    authors, and the question's words it lacks (rarest first)."""
    wanted = _term_words(question)
    if not wanted:
        return 1.0, []
    found = _paper_terms(item.paper, item.text)
    idf = {term: weights.idf(term) for term in wanted}
    missing = sorted((t for t in wanted if t not in found), key=lambda t: -idf[t])
    total = sum(idf.values())
    return 1.0 - sum(idf[t] for t in missing) / total if total > 0 else 1.0, [wanted[t] for t in missing]


def relevance_gap(question: str, evidence: Sequence[Evidence], weights: TermWeights, *,
                  dense_floor: float, coverage_floor: float) -> str | None:
    """Why no evidence item is relevant enough to answer from, or None when one is.

    An item is relevant when it resembles the question (dense similarity >= dense_floor) and
    holds most of the question's key terms, weighted by rarity, in its text, title or authors
    (coverage >= coverage_floor). Similarity alone does not separate: an out-of-corpus question
    sharing the corpus's vocabulary ("attention" in psychology, "the Mamba state space model")
    scores as high as a terse in-corpus one; the rare terms it lacks tell them apart.
    """
    if not evidence:
        return "no indexed paper matches the question and filters"
    best: tuple[float, float, Evidence, list[str]] | None = None
    for item in evidence:
        dense = item.dense_score if item.dense_score is not None and not math.isnan(item.dense_score) else -1.0
        coverage, missing = question_coverage(question, item, weights)
        if dense >= dense_floor and coverage >= coverage_floor:
            return None
        if best is None or (coverage, dense) > best[:2]:
            best = (coverage, dense, item, missing)
    assert best is not None
    coverage, dense, item, missing = best
    return (f"no indexed paper is close enough to the question; the closest, {item.paper.key}, has "
            f"similarity {dense:.2f} (floor {dense_floor:.2f}) and {coverage:.0%} of its key terms "
            f"(floor {coverage_floor:.0%})" + (f", lacking {', '.join(missing[:5])}" if missing else ""))
