"""The figures: ranking metrics, ALCE citation recall/precision, percentiles. Pure functions."""

from __future__ import annotations

import math
from typing import Callable, Sequence, TypeVar

T = TypeVar("T")


def ranking_metrics(ranked: Sequence[str], relevant: frozenset[str]) -> dict[str, float]:
    """recall@5, recall@10, MRR@10 and nDCG@10 (binary relevance) of one ranked list of papers."""
    hits = [item in relevant for item in ranked[:10]]
    first = next((i for i, hit in enumerate(hits, start=1) if hit), None)
    dcg = sum(1 / math.log2(i + 1) for i, hit in enumerate(hits, start=1) if hit)
    ideal = sum(1 / math.log2(i + 1) for i in range(1, min(len(relevant), 10) + 1))
    return {
        "recall@5": sum(hits[:5]) / len(relevant),
        "recall@10": sum(hits) / len(relevant),
        "mrr@10": 1 / first if first else 0.0,
        "ndcg@10": dcg / ideal if ideal else 0.0,
    }


def mean_by_key(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    return {name: sum(r[name] for r in rows) / len(rows) for name in rows[0]} if rows else {}


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (share in 0..1); 0 for no values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0


Supports = Callable[[str, Sequence[T]], bool]  # does this set of passages support the statement?


def alce_citation_scores(statement: str, cited: Sequence[T], supports: Supports) -> tuple[int, int, int]:
    """(recall hit 0/1, precise citations, citations) for one statement, as ALCE defines them.

    Recall: the statement's citations together support it. A citation is imprecise when the
    full set does not support the statement, or when it alone does not support it while the
    others still do without it (Gao et al., 2023, "Enabling LLMs to Generate Text with Citations").
    """
    if not cited:
        return 0, 0, 0
    if not supports(statement, cited):
        return 0, 0, len(cited)
    precise = 0
    for i, citation in enumerate(cited):
        rest = [c for j, c in enumerate(cited) if j != i]
        irrelevant = not supports(statement, [citation]) and bool(rest) and supports(statement, rest)
        precise += not irrelevant
    return 1, precise, len(cited)
