"""Ingest: the library's sources -> a new index generation, swapped in atomically.

The sources are the files and folders the library was given (see sources.py): a bare ingest
re-reads them, so added, changed and removed files all show. A paper indexed before keeps its key.

Idempotent (an unchanged corpus writes nothing), incremental (a chunk whose embedded text was
embedded before reuses that vector), streaming (papers go through chunk, embed and store
PAPER_BATCH at a time, so memory does not grow with the corpus beyond the records and BM25),
resumable (every vector embedded is committed to a cache at once; an interrupted ingest's
successor embeds only what is missing) and atomic (everything is written into a fresh
generation; one os.replace of the manifest makes it current, and on a Chroma server one write
of the library record; a failure removes the half-built generation and the previous one keeps
answering).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..corpus import LibraryRead, ParseCache, read_library
from ..corpus.paper import Paper
from ..errors import CorpusError, IndexStoreError
from ..resources import default_seeds_dir
from . import ProgressCallback, chroma_store as store, chunk_worker
from .background import Background
from .bm25 import Bm25Index
from .chunking import chunker_label, text_hash  # llama-index loads only inside its chunk functions
from .embedder import Embedder, embedder_mismatch, embedder_name, get_embedder
from .generation import ChunkRecord, Generation, StoredPaper, all_generations, vector_blob
from .manifest import FORMAT, Manifest, read_manifest, write_manifest
from .sources import Source, absolute, check_present, chosen_paths, describe, recorded, remembered_paths
from .vocabulary import VOCABULARY
from ..text import TOKENIZER, tokenize

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from ..config import Settings

EMBED_BATCH = 16  # texts per embedder call (the embedder batches inside it as suits the model)
PAPER_BATCH = 32  # papers per chunk-embed-store step: what bounds ingest memory
_LOCK_NAME = ".ingest.lock"
_CACHE_NAME = "resume-vectors.sqlite3"
_PARSED_NAME = "parsed-files.sqlite3"  # the library files' entries as last parsed (corpus.ParseCache)


@dataclass
class IngestReport:
    generation: str
    papers: int
    chunks: int
    up_to_date: bool
    added: list[str] = field(default_factory=list)  # paper keys
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    chunked: int = 0  # papers cut into chunks by this run (the others kept their chunks)
    embedded: int = 0  # texts sent to the embedder by this run
    reused: int = 0  # chunk vectors carried over from the previous generation
    stored: int = 0  # chunks written to Chroma (the others were already in the collection grown in place)
    seconds: float = 0.0
    sources: list[Source] = field(default_factory=list)  # none: the sample papers
    merged: int = 0  # entries folded into another as the same paper
    without_abstract: int = 0  # papers indexed by their title alone
    skipped: list[str] = field(default_factory=list)  # entries and files left out, each naming its place

    def summary(self) -> str:
        if self.up_to_date:
            indexed = f"index up to date: {self.papers} papers, {self.chunks} chunks"
        else:
            rate = f", {self.papers / self.seconds:.1f} papers/s" if self.seconds > 0 else ""
            indexed = (f"indexed {self.papers} papers ({self.chunks} chunks): {len(self.added)} added, "
                       f"{len(self.changed)} changed, {len(self.removed)} removed; embedded {self.embedded} chunks, "
                       f"reused {self.reused}, stored {self.stored}, in {self.seconds:.1f} s{rate}")
        if not self.sources:
            return indexed + "\nlibrary: the sample papers shipped with the assistant (index yours: assistant ingest PATH)"
        count = len(self.sources)
        return (indexed + f"\nlibrary: {count} source{'s' * (count != 1)}; {self.merged} duplicates merged, "
                f"{self.without_abstract} without an abstract (indexed by title), {len(self.skipped)} skipped")


def ingest(settings: Settings, paths: Iterable[str | Path] = (), *, replace: bool = False,
           remove: Iterable[str | Path] = (), skip_invalid: bool = False, require_abstract: bool = False,
           rebuild: bool = False, on_progress: ProgressCallback | None = None,
           papers: list[Paper] | None = None) -> IngestReport:
    """Make the index in settings.index_dir mirror the library's sources (or the given papers).

    The sources are those the index remembers plus `paths` and settings.seeds_dir (all of them
    replaced by those with `replace`), less `remove`; an index that never had any holds the
    sample papers. A file that cannot be read fails the whole ingest, before anything is
    touched, unless skip_invalid: then it is left out and listed in the report.
    """
    started = time.perf_counter()
    # llama-index loads in the chunking process from here on, beside the reading of the library and
    # the opening of Chroma. A process this ingest started stays to serve later ones only if it chunked.
    started_chunker = chunk_worker.start()
    report = None
    try:
        report = _ingest(settings, paths, replace=replace, remove=remove, skip_invalid=skip_invalid,
                         require_abstract=require_abstract, rebuild=rebuild, on_progress=on_progress, papers=papers)
    finally:
        if started_chunker and (report is None or not report.chunked):
            chunk_worker.stop()  # failed, or had nothing to chunk: its import would be CPU for nothing
    report.seconds = time.perf_counter() - started
    return report


def _ingest(settings: Settings, paths: Iterable[str | Path], *, replace: bool, remove: Iterable[str | Path],
            skip_invalid: bool, require_abstract: bool, rebuild: bool, on_progress: ProgressCallback | None,
            papers: list[Paper] | None) -> IngestReport:
    given = [absolute(p) for p in [*paths, *([settings.seeds_dir] if settings.seeds_dir else [])]]
    removed = [absolute(p) for p in remove]

    before = _recorded(settings, rebuild)
    remembered = remembered_paths(before)
    chosen = chosen_paths(remembered, given, replace=replace, remove=removed)
    if papers is None:
        check_present(chosen, remembered)
        read = read_library([Path(p) for p in chosen] or [default_seeds_dir()], skip_invalid=skip_invalid,
                            require_abstract=require_abstract, previous=_indexed_papers(settings, before),
                            parse_cache=ParseCache(settings.index_dir / _PARSED_NAME))
    else:
        read = LibraryRead(papers)
    _check_unique_keys(read.papers)
    prepare_dir(settings.index_dir)
    with exclusive(settings.index_dir):
        if chosen_paths(remembered_paths(_recorded(settings, rebuild)), given, replace=replace, remove=removed) != chosen:
            raise IndexStoreError("another ingest changed this library's sources while this one read its files",
                                  "run the command again")
        sources = describe(chosen, read, time.strftime("%Y-%m-%dT%H:%M:%S%z")) if papers is None else []
        report = _Ingest(settings, read.papers, sources, rebuild, on_progress or (lambda stage, done, total: None)).run()
    report.merged, report.without_abstract = read.merged, read.without_abstract
    report.skipped = [str(problem) for problem in read.skipped] + read.errors
    return report


def _recorded(settings: Settings, rebuild: bool) -> dict | None:
    """The library's record as it stands; a corrupt one counts as none on --rebuild (what it is for)."""
    try:
        return recorded(settings)
    except IndexStoreError:
        if rebuild:
            return None
        raise


