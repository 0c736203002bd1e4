"""evals/scale (`python -m evals.scale`) at toy sizes: the synthetic corpora, the pipeline and the store give sane figures.

No timing assertions: only that each measurement ran the real code and returned plausible numbers.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from evals.scale import corpus, pipeline, report, store
from evals.scale.common import DIM, QUERIES, SEARCH_K, du_mib
from evals.scale.plot import plot
from servers import ChromaServer


def _positive(*values: float) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in values)


def test_synthetic_papers_are_seeded_and_parse_back_from_the_listing_layout(tmp_path: Path) -> None:
    papers = corpus.synthetic_papers(20, seed=3)
    assert papers == corpus.synthetic_papers(20, seed=3)
    assert papers != corpus.synthetic_papers(20, seed=4)
    files = corpus.write_listing(papers, tmp_path / "seeds", per_file=8)
    assert len(files) == 3
    corpus.check_round_trip(papers, tmp_path / "seeds")  # raises if a title/author seam is misread

    from assistant.corpus import load_corpus

    loaded = load_corpus(tmp_path / "seeds")
    assert len({p.key for p in loaded}) == 20
    assert all(p.category and p.year and len(p.abstract) > 40 for p in loaded)


@pytest.mark.slow
def test_pipeline_at_20_papers(tmp_path: Path) -> None:
    result = pipeline.bench_pipeline(20, tmp_path, seed=1, progress=lambda _message: None)
    assert result["papers"] == 20 and result["chunks"] >= 20
    assert _positive(result["ingest_s"], result["raw_embed_s"], result["ratio_wall"], result["ratio_cpu"],
                     result["ingest_papers_per_s"], result["raw_chunks_per_s"], result["index_mib"])
    assert set(result["stages"]) == {"setup_s", "chunking_s", "embedding_s", "storing_s", "after_s"}
    assert sum(result["stages"].values()) == pytest.approx(result["ingest_s"], rel=0.01)
    assert result["ingest_peak_rss_mib"] > 50


@pytest.mark.slow
def test_store_build_and_search_at_200_chunks(tmp_path: Path) -> None:
    built = store.build_store(200, tmp_path / "index", seed=2, progress=lambda _message: None)
    assert built["chunks"] == 200 and 60 <= built["papers"] <= 200
    assert _positive(built["insert_chunks_per_s"], built["index_dir_mib"], built["chroma_dir_mib"],
                     built["build_peak_rss_mib"])
    searched = store.search_store(tmp_path / "index", rounds=1, queries=QUERIES[:6])
    assert searched["searches"] == 6 and searched["mean_results"] == SEARCH_K
    assert _positive(searched["hybrid_p50_ms"], searched["dense_p50_ms"], searched["bm25_p50_ms"],
                     searched["search_peak_rss_mib"])
    assert searched["hybrid_p95_ms"] >= searched["hybrid_p50_ms"]


def test_synthetic_vectors_are_unit_length_and_reproducible() -> None:
    import numpy as np

    rows = corpus.unit_vectors(50, seed=7, batch=1)
    assert rows.shape == (50, DIM) and rows.dtype == np.float32
    assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(rows, corpus.unit_vectors(50, seed=7, batch=1))
    assert not np.array_equal(rows, corpus.unit_vectors(50, seed=7, batch=2))


@pytest.mark.slow
def test_results_table_plot_and_extrapolation(tmp_path: Path) -> None:
    results = {"pipeline": {}, "store": {"embedded": {
        "10000": {"chunks": 10000, "insert_chunks_per_s": 1000.0, "index_mib": 100.0, "hybrid_p50_ms": 10.0,
                  "hybrid_p95_ms": 12.0, "search_peak_rss_mib": 200.0},
        "100000": {"chunks": 100000, "insert_chunks_per_s": 800.0, "index_mib": 1000.0, "hybrid_p50_ms": 20.0,
                   "hybrid_p95_ms": 25.0, "search_peak_rss_mib": 400.0},
    }, "server": {}}}
    report.add_estimates(results, 1_000_000)
    estimate = results["store"]["embedded"]["1000000"]
    assert estimate["extrapolated"] is True
    assert estimate["index_mib"] == pytest.approx(10000.0)  # linear growth stays linear
    assert estimate["hybrid_p50_ms"] == pytest.approx(40.0)  # doubling per decade goes on doubling
    text = report.table(results)
    assert "1,000,000*" in text and "hybrid p50 ms" in text
    plot(results, tmp_path / "scale.png")
    assert (tmp_path / "scale.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    json.dumps(results)  # what gets written must serialise


@pytest.mark.server
@pytest.mark.slow
def test_store_on_a_real_chroma_server_which_is_stopped_afterwards(tmp_path: Path) -> None:
    with ChromaServer(tmp_path / "server-db") as server:
        assert server.url.startswith("http://127.0.0.1:")
        built = store.build_store(200, tmp_path / "index", chroma_url=server.url, seed=5,
                                  progress=lambda _message: None)
        searched = store.search_store(tmp_path / "index", chroma_url=server.url, rounds=1,
                                      queries=QUERIES[:4])
        assert built["chroma_dir_mib"] is None and built["insert_chunks_per_s"] > 0
        assert searched["mean_results"] == SEARCH_K
        assert server.peak_rss_mib() > 50
        assert du_mib(server.path) > 0
    assert server.proc.poll() is not None  # stopped by its PID
