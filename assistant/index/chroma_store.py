"""Chroma: the client (embedded PersistentClient or a server's HttpClient) and the few calls we make.

Collections are always created without an embedding function (Chroma's default one downloads
a model) and are always given vectors. Cosine space: distance = 1 - cosine similarity.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import numpy as np

from ..errors import IndexStoreError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

    from ..config import Settings

EMBEDDED = "embedded"  # the store label of the PersistentClient under index_dir/chroma
DEFAULT_LIBRARY = "default"
_LIBRARY_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?")
_CURRENT = "current"  # the one record of a library collection
_SEGMENT_DIR = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PAGE = 1000  # items per request when reading a whole collection
_REINGEST = "rebuild it with `assistant ingest --rebuild`"
# A server that accepts connections but never answers must not hang ingest, search or ask.
_HEARTBEAT_TIMEOUT = 10.0
_REQUEST_TIMEOUT = 60.0


def store_label(settings: Settings) -> str:
    """Which Chroma the settings point at: "embedded" or the server URL (recorded in the manifest)."""
    return settings.chroma_url.rstrip("/") if settings.chroma_url else EMBEDDED


def collection_prefix(settings: Settings) -> str:
    """The start of every collection name of the settings' library: several libraries share a server.

    The default library keeps the bare collection setting, so indexes built before libraries
    existed keep their names.
    """
    library = settings.library
    if not _LIBRARY_NAME.fullmatch(library):
        raise IndexStoreError(f"the library name {library!r} is not usable as a Chroma collection name",
                              "use letters, digits, '-' and '_' (at most 63), e.g. --library lab-asr")
    return settings.collection if library == DEFAULT_LIBRARY else f"{settings.collection}.{library}"


def embedded_path(index_dir: Path) -> Path:
    return index_dir / "chroma"


_clients: dict[str, ClientAPI] = {}
_clients_lock = threading.Lock()


def client_for(label: str, index_dir: Path) -> ClientAPI:
    """One client per store per process (Chroma refuses two with different settings)."""
    key = label if label != EMBEDDED else f"{EMBEDDED}:{embedded_path(index_dir).resolve()}"
    with _clients_lock:
        if key not in _clients:
            _clients[key] = _connect(label, index_dir)
        return _clients[key]


def _connect(label: str, index_dir: Path) -> ClientAPI:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if label == EMBEDDED:
        path = embedded_path(index_dir)
        try:
            return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        except Exception as exc:  # chromadb raises bare Exceptions/ValueErrors from its Rust core
            raise IndexStoreError(f"cannot open the Chroma store at {path} ({_one_line(exc)})",
                                  f"check that the directory is writable, or {_REINGEST}") from None
    url = urlparse(label)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise IndexStoreError(f"the Chroma URL {label!r} is not an http(s)://host:port address",
                              "pass e.g. --chroma-url http://127.0.0.1:8000")
    import httpx

    _check_heartbeat(label)
    try:
        client = chromadb.HttpClient(host=url.hostname, port=url.port or (443 if url.scheme == "https" else 8000),
                                     ssl=url.scheme == "https", settings=chroma_settings)
    except Exception as exc:
        raise _unreachable(label, exc) from None
    # chromadb's own session waits forever for each reply.
    client._server._session.timeout = httpx.Timeout(_REQUEST_TIMEOUT, connect=_HEARTBEAT_TIMEOUT)
    return client


def _check_heartbeat(label: str) -> None:
    """Fail fast, with the real reason, when the URL is not a Chroma server answering in time."""
    import httpx

    try:
        reply = httpx.get(f"{label}/api/v2/heartbeat", timeout=_HEARTBEAT_TIMEOUT)
        beat = reply.json() if reply.status_code == 200 else None
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        raise _unreachable(label, exc) from None
    except ValueError:  # not JSON
        beat = None
    if not (isinstance(beat, dict) and "nanosecond heartbeat" in beat):
        raise IndexStoreError(f"{label} is not a Chroma server (no Chroma heartbeat at /api/v2/heartbeat)",
                              "check the host and port of --chroma-url / ASSISTANT_CHROMA_URL")


def _unreachable(label: str, exc: Exception) -> IndexStoreError:
    return IndexStoreError(f"cannot reach the Chroma server at {label} ({_one_line(exc)})",
                           "start it (chroma run --path DIR --port PORT) or drop --chroma-url / "
                           "ASSISTANT_CHROMA_URL to use the embedded store")


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def failure(label: str, doing: str, exc: Exception) -> IndexStoreError:
    if label != EMBEDDED and _is_connection_error(exc):
        return _unreachable(label, exc)
    return IndexStoreError(f"Chroma failed while {doing} ({_one_line(exc)})", _REINGEST)


def _is_connection_error(exc: Exception) -> bool:
    import httpx

    return isinstance(exc, (httpx.TransportError, ConnectionError)) or "connect" in str(exc).lower()


# Chroma holds up to sync_threshold written items in memory before it persists its HNSW index
# (default 1000): persisting every 100 cuts an embedded ingest's growth by a third (5,120 rows:
# 38 -> 25 MiB) at the same search parameters (evals/results/ingest-memory.txt).
_HNSW_WRITES = {"batch_size": 100, "sync_threshold": 100}


def create_collection(client: ClientAPI, label: str, name: str, metadata: dict[str, Any],
                      space: str = "cosine") -> Collection:
    try:
        return client.create_collection(name, configuration={"hnsw": {"space": space, **_HNSW_WRITES}},
                                        metadata=metadata, embedding_function=None)
    except Exception as exc:
        raise failure(label, f"creating the collection {name}", exc) from None


def open_collection(client: ClientAPI, label: str, name: str) -> Collection | None:
    """The collection, or None when the store does not have it."""
    from chromadb.errors import NotFoundError

    try:
        return client.get_collection(name, embedding_function=None)
    except NotFoundError:
        return None
    except Exception as exc:
        raise failure(label, f"opening the collection {name}", exc) from None


def delete_collection(client: ClientAPI, name: str) -> None:
    """Best effort: a collection already gone is fine."""
    from chromadb.errors import NotFoundError

    try:
        client.delete_collection(name)
    except NotFoundError:
        pass


def reclaim_embedded(index_dir: Path) -> None:
    """Remove the HNSW directories of deleted collections from the embedded store.

    chromadb 1.5 deletes a collection's rows but leaves its vector segment directory behind, so
    every ingest grew the store by a whole index. A directory that no segment row names is
    such a leftover (a new collection's row is written before its directory).
    """
    import shutil
    import sqlite3

    path = embedded_path(index_dir)
    try:
        with closing(sqlite3.connect(f"file:{path / 'chroma.sqlite3'}?mode=ro", uri=True)) as db:
            live = {row[0] for row in db.execute("SELECT id FROM segments")}
    except sqlite3.Error:
        return  # not a store we know the layout of: leave it alone
    for entry in path.iterdir():
        if entry.is_dir() and _SEGMENT_DIR.fullmatch(entry.name) and entry.name not in live:
            shutil.rmtree(entry, ignore_errors=True)


def where_clause(year_from: int | None, year_to: int | None, category: str | None,
                 paper_keys: list[str] | None) -> dict[str, Any] | None:
    """A Chroma `where` for the filters that are set (None when none are)."""
    conditions: list[dict[str, Any]] = []
    if year_from is not None:
        conditions.append({"year": {"$gte": year_from}})
    if year_to is not None:
        conditions.append({"year": {"$lte": year_to}})
    if category:
        conditions.append({"category": {"$eq": category.upper()}})
    if paper_keys is not None:
        conditions.append({"paper_key": {"$in": paper_keys}})
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else {"$and": conditions}


def query(collection: Collection, label: str, vector: np.ndarray, n: int,
          where: dict[str, Any] | None) -> list[tuple[str, float]]:
    """The n chunks nearest to `vector`: (chunk id, cosine similarity), best first.

    Only ids and distances come back: the index reader holds every chunk's text and paper in
    memory, and fetching documents and metadata too doubles the query's time (see SCALE.md).
    """
    try:
        result = collection.query(query_embeddings=vector[None, :], n_results=n, where=where, include=["distances"])
    except Exception as exc:
        raise failure(label, "searching", exc) from None
    return [(chunk_id, 1.0 - float(distance)) for chunk_id, distance in zip(result["ids"][0], result["distances"][0])]


def vectors(collection: Collection, label: str, chunk_ids: list[str]) -> dict[str, np.ndarray]:
    """The stored vectors of the given chunks."""
    if not chunk_ids:
        return {}
    try:
        result = collection.get(ids=chunk_ids, include=["embeddings"])
    except Exception as exc:
        raise failure(label, "reading vectors", exc) from None
    return {chunk_id: np.asarray(vector, dtype=np.float32)
            for chunk_id, vector in zip(result["ids"], result["embeddings"])}


def add(collection: Collection, label: str, ids: list[str], vectors: np.ndarray | list[list[float]],
        documents: list[str], metadatas: list[dict[str, Any]]) -> None:
    """Write one batch of items (ids already present are overwritten: a resumed ingest may repeat a batch)."""
    if not ids:
        return
    try:
        collection.upsert(ids=ids, embeddings=vectors, documents=documents, metadatas=metadatas)
    except Exception as exc:
        raise failure(label, f"writing to the collection {collection.name}", exc) from None


def add_records(collection: Collection, label: str, ids: list[str], documents: list[str],
                metadatas: list[dict[str, Any]]) -> None:
    """Items that are data, not vectors (paper records, the library record): Chroma wants a vector
    for each, so each gets a distinct one-number placeholder in an l2 collection."""
    add(collection, label, ids, [[float(i)] for i in range(len(ids))], documents, metadatas)


def pages(collection: Collection, label: str,
          on_page: Callable[[int], None] | None = None) -> Iterator[tuple[list[str], list[str], list[dict[str, Any]]]]:
    """Every item's id, document and metadata, PAGE at a time (a whole collection never in memory)."""
    offset = 0
    while True:
        try:
            page = collection.get(limit=PAGE, offset=offset, include=["documents", "metadatas"])
        except Exception as exc:
            raise failure(label, f"reading the collection {collection.name}", exc) from None
        if not page["ids"]:
            return
        yield page["ids"], page["documents"], page["metadatas"]
        offset += len(page["ids"])
        if on_page:
            on_page(offset)


def rename(collection: Collection, label: str, name: str) -> None:
    try:
        collection.modify(name=name)
    except Exception as exc:
        raise failure(label, f"renaming the collection {collection.name} to {name}", exc) from None


def delete_items(collection: Collection, label: str, ids: list[str]) -> None:
    for start in range(0, len(ids), PAGE):
        try:
            collection.delete(ids=ids[start:start + PAGE])
        except Exception as exc:
            raise failure(label, f"deleting from the collection {collection.name}", exc) from None


def ids_except(collection: Collection, label: str, keep: set[str]) -> list[str]:
    """The ids a collection holds beyond `keep`, read PAGE at a time."""
    extra: list[str] = []
    offset = 0
    while True:
        try:
            page = collection.get(limit=PAGE, offset=offset, include=[])
        except Exception as exc:
            raise failure(label, f"reading the collection {collection.name}", exc) from None
        if not page["ids"]:
            return extra
        extra += [item for item in page["ids"] if item not in keep]
        offset += len(page["ids"])


def library_collection_name(prefix: str) -> str:
    return f"{prefix}-library"


def read_library(client: ClientAPI, label: str, prefix: str) -> dict[str, Any] | None:
    """The library record a Chroma store holds (which generation is current), or None."""
    collection = open_collection(client, label, library_collection_name(prefix))
    if collection is None:
        return None
    try:
        found = collection.get(ids=[_CURRENT], include=["documents"])
    except Exception as exc:
        raise failure(label, "reading the library record", exc) from None
    if not found["ids"]:
        return None
    try:
        return json.loads(found["documents"][0])
    except ValueError:
        raise IndexStoreError(f"the library record in {library_collection_name(prefix)} at {label} is corrupt",
                              _REINGEST) from None


def write_library(client: ClientAPI, label: str, prefix: str, record: dict[str, Any]) -> None:
    """Name the library's current generation on the store: the swap that other machines follow."""
    name = library_collection_name(prefix)
    collection = open_collection(client, label, name) or create_collection(client, label, name, {"library": prefix}, space="l2")
    add_records(collection, label, [_CURRENT], [json.dumps(record)], [{"generation": record["generation"]}])
