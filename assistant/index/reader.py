"""The query side of the index: the current generation's papers, its Chroma collection and BM25.

No llama-index here: a fresh `search` process cannot afford its import. Opening reads only
what ranking needs (chunk ids and paper keys; BM25 memory-mapped): records and chunk texts
come from the generation's SQLite tables when a hit needs them.

Embedded store: the first open of an empty index ingests the default seeds. Chroma server:
the server's library record names the current generation; the local index directory is a
cache of it, rebuilt from the server when the generation changes, and nothing is written to
the server.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..corpus.paper import Paper
from ..errors import IndexStoreError
from . import ProgressCallback, chroma_store as store
from .embedder import embedder_mismatch, embedder_name
from .generation import Generation
from .manifest import FORMAT, Manifest, read_manifest
from .vocabulary import VocabularyLookup

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

    from ..config import Settings



class MissingCollection(IndexStoreError):
    """The collection a manifest names is not in the store (deleted, or renamed by an ingest's swap)."""


_OPEN_ATTEMPTS = 5  # ~0.75 s in all: a swap takes milliseconds


@dataclass(frozen=True)
class ChunkHit:
    chunk_id: str
    paper_key: str
    text: str
    score: float  # cosine similarity (dense) or BM25 score


class PaperStore:
    """The papers of the current generation, by key, in corpus order (read when first asked for)."""

    def __init__(self, manifest: Manifest, generation: Generation) -> None:
        self.manifest = manifest
        self.generation = generation
        self._papers: dict[str, Paper] | None = None

    def papers(self) -> list[Paper]:
        if self._papers is None:
            self._papers = {p.paper.key: p.paper for p in self.generation.papers()}
        return list(self._papers.values())

    def vocabulary(self) -> VocabularyLookup:
        """The papers' names and acronyms, looked up in the generation's tables."""
        return self.generation

    def authors_in(self, text: str) -> list[str]:
        return self.generation.authors_in(text)

    def paper(self, key: str) -> Paper:
        if self._papers is not None:
            return self._papers[key]
        paper = self.generation.paper(key)
        if paper is None:
            raise KeyError(key)
        return paper


class IndexReader(PaperStore):
    """Dense and BM25 ranking over the chunks of the current generation."""

    def __init__(self, settings: Settings, manifest: Manifest, generation: Generation) -> None:
        super().__init__(manifest, generation)
        self._settings = settings
        # Chunks are looked up by position or id when a query needs them: opening reads none.
        self._chunk_paper: list[str] | None = None  # every chunk's paper key, once a BM25 query is filtered
        # Chroma before BM25: chromadb's import (the slowest step of a fresh search) also loads
        # most of what bm25s needs, so bm25s then comes almost free.
        self._label = manifest.store
        client = store.client_for(manifest.store, settings.index_dir)
        collection = store.open_collection(client, manifest.store, manifest.collection)
        if collection is None:
            raise MissingCollection(f"the Chroma collection {manifest.collection} of the index in {settings.index_dir} "
                                    f"is missing from the {manifest.store} store",
                                    "rebuild it with `assistant ingest --rebuild`")
        self._collection: Collection = collection
        self._bm25 = generation.bm25()
        self._last_bm25: tuple[str, np.ndarray] | None = None  # a search asks twice for the same query

    def is_current(self) -> bool:
        """Whether this reader still reads the current generation (no ingest since, here or on the server)."""
        try:
            if self._label != store.EMBEDDED:
                client = store.client_for(self._label, self._settings.index_dir)
                served = store.read_library(client, self._label, store.collection_prefix(self._settings))
                return served is not None and served.get("generation") == self.manifest.generation
            current = read_manifest(self._settings.index_dir)
        except IndexStoreError:
            return False
        return current is not None and current.generation == self.manifest.generation

    def _check_current(self) -> None:
        """An ingest may have replaced this generation while its collection kept answering (grown in
        place): a reader of a replaced generation says so, and the caller reopens."""
        if not self.is_current():
            raise IndexStoreError(f"the index generation {self.manifest.generation} was replaced by an ingest",
                                  "open the index again")

    def dense(self, vector: np.ndarray, n: int, *, year_from: int | None = None, year_to: int | None = None,
              category: str | None = None, paper_keys: list[str] | None = None) -> list[ChunkHit]:
        """The n chunks most similar to `vector` among those the filters allow, best first."""
        self._check_current()
        if paper_keys is not None and not paper_keys:
            return []
        where = store.where_clause(year_from, year_to, category, paper_keys)
        if where is None and n >= self.manifest.chunks:
            return self._every_chunk(vector, n)
        # The collection may also hold chunks of another generation (an ingest growing it in place,
        # before or just after its swap): those are passed over, and the query asks again for more.
        fetch = n
        while True:
            results = store.query(self._collection, self._label, vector, fetch, where)
            positions = self.generation.positions_of_stored([sid for sid, _ in results])
            found = [(positions[sid], similarity) for sid, similarity in results if sid in positions]
            if len(found) >= n or len(results) < fetch:
                return self._hits(found[:n])
            fetch *= 4

    def _every_chunk(self, vector: np.ndarray, n: int) -> list[ChunkHit]:
        """Every chunk of the generation ranked by its stored vector, exactly: asked for all of
        them, an approximate (HNSW) search may leave some out, and which depends on how its graph
        grew (an index grown in place and one built at once then rank near-ties apart)."""
        _, store_ids, _ = self.generation.chunk_index()
        positions = self.generation.positions_of_stored(store_ids)
        stored = store.vectors(self._collection, self._label, list(positions))
        ranked = sorted(((positions[sid], float(v @ vector)) for sid, v in stored.items()), key=lambda hit: -hit[1])
        return self._hits(ranked[:n])

    def bm25(self, query: str, n: int, paper_keys: set[str] | None = None) -> list[ChunkHit]:
        """The n chunks with the highest BM25 score (above zero) among the allowed papers, best first."""
        self._check_current()
        scores = self._bm25_scores(query)
        if paper_keys is not None:
            if self._chunk_paper is None:
                self._chunk_paper = self.generation.chunk_paper_keys()
            scores = np.where([key in paper_keys for key in self._chunk_paper], scores, 0.0)
        return self._hits([(int(i), float(scores[i])) for i in top_positive(scores, n)])

    def _hits(self, ranked: list[tuple[int, float]]) -> list[ChunkHit]:
        chunks = self.generation.chunks_at([i for i, _ in ranked])
        return [ChunkHit(*chunks[i], score) for i, score in ranked]

    def bm25_scores(self, query: str, chunk_ids: list[str]) -> dict[str, float]:
        """The BM25 score of each given chunk for `query`."""
        scores = self._bm25_scores(query)
        return {cid: float(scores[position]) for cid, (position, _) in self.generation.chunk_rows(chunk_ids).items()}

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
        return {cid: float(stored @ vector) for cid, stored in self.vectors(chunk_ids).items()}

    def vectors(self, chunk_ids: list[str]) -> dict[str, np.ndarray]:
        """The stored (unit) vector of each given chunk."""
        by_store_id = {sid: cid for cid, (_, sid) in self.generation.chunk_rows(chunk_ids).items()}
        return {by_store_id[sid]: stored
                for sid, stored in store.vectors(self._collection, self._label, list(by_store_id)).items()}


def _current_manifest(settings: Settings, on_progress: ProgressCallback | None) -> Manifest:
    manifest = read_manifest(settings.index_dir)
    label = store.store_label(settings)
    if label != store.EMBEDDED and (manifest is None or manifest.store == label):
        return _served_manifest(settings, label, manifest, on_progress)
    if manifest is None:
        from .ingest import ingest  # only on the very first use: ingest starts the chunking process

        ingest(settings, on_progress=on_progress)
        manifest = read_manifest(settings.index_dir)
        assert manifest is not None
    if manifest.format != FORMAT:
        raise IndexStoreError(f"the index in {settings.index_dir} was built by an older version of the assistant "
                              f"(format {manifest.format}; this version reads {FORMAT})",
                              "run `assistant ingest` once to bring it up to date (your sources are kept)")
    return manifest


def _served_manifest(settings: Settings, label: str, local: Manifest | None,
                     on_progress: ProgressCallback | None) -> Manifest:
    """The server's current generation, copied into the local index directory when it is new here."""
    client = store.client_for(label, settings.index_dir)
    served = store.read_library(client, label, store.collection_prefix(settings))
    if served is None:
        raise IndexStoreError(f"the Chroma server at {label} holds no library {settings.library!r} yet",
                              "index your papers into it with `assistant ingest` (with the same --chroma-url)")
    if local is not None and local.generation == served.get("generation") and local.format == FORMAT:
        return local
    from .sync import sync_from_server

    return sync_from_server(settings, client, served, on_progress)


def open_papers(settings: Settings, on_progress: ProgressCallback | None = None) -> PaperStore:
    """The indexed papers only (no model): ingests the default seeds on first use (embedded store)."""
    manifest = _current_manifest(settings, on_progress)
    return PaperStore(manifest, Generation(settings.index_dir, manifest.generation))


def open_index(settings: Settings, on_progress: ProgressCallback | None = None) -> IndexReader:
    """The current index, ready to rank: ingests the default seeds on first use (embedded store)."""
    for attempt in range(_OPEN_ATTEMPTS):
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
        try:
            return IndexReader(settings, manifest, Generation(settings.index_dir, manifest.generation))
        except MissingCollection:
            # An ingest renames a collection it grew in place just before its swap: look again.
            if attempt == _OPEN_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * 2 ** attempt)
    raise AssertionError("unreachable")


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
