"""2. The store: a real index generation of synthetic chunks, built, then searched by the project's code."""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import time
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from .common import (DIM, QUERIES, SEARCH_K, Progress, current_rss_mib, du_mib, log, peak_rss_mib, percentile,
                     write_profile)
from .corpus import QueryVectors, SynthChunks, synthetic_chunks, unit_vectors

INSERT_BATCH_CAP = 5000  # rows per collection.add: within Chroma's max batch size (5461 here)


def _chroma_rows(corpus: SynthChunks, start: int, end: int, metadata: str = "ingest", generation: str = "g0"):
    """ids, documents and metadatas as ingest writes them (metadata="ingest": the paper's flat
    fields, the chunk's ordinal, embedded-text hash and generation), or as llama-index's
    ChromaVectorStore wrote them before ingest wrote rows itself (metadata="llama": `_node_content` etc.)."""
    from llama_index.core.schema import NodeRelationship, ObjectType, RelatedNodeInfo, TextNode
    from llama_index.core.vector_stores.utils import node_to_metadata_dict

    from assistant.index.chunking import EMBEDDED_METADATA, paper_metadata, text_hash
    from assistant.index.generation import store_id

    ids, documents, metadatas = [], [], []
    for i in range(start, end):
        paper, text = corpus.papers[corpus.owner[i]], corpus.texts[i]
        meta = paper_metadata(paper)
        if metadata == "ingest":
            ids.append(store_id(corpus.chunk_id(i), text_hash(text)))
            documents.append(text)
            metadatas.append(meta | {"ordinal": corpus.ordinal[i], "embed_hash": text_hash(text),
                                     "generation": generation})
            continue
        hidden = [k for k in meta if k not in EMBEDDED_METADATA]
        node = TextNode(id_=corpus.chunk_id(i), text=text, metadata=meta,
                        excluded_embed_metadata_keys=hidden, excluded_llm_metadata_keys=hidden,
                        start_char_idx=0, end_char_idx=len(text),
                        relationships={NodeRelationship.SOURCE: RelatedNodeInfo(
                            node_id=paper.key, node_type=ObjectType.DOCUMENT, metadata=meta,
                            hash=hashlib.sha256(paper.abstract.encode()).hexdigest())})
        metadata = node_to_metadata_dict(node, remove_text=True, flat_metadata=True)
        ids.append(store_id(node.node_id, text_hash(text)))
        documents.append(text)
        metadatas.append({k: ("" if v is None else v) for k, v in metadata.items()})
    return ids, documents, metadatas


