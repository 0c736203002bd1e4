"""One index generation on disk: its papers, chunks, vectors and BM25 index.

index_dir/generations/<name>/
  generation.json   where its Chroma collections live (written first, so cleanup can find them)
  tables.sqlite3    papers (the records, in corpus order) and chunks (text, embedded-text hash
                    and vector, BM25 tokens, in BM25 document order): read a row at a time, never whole;
                    while it is built, chunks gather in `unordered` and are numbered at the end
                    and what questions look up by their words (vocabulary.py): paper names, coined
                    words, acronyms, author names by surname
  bm25/             the bm25s index, memory-mapped when read

A generation synced from a Chroma server has no vectors (NULL): queries go to the server.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..corpus.names import name_words, words_of
from ..corpus.paper import Paper
from ..errors import IndexStoreError
from ..text import TOKENIZER
from .bm25 import Bm25Index
from .vocabulary import Vocabulary

GENERATIONS = "generations"
TABLES = "tables.sqlite3"
# Ingest's chunks waiting to be embedded and stored (dropped once they are).
_TO_STORE = """
CREATE TABLE IF NOT EXISTS to_store (done INTEGER, id TEXT, paper_key TEXT, text TEXT, embed_hash TEXT, embed_text TEXT,
                                     metadata TEXT);
CREATE INDEX IF NOT EXISTS to_store_by_done ON to_store (done);
"""
_SCHEMA = """
CREATE TABLE papers (position INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, hash TEXT NOT NULL, record TEXT NOT NULL);
CREATE TABLE chunks (position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, paper_key TEXT NOT NULL,
                     text TEXT NOT NULL, embed_hash TEXT NOT NULL, vector BLOB, tokens TEXT);
CREATE INDEX chunks_by_hash ON chunks (embed_hash);
CREATE TABLE unordered (id TEXT, paper_key TEXT, ordinal INTEGER, text TEXT, embed_hash TEXT, vector BLOB,
                        tokens TEXT, generation TEXT);
