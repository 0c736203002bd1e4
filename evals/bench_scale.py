"""Scale: the ingest pipeline against raw embedding, and the store from 10k to 1M chunks.

    .venv/bin/python evals/bench_scale.py                                # everything, default sizes
    .venv/bin/python evals/bench_scale.py --papers 1000 --store-sizes 10000 100000
    .venv/bin/python evals/bench_scale.py --skip-pipeline --store-sizes 1000000 --skip-server
    .venv/bin/python evals/bench_scale.py --papers 200 --store-sizes 10000 --out /tmp/quick   # a quick look

Two measurements, because embedding is the slow part on a 2-core machine:

1. The pipeline. A synthetic corpus of abstract-like papers (seeded: sentences of the shipped
   seed abstracts recombined, new titles, authors, dates and categories) is written as seed
   files in the "listing" layout, read back through load_corpus (checked field by field), and
   ingested by the real `ingest(settings)` with the real MiniLM embedder into a fresh index.
   The same chunk texts (re-chunked with the project's own chunker) are then embedded directly
   by the same embedder, in the same batches ingest uses: the ratio ingest / raw embedding is
   what the pipeline adds (target: at most 1.5), by wall clock and by CPU seconds (steadier on
   a shared machine). Ingest's own progress callback times its stages (setup, chunking,
   embedding, storing, BM25 + files).

2. The store. N chunks of short recombined sentences with seeded random 384-d unit vectors
   (no model) are written as a real index generation (Chroma collection with the metadata the
   llama-index Chroma store writes, papers.json, chunks.json, vectors.npy, BM25, manifest), into
   the embedded Chroma (PersistentClient) and into a real `chroma run` server on 127.0.0.1
   (HttpClient). A fresh process then opens it with the project's IndexReader and times the
   project's own Retriever.search (dense query + BM25 query + score fusion + per-paper
   diversity + evidence assembly), with a stand-in query embedder that returns a seeded unit
   vector (no model; the real one adds ~5 ms per query), plus the dense and BM25 parts alone.
   Every size runs in fresh processes, so peak RSS (ru_maxrss) is per size and per phase; the
   server's own peak is its VmHWM from /proc.

   Fusion is the project's own (Retriever._fuse with DEFAULT_FUSION: score fusion, not RRF).
   Where a size is not measured (1M here takes hours of Chroma inserts), a power law through
   the two largest measured sizes estimates it, marked as extrapolated everywhere.

Extras that say where time goes: --bm25-sizes times the BM25 half alone (cheap at 1M) beside
an O(N) top-n selection that returns the same list; --insert-breakdown N times Chroma inserts
with parts of each row left out; --profile writes cProfile reports of ingest and search;
--raw-before times raw embedding before ingest too (a load change shows as a difference).

Results merge into OUT/scale.json (a later run with other sizes keeps the earlier entries),
and OUT/scale.png plots them (--render-only redraws from the JSON); a table is printed.
Figures move with the machine's load: the load average is recorded beside each one. Any
`chroma run` started here listens on 127.0.0.1 only and is stopped by its PID on exit.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

DEFAULT_OUT = ROOT / "evals" / "results"
DIM = 384
SEARCH_K = 10
PAPERS_PER_FILE = 500
INSERT_BATCH_CAP = 5000  # rows per collection.add: within Chroma's max batch size (5461 here)
CHILD_TIMEOUT = 4 * 3600  # seconds: one size of one phase, the 1M store included
SERVER_START_TIMEOUT = 60.0
QUERIES = [
    "which papers stabilize attention?", "semi-supervised speech recognition with unlabeled audio",
    "on-device speech recognition", "pre-training data for large language models", "speech translation",
    "vision transformers", "federated learning with non-IID client data",
    "What LibriSpeech WER does training without word order reach?",
    "How many languages does the Universal Speech Model cover?", "mixture-of-experts for speech",
    "differential privacy for speech models", "self-supervised pre-training on heterogeneous data",
    "tool use evaluation benchmark for LLMs", "learning rate warmup for speech-to-text",
    "distributed dataflow for accelerators", "gender alternatives in machine translation",
    "efficient training of encoder-decoder speech models", "language model scaling laws",
    "keyword spotting on small devices", "contrastive learning of audio representations",
]
Progress = Callable[[str], None]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- synthetic corpora -------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z$\\(])")
_FIRST_NAMES = ["Ana", "Bruno", "Chen", "Dara", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kavya", "Lior",
                "Mei", "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen",
                "Ximena", "Yusuf", "Zofia", "Aiko", "Bilal", "Carmen", "Dmitri", "Esther", "Felix"]
_SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "to", "vi", "dan", "mor", "el", "ba", "ri", "no", "ster", "quin",
              "ha", "pel", "zu", "gor", "an", "wick", "ler", "sen", "ova", "ito", "berg", "man", "ez"]
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_CATEGORIES = ["CL", "LG", "AS", "CV", "SD", "DC", "AI", "ML", "IR", "MM"]


@dataclass(frozen=True)
class SeedText:
    """What the synthetic corpora recombine: sentences, abstract lengths and title words of the seeds."""

    sentences: list[str]
    sentence_counts: list[int]  # sentences per real abstract: the synthetic abstracts follow it
    title_words: list[str]


def seed_text() -> SeedText:
    from assistant.corpus import load_corpus
    from assistant.resources import default_seeds_dir

    papers = load_corpus(default_seeds_dir())
    sentences, counts = [], []
    for paper in papers:
        parts = [s.strip() for s in _SENTENCE_END.split(paper.abstract.replace("\n", " ")) if len(s.strip()) > 20]
        sentences.extend(parts)
        counts.append(max(1, len(parts)))
    words = sorted({w.lower() for p in papers if p.title for w in re.findall(r"[A-Za-z]{4,}", p.title)})
    return SeedText(sentences, counts, words)


def _surname(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


@dataclass(frozen=True)
class SynthPaper:
    title: str
    authors: tuple[str, ...]
    truncated: bool
    year: int
    month: int
    day: int
    category: str
    abstract: str


def synthetic_papers(n: int, seed: int = 0, text: SeedText | None = None) -> list[SynthPaper]:
    """n abstract-like papers: seed sentences recombined, new titles, authors, dates, categories."""
    text = text or seed_text()
    rng = random.Random(seed)
    papers = []
    for _ in range(n):
        # Title: capitalised seed title words, the last one lower-case (the listing glues the
        # first author's name to it, and the parser finds the seam at the capital).
        words = rng.sample(text.title_words, rng.randint(4, 8))
        title = " ".join(w.capitalize() for w in words[:-1]) + " for " + words[-1]
        authors = tuple(f"{rng.choice(_FIRST_NAMES)} {_surname(rng)}" for _ in range(rng.randint(1, 4)))
        abstract = " ".join(rng.choice(text.sentences) for _ in range(rng.choice(text.sentence_counts)))
        papers.append(SynthPaper(title, authors, rng.random() < 0.3, rng.randint(2015, 2025), rng.randint(1, 12),
                                 rng.randint(1, 28), rng.choice(_CATEGORIES), abstract))
    return papers


def write_listing(papers: list[SynthPaper], seeds_dir: Path, per_file: int = PAPERS_PER_FILE) -> list[Path]:
    """The papers as seed files in the "listing" layout (as seeds/000 and 001), per_file to a file."""
    seeds_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for number, start in enumerate(range(0, len(papers), per_file)):
        lines = []
        for p in papers[start:start + per_file]:
            lines.append(f"{p.category}{_MONTHS[p.month - 1]} {p.day}, {p.year}")
            lines.append(p.title + ", ".join(p.authors) + (" et al." if p.truncated else ""))
            lines.append(p.abstract)
        path = seeds_dir / f"{number:03d}_synthetic.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(path)
    return files


def check_round_trip(papers: list[SynthPaper], seeds_dir: Path) -> None:
    """The seed files parse back into exactly the papers written (titles split from authors)."""
    from assistant.corpus import load_corpus

    loaded = load_corpus(seeds_dir)
    if len(loaded) != len(papers):
        raise SystemExit(f"synthetic corpus: wrote {len(papers)} papers, load_corpus read {len(loaded)}")
    for written, read in zip(papers, loaded):
        if (read.title, read.authors, read.year, read.abstract) != (written.title, written.authors, written.year,
                                                                     written.abstract):
            raise SystemExit(f"synthetic corpus: {read.source} did not parse back as written: {read.title!r}")


# --- 1. the pipeline ---------------------------------------------------------------------------


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def bench_pipeline(n_papers: int, workdir: Path, seed: int = 0, progress: Progress = log,
                   profile_to: Path | None = None, raw_before: bool = False) -> dict[str, Any]:
    """Ingest n synthetic papers with the real embedder, then embed the same texts directly.

    raw_before: also embed them directly before the ingest (that run then pays for importing
    llama-index and loading the model, not ingest), so a change in the machine's load during
    the run shows as a difference between the two raw timings.
    """
    from assistant.config import Settings
    from assistant.index.ingest import EMBED_BATCH, ingest

    seeds_dir, index_dir = workdir / "seeds", workdir / "index"
    papers = synthetic_papers(n_papers, seed)
    write_listing(papers, seeds_dir)
    check_round_trip(papers, seeds_dir)
    settings = Settings(index_dir=index_dir, seeds_dir=seeds_dir)

    marks: dict[str, float] = {}
    last_report = [0.0]

    def on_progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        marks.setdefault(f"{stage}_start", now)
        marks[f"{stage}_end"] = now
        if now - last_report[0] > 15 or (done == total and stage == "storing"):
            last_report[0] = now
            progress(f"pipeline {n_papers} papers: {stage} {done}/{total}")

    before: tuple[float, float] | None = None
    if raw_before:
        before = _raw_embedding(settings, seeds_dir, None, progress, f"pipeline {n_papers} papers: raw (before)")
    load_before = os.getloadavg()[0]
    cpu0, started = _cpu_seconds(), time.perf_counter()
    marks["start"] = started
    report = ingest(settings, rebuild=True, on_progress=on_progress)
    ingest_s, ingest_cpu = time.perf_counter() - started, _cpu_seconds() - cpu0
    ingest_rss = peak_rss_mib()
    progress(f"pipeline {n_papers} papers: ingested {report.chunks} chunks in {ingest_s:.1f} s")

    raw_s, raw_cpu = _raw_embedding(settings, seeds_dir, report.chunks, progress, f"pipeline {n_papers} papers: raw")
    if before is not None:
        raw_s, raw_cpu = (raw_s + before[0]) / 2, (raw_cpu + before[1]) / 2

    if profile_to is not None:
        # Profiled apart from the timed run (cProfile slows Python code, not the ONNX kernels):
        # a second full ingest of the same corpus into a fresh index directory.
        import cProfile

        progress(f"pipeline {n_papers} papers: profiling a second ingest")
        profiler = cProfile.Profile()
        profiler.enable()
        ingest(replace(settings, index_dir=workdir / "index-profiled"), rebuild=True)
        profiler.disable()
        _write_profile(profiler, profile_to)

    stages = _stage_seconds(marks, marks["start"], marks["start"] + ingest_s)
    return {
        "papers": n_papers, "chunks": report.chunks,
        "ingest_s": ingest_s, "ingest_cpu_s": ingest_cpu,
        "ingest_papers_per_s": n_papers / ingest_s, "ingest_chunks_per_s": report.chunks / ingest_s,
        "raw_embed_s": raw_s, "raw_embed_cpu_s": raw_cpu, "raw_chunks_per_s": report.chunks / raw_s,
        "raw_papers_per_s": n_papers / raw_s,
        "raw_before_s": before[0] if before else None, "raw_before_cpu_s": before[1] if before else None,
        "ratio_wall": ingest_s / raw_s, "ratio_cpu": ingest_cpu / raw_cpu,
        "stages": stages, "ingest_peak_rss_mib": ingest_rss, "peak_rss_mib": peak_rss_mib(),
        "index_mib": du_mib(index_dir), "load_average": [load_before, os.getloadavg()[0]],
        "measured": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _raw_embedding(settings, seeds_dir: Path, expected: int | None, progress: Progress,
                   label: str) -> tuple[float, float]:
    """(wall s, CPU s) to embed the texts ingest embeds, directly: the same chunker cuts them, the
    same embedder (get_embedder: ingest's, once it has run) embeds them in ingest's order and batches."""
    from assistant.corpus import load_corpus
    from assistant.index.chunking import chunk_papers, embed_text
    from assistant.index.embedder import get_embedder
    from assistant.index.ingest import EMBED_BATCH

    texts = [embed_text(node) for node in chunk_papers(load_corpus(seeds_dir))]
    if expected is not None and len(texts) != expected:
        raise SystemExit(f"re-chunking gave {len(texts)} chunks, ingest stored {expected}")
    texts.sort(key=len)
    embedder = get_embedder(settings)
    cpu0, started = _cpu_seconds(), time.perf_counter()
    for start in range(0, len(texts), EMBED_BATCH):
        embedder.embed(texts[start:start + EMBED_BATCH])
        if start and start % (EMBED_BATCH * 100) == 0:
            progress(f"{label} embedding {start}/{len(texts)}")
    return time.perf_counter() - started, _cpu_seconds() - cpu0


def _stage_seconds(marks: dict[str, float], start: float, end: float) -> dict[str, float]:
    """Ingest's wall time by stage, from the times its progress callback was called.

    setup: imports (llama-index), reading the corpus, the old manifest; chunking; embedding
    (after chunking until the last batch: includes waiting for the model to load); storing
    (vectors to lists, Chroma writes through llama-index's ChromaVectorStore); after: BM25,
    the generation files and the manifest.
    """
    needed = ("chunking_start", "chunking_end", "embedding_end", "storing_end")
    if any(k not in marks for k in needed):
        return {}
    return {
        "setup_s": marks["chunking_start"] - start,
        "chunking_s": marks["chunking_end"] - marks["chunking_start"],
        "embedding_s": marks["embedding_end"] - marks["chunking_end"],
        "storing_s": marks["storing_end"] - marks["embedding_end"],
        "after_s": end - marks["storing_end"],
    }


def _write_profile(profiler, path: Path) -> None:
    import io
    import pstats

    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative")
    stats.print_stats(45)
    out.write("\n\n=== by own time ===\n")
    stats.sort_stats("tottime").print_stats(30)
    path.write_text(out.getvalue(), encoding="utf-8")


# --- 2. the store -------------------------------------------------------------------------------


def unit_vectors(count: int, seed: int, batch: int) -> "np.ndarray":
    """Seeded random 384-d unit float32 rows (batch number in the seed: any batch is reproducible)."""
    import numpy as np

    rows = np.random.default_rng([seed, batch]).standard_normal((count, DIM), dtype=np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


class QueryVectors:
    """Stands in for the embedder on the query path: a seeded unit vector per query text (no model)."""

    name = "all-MiniLM-L6-v2"
    dim = DIM

    def embed(self, texts: list[str]) -> "np.ndarray":
        import numpy as np

        return np.stack([unit_vectors(1, int(hashlib.sha256(t.encode()).hexdigest()[:8], 16), 0)[0] for t in texts])


@dataclass(frozen=True)
class SynthChunks:
    papers: list  # assistant Paper records
    texts: list[str]
    owner: list[int]  # chunk -> index of its paper
    ordinal: list[int]  # chunk -> its number within its paper, from 0

    def chunk_id(self, i: int) -> str:
        from assistant.index.chunking import chunk_id

        return chunk_id(self.papers[self.owner[i]].key, self.ordinal[i])


def synthetic_chunks(n_chunks: int, seed: int = 0, text: SeedText | None = None) -> SynthChunks:
    """n chunks of 1-3 seed sentences each, 1-3 chunks per synthetic paper."""
    from assistant.corpus.paper import Paper

    text = text or seed_text()
    rng = random.Random(seed)
    papers, chunks, owner, ordinal = [], [], [], []
    while len(chunks) < n_chunks:
        index = len(papers)
        count = min(rng.choice((1, 2, 2, 3)), n_chunks - len(chunks))
        parts = [" ".join(rng.choice(text.sentences) for _ in range(rng.randint(1, 3))) for _ in range(count)]
        year = rng.randint(2015, 2025)
        words = rng.sample(text.title_words, 5)
        authors = tuple(f"{rng.choice(_FIRST_NAMES)} {_surname(rng)}" for _ in range(rng.randint(1, 3)))
        key = f"{authors[0].split()[-1].lower()}{year}{words[0]}{index}"  # unique by construction
        papers.append(Paper(key=key, source=f"{index // PAPERS_PER_FILE:03d}_synthetic.txt#{index % PAPERS_PER_FILE + 1}",
                            title=" ".join(w.capitalize() for w in words), authors=authors, authors_truncated=False,
                            year=year, date=None, year_inferred=False, category=rng.choice(_CATEGORIES),
                            arxiv_id=None, comment=None, affiliations=(), abstract=" ".join(parts)))
        chunks.extend(parts)
        owner.extend([index] * count)
        ordinal.extend(range(count))
    return SynthChunks(papers, chunks, owner, ordinal)


def _chroma_rows(corpus: SynthChunks, start: int, end: int, metadata: str = "llama"):
    """ids, documents and metadatas as llama-index's ChromaVectorStore writes them in ingest
    (metadata="llama"), or with the paper's flat metadata alone (metadata="plain": no `_node_content`)."""
    from llama_index.core.schema import NodeRelationship, ObjectType, RelatedNodeInfo, TextNode
    from llama_index.core.vector_stores.utils import node_to_metadata_dict

    from assistant.index.chunking import EMBEDDED_METADATA, paper_metadata, text_hash
    from assistant.index.generation import store_id

    ids, documents, metadatas = [], [], []
    for i in range(start, end):
        paper, text = corpus.papers[corpus.owner[i]], corpus.texts[i]
        meta = paper_metadata(paper)
        if metadata == "plain":
            ids.append(store_id(corpus.chunk_id(i), text_hash(text)))
            documents.append(text)
            metadatas.append(meta)
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
                progress: Progress = log, metadata: str = "llama") -> dict[str, Any]:
    """A real index generation of n synthetic chunks: Chroma rows, BM25, papers/chunks/vectors, manifest."""
    import numpy as np

    from assistant.config import Settings
    from assistant.index import chroma_store as store
    from assistant.index.bm25 import Bm25Index
    from assistant.index.chunking import CHUNKER, text_hash
    from assistant.index.generation import ChunkRecord, Generation, StoredPaper
    from assistant.index.ingest import bm25_text, paper_hash
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
    for number, start in enumerate(range(0, n_chunks, batch)):
        end = min(start + batch, n_chunks)
        vectors[start:end] = unit_vectors(end - start, seed, number)
        ids, documents, metadatas = _chroma_rows(corpus, start, end, metadata)
        began = time.perf_counter()
        collection.add(ids=ids, embeddings=vectors[start:end], documents=documents, metadatas=metadatas)
        insert_s += time.perf_counter() - began
        if time.perf_counter() - last > 20 or end == n_chunks:
            last = time.perf_counter()
            progress(f"store {n_chunks} {'server' if chroma_url else 'embedded'}: inserted {end}/{n_chunks} "
                     f"({end / insert_s:.0f} chunks/s)")
    count = collection.count()
    if count != n_chunks:
        raise SystemExit(f"Chroma holds {count} rows, {n_chunks} were added")

    began = time.perf_counter()
    bm25 = Bm25Index.build([bm25_text(papers[corpus.owner[i]], corpus.texts[i]) for i in range(n_chunks)])
    bm25_s = time.perf_counter() - began
    progress(f"store {n_chunks}: BM25 built in {bm25_s:.1f} s")

    began = time.perf_counter()
    records = [ChunkRecord(corpus.chunk_id(i), papers[corpus.owner[i]].key, corpus.texts[i],
                           text_hash(corpus.texts[i])) for i in range(n_chunks)]
    generation.add_papers(enumerate(StoredPaper(paper_hash(p), p) for p in papers))
    generation.add_chunks((i, record, vectors[i]) for i, record in enumerate(records))
    generation.save_bm25(bm25)
    manifest = Manifest(
        generation=generation.name, collection=collection_name, store=label, embedder=QueryVectors.name, dim=DIM,
        chunker=CHUNKER, corpus_hash=hashlib.sha256(f"synthetic|{n_chunks}|{seed}".encode()).hexdigest(),
        seeds_dir="(synthetic)", papers=len(papers), chunks=n_chunks, created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
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
            ids, documents, metadatas = _chroma_rows(corpus, start, end, "llama" if "llama" in variant else "plain")
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


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def search_store(index_dir: Path, chroma_url: str | None = None, rounds: int = 5,
                 queries: list[str] = QUERIES) -> dict[str, Any]:
    """Open the index with the project's IndexReader; time Retriever.search and its dense/BM25 parts."""
    from assistant.config import Settings
    from assistant.index.background import Background
    from assistant.index.generation import Generation
    from assistant.index.manifest import read_manifest
    from assistant.index.reader import IndexReader
    from assistant.retrieve import DEFAULT_FUSION, Retriever

    load_before = os.getloadavg()[0]
    settings = Settings(index_dir=index_dir, chroma_url=chroma_url)
    began = time.perf_counter()
    manifest = read_manifest(index_dir)
    assert manifest is not None
    reader = IndexReader(settings, manifest, Generation(index_dir, manifest.generation))
    open_s = time.perf_counter() - began
    open_rss = peak_rss_mib()
    vectors = QueryVectors()
    retriever = Retriever(settings, reader, Background(lambda: vectors), DEFAULT_FUSION)
    depth = max(DEFAULT_FUSION.depth, 3 * SEARCH_K)
    for query in queries[:5]:  # warm-up: first calls pay for lazy set-up (HNSW load, caches)
        retriever.search(query, k=SEARCH_K)
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
    from assistant.index.ingest import bm25_text
    from assistant.index.reader import IndexReader, top_positive
    from assistant.retrieve import DEFAULT_FUSION

    load_before = os.getloadavg()[0]
    corpus = synthetic_chunks(n_chunks, seed)
    began = time.perf_counter()
    bm25 = Bm25Index.build([bm25_text(corpus.papers[corpus.owner[i]], corpus.texts[i]) for i in range(n_chunks)])
    build_s = time.perf_counter() - began
    reader = IndexReader.__new__(IndexReader)  # only the attributes IndexReader.bm25 reads
    chunks = [ChunkRecord(corpus.chunk_id(i), corpus.papers[corpus.owner[i]].key, corpus.texts[i],
                          text_hash(corpus.texts[i])) for i in range(n_chunks)]
    reader._chunk_ids = [c.id for c in chunks]
    reader._chunk_paper = [c.paper_key for c in chunks]
    reader._check_current = lambda: None
    reader.generation = SimpleNamespace(chunk_texts=lambda positions: {i: chunks[i].text for i in positions})
    reader._bm25 = bm25
    reader._last_bm25 = None
    depth = max(DEFAULT_FUSION.depth, 3 * SEARCH_K)
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

    from assistant.config import Settings
    from assistant.index.background import Background
    from assistant.index.generation import Generation
    from assistant.index.manifest import read_manifest
    from assistant.index.reader import IndexReader
    from assistant.retrieve import Retriever

    settings = Settings(index_dir=index_dir, chroma_url=chroma_url)
    manifest = read_manifest(index_dir)
    assert manifest is not None
    reader = IndexReader(settings, manifest, Generation(index_dir, manifest.generation))
    vectors = QueryVectors()
    retriever = Retriever(settings, reader, Background(lambda: vectors))
    for query in QUERIES[:5]:
        retriever.search(query, k=SEARCH_K)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        for query in QUERIES:
            retriever.search(query, k=SEARCH_K)
    profiler.disable()
    _write_profile(profiler, path)


# --- processes, the server, disk ----------------------------------------------------------------


def du_mib(path: Path) -> float:
    """Disk usage of a file tree (allocated blocks, as du), MiB."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total / 2**20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    """`chroma run` on 127.0.0.1 at a free port in `path`; stopped by its PID (use as a context)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self._log = None

    def __enter__(self) -> ChromaServer:
        chroma = Path(sys.executable).with_name("chroma")
        port = _free_port()
        self.path.mkdir(parents=True, exist_ok=True)
        self._log = (self.path.parent / f"{self.path.name}.log").open("wb")
        self.proc = subprocess.Popen([str(chroma), "run", "--host", "127.0.0.1", "--port", str(port),
                                      "--path", str(self.path)], stdout=self._log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
        self.url = f"http://127.0.0.1:{port}"
        try:
            self._wait_for_heartbeat()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_for_heartbeat(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.proc.returncode} (log: {self._log.name})")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"no heartbeat from {self.url} within {SERVER_START_TIMEOUT:.0f} s")

    def peak_rss_mib(self) -> float | None:
        """The server's peak resident set (VmHWM), with any child processes it started."""
        if self.proc is None:
            return None
        total = 0.0
        for pid in [self.proc.pid, *_children(self.proc.pid)]:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1]) / 1024
            except OSError:
                pass
        return total

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found.extend(int(p) for p in task.read_text().split())
        except OSError:
            pass
    return found


def run_child(kind: str, params: dict[str, Any], timeout: float = CHILD_TIMEOUT) -> dict[str, Any]:
    """Run one phase in a fresh interpreter (its own peak RSS); its result is the last stdout line."""
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "_child", kind, json.dumps(params)],
                          stdout=subprocess.PIPE, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"the {kind} child for {params} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _child_main(kind: str, params: dict[str, Any]) -> None:
    if kind == "pipeline":
        profile = Path(params["profile"]) if params.get("profile") else None
        result = bench_pipeline(params["papers"], Path(params["workdir"]), params["seed"], profile_to=profile,
                                raw_before=params.get("raw_before", False))
    elif kind == "build":
        result = build_store(params["chunks"], Path(params["index_dir"]), params.get("url"), params["seed"],
                             metadata=params.get("metadata", "llama"))
    elif kind == "search":
        result = search_store(Path(params["index_dir"]), params.get("url"), params["rounds"])
        if params.get("profile"):
            profile_search(Path(params["index_dir"]), Path(params["profile"]), params.get("url"))
    elif kind == "bm25":
        result = bm25_only(params["chunks"], params["seed"], params["rounds"])
    elif kind == "breakdown":
        result = insert_breakdown(params["chunks"], Path(params["workdir"]), params["seed"])
    else:
        raise SystemExit(f"unknown child {kind!r}")
    print(json.dumps(result), flush=True)


