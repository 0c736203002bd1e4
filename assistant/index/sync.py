"""A second machine's copy of a library held by a Chroma server: records, chunk texts and BM25.

The server holds everything (chunks with their documents and metadata, paper records, and the
library record naming the current generation); a client given only the URL copies the records
and chunk texts a page at a time into a local generation of the same name and builds BM25 from
them. Reads only: the server is never written here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import IndexStoreError
from . import ProgressCallback, chroma_store as store
from .bm25 import Bm25Index
from .generation import ChunkRecord, Generation, StoredPaper, all_generations, chunk_id_of
from .ingest import bm25_tokens, exclusive, prepare_dir
from .manifest import FORMAT, Manifest, read_manifest, write_manifest

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

    from ..config import Settings

_STAGE = "syncing from server"


def sync_from_server(settings: Settings, client: ClientAPI, served: dict[str, Any],
                     on_progress: ProgressCallback | None = None) -> Manifest:
    """Make the local index directory a copy of the server's current generation; its manifest."""
    label = store.store_label(settings)
    index_dir = settings.index_dir
    progress = on_progress or (lambda stage, done, total: None)
    prepare_dir(index_dir)
    with exclusive(index_dir):  # one copy per directory; a second process waits, then finds it done
        current = read_manifest(index_dir)
        if (current is not None and current.generation == served["generation"] and current.store == label
                and current.format == FORMAT):
            return current
        chunks = _collection(client, label, served["collection"])
        records = _collection(client, label, served.get("records"))
        generation = Generation(index_dir, served["generation"])
        generation.remove()  # what a killed copy left
        generation.write_info(label, served["collection"], served.get("records"), synced=True)
        try:
            total = served["papers"] + served["chunks"]
            progress(_STAGE, 0, total)
            papers: dict[str, Any] = {}
            positions: dict[str, int] = {}
            for _ids, documents, metadatas in store.pages(records, label):
                batch = [(m["position"], StoredPaper.from_record(m["hash"], d)) for d, m in zip(documents, metadatas)]
                generation.add_papers(batch)
                papers.update((p.paper.key, p.paper) for _, p in batch)
                positions.update((p.paper.key, position) for position, p in batch)
                progress(_STAGE, len(papers), total)
            generation.add_vocabulary(sorted(papers.values(), key=lambda paper: positions[paper.key]))
            done = len(papers)
            current_generation = served["generation"]
            for ids, documents, metadatas in store.pages(chunks, label):
                # A collection grown in place also holds chunks an unfinished ingest added (a later
                # generation); order_chunks keeps each chunk's newest version of this generation.
                generation.add_unordered_chunks(
                    (ChunkRecord(chunk_id_of(sid), m["paper_key"], d, m["embed_hash"]), m["ordinal"], m["generation"], None, None)
                    for sid, d, m in zip(ids, documents, metadatas) if m["generation"] <= current_generation)
                done = min(done + len(ids), total)
                progress(_STAGE, done, total)
            count = generation.order_chunks(newest_only=True)
            if (len(papers), count) != (served["papers"], served["chunks"]):
                raise IndexStoreError(f"the library on {label} changed while it was copied ({served['papers']} papers "
                                      f"and {served['chunks']} chunks listed, {len(papers)} and {count} found)",
                                      "run the command again")
            generation.save_bm25(Bm25Index.build(bm25_tokens(papers[c.paper_key], c.text)
                                                 for c in generation.iter_chunks()))
            manifest = Manifest.from_dict(served, store=label, format=FORMAT)  # the local tables are this version's
            write_manifest(index_dir, manifest)
        except (KeyError, TypeError, ValueError):
            generation.remove()
            raise IndexStoreError(f"the library record or collections on {label} are malformed",
                                  "re-ingest it with `assistant ingest --rebuild` and the same --chroma-url") from None
        except BaseException:
            generation.remove()
            raise
        progress(_STAGE, total, total)
        for old in all_generations(index_dir):  # local copies only: the server's collections are not ours
            if old.name != generation.name:
                old.remove()
        return manifest


def _collection(client: ClientAPI, label: str, name: str | None):
    collection = store.open_collection(client, label, name) if name else None
    if collection is None:
        raise IndexStoreError(f"the library on {label} names the collection {name}, which the server does not hold",
                              "re-ingest it with `assistant ingest --rebuild` and the same --chroma-url")
    return collection
