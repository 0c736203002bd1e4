"""The query side of the index: the current generation's papers, its Chroma collection and BM25.

No llama-index here: a fresh `search` process cannot afford its import. The first open of an
empty index ingests the default seeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..corpus.paper import Paper
from ..errors import IndexStoreError
from . import ProgressCallback, chroma_store as store
from .embedder import embedder_mismatch, embedder_name
from .generation import Generation
from .manifest import Manifest, read_manifest

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

    from ..config import Settings



@dataclass(frozen=True)
class ChunkHit:
    chunk_id: str
    paper_key: str
    text: str
    score: float  # cosine similarity (dense) or BM25 score


class PaperStore:
    """The papers of the current generation, by key, in corpus order."""

    def __init__(self, manifest: Manifest, generation: Generation) -> None:
        self.manifest = manifest
        self.generation = generation
        self._papers = {p.paper.key: p.paper for p in generation.papers()}

    def papers(self) -> list[Paper]:
        return list(self._papers.values())

    def paper(self, key: str) -> Paper:
        return self._papers[key]


class IndexReader(PaperStore):
    """Dense and BM25 ranking over the chunks of the current generation."""

    def __init__(self, settings: Settings, manifest: Manifest, generation: Generation) -> None:
        super().__init__(manifest, generation)
        self._index_dir = settings.index_dir
        self._chunks = generation.chunks()
        self._chunk_paper = [c.paper_key for c in self._chunks]
        self._chunk_position = {c.id: i for i, c in enumerate(self._chunks)}
        # Chroma before BM25: chromadb's import (the slowest step of a fresh search) also loads
        # most of what bm25s needs, so bm25s then comes almost free.
        self._label = manifest.store
        client = store.client_for(manifest.store, settings.index_dir)
        collection = store.open_collection(client, manifest.store, manifest.collection)
        if collection is None:
            raise IndexStoreError(f"the Chroma collection {manifest.collection} of the index in {settings.index_dir} "
                                  f"is missing from the {manifest.store} store",
                                  "rebuild it with `assistant ingest --rebuild`")
        self._collection: Collection = collection
        self._bm25 = generation.bm25()
        self._last_bm25: tuple[str, np.ndarray] | None = None  # a search asks twice for the same query

    def is_current(self) -> bool:
        """Whether this reader still reads the generation the manifest names (no ingest since)."""
        try:
            current = read_manifest(self._index_dir)
        except IndexStoreError:
            return False
        return current is not None and current.generation == self.manifest.generation

    def dense(self, vector: np.ndarray, n: int, *, year_from: int | None = None, year_to: int | None = None,
              category: str | None = None, paper_keys: list[str] | None = None) -> list[ChunkHit]:
        """The n chunks most similar to `vector` among those the filters allow, best first."""
        if paper_keys is not None and not paper_keys:
            return []
        where = store.where_clause(year_from, year_to, category, paper_keys)
        hits = []
        for chunk_id, similarity in store.query(self._collection, self._label, vector, n, where):
            if chunk_id not in self._chunk_position:
                raise IndexStoreError(f"the {self._label} store holds chunk {chunk_id}, which this index does not list",
                                      "rebuild the index with `assistant ingest --rebuild`")
            chunk = self._chunks[self._chunk_position[chunk_id]]
            hits.append(ChunkHit(chunk_id, chunk.paper_key, chunk.text, similarity))
        return hits

    def bm25(self, query: str, n: int, paper_keys: set[str] | None = None) -> list[ChunkHit]:
        """The n chunks with the highest BM25 score (above zero) among the allowed papers, best first."""
        scores = self._bm25_scores(query)
        if paper_keys is not None:
            scores = np.where([key in paper_keys for key in self._chunk_paper], scores, 0.0)
        return [ChunkHit(self._chunks[i].id, self._chunks[i].paper_key, self._chunks[i].text, float(scores[i]))
                for i in top_positive(scores, n)]

    def bm25_scores(self, query: str, chunk_ids: list[str]) -> dict[str, float]:
        """The BM25 score of each given chunk for `query`."""
        scores = self._bm25_scores(query)
        return {cid: float(scores[self._chunk_position[cid]]) for cid in chunk_ids if cid in self._chunk_position}

    def bm25_full_match(self, query: str) -> float:
        """The BM25 score of a chunk of average length holding every word of `query` once."""
        return self._bm25.full_match(query)

    def _bm25_scores(self, query: str) -> np.ndarray:
        last = self._last_bm25
        if last is None or last[0] != query:
            last = self._last_bm25 = (query, self._bm25.scores(query))
        return last[1]

    def similarities(self, vector: np.ndarray, chunk_ids: list[str]) -> dict[str, float]:
        """Cosine similarity of `vector` to each given chunk, from the vectors Chroma stores."""
        return {chunk_id: float(stored @ vector)
                for chunk_id, stored in store.vectors(self._collection, self._label, chunk_ids).items()}


def _current_manifest(settings: Settings, on_progress: ProgressCallback | None) -> Manifest:
    manifest = read_manifest(settings.index_dir)
    if manifest is None:
        from .ingest import ingest  # only on the very first use: ingest pulls in llama-index

        ingest(settings, on_progress=on_progress)
        manifest = read_manifest(settings.index_dir)
        assert manifest is not None
    return manifest


def open_papers(settings: Settings, on_progress: ProgressCallback | None = None) -> PaperStore:
    """The indexed papers only (no Chroma, no model): ingests the default seeds on first use."""
    manifest = _current_manifest(settings, on_progress)
    return PaperStore(manifest, Generation(settings.index_dir, manifest.generation))


def open_index(settings: Settings, on_progress: ProgressCallback | None = None) -> IndexReader:
    """The current index, ready to rank: ingests the default seeds on first use."""
    manifest = _current_manifest(settings, on_progress)
    chosen = embedder_name(settings)
    if manifest.embedder != chosen:
        raise embedder_mismatch(settings.index_dir, manifest.embedder, chosen)
    label = store.store_label(settings)
    if manifest.store != label:
        raise IndexStoreError(f"the index in {settings.index_dir} lives in the {manifest.store} Chroma store, "
                              f"but the settings point at {label}",
                              "run `assistant ingest` with these settings to copy it there (no re-embedding), "
                              "or use the matching --chroma-url")
    return IndexReader(settings, manifest, Generation(settings.index_dir, manifest.generation))


def top_positive(scores: np.ndarray, n: int) -> np.ndarray:
    """Indices of the n highest positive scores, best first, ties by index: what a stable sort of
    all scores gives, without sorting them all (at 1M chunks a full sort costs ~60 ms a query)."""
    positive = np.flatnonzero(scores > 0)
    if len(positive) > n:
        kth = np.partition(scores[positive], len(positive) - n)[len(positive) - n]  # the n-th best
        above = positive[scores[positive] > kth]
        positive = np.concatenate([above, positive[scores[positive] == kth][: n - len(above)]])
        positive.sort()
    return positive[np.argsort(-scores[positive], kind="stable")]