def bench_store_size(n_chunks: int, mode: str, workdir: Path, seed: int, rounds: int,
                     profile_dir: Path | None = None, metadata: str = "llama") -> dict[str, Any]:
    """One store size in one mode ("embedded" or "server"): build, then search, in fresh processes."""
    index_dir = workdir / f"{mode}-{n_chunks}"
    profile = str(profile_dir / f"profile_search_{mode}_{n_chunks}.txt") if profile_dir else None
    if mode == "embedded":
        result = run_child("build", {"chunks": n_chunks, "index_dir": str(index_dir), "seed": seed,
                                     "metadata": metadata})
        result |= run_child("search", {"index_dir": str(index_dir), "rounds": rounds, "profile": profile})
        result["index_mib"] = result["index_dir_mib"]
        return result
    with ChromaServer(workdir / f"server-db-{n_chunks}") as server:
        params = {"index_dir": str(index_dir), "url": server.url, "seed": seed}
        result = run_child("build", {"chunks": n_chunks, "metadata": metadata, **params})
        result["server_rss_after_build_mib"] = server.peak_rss_mib()
        result |= run_child("search", {**params, "rounds": rounds, "profile": profile})
        result["server_peak_rss_mib"] = server.peak_rss_mib()
        result["server_db_mib"] = du_mib(server.path)
        result["index_mib"] = result["server_db_mib"] + result["index_dir_mib"]
    return result


