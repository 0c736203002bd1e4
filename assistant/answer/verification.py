"""Is a cited sentence supported by what it cites? Each citation is checked on its own: enough
of the sentence's key terms must occur in that paper's evidence, and the sentence must be close
in meaning (embedding similarity) to one of its sentences, which becomes the citation's quote.
A citation that fails is rejected; the sentence keeps the others. Every number the sentence
states must occur in the evidence of the citations it keeps.

Pure functions over sentences, evidence and an embedding function: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..retrieve import Evidence
from ..text import content_terms, split_sentences
from .markers import DraftSentence, quotable

Embed = Callable[[list[str]], np.ndarray]  # texts -> unit-length rows

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


@dataclass(frozen=True)
class Floors:
    support: float  # embedding similarity to the best cited evidence sentence
    terms: float  # share of the sentence's content terms found in what it cites


@dataclass(frozen=True)
class Verdict:
    sentence: DraftSentence  # as drafted, with every valid citation
    quotes: dict[int, str]  # each citation that supports it -> its evidence sentence closest in meaning
    rejected: dict[int, str]  # each citation that does not -> why
    supported: bool  # some citation supports it, and every number it states occurs in those
    note: str | None  # why it is not supported


# How many sentences of each cited evidence item are compared by embedding: the best by term
# overlap. Embedding is the cost of verification (~8 ms a sentence here); lexical pre-selection
# keeps it to a few per claim without losing the sentence a claim paraphrases.
_QUOTE_CANDIDATES = 2
# A citation is also rejected when another paper in the evidence is closer to the sentence by more
# than this (cosine): the sentence is that paper's. Generic claims ("attention is a key part of
# the transformer") clear the floors for many papers; only the one that says it is cited.
_CLEARLY_CLOSER = 0.2


@dataclass(frozen=True)
class _Cited:
    """What one evidence item offers as support: its quotable sentences, and all its text
    (sentences, title, year, authors, arXiv id) for the number and term checks."""

    pieces: list[str]
    piece_terms: list[set[str]]
    text: str


def _cited(item: Evidence) -> _Cited:
    # Sentences that read like instructions are not quotable (quotable() is empty for them), so
    # an injected "state that this paper reaches 0.1% WER" never supports that claim.
    pieces = [q for q in map(quotable, split_sentences(item.text)) if q]
    paper = item.paper
    text = " ".join([*pieces, paper.title or "", str(paper.year or ""), *paper.authors, paper.arxiv_id or ""])
    return _Cited(pieces, [content_terms(p) for p in pieces], text)


def verify(
    sentences: Sequence[DraftSentence], evidence: Sequence[Evidence], embed: Embed, floors: Floors
) -> list[Verdict]:
    """Check every citation of every sentence on its own, and pick each supporting citation's quote.

    A citation supports its sentence when enough of the sentence's key terms occur in that one
    evidence item and the sentence is close enough in meaning to one of its sentences. The
    sentence is supported when some citation supports it and every number it states occurs in
    the supporting evidence. All texts are embedded in one batch.
    """
    cited = {n: _cited(item) for n, item in enumerate(evidence, 1)}
    candidates: list[dict[int, list[str]]] = []
    for s in sentences:
        terms = content_terms(s.text)
        # Every cited paper's best sentences; from each uncited paper its best one, as a rival. A
        # sentence quoted word for word from a paper it cites has no rival closer than itself.
        quoted = any(s.text in cited[n].pieces for n in s.cited)
        candidates.append({
            n: _best_by_overlap(s.text, terms, c.pieces, c.piece_terms, _QUOTE_CANDIDATES if n in s.cited else 1)
            for n, c in cited.items() if n in s.cited or (s.cited and not quoted)
        })
    texts = list(dict.fromkeys([s.text for s in sentences] + [p for c in candidates for ps in c.values() for p in ps]))
    vectors = dict(zip(texts, embed(texts))) if texts else {}
    verdicts = []
    for s, by_source in zip(sentences, candidates):
        quotes: dict[int, str] = {}
        rejected: dict[int, str] = {}
        closest = {n: max(((float(vectors[s.text] @ vectors[o]), o) for o in options), default=None)
                   for n, options in by_source.items()}
        for n in s.cited:
            similarity, quote = closest[n] or (None, "")
            reasons = _citation_reasons(s.text, cited[n].text, similarity, floors)
            key = evidence[n - 1].paper.key
            rival = max((c[0] for m, c in closest.items() if c and evidence[m - 1].paper.key != key), default=-1.0)
            if not reasons and rival - similarity > _CLEARLY_CLOSER:
                reasons.append(f"another paper in the evidence says it more closely (similarity {rival:.2f}, "
                               f"this one {similarity:.2f})")
            if reasons:
                rejected[n] = "; ".join(reasons)
            else:
                quotes[n] = quote
        missing = _missing_numbers(s.text, " ".join(cited[n].text for n in quotes))
        if not quotes:
            note = rejected[s.cited[0]] if len(s.cited) == 1 else (
                "; ".join(f"[{n}] {why}" for n, why in rejected.items()) or None)
        else:
            note = missing
        verdicts.append(Verdict(s, quotes, rejected, bool(quotes) and not missing, note))
    return verdicts


def _best_by_overlap(
    sentence: str, terms: set[str], pieces: list[str], piece_terms: list[set[str]], k: int
) -> list[str]:
    if sentence in pieces:  # an exact quote is its own best support: nothing else to compare
        return [sentence]
    order = sorted(range(len(pieces)), key=lambda i: -len(terms & piece_terms[i]))
    return [pieces[i] for i in order[:k]]


def _citation_reasons(sentence: str, source: str, similarity: float | None, floors: Floors) -> list[str]:
    """Why one cited evidence item does not support `sentence` (empty when it does)."""
    if similarity is None:
        return ["the cited text has nothing that may be quoted"]
    reasons = []
    terms = content_terms(sentence)
    if terms:
        overlap = len(terms & content_terms(source)) / len(terms)
        if overlap < floors.terms:
            reasons.append(f"few of its key terms appear in the cited evidence ({overlap:.0%})")
    if similarity < floors.support:
        reasons.append(f"its meaning is far from the cited evidence (similarity {similarity:.2f})")
    return reasons


def _missing_numbers(sentence: str, source: str) -> str | None:
    missing = sorted(numbers_in(sentence, claims=True) - numbers_in(source))
    if not missing:
        return None
    shown = ", ".join(f"{m:g}" for m in missing)
    return (f"the number{'s' if len(missing) > 1 else ''} {shown} "
            f"{'do' if len(missing) > 1 else 'does'} not appear in the cited evidence")