CREATE TABLE names (name INTEGER PRIMARY KEY, paper_key TEXT NOT NULL, terms INTEGER NOT NULL);
CREATE TABLE name_terms (term TEXT NOT NULL, name INTEGER NOT NULL);
CREATE INDEX name_terms_by_term ON name_terms (term);
CREATE TABLE coined (word TEXT PRIMARY KEY, paper_key TEXT NOT NULL, used_by INTEGER NOT NULL);
CREATE TABLE acronyms (long_form TEXT PRIMARY KEY, acronym TEXT NOT NULL, words INTEGER NOT NULL);
CREATE INDEX acronyms_by_words ON acronyms (words);
CREATE TABLE authors (surname TEXT NOT NULL, name TEXT NOT NULL, paper INTEGER NOT NULL, ordinal INTEGER NOT NULL);
CREATE INDEX authors_by_surname ON authors (surname);
"""


@dataclass(frozen=True)
class ChunkRecord:
    id: str
    paper_key: str
    text: str  # the chunk as stored in Chroma (no title line)
    embed_hash: str  # sha256 of exactly what was embedded: equal hash, reusable vector

    @property
    def store_id(self) -> str:
        """Its id in Chroma: content-keyed, so a changed chunk is a new item beside the old one, and a
        collection can serve two generations while an ingest changes it in place."""
        return store_id(self.id, self.embed_hash)


def store_id(chunk_id: str, embed_hash: str) -> str:
    return f"{chunk_id}@{embed_hash[:16]}"


def chunk_id_of(stored: str) -> str:
    """The chunk id inside a Chroma id."""
    return stored.rsplit("@", 1)[0]


@dataclass(frozen=True)
class StoredPaper:
    hash: str  # content hash of the paper record
    paper: Paper
    record: str  # the paper as JSON

    @classmethod
    def of(cls, paper: Paper) -> StoredPaper:
        fields = paper.to_dict()  # once: it costs more than the rest of an unchanged paper's ingest
        return cls(hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest(), paper,
                   json.dumps(fields, ensure_ascii=False))

    @classmethod
    def from_record(cls, hash: str, record: str) -> StoredPaper:
        return cls(hash, Paper.from_dict(json.loads(record)), record)


@dataclass(frozen=True)
class ChunkToStore:
    chunk: ChunkRecord
    embed_text: str  # what the embedder sees: the paper header, then the chunk
    metadata: dict[str, Any] | None  # its Chroma metadata; None: the collection holds it already


def vector_blob(vector: np.ndarray | None) -> bytes | None:
    return None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()


class Generation:
    def __init__(self, index_dir: Path, name: str) -> None:
        self.name = name
        self.path = index_dir / GENERATIONS / name
        self._db: sqlite3.Connection | None = None

    @classmethod
    def new(cls, index_dir: Path) -> Generation:
        # Time first so that names sort by age; random suffix so two ingests never collide.
        return cls(index_dir, f"g{time.strftime('%Y%m%d%H%M%S')}{secrets.token_hex(3)}")

    @property
    def bm25_dir(self) -> Path:
        return self.path / "bm25"

    def write_info(self, store: str, collection: str, records: str | None = None, synced: bool = False) -> None:
        """Create the generation: its info file, then its empty tables.

        A synced generation is a local copy of a server's: removing it never touches the server.
        """
        self.path.mkdir(parents=True, exist_ok=False)
        info: dict[str, Any] = {"store": store, "collection": collection}
        # The tokenizer of its stored BM25 tokens (a synced copy stores none): a later ingest copies
        # only tokens of its own tokenizer.
        info |= ({"records": records} if records else {}) | ({"synced": True} if synced else {"tokenizer": TOKENIZER})
        (self.path / "generation.json").write_text(json.dumps(info), encoding="utf-8")
        with self._write() as db:
            db.executescript(_SCHEMA)

    def info(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.path / "generation.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    # --- writing (ingest and sync) ---

    def add_papers(self, papers: Iterable[tuple[int, StoredPaper]]) -> None:
        with self._write() as db:
            db.executemany("INSERT INTO papers VALUES (?, ?, ?, ?)",
                           ((i, p.paper.key, p.hash, p.record) for i, p in papers))

    def add_vocabulary(self, papers: list[Paper]) -> None:
        """The names, acronyms and author names of all the generation's papers, given in corpus
        order (vocabulary.py): what questions look up instead of reading every record."""
        vocabulary = Vocabulary.of(papers)
        with self._write() as db:
            db.executemany("INSERT INTO names VALUES (?, ?, ?)",
                           ((i, key, len(terms)) for i, (terms, key) in enumerate(vocabulary.names)))
            db.executemany("INSERT INTO name_terms VALUES (?, ?)",
                           ((term, i) for i, (terms, _) in enumerate(vocabulary.names) for term in terms))
            db.executemany("INSERT INTO coined VALUES (?, ?, ?)",
                           ((word, key, used_by) for word, (key, used_by) in vocabulary.coined.items()))
            db.executemany("INSERT INTO acronyms VALUES (?, ?, ?)",
                           ((form, acronym, len(form.split(" "))) for form, acronym in vocabulary.long_forms.items()))
            db.executemany("INSERT INTO authors VALUES (?, ?, ?, ?)",
                           ((name_words(name)[1], name, position, ordinal) for position, paper in enumerate(papers)
                            for ordinal, name in enumerate(paper.authors)))

    def add_chunks(self, chunks: Iterable[tuple[int, ChunkRecord, np.ndarray | None]]) -> None:
        with self._write() as db:
            db.executemany("INSERT INTO chunks (position, id, paper_key, text, embed_hash, vector) VALUES (?, ?, ?, ?, ?, ?)",
                           ((i, c.id, c.paper_key, c.text, c.embed_hash, vector_blob(v)) for i, c, v in chunks))

    def add_unordered_chunks(self, chunks: Iterable[tuple[ChunkRecord, int, str, np.ndarray | None,
                                                          list[str] | None]]) -> None:
        """Chunks with their ordinal in their paper, the generation that stored them, their vector and
        BM25 tokens, in any order (a copy from a server, a batch of ingest); order_chunks() then numbers them."""
        with self._write() as db:
            db.executemany("INSERT INTO unordered VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           ((c.id, c.paper_key, ordinal, c.text, c.embed_hash, vector_blob(vector),
                             None if tokens is None else " ".join(tokens), stored_by)
                            for c, ordinal, stored_by, vector, tokens in chunks))

    def add_to_store(self, done: int, chunks: Iterable[tuple[ChunkRecord, str, dict[str, Any] | None]]) -> None:
        """Chunks to embed and store after BM25 is built (see ingest), with their embedded text and
        metadata, under the count of papers chunked with them (what progress reports)."""
        with self._write() as db:
            db.executescript(_TO_STORE)
            db.executemany("INSERT INTO to_store VALUES (?, ?, ?, ?, ?, ?, ?)",
                           ((done, c.id, c.paper_key, c.text, c.embed_hash, embed_text,
                             None if metadata is None else json.dumps(metadata)) for c, embed_text, metadata in chunks))

    def to_store(self) -> Iterator[tuple[int, list[ChunkToStore]]]:
        """The chunks to store, a batch (as added) at a time, with the count of papers chunked with them."""
        if not self._rows("SELECT 1 FROM sqlite_master WHERE name = 'to_store'"):
            return
        for (done,) in self._rows("SELECT DISTINCT done FROM to_store ORDER BY done"):
            yield done, [ChunkToStore(ChunkRecord(*row[:4]), row[4], None if row[5] is None else json.loads(row[5]))
                         for row in self._rows("SELECT id, paper_key, text, embed_hash, embed_text, metadata FROM "
                                               "to_store WHERE done = ? ORDER BY rowid", (done,))]

    def set_vectors(self, vectors: Iterable[tuple[str, np.ndarray | None]]) -> None:
        """Record the vectors of chunks already numbered, by chunk id."""
        with self._write() as db:
            db.executemany("UPDATE chunks SET vector = ? WHERE id = ?",
                           ((vector_blob(vector), chunk_id) for chunk_id, vector in vectors if vector is not None))

    def drop_to_store(self) -> None:
        with self._write() as db:
            db.execute("DROP TABLE IF EXISTS to_store")

    def copy_unchanged_chunks(self, previous: Generation) -> None:
        """Copy from `previous` the chunk rows of the papers this generation lists unchanged (same
        key, same hash), in one statement and without re-chunking them. The papers must be added first."""
        with self._write() as db:
            db.execute("ATTACH DATABASE ? AS previous", (str(previous.path / TABLES),))
            db.execute("INSERT INTO unordered SELECT c.id, c.paper_key, "
                       "row_number() OVER (PARTITION BY c.paper_key ORDER BY c.position) - 1, c.text, c.embed_hash, "
                       "c.vector, c.tokens, '' FROM previous.chunks c JOIN previous.papers o ON o.key = c.paper_key "
                       "JOIN papers p ON p.key = o.key AND p.hash = o.hash")

    def order_chunks(self, newest_only: bool = False) -> int:
        """Move the unordered chunks into the chunk table in ingest's order (paper order, then
        ordinal), only of papers this generation lists; their count. newest_only: keep only the
        newest version of each chunk id (a copy from a server may hold several; it doubles the time)."""
        # SQLite's bare columns: with max(), the other columns come from the row holding the max.
        rows = ("(SELECT id, paper_key, ordinal, text, embed_hash, vector, tokens, max(generation) FROM unordered "
                "GROUP BY id)" if newest_only else "unordered")
        with self._write() as db:
            db.execute("INSERT INTO chunks SELECT row_number() OVER (ORDER BY p.position, n.ordinal) - 1, "
                       f"n.id, n.paper_key, n.text, n.embed_hash, n.vector, n.tokens FROM {rows} n "
                       "JOIN papers p ON p.key = n.paper_key")
            db.execute("DROP TABLE unordered")
            return db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def save_bm25(self, bm25: Bm25Index) -> None:
        bm25.save(self.bm25_dir)

    # --- reading ---

    def papers(self) -> list[StoredPaper]:
        return self._records(self._rows("SELECT hash, record FROM papers ORDER BY position"))

    def paper(self, key: str) -> Paper | None:
        found = self._records(self._rows("SELECT hash, record FROM papers WHERE key = ?", (key,)))
        return found[0].paper if found else None

    def _records(self, rows: list[tuple]) -> list[StoredPaper]:
        try:
            return [StoredPaper.from_record(h, r) for h, r in rows]
        except (ValueError, KeyError, TypeError):
            raise self._corrupt(TABLES) from None

    # --- the vocabulary's lookups (vocabulary.VocabularyLookup) ---

    def names_within(self, terms: frozenset[str]) -> set[str]:
        return {key for (key,) in self._rows_in(
            "SELECT n.paper_key FROM name_terms t JOIN names n ON n.name = t.name WHERE t.term IN ({}) "
            "GROUP BY t.name HAVING count(*) = max(n.terms)", sorted(terms))}

    def coined_among(self, terms: frozenset[str]) -> dict[str, tuple[str, int]]:
        return {word: (key, used_by) for word, key, used_by in
                self._rows_in("SELECT word, paper_key, used_by FROM coined WHERE word IN ({})", sorted(terms))}

    def acronyms_of(self, long_forms: list[str]) -> dict[str, str]:
        return dict(self._rows_in("SELECT long_form, acronym FROM acronyms WHERE long_form IN ({})", long_forms))

    def long_forms_of(self, acronyms: list[str]) -> dict[str, list[str]]:
        forms: dict[str, list[str]] = {}
        for acronym, form in self._rows_in("SELECT upper(acronym), long_form FROM acronyms WHERE upper(acronym) IN ({}) "
                                           "ORDER BY long_form", acronyms):
            forms.setdefault(acronym, []).append(form)
        return forms

    def longest_form(self) -> int:
        return self._rows("SELECT coalesce(max(words), 0) FROM acronyms")[0][0]

    def authors_in(self, text: str) -> list[str]:
        """The author names listed with a surname among the words of `text`, once per paper listing
        them, in corpus order (see names.names_in)."""
        return [name for (name,) in self._rows_in("SELECT name FROM authors WHERE surname IN ({}) "
                                                  "ORDER BY paper, ordinal", sorted(set(words_of(text))))]

    def _rows_in(self, sql: str, values: list[str] | list[int]) -> list[tuple]:
        """The rows of `sql` whose `IN ({})` holds `values`: passed as one JSON array, so no question
        is too long for SQLite's limit on parameters."""
        if not values:
            return []
        return self._rows(sql.format("SELECT value FROM json_each(?)"), [json.dumps(values)])

    def paper_hashes(self) -> dict[str, str]:
        return dict(self._rows("SELECT key, hash FROM papers ORDER BY position"))

    def chunk_index(self) -> tuple[list[str], list[str], list[str]]:
        """Every chunk's id, Chroma id and paper key, in BM25 document order (no texts)."""
        rows = self._rows("SELECT id, embed_hash, paper_key FROM chunks ORDER BY position")
        return [r[0] for r in rows], [store_id(r[0], r[1]) for r in rows], [r[2] for r in rows]

    def store_ids(self) -> set[str]:
        return {store_id(cid, h) for cid, h in self._rows("SELECT id, embed_hash FROM chunks")}

    def chunks_at(self, positions: list[int]) -> dict[int, tuple[str, str, str]]:
        """(chunk id, paper key, text) of the chunks at these BM25 positions."""
        return {position: (cid, key, text) for position, cid, key, text in self._rows_in(
            "SELECT position, id, paper_key, text FROM chunks WHERE position IN ({})", positions)}

    def chunk_rows(self, chunk_ids: list[str]) -> dict[str, tuple[int, str]]:
        """(BM25 position, Chroma id) of each of these chunks the generation holds."""
        return {cid: (position, store_id(cid, h)) for cid, position, h in self._rows_in(
            "SELECT id, position, embed_hash FROM chunks WHERE id IN ({})", chunk_ids)}

    def positions_of_stored(self, store_ids: list[str]) -> dict[str, int]:
        """The BM25 position of each Chroma id that is this generation's (not another generation's
        version of the chunk)."""
        wanted = set(store_ids)
        return {sid: position for position, sid in self.chunk_rows(list({chunk_id_of(s) for s in wanted})).values()
                if sid in wanted}

    def chunk_paper_keys(self) -> list[str]:
        """Every chunk's paper key, in BM25 document order."""
        return [key for (key,) in self._rows("SELECT paper_key FROM chunks ORDER BY position")]

    def iter_chunks(self) -> Iterator[ChunkRecord]:
        """Every chunk in order, a row at a time."""
        try:
            cursor = self._connection().execute("SELECT id, paper_key, text, embed_hash FROM chunks ORDER BY position")
            for row in cursor:
                yield ChunkRecord(*row)
        except sqlite3.Error:
            raise self._corrupt(TABLES) from None

    def iter_tokens(self) -> Iterator[list[str]]:
        """Every chunk's stored BM25 tokens in order, a row at a time (ingest stores them)."""
        try:
            for (tokens,) in self._connection().execute("SELECT tokens FROM chunks ORDER BY position"):
                yield tokens.split(" ") if tokens else []
        except sqlite3.Error:
            raise self._corrupt(TABLES) from None

    def vectors_for(self, hashes: list[str], dim: int) -> dict[str, np.ndarray]:
        """Stored vectors by embedded-text hash, for those of `hashes` this generation holds."""
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(hashes), 500):
            batch = hashes[start:start + 500]
            for h, blob in self._rows(f"SELECT embed_hash, vector FROM chunks WHERE vector IS NOT NULL AND "
                                      f"embed_hash IN ({','.join('?' * len(batch))})", batch):
                vector = np.frombuffer(blob, dtype=np.float32)
                if len(vector) == dim:
                    found[h] = vector
        return found

    def bm25(self) -> Bm25Index:
        try:
            return Bm25Index.load(self.bm25_dir)
        except (OSError, ValueError, KeyError):
            raise self._corrupt("bm25") from None

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def remove(self) -> None:
        self.close()
        shutil.rmtree(self.path, ignore_errors=True)

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            path = self.path / TABLES
            if not path.is_file():
                raise self._corrupt(TABLES)
            # Readers in other threads (the chat's workers) share it; SQLite serialises them.
            self._db = sqlite3.connect(path, check_same_thread=False)
        return self._db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own that commits and closes: each batch is durable once written."""
        db = sqlite3.connect(self.path / TABLES)
        try:
            with db:
                yield db
        finally:
            db.close()

    def _rows(self, sql: str, params: Iterable = ()) -> list[tuple]:
        try:
            return self._connection().execute(sql, tuple(params)).fetchall()
        except (sqlite3.Error, ValueError, KeyError, TypeError):
            raise self._corrupt(TABLES) from None

    def _corrupt(self, what: str) -> IndexStoreError:
        return IndexStoreError(f"the index generation {self.path} is missing or has a corrupt {what}",
                               "rebuild it with `assistant ingest --rebuild`")


def all_generations(index_dir: Path) -> list[Generation]:
    root = index_dir / GENERATIONS
    if not root.is_dir():
        return []
    return [Generation(index_dir, p.name) for p in sorted(root.iterdir()) if p.is_dir()]
