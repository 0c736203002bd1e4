"""Chunking in a worker process, so that llama-index loads beside the rest of an ingest.

llama-index's node parser takes ~1 s to import (its package loads chat engines and SQLAlchemy
before the sentence splitter). An ingest that adds one paper to 5,000 spends about as long on
everything else: opening Chroma, reading the previous generation, BM25. In a second process the
import runs on the other core while this one does that work, and adding a paper to a large
library stays within 3 s (evals/bench_ingest_memory.py). The worker is started once per process,
when an ingest first has papers to chunk, and serves every later ingest of that process (the
chat's, the test suite's); it is a daemon, so it ends with the process.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

from ..errors import IndexStoreError

if TYPE_CHECKING:
    from ..config import RetrievalSettings
    from ..corpus.paper import Paper


@dataclass(frozen=True)
class Chunk:
    """One chunk as llama-index cut it: plain data, so that it crosses the process boundary."""

    id: str
    paper_key: str
    text: str  # the chunk as stored (no header)
    embed_text: str  # what the embedder sees: the paper header, then the chunk
    metadata: dict[str, Any]


_lock = threading.Lock()
_running: ChunkWorker | None = None


def worker() -> ChunkWorker:
    """The process's chunking worker, started now (its llama-index import with it) if it is not running."""
    global _running
    with _lock:
        if _running is None or not _running.alive:
            _running = ChunkWorker()
        return _running


class ChunkWorker:
    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a process that holds threads and Chroma
        self._connection, theirs = context.Pipe()
        self._process = context.Process(target=_serve, args=(theirs,), name="assistant-chunker", daemon=True)
        self._process.start()
        theirs.close()
        self._lock = threading.Lock()  # one request at a time: the chat may ingest from a worker thread

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    def chunk(self, papers: list[Paper], retrieval: RetrievalSettings) -> list[Chunk]:
        """The papers' chunks, in paper order, as llama-index's sentence splitter cuts them."""
        with self._lock:
            try:
                self._connection.send((papers, retrieval))
                # Wait for the reply or the worker's end, whichever comes first: a killed worker never replies.
                wait([self._connection, self._process.sentinel])
                if not self._connection.poll():
                    raise EOFError
                failure, chunks = self._connection.recv()
            except (EOFError, OSError):
                raise IndexStoreError(f"the chunking process stopped (exit code {self._process.exitcode})",
                                      "run the ingest again") from None
        if failure:
            raise IndexStoreError(f"llama-index could not chunk the papers: {failure}",
                                  "report this with the listing file that was being indexed")
        return chunks


def _serve(connection: Connection) -> None:
    """The worker's loop: (papers, retrieval settings) in, their chunks (or a failure) out."""
    # Ctrl-C reaches the whole process group: the ingest handles it, the worker just ends with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from .chunking import chunk_papers, embed_text  # llama-index loads here, while the caller works

    while True:
        try:
            papers, retrieval = connection.recv()
        except EOFError:  # the ingest's process has gone
            return
        try:
            nodes = chunk_papers(papers, retrieval)
            reply = None, [Chunk(node.node_id, node.ref_doc_id, node.text, embed_text(node), node.metadata)
                           for node in nodes]
        except Exception as exc:  # reported by the caller; the worker serves on
            reply = "".join(traceback.format_exception_only(exc)).strip(), []
        connection.send(reply)