# --- results ------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "assistant"], cwd=ROOT,
                                    capture_output=True, text=True, timeout=10).stdout.strip())
    except (OSError, subprocess.TimeoutExpired):
        commit, dirty = "", False
    mem = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal:")), None)
    return {"commit": commit + ("+dirty" if dirty else ""), "cpus": os.cpu_count(), "mem_mib": mem,
            "python": platform.python_version(), "platform": platform.platform()}


def load_results(path: Path) -> dict[str, Any]:
    if path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            pass
    return {"pipeline": {}, "store": {"embedded": {}, "server": {}}}


def extrapolate(sizes: list[int], values: list[float], target: int) -> float | None:
    """A power law through the two largest measured sizes, evaluated at `target` (None if not defined)."""
    pairs = sorted((s, v) for s, v in zip(sizes, values) if v and v > 0)
    if len(pairs) < 2:
        return None
    (s1, v1), (s2, v2) = pairs[-2], pairs[-1]
    exponent = math.log(v2 / v1) / math.log(s2 / s1)
    return v2 * (target / s2) ** exponent


STORE_COLUMNS = [
    ("insert_chunks_per_s", "insert/s", "{:.0f}"), ("index_mib", "disk MiB", "{:.0f}"),
    ("hybrid_p50_ms", "hybrid p50 ms", "{:.1f}"), ("hybrid_p95_ms", "hybrid p95 ms", "{:.1f}"),
    ("dense_p50_ms", "dense p50", "{:.1f}"), ("dense_ids_p50_ms", "ids-only p50", "{:.1f}"),
    ("bm25_p50_ms", "bm25 p50", "{:.1f}"),
    ("open_s", "open s", "{:.1f}"), ("build_peak_rss_mib", "build RSS MiB", "{:.0f}"),
    ("search_peak_rss_mib", "search RSS MiB", "{:.0f}"), ("server_peak_rss_mib", "server RSS MiB", "{:.0f}"),
]


