"""1. The pipeline: the real ingest of a synthetic corpus against embedding the same texts directly."""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from .common import Progress, cpu_seconds, du_mib, log, peak_rss_mib, write_profile
from .corpus import check_round_trip, synthetic_papers, write_listing


def bench_pipeline(n_papers: int, workdir: Path, seed: int = 0, progress: Progress = log,
                   profile_to: Path | None = None, raw_before: bool = False) -> dict[str, Any]:
    """Ingest n synthetic papers with the real embedder, then embed the same texts directly.

    raw_before: also embed them directly before the ingest (that run then pays for importing
    llama-index and loading the model, not ingest), so a change in the machine's load during
    the run shows as a difference between the two raw timings.
    """
    from assistant.config import Settings
    from assistant.index.ingest import ingest

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
    cpu0, started = cpu_seconds(), time.perf_counter()
    marks["start"] = started
    report = ingest(settings, rebuild=True, on_progress=on_progress)
    ingest_s, ingest_cpu = time.perf_counter() - started, cpu_seconds() - cpu0
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
        write_profile(profiler, profile_to)

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
    from assistant.config import RetrievalSettings
    from assistant.index.chunking import chunk_papers, embed_text
    from assistant.index.embedder import get_embedder
    from assistant.index.ingest import EMBED_BATCH

    texts = [embed_text(node) for node in chunk_papers(load_corpus(seeds_dir), RetrievalSettings())]
    if expected is not None and len(texts) != expected:
        raise SystemExit(f"re-chunking gave {len(texts)} chunks, ingest stored {expected}")
    texts.sort(key=len)
    embedder = get_embedder(settings)
    cpu0, started = cpu_seconds(), time.perf_counter()
    for start in range(0, len(texts), EMBED_BATCH):
        embedder.embed(texts[start:start + EMBED_BATCH])
        if start and start % (EMBED_BATCH * 100) == 0:
            progress(f"{label} embedding {start}/{len(texts)}")
    return time.perf_counter() - started, cpu_seconds() - cpu0


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