def build_store(n_chunks: int, index_dir: Path, chroma_url: str | None = None, seed: int = 0,
                progress: Progress = log, metadata: str = "ingest", curve_to: Path | None = None) -> dict[str, Any]:
    """A real index generation of n synthetic chunks: Chroma rows, BM25, the SQLite tables, manifest.

    The insert curve (rows, insert seconds so far, rows/s over the last stretch, RSS) is kept in
    the result and, as it grows, appended to `curve_to` (JSON lines): a build stopped before the
    end still leaves its measured growth."""
    import numpy as np

    from assistant.config import Settings
    from assistant.index import chroma_store as store
    from assistant.index.bm25 import Bm25Index
    from assistant.index.chunking import chunker_label, text_hash
    from assistant.index.generation import ChunkRecord, Generation, StoredPaper
    from assistant.index.ingest import bm25_tokens
    from assistant.index.manifest import Manifest, write_manifest

    load_before = os.getloadavg()[0]
    settings = Settings(index_dir=index_dir, chroma_url=chroma_url)
    label = store.store_label(settings)
    corpus = synthetic_chunks(n_chunks, seed)
    papers = corpus.papers
    index_dir.mkdir(parents=True, exist_ok=True)
    client = store.client_for(label, index_dir)
    generation = Generation.new(index_dir)
    collection_name = f"{settings.collection}-{generation.name}"
    generation.write_info(label, collection_name)
    collection = store.create_collection(client, label, collection_name,
                                         {"embedder": QueryVectors.name, "dim": DIM, "generation": generation.name})
    batch = min(client.get_max_batch_size(), INSERT_BATCH_CAP)
    vectors = np.empty((n_chunks, DIM), dtype=np.float32)
    insert_s, last = 0.0, time.perf_counter()
    curve: list[dict[str, float]] = []
    if curve_to:
        curve_to.parent.mkdir(parents=True, exist_ok=True)
        curve_to.unlink(missing_ok=True)
    for number, start in enumerate(range(0, n_chunks, batch)):
        end = min(start + batch, n_chunks)
        vectors[start:end] = unit_vectors(end - start, seed, number)
        ids, documents, metadatas = _chroma_rows(corpus, start, end, metadata, generation.name)
        began = time.perf_counter()
        collection.add(ids=ids, embeddings=vectors[start:end], documents=documents, metadatas=metadatas)
        insert_s += time.perf_counter() - began
        if time.perf_counter() - last > 20 or end == n_chunks:
            last = time.perf_counter()
            before = curve[-1] if curve else {"rows": 0, "insert_s": 0.0}
            point = {"rows": end, "insert_s": insert_s, "rows_per_s": (end - before["rows"]) / (insert_s - before["insert_s"]),
                     "rss_mib": current_rss_mib(), "load": os.getloadavg()[0]}
            curve.append(point)
            if curve_to:
                with curve_to.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(point) + "\n")
            progress(f"store {n_chunks} {'server' if chroma_url else 'embedded'}: inserted {end}/{n_chunks} "
                     f"({end / insert_s:.0f} chunks/s overall, {point['rows_per_s']:.0f} lately)")
    count = collection.count()
    if count != n_chunks:
        raise SystemExit(f"Chroma holds {count} rows, {n_chunks} were added")

    began = time.perf_counter()
    bm25 = Bm25Index.build(bm25_tokens(papers[corpus.owner[i]], corpus.texts[i]) for i in range(n_chunks))
    bm25_s = time.perf_counter() - began
    progress(f"store {n_chunks}: BM25 built in {bm25_s:.1f} s")

    began = time.perf_counter()
    records = [ChunkRecord(corpus.chunk_id(i), papers[corpus.owner[i]].key, corpus.texts[i],
                           text_hash(corpus.texts[i])) for i in range(n_chunks)]
    generation.add_papers(enumerate(StoredPaper.of(p) for p in papers))
    generation.add_vocabulary(papers)
    generation.add_chunks((i, record, vectors[i]) for i, record in enumerate(records))
    generation.save_bm25(bm25)
    manifest = Manifest(
        generation=generation.name, collection=collection_name, store=label, embedder=QueryVectors.name, dim=DIM,
        chunker=chunker_label(settings.retrieval), corpus_hash=hashlib.sha256(f"synthetic|{n_chunks}|{seed}".encode()).hexdigest(),
        papers=len(papers), chunks=n_chunks, created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    if chroma_url:  # the server's library record names the generation its readers follow
        store.write_library(client, label, store.collection_prefix(settings), asdict(manifest))
    write_manifest(index_dir, manifest)
    save_s = time.perf_counter() - began
    return {
        "chunks": n_chunks, "papers": len(papers), "metadata": metadata, "insert_batch": batch, "insert_s": insert_s,
        "insert_chunks_per_s": n_chunks / insert_s, "bm25_build_s": bm25_s, "generation_save_s": save_s,
        "build_peak_rss_mib": peak_rss_mib(), "index_dir_mib": du_mib(index_dir),
        "chroma_dir_mib": du_mib(store.embedded_path(index_dir)) if chroma_url is None else None,
        "generation_mib": du_mib(generation.path), "load_average_build": [load_before, os.getloadavg()[0]],
        "insert_curve": curve,
    }


INSERT_VARIANTS = ("vectors", "vectors+documents", "vectors+documents+plain metadata",
                   "vectors+documents+llama metadata")


def insert_breakdown(n_chunks: int, workdir: Path, seed: int = 0) -> dict[str, Any]:
    """Embedded Chroma insert throughput with less and less left out of each row: where insert time goes.

    The same n synthetic rows go into four fresh collections: ids and vectors only; + documents
    (Chroma's full-text index); + the paper's flat metadata; + the metadata llama-index adds
    (`_node_content` etc., as ingest writes). Rows are prepared before the clock starts.
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    corpus = synthetic_chunks(n_chunks, seed)
    client = chromadb.PersistentClient(path=str(workdir / "breakdown"), settings=ChromaSettings(anonymized_telemetry=False))
    batch = min(client.get_max_batch_size(), INSERT_BATCH_CAP)
    out: dict[str, Any] = {"chunks": n_chunks, "insert_batch": batch, "load_average": os.getloadavg()[0]}
    for number, variant in enumerate(INSERT_VARIANTS):
        collection = client.create_collection(f"breakdown-{number}", configuration={"hnsw": {"space": "cosine"}},
                                              embedding_function=None)
        elapsed = 0.0
        for b, start in enumerate(range(0, n_chunks, batch)):
            end = min(start + batch, n_chunks)
            ids, documents, metadatas = _chroma_rows(corpus, start, end, "llama" if "llama" in variant else "ingest")
            rows: dict[str, Any] = {"ids": ids, "embeddings": unit_vectors(end - start, seed, b)}
            if "documents" in variant:
                rows["documents"] = documents
            if "metadata" in variant:
                rows["metadatas"] = metadatas
            began = time.perf_counter()
            collection.add(**rows)
            elapsed += time.perf_counter() - began
        out[variant] = n_chunks / elapsed
        log(f"insert breakdown {n_chunks}: {variant}: {n_chunks / elapsed:.0f} chunks/s")
    out["disk_mib"] = du_mib(workdir / "breakdown")
    return out


def open_index(index_dir: Path, chroma_url: str | None = None):
    """(settings, the project's IndexReader) for the index's current generation."""
    from assistant.config import Settings
    from assistant.index.generation import Generation
    from assistant.index.manifest import read_manifest
    from assistant.index.reader import IndexReader

    settings = Settings(index_dir=index_dir, chroma_url=chroma_url)
    manifest = read_manifest(index_dir)
    assert manifest is not None
    return settings, IndexReader(settings, manifest, Generation(index_dir, manifest.generation))


def warm_retriever(settings, reader, queries: list[str] = QUERIES):
    """The project's Retriever with the stand-in query embedder, past its first calls' lazy set-up
    (HNSW load, caches)."""
    from assistant.index.background import Background
    from assistant.retrieve import Retriever

    vectors = QueryVectors()
    retriever = Retriever(settings, reader, Background(lambda: vectors))
    for query in queries[:5]:
        retriever.search(query, k=SEARCH_K)
    return retriever


def search_store(index_dir: Path, chroma_url: str | None = None, rounds: int = 5,
                 queries: list[str] = QUERIES) -> dict[str, Any]:
    """Open the index with the project's IndexReader; time Retriever.search and its dense/BM25 parts."""

    load_before = os.getloadavg()[0]
    began = time.perf_counter()
    settings, reader = open_index(index_dir, chroma_url)
    open_s = time.perf_counter() - began
    open_rss = peak_rss_mib()
    retriever = warm_retriever(settings, reader, queries)
    vectors = QueryVectors()
    depth = max(settings.retrieval.depth, 3 * SEARCH_K)
    timings: dict[str, list[float]] = {"hybrid": [], "dense": [], "dense_ids": [], "bm25": []}
    collection = reader._collection
    hits = 0
    for _ in range(rounds):
        for query in queries:
            vector = vectors.embed([query])[0]
            began = time.perf_counter()
            reader.dense(vector, depth)
            timings["dense"].append(time.perf_counter() - began)
            # The same nearest-neighbour query without documents and metadata: the HNSW search
            # and the round trip alone, to tell them from fetching the rows.
            began = time.perf_counter()
            collection.query(query_embeddings=vector[None, :], n_results=depth, include=["distances"])
            timings["dense_ids"].append(time.perf_counter() - began)
            reader._last_bm25 = None  # the reader caches the last query's scores: time a cold BM25
            began = time.perf_counter()
            reader.bm25(query, depth)
            timings["bm25"].append(time.perf_counter() - began)
            reader._last_bm25 = None
            began = time.perf_counter()
            evidence = retriever.search(query, k=SEARCH_K)
            timings["hybrid"].append(time.perf_counter() - began)
            hits += len(evidence)
    out: dict[str, Any] = {"open_s": open_s, "open_rss_mib": open_rss, "searches": len(timings["hybrid"]),
                           "mean_results": hits / len(timings["hybrid"])}
    for name, values in timings.items():
        out[f"{name}_p50_ms"] = 1000 * statistics.median(values)
        out[f"{name}_p95_ms"] = 1000 * percentile(values, 0.95)
    out["search_peak_rss_mib"] = peak_rss_mib()
    out["load_average_search"] = [load_before, os.getloadavg()[0]]
    return out


def bm25_only(n_chunks: int, seed: int = 0, rounds: int = 5, queries: list[str] = QUERIES) -> dict[str, Any]:
    """The BM25 half alone at n chunks (no Chroma): build time, the reader's top-n query, peak RSS.

    Cheap where the dense half is not (Chroma inserts at 1M take hours here). The query is the
    project's IndexReader.bm25, run on a reader that holds only the BM25 index and the chunk list.
    """
    from assistant.index.bm25 import Bm25Index
    from assistant.index.chunking import text_hash
    from assistant.index.generation import ChunkRecord
    from assistant.index.ingest import bm25_tokens
    from assistant.index.reader import IndexReader, top_positive
    from assistant.config import RetrievalSettings

    load_before = os.getloadavg()[0]
    corpus = synthetic_chunks(n_chunks, seed)
    began = time.perf_counter()
    bm25 = Bm25Index.build(bm25_tokens(corpus.papers[corpus.owner[i]], corpus.texts[i]) for i in range(n_chunks))
    build_s = time.perf_counter() - began
    reader = IndexReader.__new__(IndexReader)  # only the attributes IndexReader.bm25 reads
    chunks = [ChunkRecord(corpus.chunk_id(i), corpus.papers[corpus.owner[i]].key, corpus.texts[i],
                          text_hash(corpus.texts[i])) for i in range(n_chunks)]
    reader._chunk_paper = [c.paper_key for c in chunks]
    reader._check_current = lambda: None
    reader.generation = SimpleNamespace(chunks_at=lambda positions: {i: (chunks[i].id, chunks[i].paper_key, chunks[i].text)
                                                                     for i in positions})
    reader._bm25 = bm25
    reader._last_bm25 = None
    depth = max(RetrievalSettings().depth, 3 * SEARCH_K)
    for query in queries[:5]:
        reader._last_bm25 = None
        reader.bm25(query, depth)
    timings, scoring, partitioned = [], [], []
    for _ in range(rounds):
        for query in queries:
            reader._last_bm25 = None
            began = time.perf_counter()
            scores = bm25.scores(query)
            scoring.append(time.perf_counter() - began)
            began = time.perf_counter()
            best = top_positive(scores, depth)
            partitioned.append(time.perf_counter() - began)
            reader._last_bm25 = None
            began = time.perf_counter()
            hits = reader.bm25(query, depth)
            timings.append(time.perf_counter() - began)
            if [h.chunk_id for h in hits] != [chunks[i].id for i in best]:
                raise SystemExit(f"the partial top-n disagrees with IndexReader.bm25 for {query!r}")
    return {"chunks": n_chunks, "bm25_build_s": build_s, "bm25_p50_ms": 1000 * statistics.median(timings),
            "bm25_p95_ms": 1000 * percentile(timings, 0.95),
            "bm25_scoring_p50_ms": 1000 * statistics.median(scoring),
            "top_n_partition_p50_ms": 1000 * statistics.median(partitioned),
            "peak_rss_mib": peak_rss_mib(), "load_average": [load_before, os.getloadavg()[0]],
            "measured": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def profile_search(index_dir: Path, path: Path, chroma_url: str | None = None) -> None:
    """cProfile of 100 hybrid searches on an opened index, written to `path` as text."""
    import cProfile

    retriever = warm_retriever(*open_index(index_dir, chroma_url))
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        for query in QUERIES:
            retriever.search(query, k=SEARCH_K)
    profiler.disable()
    write_profile(profiler, path)