def add_estimates(results: dict[str, Any], target: int) -> None:
    """Where `target` chunks were not measured, a labelled power-law extrapolation from the two largest."""
    for mode, by_size in results["store"].items():
        measured = {int(s): r for s, r in by_size.items() if not r.get("extrapolated")}
        if target in measured:
            continue
        by_size.pop(str(target), None)  # an earlier estimate: redone from the current measurements
        if len(measured) < 2:
            continue
        sizes = sorted(measured)
        estimate: dict[str, Any] = {"chunks": target, "extrapolated": True,
                                    "from_sizes": sizes[-2:]}
        for key, _, _ in STORE_COLUMNS:
            values = [measured[s].get(key) for s in sizes]
            if all(isinstance(v, (int, float)) for v in values):
                estimate[key] = extrapolate(sizes, values, target)
        alone = results.get("bm25_only", {}).get(str(target))
        if alone and all(isinstance(measured[s].get("bm25_p50_ms"), (int, float)) for s in sizes):
            # BM25 was measured at this size on its own: extrapolate only the rest of the search.
            for which in ("p50", "p95"):
                rest = [measured[s][f"hybrid_{which}_ms"] - measured[s]["bm25_p50_ms"] for s in sizes]
                estimate[f"hybrid_{which}_ms"] = extrapolate(sizes, rest, target) + alone[f"bm25_{which}_ms"]
            estimate["bm25_p50_ms"] = alone["bm25_p50_ms"]
            estimate["bm25_measured_alone"] = True
        by_size[str(target)] = estimate


