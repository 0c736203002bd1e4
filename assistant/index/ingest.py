"""Ingest: seed listings -> a new index generation, swapped in atomically.

Idempotent (an unchanged corpus writes nothing), incremental (a chunk whose embedded text was
embedded before reuses that vector) and atomic (everything is written into a fresh generation;
one os.replace of the manifest makes it current; a failure removes the half-built generation
and the previous one keeps answering).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..corpus import load_corpus
from ..corpus.paper import Paper
from ..errors import CorpusError, IndexStoreError
from ..resources import default_seeds_dir
from . import ProgressCallback, chroma_store as store
from .background import Background
from .bm25 import Bm25Index
from .embedder import embedder_mismatch, embedder_name, get_embedder
from .generation import ChunkRecord, Generation, StoredPaper, all_generations
from .manifest import Manifest, read_manifest, write_manifest
from ..text import TOKENIZER

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

    from ..config import Settings

EMBED_BATCH = 16  # texts per progress step (the embedder batches inside it as suits the model)
STORE_BATCH = 64
_LOCK_NAME = ".ingest.lock"


@dataclass
class IngestReport:
    generation: str
    papers: int
    chunks: int
    up_to_date: bool
    added: list[str] = field(default_factory=list)  # paper keys
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    embedded: int = 0  # texts sent to the embedder by this run
    reused: int = 0  # chunk vectors carried over from the previous generation
    seconds: float = 0.0

    def summary(self) -> str:
        if self.up_to_date:
            return f"index up to date: {self.papers} papers, {self.chunks} chunks"
        return (f"indexed {self.papers} papers ({self.chunks} chunks): {len(self.added)} added, "
                f"{len(self.changed)} changed, {len(self.removed)} removed; embedded {self.embedded} chunks, "
                f"reused {self.reused}, in {self.seconds:.1f} s")


def paper_hash(paper: Paper) -> str:
    return hashlib.sha256(json.dumps(paper.to_dict(), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def ingest(settings: Settings, *, rebuild: bool = False, on_progress: ProgressCallback | None = None,
           papers: list[Paper] | None = None) -> IngestReport:
    """Make the index in settings.index_dir mirror the seed listings (or the given papers)."""
    started = time.perf_counter()
    if papers is None:
        papers = load_corpus(settings.seeds_dir or default_seeds_dir())  # fails before anything is touched
    _check_unique_keys(papers)
    _prepare_dir(settings.index_dir)
    with _exclusive(settings.index_dir):
        report = _Ingest(settings, papers, rebuild, on_progress or (lambda stage, done, total: None)).run()
    report.seconds = time.perf_counter() - started
    return report


def _check_unique_keys(papers: list[Paper]) -> None:
    seen: set[str] = set()
    for paper in papers:
        if paper.key in seen:
            raise CorpusError(f"two papers share the citation key {paper.key!r} ({paper.source})",
                              "give them distinct keys")
        seen.add(paper.key)


def _prepare_dir(index_dir: Path) -> None:
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        probe = index_dir / f".write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise IndexStoreError(f"cannot write the index directory {index_dir} ({exc.strerror or exc})",
                              "choose a writable one with --index DIR or ASSISTANT_INDEX_DIR") from None


@contextmanager
def _exclusive(index_dir: Path) -> Iterator[None]:
    """One ingest per index directory at a time; a second one waits, then finds it up to date."""
    with open(index_dir / _LOCK_NAME, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class _Ingest:
    def __init__(self, settings: Settings, papers: list[Paper], rebuild: bool, on_progress: ProgressCallback) -> None:
        self.settings = settings
        self.index_dir = settings.index_dir
        self.papers = [StoredPaper(paper_hash(p), p) for p in papers]
        self.rebuild = rebuild
        self.progress = on_progress
        self.label = store.store_label(settings)
        self.embedder_name = embedder_name(settings)
        from .chunking import chunker_label  # chunking imports llama-index only inside its functions

        self.chunker = chunker_label(settings.retrieval)
        # Everything that decides the index content: the papers, how they are cut and tokenized.
        digest = hashlib.sha256(f"{self.chunker}|{TOKENIZER}".encode())
        for stored in self.papers:
            digest.update(stored.hash.encode())
        self.corpus_hash = digest.hexdigest()

    def run(self) -> IngestReport:
        old = self._old_manifest()
        client = store.client_for(self.label, self.index_dir)
        self._remove_orphans(old, client)
        if old is not None and self._up_to_date(old, client):
            return IngestReport(old.generation, old.papers, old.chunks, up_to_date=True)
        generation = Generation.new(self.index_dir)
        collection_name = f"{self.settings.collection}-{generation.name}"
        generation.write_info(self.label, collection_name)
        try:
            report = self._build(old, generation, client, collection_name)
        except BaseException:
            # Interrupted or failed: drop the half-built generation; the manifest still names the old one.
            self._remove_generation(generation, client)
            raise
        if old is not None:
            self._remove_generation(Generation(self.index_dir, old.generation), client)
        return report

    def _old_manifest(self) -> Manifest | None:
        try:
            old = read_manifest(self.index_dir)
        except IndexStoreError:
            if self.rebuild:  # a corrupt manifest is exactly what --rebuild is for
                return None
            raise
        if old is not None and not self.rebuild and old.embedder != self.embedder_name:
            raise embedder_mismatch(self.index_dir, old.embedder, self.embedder_name)
        return old

    def _up_to_date(self, old: Manifest, client: ClientAPI) -> bool:
        if self.rebuild or (old.store, old.chunker, old.corpus_hash) != (self.label, self.chunker, self.corpus_hash):
            return False
        if not Generation(self.index_dir, old.generation).path.is_dir():
            return False
        collection = store.open_collection(client, self.label, old.collection)
        return collection is not None and collection.count() == old.chunks

    def _build(self, old: Manifest | None, generation: Generation, client: ClientAPI,
               collection_name: str) -> IngestReport:
        # The model session builds on a thread while llama-index imports here (~2 s).
        loading = Background(lambda: get_embedder(self.settings), name="load-embedder")
        from llama_index.vector_stores.chroma import ChromaVectorStore

        from .chunking import chunk_papers, embed_text, text_hash
        from .llama import configure_llama_index

        self.progress("chunking", 0, 1)
        nodes = chunk_papers([p.paper for p in self.papers], self.settings.retrieval)
        self.progress("chunking", 1, 1)
        texts = [embed_text(node) for node in nodes]
        hashes = [text_hash(t) for t in texts]

        embedder = loading.get()
        adapter = configure_llama_index(embedder)
        reusable = self._reusable_vectors(old, embedder.dim)
        vectors = np.zeros((len(nodes), embedder.dim), dtype=np.float32)
        missing = []
        for i, h in enumerate(hashes):
            if h in reusable:
                vectors[i] = reusable[h]
            else:
                missing.append(i)
        # Similar lengths per batch: dynamic padding then wastes little.
        missing.sort(key=lambda i: len(texts[i]))
        for start in range(0, len(missing), EMBED_BATCH):
            batch = missing[start:start + EMBED_BATCH]
            vectors[batch] = np.asarray(adapter.get_text_embedding_batch([texts[i] for i in batch]), dtype=np.float32)
            self.progress("embedding", min(start + EMBED_BATCH, len(missing)), len(missing))
        for node, vector in zip(nodes, vectors):
            node.embedding = vector.tolist()

        collection = store.create_collection(client, self.label, collection_name, {
            "embedder": self.embedder_name, "dim": embedder.dim, "generation": generation.name})
        vector_store = ChromaVectorStore(chroma_collection=collection)
        for start in range(0, len(nodes), STORE_BATCH):
            try:
                vector_store.add(nodes[start:start + STORE_BATCH])
            except Exception as exc:
                raise store.failure(self.label, "writing vectors", exc) from None
            self.progress("storing", min(start + STORE_BATCH, len(nodes)), len(nodes))

        by_key = {p.paper.key: p.paper for p in self.papers}
        chunks = [ChunkRecord(node.node_id, node.ref_doc_id, node.text, h) for node, h in zip(nodes, hashes)]
        bm25 = Bm25Index.build([bm25_text(by_key[c.paper_key], c.text) for c in chunks])
        try:
            generation.save(self.papers, chunks, vectors, bm25)
        except OSError as exc:
            raise IndexStoreError(f"cannot write the index generation {generation.path} ({exc.strerror or exc})",
                                  "free disk space or choose another --index DIR") from None
        write_manifest(self.index_dir, Manifest(
            generation=generation.name, collection=collection_name, store=self.label,
            embedder=self.embedder_name, dim=embedder.dim, chunker=self.chunker, corpus_hash=self.corpus_hash,
            seeds_dir=str(self.settings.seeds_dir or default_seeds_dir()), papers=len(self.papers),
            chunks=len(chunks), created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        ))
        return self._report(old, generation, len(chunks), embedded=len(missing))

    def _reusable_vectors(self, old: Manifest | None, dim: int) -> dict[str, np.ndarray]:
        """Vectors of the previous generation by embedded-text hash (none on --rebuild)."""
        if old is None or self.rebuild or old.embedder != self.embedder_name or old.dim != dim:
            return {}
        previous = Generation(self.index_dir, old.generation)
        try:
            chunks, vectors = previous.chunks(), previous.vectors()
        except IndexStoreError:
            return {}  # an unreadable old generation only costs re-embedding
        if len(vectors) != len(chunks):
            return {}
        return {chunk.embed_hash: vectors[i] for i, chunk in enumerate(chunks)}

    def _report(self, old: Manifest | None, generation: Generation, chunks: int, embedded: int) -> IngestReport:
        before: dict[str, str] = {}
        if old is not None:
            try:
                before = {p.paper.key: p.hash for p in Generation(self.index_dir, old.generation).papers()}
            except IndexStoreError:
                pass
        now = {p.paper.key: p.hash for p in self.papers}
        return IngestReport(
            generation.name, len(self.papers), chunks, up_to_date=False,
            added=[k for k in now if k not in before],
            changed=[k for k in now if k in before and before[k] != now[k]],
            removed=[k for k in before if k not in now],
            embedded=embedded, reused=chunks - embedded,
        )

    def _remove_orphans(self, current: Manifest | None, client: ClientAPI) -> None:
        """Generations an earlier ingest left behind when it was killed before it could clean up."""
        for generation in all_generations(self.index_dir):
            if current is None or generation.name != current.generation:
                self._remove_generation(generation, client)

    def _remove_generation(self, generation: Generation, client: ClientAPI) -> None:
        """Delete a generation's collection and files. Best effort: leftovers are retried next ingest."""
        info = generation.info()
        if info:
            try:
                if info.get("store") == self.label:
                    store.delete_collection(client, info["collection"])
                elif info.get("store") == store.EMBEDDED:
                    store.delete_collection(store.client_for(store.EMBEDDED, self.index_dir), info["collection"])
                # A collection on another server stays: that server may be gone, and it is not ours to wait on.
            except Exception:
                pass
        generation.remove()


def bm25_text(paper: Paper, chunk: str) -> str:
    """What BM25 indexes for a chunk: the paper's title and authors, then the chunk itself."""
    return "\n".join(part for part in (paper.title, ", ".join(paper.authors), chunk) if part)
