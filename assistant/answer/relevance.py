"""Is there anything to answer from? The gate before drafting: when no evidence item is close
enough to the question and holds its rare terms, the answer is the refusal."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from ..corpus.paper import Paper
from ..retrieve import Evidence
from ..text import content_terms, term_words

REFUSAL = "The indexed papers do not address this question."


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
    wanted = term_words(question)
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