def table(results: dict[str, Any]) -> str:
    lines = []
    pipeline = results.get("pipeline", {})
    if pipeline:
        lines.append("PIPELINE (real MiniLM embedder; ratio = ingest time / raw embedding time, target <= 1.5)")
        head = ["papers", "chunks", "ingest s", "papers/s", "chunks/s", "raw chunks/s", "ratio wall", "ratio CPU",
                "embed s", "other s", "peak RSS MiB", "load"]
        rows = []
        for size in sorted(pipeline, key=int):
            r = pipeline[size]
            stages = r.get("stages", {})
            other = r["ingest_s"] - stages.get("embedding_s", 0.0)
            rows.append([str(r["papers"]), str(r["chunks"]), f"{r['ingest_s']:.1f}", f"{r['ingest_papers_per_s']:.2f}",
                         f"{r['ingest_chunks_per_s']:.2f}", f"{r['raw_chunks_per_s']:.2f}", f"{r['ratio_wall']:.2f}",
                         f"{r['ratio_cpu']:.2f}", f"{stages.get('embedding_s', float('nan')):.1f}", f"{other:.1f}",
                         f"{r['ingest_peak_rss_mib']:.0f}", f"{r['load_average'][0]:.1f}"])
        lines += _format(head, rows) + [""]
    bm25 = results.get("bm25_only")
    if bm25:
        lines.append("BM25 ALONE (the project's Bm25Index + IndexReader.bm25 top-50; no Chroma)")
        rows = [[f"{int(n):,}", f"{r['bm25_build_s']:.1f}", f"{r['bm25_scoring_p50_ms']:.1f}", f"{r['bm25_p50_ms']:.1f}",
                 f"{r['bm25_p95_ms']:.1f}", f"{r['top_n_partition_p50_ms']:.2f}", f"{r['peak_rss_mib']:.0f}"]
                for n, r in sorted(bm25.items(), key=lambda i: int(i[0]))]
        lines += _format(["chunks", "build s", "scoring p50 ms", "reader top-50 p50 ms", "top-50 p95 ms",
                          "partition top-50 p50 ms", "peak RSS MiB"], rows) + [""]
    breakdown = results.get("insert_breakdown")
    if breakdown:
        lines.append(f"EMBEDDED CHROMA INSERT, {breakdown['chunks']:,} rows, by what each row carries (chunks/s)")
        lines += _format(list(INSERT_VARIANTS), [[f"{breakdown[v]:.0f}" for v in INSERT_VARIANTS]]) + [""]
    for mode, by_size in results.get("store", {}).items():
        if not by_size:
            continue
        lines.append(f"STORE: {mode} Chroma + BM25 (synthetic 384-d vectors; * = extrapolated, not measured)")
        head = ["chunks"] + [title for key, title, _ in STORE_COLUMNS
                             if mode.startswith("server") or not key.startswith("server")]
        rows = []
        for size in sorted(by_size, key=int):
            r = by_size[size]
            row = [f"{int(size):,}" + ("*" if r.get("extrapolated") else "")]
            for key, _, fmt in STORE_COLUMNS:
                if not mode.startswith("server") and key.startswith("server"):
                    continue
                value = r.get(key)
                row.append(fmt.format(value) if isinstance(value, (int, float)) else "-")
            rows.append(row)
        lines += _format(head, rows)
        low, high = by_size.get("100000"), by_size.get("1000000")
        if low and high:
            growth = ", ".join(f"{title} x{high[key] / low[key]:.2f}" for key, title, _ in STORE_COLUMNS
                               if key in ("hybrid_p50_ms", "insert_chunks_per_s", "index_mib", "search_peak_rss_mib")
                               and isinstance(high.get(key), (int, float)) and low.get(key))
            kind = "extrapolated" if high.get("extrapolated") else "measured"
            lines.append(f"growth 100,000 -> 1,000,000 chunks ({kind}): {growth}")
        lines.append("")
    return "\n".join(lines)