def _indexed_papers(settings: Settings, record: dict | None) -> list[Paper]:
    """The papers of the library as indexed, whose keys stay: the local copy of its generation,
    else the server's records. None found costs only key stability."""
    if record is None:
        return []
    generation = Generation(settings.index_dir, record["generation"])
    try:
        if generation.path.is_dir():
            return [stored.paper for stored in generation.papers()]
        label = store.store_label(settings)
        if label != store.EMBEDDED and record.get("records"):
            collection = store.open_collection(store.client_for(label, settings.index_dir), label, record["records"])
            if collection is not None:
                return [StoredPaper.from_record("", document).paper
                        for _, documents, _ in store.pages(collection, label) for document in documents]
    except (IndexStoreError, ValueError, KeyError, TypeError):
        pass
    finally:
        generation.close()
    return []


def _check_unique_keys(papers: list[Paper]) -> None:
    seen: set[str] = set()
    for paper in papers:
        if paper.key in seen:
            raise CorpusError(f"two papers share the citation key {paper.key!r} ({paper.source})",
                              "give them distinct keys")
        seen.add(paper.key)


def prepare_dir(index_dir: Path) -> None:
    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        probe = index_dir / f".write-test-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise IndexStoreError(f"cannot write the index directory {index_dir} ({exc.strerror or exc})",
                              "choose a writable one with --index DIR or ASSISTANT_INDEX_DIR") from None


