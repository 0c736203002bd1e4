"""Each size of each phase runs in a fresh interpreter, so that its peak RSS is its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from .common import ROOT, du_mib
from .pipeline import bench_pipeline
from .store import bm25_only, build_store, insert_breakdown, profile_search, search_store

sys.path.insert(0, str(ROOT / "tests"))
from servers import ChromaServer  # noqa: E402  (the one Chroma-server starter, shared with the tests)

CHILD_TIMEOUT = 4 * 3600  # seconds: one size of one phase, the 1M store included


def run_child(kind: str, params: dict[str, Any], timeout: float = CHILD_TIMEOUT) -> dict[str, Any]:
    """Run one phase in a fresh interpreter (its own peak RSS); its result is the last stdout line."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-m", "evals.scale", "_child", kind, json.dumps(params)],
                          stdout=subprocess.PIPE, text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": path})
    if proc.returncode != 0:
        raise RuntimeError(f"the {kind} child for {params} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def child_main(kind: str, params: dict[str, Any]) -> None:
    """The child's side of run_child: one phase, its result as JSON on the last stdout line."""
    if kind == "pipeline":
        profile = Path(params["profile"]) if params.get("profile") else None
        result = bench_pipeline(params["papers"], Path(params["workdir"]), params["seed"], profile_to=profile,
                                raw_before=params.get("raw_before", False))
    elif kind == "build":
        result = build_store(params["chunks"], Path(params["index_dir"]), params.get("url"), params["seed"],
                             metadata=params["metadata"], curve_to=Path(params["curve"]) if params.get("curve") else None)
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
                     profile_dir: Path | None = None, metadata: str = "ingest",
                     curve: Path | None = None) -> dict[str, Any]:
    """One store size in one mode ("embedded" or "server"): build, then search, in fresh processes."""
    index_dir = workdir / f"{mode}-{n_chunks}"
    profile = str(profile_dir / f"profile_search_{mode}_{n_chunks}.txt") if profile_dir else None
    if mode == "embedded":
        result = run_child("build", {"chunks": n_chunks, "index_dir": str(index_dir), "seed": seed,
                                     "metadata": metadata, "curve": str(curve) if curve else None})
        result |= run_child("search", {"index_dir": str(index_dir), "rounds": rounds, "profile": profile})
        result["index_mib"] = result["index_dir_mib"]
        return result
    with ChromaServer(workdir / f"server-db-{n_chunks}") as server:
        params = {"index_dir": str(index_dir), "url": server.url, "seed": seed}
        result = run_child("build", {"chunks": n_chunks, "metadata": metadata, "curve": str(curve) if curve else None,
                                     **params})
        result["server_rss_after_build_mib"] = server.peak_rss_mib()
        result |= run_child("search", {**params, "rounds": rounds, "profile": profile})
        result["server_peak_rss_mib"] = server.peak_rss_mib()
        result["server_db_mib"] = du_mib(server.path)
        result["index_mib"] = result["server_db_mib"] + result["index_dir_mib"]
    return result