def _format(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    return ["  ".join(h.rjust(w) for h, w in zip(head, widths))] + \
           ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]


def _legend(ax, **kwargs: Any) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, **kwargs)


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(16, 9.5))
    fig.suptitle(f"Scale on {results.get('machine', {}).get('cpus', '?')} cores, shared machine "
                 f"(commit {results.get('machine', {}).get('commit', '?')}); "
                 "hollow markers = extrapolated (power law through the two largest measured sizes), not measured",
                 fontsize=12)
    styles = {"embedded": ("tab:blue", "o"), "server": ("tab:orange", "s"),
              "embedded-plain-metadata": ("tab:cyan", "v"), "server-plain-metadata": ("tab:brown", "^")}
    from matplotlib.ticker import FuncFormatter, LogLocator

    plain = FuncFormatter(lambda value, _pos: f"{value:g}")

    def series(ax, key: str, label: str, scale: float = 1.0, dashed: bool = False) -> None:
        for mode, by_size in results.get("store", {}).items():
            color, marker = styles.get(mode, ("gray", "^"))
            points = sorted((int(s), r.get(key), bool(r.get("extrapolated"))) for s, r in by_size.items()
                            if isinstance(r.get(key), (int, float)))
            if not points:
                continue
            xs, ys = [p[0] for p in points], [p[1] * scale for p in points]
            ax.plot(xs, ys, color=color, linestyle="--" if dashed else "-", alpha=0.8)
            for x, y, est in points:
                ax.plot(x, y * scale, marker=marker, color=color, markerfacecolor="white" if est else color)
            ax.plot([], [], color=color, marker=marker, linestyle="--" if dashed else "-", label=f"{mode} {label}")

    ax = axes[0][0]
    series(ax, "hybrid_p50_ms", "p50")
    series(ax, "hybrid_p95_ms", "p95", dashed=True)
    ax.axhline(100, color="red", linewidth=1, linestyle=":", label="target p50 100 ms (100k)")
    ax.set(title="Hybrid search latency", xlabel="chunks", ylabel="ms", xscale="log", yscale="log")
    _legend(ax)

    ax = axes[0][1]
    series(ax, "dense_p50_ms", "dense p50")
    series(ax, "bm25_p50_ms", "BM25 p50", dashed=True)
    alone = sorted((int(n), r) for n, r in results.get("bm25_only", {}).items())
    if alone:
        ax.plot([n for n, _ in alone], [r["bm25_p50_ms"] for n, r in alone], color="tab:green", marker="x",
                linestyle=":", label="BM25 alone, measured (reader top-50)")
        ax.plot([n for n, _ in alone], [r["bm25_scoring_p50_ms"] + r["top_n_partition_p50_ms"] for n, r in alone],
                color="tab:olive", marker="+", linestyle=":", label="BM25 alone with partition top-50 (fix)")
    ax.set(title="Where search time goes (p50 of each part)", xlabel="chunks", ylabel="ms", xscale="log",
           yscale="log")
    _legend(ax)

    ax = axes[0][2]
    series(ax, "insert_chunks_per_s", "insert")
    ax.set(title="Store insert throughput", xlabel="chunks", ylabel="chunks/s", xscale="log")
    ax.set_ylim(bottom=0)
    _legend(ax)

    ax = axes[1][0]
    series(ax, "search_peak_rss_mib", "search process", scale=1 / 1024)
    series(ax, "build_peak_rss_mib", "build process", scale=1 / 1024, dashed=True)
    by_size = results.get("store", {}).get("server", {})
    points = sorted((int(s), r["server_peak_rss_mib"] / 1024, bool(r.get("extrapolated"))) for s, r in by_size.items()
                    if isinstance(r.get("server_peak_rss_mib"), (int, float)))
    if points:
        ax.plot([p[0] for p in points], [p[1] for p in points], color="tab:red", linestyle="-.")
        for x, y, est in points:
            ax.plot(x, y, marker="D", color="tab:red", markerfacecolor="white" if est else "tab:red")
        ax.plot([], [], color="tab:red", linestyle="-.", marker="D", label="chroma run server process")
    ax.axhline(4, color="red", linewidth=1, linestyle=":", label="target 4 GiB (100k)")
    ax.set(title="Peak RSS", xlabel="chunks", ylabel="GiB", xscale="log", yscale="log")
    _legend(ax)

    ax = axes[1][1]
    series(ax, "index_mib", "index total", scale=1 / 1024)
    ax.set(title="Index size on disk", xlabel="chunks", ylabel="GiB", xscale="log", yscale="log")
    _legend(ax)

    ax = axes[1][2]
    pipeline = results.get("pipeline", {})
    if pipeline:
        sizes = sorted(pipeline, key=int)
        xs = range(len(sizes))
        ingest = [pipeline[s]["ingest_chunks_per_s"] for s in sizes]
        raw = [pipeline[s]["raw_chunks_per_s"] for s in sizes]
        ax.bar([x - 0.2 for x in xs], raw, width=0.4, color="tab:green", label="raw embedding")
        ax.bar([x + 0.2 for x in xs], ingest, width=0.4, color="tab:purple", label="whole ingest")
        for x, s in zip(xs, sizes):
            r = pipeline[s]
            ax.text(x + 0.2, ingest[x], f"ratio wall {r['ratio_wall']:.2f}\nCPU {r['ratio_cpu']:.2f}", ha="center",
                    va="bottom", fontsize=8)
        ax.set_xticks(list(xs), [f"{int(s):,} papers\n({pipeline[s]['chunks']:,} chunks)" for s in sizes])
        ax.set(title="Ingest pipeline vs raw MiniLM embedding", ylabel="chunks/s")
        _legend(ax, loc="lower right")
    else:
        ax.set_axis_off()
    for ax in axes.flat:
        if ax.axison and not ax.get_legend_handles_labels()[0]:
            ax.text(0.5, 0.5, "not measured yet", ha="center", va="center", transform=ax.transAxes, color="gray")
            ax.set_xscale("linear")
            ax.set_yscale("linear")
        if ax.axison and ax.get_yscale() == "log":
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(FuncFormatter(lambda value, _pos: ""))
        ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, nargs="*", default=[1000, 5000], help="pipeline corpus sizes")
    parser.add_argument("--store-sizes", type=int, nargs="*", default=[10000, 100000, 1000000],
                        help="store sizes in chunks")
    parser.add_argument("--insert-breakdown", type=int, metavar="CHUNKS",
                        help="also time embedded Chroma inserts of CHUNKS rows with parts of each row left out")
    parser.add_argument("--bm25-sizes", type=int, nargs="*", default=[],
                        help="also time the BM25 half alone at these sizes (no Chroma: cheap at 1M)")
    parser.add_argument("--raw-before", action="store_true",
                        help="time raw embedding before ingest as well as after it (ratio against the mean)")
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument("--skip-store", action="store_true")
    parser.add_argument("--skip-server", action="store_true", help="embedded Chroma only")
    parser.add_argument("--skip-embedded", action="store_true", help="server only")
    parser.add_argument("--rounds", type=int, default=5, help=f"rounds of the {len(QUERIES)} search queries")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--metadata", choices=("llama", "plain"), default="llama",
                        help="Chroma row metadata: as ingest writes it through llama-index (default), or the "
                             "paper's flat fields alone (results kept apart as '<mode>-plain-metadata')")
    parser.add_argument("--profile", action="store_true", help="also write cProfile reports beside the results")
    parser.add_argument("--estimate-to", type=int, default=1_000_000,
                        help="extrapolate the store to this size when it was not measured")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where scale.json and scale.png go")
    parser.add_argument("--fresh", action="store_true", help="do not merge with an earlier scale.json")
    parser.add_argument("--render-only", action="store_true",
                        help="measure nothing: print the table and redraw the plot from OUT/scale.json")
    parser.add_argument("--workdir", type=Path, help="scratch directory (default: a temp dir, removed)")
    args = parser.parse_args(argv)

    results_path = args.out / "scale.json"
    results = {"pipeline": {}, "store": {"embedded": {}, "server": {}}} if args.fresh else load_results(results_path)
    if args.render_only:
        add_estimates(results, args.estimate_to)
        plot(results, args.out / "scale.png")
        print(table(results))
        return
    results["machine"] = machine()
    scratch = Path(tempfile.mkdtemp(prefix="bench-scale-", dir=args.workdir))
    profile_dir = args.out if args.profile else None

    def save() -> None:
        args.out.mkdir(parents=True, exist_ok=True)
        add_estimates(results, args.estimate_to)
        results_path.write_text(json.dumps(results, indent=2, sort_keys=True), encoding="utf-8")
        plot(results, args.out / "scale.png")

    try:
        if not args.skip_pipeline:
            for n in args.papers:
                log(f"pipeline: {n} papers")
                work = scratch / f"pipeline-{n}"
                profile = str(profile_dir / f"profile_ingest_{n}.txt") if profile_dir else None
                results["pipeline"][str(n)] = run_child("pipeline", {"papers": n, "workdir": str(work),
                                                                     "seed": args.seed, "profile": profile,
                                                                     "raw_before": args.raw_before})
                shutil.rmtree(work, ignore_errors=True)
                save()
        for n in args.bm25_sizes:
            log(f"BM25 alone: {n:,} chunks")
            results.setdefault("bm25_only", {})[str(n)] = run_child("bm25", {"chunks": n, "seed": args.seed,
                                                                            "rounds": args.rounds})
            save()
        if args.insert_breakdown:
            log(f"insert breakdown: {args.insert_breakdown:,} chunks")
            work = scratch / "breakdown"
            results["insert_breakdown"] = run_child("breakdown", {"chunks": args.insert_breakdown,
                                                                  "workdir": str(work), "seed": args.seed})
            shutil.rmtree(work, ignore_errors=True)
            save()
        if not args.skip_store:
            modes = [m for m, skip in (("embedded", args.skip_embedded), ("server", args.skip_server)) if not skip]
            for n in args.store_sizes:
                for mode in modes:
                    log(f"store: {n:,} chunks, {mode}")
                    result = bench_store_size(n, mode, scratch, args.seed, args.rounds, profile_dir, args.metadata)
                    result["measured"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
                    key = mode if args.metadata == "llama" else f"{mode}-plain-metadata"
                    results["store"].setdefault(key, {})[str(n)] = result
                    for leftover in scratch.glob(f"*-{n}"):
                        shutil.rmtree(leftover, ignore_errors=True)
                    save()
        save()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(table(results))
    print(f"\nwrote {results_path} and {args.out / 'scale.png'}")


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "_child":
        _child_main(sys.argv[2], json.loads(sys.argv[3]))
    else:
        main()