@contextmanager
def exclusive(index_dir: Path) -> Iterator[None]:
    """One ingest per index directory at a time; a second one waits, then finds it up to date."""
    with open(index_dir / _LOCK_NAME, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class _VectorCache:
    """Vectors embedded by an ingest that has not finished, by embedded-text hash, committed per
    batch: what an interrupted ingest leaves for the next one. Emptied once a generation holds them."""

    def __init__(self, index_dir: Path, embedder: str) -> None:
        self.path = index_dir / _CACHE_NAME
        self.embedder = embedder
        self._db: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = sqlite3.connect(self.path)
            self._db.execute("CREATE TABLE IF NOT EXISTS vectors (embedder TEXT, hash TEXT, vector BLOB, "
                             "PRIMARY KEY (embedder, hash))")
        return self._db

    def get(self, hashes: list[str], dim: int) -> dict[str, np.ndarray]:
        if not hashes or not self.path.exists():
            return {}
        rows = self._connection().execute(
            f"SELECT hash, vector FROM vectors WHERE embedder = ? AND hash IN ({','.join('?' * len(hashes))})",
            [self.embedder, *hashes]).fetchall()
        found = {h: np.frombuffer(blob, dtype=np.float32) for h, blob in rows}
        return {h: v for h, v in found.items() if len(v) == dim}

    def put(self, vectors: dict[str, np.ndarray]) -> None:
        with self._connection() as db:
            db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                           [(self.embedder, h, vector_blob(v)) for h, v in vectors.items()])

    def clear(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        self.path.unlink(missing_ok=True)


class _Ingest:
    def __init__(self, settings: Settings, papers: list[Paper], sources: list[Source], rebuild: bool,
                 on_progress: ProgressCallback) -> None:
        self.settings = settings
        self.index_dir = settings.index_dir
        self.papers = [StoredPaper.of(p) for p in papers]
        self.sources = sources
        self.rebuild = rebuild
        self.progress = on_progress
        self.label = store.store_label(settings)
        self.prefix = store.collection_prefix(settings)
        self.embedder_name = embedder_name(settings)
        self.cache = _VectorCache(self.index_dir, self.embedder_name)
        self.leftovers = False  # the collection grown in place held items of no generation (see _collection_to_reuse)
        self.chunker = chunker_label(settings.retrieval)
        # Everything that decides the index content: the papers, how they are cut and tokenized, and
        # the sources to re-sync (a source added or removed is a new generation even with the same papers).
        digest = hashlib.sha256(f"{self.chunker}|{TOKENIZER}|{VOCABULARY}|{json.dumps([s.path for s in sources])}".encode())
        for stored in self.papers:
            digest.update(stored.hash.encode())
        self.corpus_hash = digest.hexdigest()

    @property
    def on_server(self) -> bool:
        return self.label != store.EMBEDDED

    def run(self) -> IngestReport:
        old = self._old_manifest()
        client = store.client_for(self.label, self.index_dir)
        self._remove_orphans(old, client)
        served = store.read_library(client, self.label, self.prefix) if self.on_server else None
        if old is not None and self._up_to_date(old, client, served):
            return IngestReport(old.generation, old.papers, old.chunks, up_to_date=True,
                                sources=[Source.from_dict(s) for s in old.sources])
        generation = Generation.new(self.index_dir)
        collection_name = f"{self.prefix}-{generation.name}"
        records_name = f"{collection_name}-records" if self.on_server else None
        reused = self._collection_to_reuse(old, client)
        generation.write_info(self.label, collection_name, records_name)
        try:
            report = self._build(old, generation, client, collection_name, records_name, reused)
        except BaseException:
            # Interrupted or failed: drop the half-built generation; the manifest still names the old
            # one, and a reused collection only gained items that generation does not list. The
            # vector cache stays, so the next ingest embeds only what this one had not.
            self._remove_generation(generation, client)
            raise
        if reused is not None and old is not None:
            self._drop_stale(reused, Generation(self.index_dir, old.generation), generation, report.chunks)
        if old is not None:
            self._remove_generation(Generation(self.index_dir, old.generation), client)
        if served is not None and served.get("generation") not in (generation.name, old and old.generation):
            # The server's previous library came from another machine: its collections are replaced too.
            for name in (served.get("collection"), served.get("records")):
                if name:
                    store.delete_collection(client, name)
        self.cache.clear()
        return report

    def _collection_to_reuse(self, old: Manifest | None, client: ClientAPI) -> Collection | None:
        """The previous generation's collection, when the new one can grow out of it in place: then
        only new and changed chunks are written (adding one paper to 5,000 costs one paper's chunks,
        where a copy of every vector costs ~1 s per 1,000 chunks)."""
        if old is None or self.rebuild or old.store != self.label or old.embedder != self.embedder_name:
            return None
        collection = store.open_collection(client, self.label, old.collection)
        count = collection.count() if collection is not None else 0
        # More items than the generation lists: an interrupted ingest left some (swept after the swap).
        self.leftovers = count > old.chunks
        return collection if collection is not None and count >= old.chunks else None

    def _drop_stale(self, collection: Collection, previous: Generation, generation: Generation, chunks: int) -> None:
        """After the swap: delete the items the new generation does not list (removed and replaced
        chunks, and what interrupted ingests added). Best effort: the next ingest retries."""
        try:
            keep = generation.store_ids()
            store.delete_items(collection, self.label, sorted(previous.store_ids() - keep))
            # Leftovers of an interrupted ingest: found by reading every id, only when the count said so
            # (a count of 8,000 items costs ~0.1 s; an ingest adding one paper needs none).
            if self.leftovers and collection.count() != chunks:
                store.delete_items(collection, self.label, store.ids_except(collection, self.label, keep))
        except IndexStoreError:
            pass

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

    def _up_to_date(self, old: Manifest, client: ClientAPI, served: dict | None) -> bool:
        if self.rebuild or (old.store, old.chunker, old.corpus_hash, old.format) != (self.label, self.chunker,
                                                                                      self.corpus_hash, FORMAT):
            return False
        if self.on_server and (served is None or served.get("generation") != old.generation):
            return False
        if not Generation(self.index_dir, old.generation).path.is_dir():
            return False
        collection = store.open_collection(client, self.label, old.collection)
        return collection is not None and collection.count() == old.chunks

    def _build(self, old: Manifest | None, generation: Generation, client: ClientAPI,
               collection_name: str, records_name: str | None, reused: Collection | None) -> IngestReport:
        # A collection grown in place loads the model on a thread once the papers are chunked, while
        # this process numbers the chunks and builds BM25: not earlier, where it would compete with
        # the chunking process's llama-index import for the cores. A new collection needs the
        # model's dimension first, so it waits for the model at once.
        def load_embedder() -> Background[Embedder]:
            return Background(lambda: get_embedder(self.settings), name="load-embedder")

        loading = None
        if reused is not None:
            collection, present = reused, Generation(self.index_dir, old.generation).store_ids()
        else:
            loading = load_embedder()
            collection, present = store.create_collection(client, self.label, collection_name, {
                "embedder": self.embedder_name, "dim": loading.get().dim, "generation": generation.name}), set()
        records = store.create_collection(client, self.label, records_name, {"generation": generation.name},
                                          space="l2") if records_name else None
        total, embedded, stored = len(self.papers), 0, 0
        generation.add_papers(enumerate(self.papers))
        generation.add_vocabulary([p.paper for p in self.papers])
        for at in range(0, total if records is not None else 0, store.PAGE):
            batch = self.papers[at:at + store.PAGE]
            store.add_records(records, self.label, [p.paper.key for p in batch], [p.record for p in batch],
                              [{"position": i, "hash": p.hash} for i, p in enumerate(batch, at)])
        to_chunk = self.papers
        before = Generation(self.index_dir, old.generation) if old is not None else None
        if (reused is not None and before is not None and old.chunker == self.chunker
                and (before.info() or {}).get("tokenizer") == TOKENIZER):
            # Papers unchanged since the previous generation keep its chunks (rows copied, vectors
            # already in the collection grown in place, BM25 tokens stored): only new and changed
            # papers are chunked, embedded, stored and tokenized.
            try:
                unchanged = before.paper_hashes()
                generation.copy_unchanged_chunks(before)
            except (sqlite3.Error, IndexStoreError):
                unchanged = {}  # an unreadable old generation only costs re-chunking
            to_chunk = [p for p in self.papers if unchanged.get(p.paper.key) != p.hash]
            if len(to_chunk) < total:
                self.progress("storing", total - len(to_chunk), total)
        kept = total - len(to_chunk)
        chunking = chunk_worker.worker() if to_chunk else None  # one process serves the whole ingest
        # Every paper is chunked and tokenized into the tables, and BM25 built from them, before
        # anything is embedded: BM25's build then peaks before Chroma's native memory has grown
        # with the stored chunks (evals/results/ingest-memory.txt). The chunks are then embedded
        # and stored from the tables, a batch at a time.
        for start in range(0, len(to_chunk), PAPER_BATCH):
            batch = to_chunk[start:start + PAPER_BATCH]
            done = kept + start + len(batch)
            cut = chunking.chunk([p.paper for p in batch], self.settings.retrieval)
            chunks = [ChunkRecord(c.id, c.paper_key, c.text, text_hash(c.embed_text)) for c in cut]
            ordinals = _ordinals(chunks)
            by_key = {p.paper.key: p.paper for p in batch}
            generation.add_unordered_chunks((c, ordinal, generation.name, None,
                                             bm25_tokens(by_key[c.paper_key], c.text))
                                            for c, ordinal in zip(chunks, ordinals))
            # Only chunks the collection lacks are stored: a copy synced from a server has none.
            generation.add_to_store(done, ((c, piece.embed_text, None if c.store_id in present else piece.metadata | {
                "ordinal": ordinal, "embed_hash": c.embed_hash, "generation": generation.name})
                for c, piece, ordinal in zip(chunks, cut, ordinals)))
            self.progress("chunking", done, total)
        loading = loading or load_embedder()
        chunk_count = generation.order_chunks()

        try:
            generation.save_bm25(Bm25Index.build(generation.iter_tokens()))
        except OSError as exc:
            raise IndexStoreError(f"cannot write the index generation {generation.path} ({exc.strerror or exc})",
                                  "free disk space or choose another --index DIR") from None
        embedder = loading.get()
        previous = self._reuse_source(old, embedder.dim)
        for done, rows in generation.to_store():
            hashes = [row.chunk.embed_hash for row in rows]
            vectors = self._known_vectors(previous, hashes, embedder.dim)
            new = [row for row in rows if row.metadata is not None]
            missing = sorted({row.chunk.embed_hash: row for row in new if row.chunk.embed_hash not in vectors}.values(),
                             key=lambda row: len(row.embed_text))  # similar lengths per call: little padding
            for at in range(0, len(missing), EMBED_BATCH):
                part = missing[at:at + EMBED_BATCH]
                embedded_rows = np.asarray(embedder.embed([row.embed_text for row in part]), dtype=np.float32)
                fresh = {row.chunk.embed_hash: vector for row, vector in zip(part, embedded_rows)}
                self.cache.put(fresh)
                vectors.update(fresh)
            embedded += len(missing)
            self.progress("embedding", done, total)
            store.add(collection, self.label, [row.chunk.store_id for row in new],
                      np.stack([vectors[row.chunk.embed_hash] for row in new]) if new else [],
                      [row.chunk.text for row in new], [row.metadata for row in new])
            stored += len(new)
            generation.set_vectors((row.chunk.id, vectors.get(row.chunk.embed_hash)) for row in rows)
            self.progress("storing", done, total)
        generation.drop_to_store()
        manifest = Manifest(
            generation=generation.name, collection=collection_name, store=self.label,
            embedder=self.embedder_name, dim=embedder.dim, chunker=self.chunker, corpus_hash=self.corpus_hash,
            papers=len(self.papers), chunks=chunk_count, created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            sources=[s.to_dict() for s in self.sources],
        )
        if reused is not None:
            # Named for its new generation just before the swap; a reader that looks it up by the old
            # name in between looks again (reader.open_index).
            store.rename(collection, self.label, collection_name)
        try:
            if records_name:
                store.write_library(client, self.label, self.prefix, asdict(manifest) | {"records": records_name})
            write_manifest(self.index_dir, manifest)
        except BaseException:
            if reused is not None and old is not None:
                store.rename(collection, self.label, old.collection)
            raise
        return self._report(old, generation, chunk_count, chunked=len(to_chunk), embedded=embedded, stored=stored)

    def _reuse_source(self, old: Manifest | None, dim: int) -> Generation | None:
        """The previous generation, whose vectors can be reused (none on --rebuild or another embedder)."""
        if old is None or self.rebuild or old.embedder != self.embedder_name or old.dim != dim:
            return None
        return Generation(self.index_dir, old.generation)

    def _known_vectors(self, previous: Generation | None, hashes: list[str], dim: int) -> dict[str, np.ndarray]:
        """Vectors already computed for these texts: the previous generation's, then the resume cache."""
        known: dict[str, np.ndarray] = {}
        if previous is not None:
            try:
                known = previous.vectors_for(hashes, dim)
            except IndexStoreError:
                pass  # an unreadable old generation only costs re-embedding
        return known | self.cache.get([h for h in set(hashes) if h not in known], dim)

    def _report(self, old: Manifest | None, generation: Generation, chunks: int, chunked: int, embedded: int,
                stored: int) -> IngestReport:
        before: dict[str, str] = {}
        if old is not None:
            try:
                before = Generation(self.index_dir, old.generation).paper_hashes()
            except IndexStoreError:
                pass
        now = {p.paper.key: p.hash for p in self.papers}
        return IngestReport(
            generation.name, len(self.papers), chunks, up_to_date=False,
            added=[k for k in now if k not in before],
            changed=[k for k in now if k in before and before[k] != now[k]],
            removed=[k for k in before if k not in now],
            chunked=chunked, embedded=embedded, reused=chunks - embedded, stored=stored, sources=self.sources,
        )

    def _remove_orphans(self, current: Manifest | None, client: ClientAPI) -> None:
        """Generations an earlier ingest left behind when it was killed before it could clean up."""
        for generation in all_generations(self.index_dir):
            if current is None or generation.name != current.generation:
                self._remove_generation(generation, client)

    def _remove_generation(self, generation: Generation, client: ClientAPI) -> None:
        """Delete a generation's collections and files. Best effort: leftovers are retried next ingest.

        A generation synced from a server is only a local copy: its collections are the server's.
        """
        info = generation.info()
        if info and not info.get("synced"):
            try:
                owner = client if info.get("store") == self.label else (
                    store.client_for(store.EMBEDDED, self.index_dir) if info.get("store") == store.EMBEDDED else None)
                # A collection on another server stays: that server may be gone, and it is not ours to wait on.
                for name in (info.get("collection"), info.get("records")):
                    if owner is not None and name:
                        store.delete_collection(owner, name)
                if info.get("store") == store.EMBEDDED:
                    store.reclaim_embedded(self.index_dir)
            except Exception:
                pass
        generation.remove()


def _ordinals(chunks: list[ChunkRecord]) -> list[int]:
    """Each chunk's place within its paper (chunks come grouped by paper, in order)."""
    seen: dict[str, int] = {}
    ordinals = []
    for chunk in chunks:
        ordinals.append(seen.get(chunk.paper_key, 0))
        seen[chunk.paper_key] = ordinals[-1] + 1
    return ordinals


def bm25_tokens(paper: Paper, chunk: str) -> list[str]:
    """What BM25 indexes for a chunk: the tokens of the paper's title and authors, then of the chunk."""
    return tokenize("\n".join(part for part in (paper.title, ", ".join(paper.authors), chunk) if part))
