"""Hybrid retrieval: dense (Chroma) and BM25 fused, diversified per paper, filtered.

Returns Evidence: the unit the answer layer cites.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .corpus.paper import Paper


@dataclass(frozen=True)
class Filters:
    year_from: int | None = None
    year_to: int | None = None
    author: str | None = None  # case-insensitive substring of any author
    category: str | None = None  # exact subject code, case-insensitive

    def is_empty(self) -> bool:
        return not (self.year_from or self.year_to or self.author or self.category)


@dataclass(frozen=True)
class Evidence:
    paper: Paper
    text: str  # the chunk of the abstract that matched
    score: float  # fused score (higher is better)
    rank: int  # 1-based position in the result list
    chunk_id: str
    dense_score: float | None = None  # cosine similarity of the chunk to the query, if ranked
    bm25_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.paper.key,
            "source": self.paper.source,
            "title": self.paper.title,
            "label": self.paper.label,
            "authors": list(self.paper.authors),
            "year": self.paper.year,
            "category": self.paper.category,
            "score": round(self.score, 6),
            "dense_score": None if self.dense_score is None else round(self.dense_score, 6),
            "bm25_score": None if self.bm25_score is None else round(self.bm25_score, 6),
            "rank": self.rank,
            "snippet": self.text,
        }
