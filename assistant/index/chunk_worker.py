"""Chunking in a worker process, so that llama-index loads beside the rest of an ingest.

llama-index's node parser takes ~1 s to import (its package loads chat engines and SQLAlchemy
before the sentence splitter). An ingest that adds one paper to 5,000 spends about as long on
everything else: opening Chroma, reading the previous generation, BM25. In a second process the
import runs on the other core while this one does that work, and adding a paper to a large
library stays within 3 s (evals/bench_ingest_memory.py). Each ingest starts the worker unless one
is running; one that has chunked stays to serve the process's later ingests (the test suite's, a
script's), one that failed or had nothing to chunk is stopped, and any is stopped at exit. A chat
that built its index on first use keeps it idle (~135 MB) for the session.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import threading
import traceback
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
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
    return _ensure()[0]


def running() -> ChunkWorker | None:
    """The process's chunking worker if one is running (none is started)."""
    with _lock:
        return _running if _running is not None and _running.alive else None


def start() -> bool:
    """Start the worker ahead of its first use; whether this call started it."""
    return _ensure()[1]


def _ensure() -> tuple[ChunkWorker, bool]:
    global _running
    with _lock:
        if _running is not None and _running.alive:
            return _running, False
        _running = ChunkWorker()
        return _running, True


def stop() -> None:
    """End the worker (waiting for a request in flight)."""
    global _running
    with _lock:
        if _running is not None:
            _running.close()
            _running = None


atexit.register(stop)


class ChunkWorker:
    """`python -m assistant.index.chunk_worker` behind two pipes. A plain subprocess rather than
    multiprocessing's spawn, which would run the caller's main script again in the worker. Its
    own session keeps the terminal's Ctrl-C to the ingest; it ends when the ingest's process
    closes the pipes, however that process ends."""

    def __init__(self) -> None:
        to_worker, from_us = os.pipe()
        to_us, from_worker = os.pipe()
        # This very package, whatever the working directory holds: -P keeps the working directory off
        # the worker's path (an `assistant` folder there would be imported instead), and the folder
        # this package was imported from comes first on it.
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join([package_root, *filter(None, [os.environ.get("PYTHONPATH")])])
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-P", "-m", __name__, str(to_worker), str(from_worker)],
                pass_fds=(to_worker, from_worker), env=os.environ | {"PYTHONPATH": path}, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            for fd in (to_worker, from_us, to_us, from_worker):
                os.close(fd)
            raise IndexStoreError(f"cannot start the chunking process ({exc.strerror or exc})",
                                  "check that the machine can start processes (memory, process limits)") from None
        os.close(to_worker)
        os.close(from_worker)
        self._requests = Connection(from_us, readable=False)
        self._replies = Connection(to_us, writable=False)
        # One request at a time (the chat may ingest from a worker thread); close() waits for it.
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self._requests.close()
            self._replies.close()
            self._process.kill()  # at once: it may still be importing llama-index, ~1 s of CPU for nothing
            self._process.wait()

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    @property
    def pid(self) -> int:
        return self._process.pid

    def chunk(self, papers: list[Paper], retrieval: RetrievalSettings) -> list[Chunk]:
        """The papers' chunks, in paper order, as llama-index's sentence splitter cuts them."""
        with self._lock:
            try:
                self._requests.send((papers, retrieval))
                failure, chunks = self._replies.recv()  # EOFError once the worker has died
            except (EOFError, OSError):
                code = self._process.wait()
                how = f"was killed (signal {-code})" if code < 0 else f"stopped (exit code {code})"
                raise IndexStoreError(f"the chunking process {how}", "run the ingest again") from None
            except BaseException:
                # Interrupted (Ctrl-C) between request and reply: the reply would answer the next request.
                self.close()
                raise
        if failure:
            raise IndexStoreError(*failure)
        return chunks


def _serve(requests: Connection, replies: Connection) -> None:
    """The worker's loop: (papers, retrieval settings) in, (None, their chunks) or ((what failed, what to
    do), []) out."""
    try:
        from .chunking import chunk_papers, embed_text, load_splitter

        load_splitter()  # now, while the caller reads the library and opens Chroma
        broken = None
    except Exception as exc:  # llama-index or the tokenizer cannot load: said in reply to every request
        broken = (f"the chunking process cannot load llama-index's sentence splitter: {_described(exc)}",
                  "reinstall the assistant's dependencies (pip install -e .)")
    while True:
        try:
            papers, retrieval = requests.recv()
        except EOFError:  # the ingest's process has gone
            return
        if broken:
            replies.send((broken, []))
            continue
        try:
            nodes = chunk_papers(papers, retrieval)
            reply = None, [Chunk(node.node_id, node.ref_doc_id, node.text, embed_text(node), node.metadata)
                           for node in nodes]
        except Exception as exc:  # reported by the caller; the worker serves on
            reply = (f"llama-index could not chunk the papers: {_described(exc)}",
                     "report this with the listing file that was being indexed"), []
        replies.send(reply)


def _described(exc: Exception) -> str:
    return "".join(traceback.format_exception_only(exc)).strip()


if __name__ == "__main__":
    from assistant.index import chunk_worker  # the replies' Chunk must be this module's class, not __main__'s

    chunk_worker._serve(Connection(int(sys.argv[1]), writable=False), Connection(int(sys.argv[2]), readable=False))
