"""Results: the machine they were measured on, merging, extrapolation to unmeasured sizes, the table."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from .common import ROOT
from .store import INSERT_VARIANTS


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


def load_curves(out: Path) -> dict[str, dict[str, list[dict[str, float]]]]:
    """The insert curves the store builds wrote beside the results (insert-curve-<mode>-<size>.jsonl),
    by mode and size, including those of builds stopped before the end."""
    curves: dict[str, dict[str, list[dict[str, float]]]] = {}
    for path in sorted(out.glob("insert-curve-*.jsonl")):
        mode, _, size = path.stem.removeprefix("insert-curve-").rpartition("-")
        points = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if points:
            curves.setdefault(mode, {})[size] = points
    return curves


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
    for mode, by_size in results.get("insert_curves", {}).items():
        for size, points in sorted(by_size.items(), key=lambda i: int(i[0])):
            if points[-1]["rows"] < int(size):
                last = points[-1]
                lines.append(f"{mode} build of {int(size):,} chunks stopped at {last['rows']:,} rows after "
                             f"{last['insert_s'] / 60:.0f} min of inserts: {last['rows'] / last['insert_s']:.0f} rows/s "
                             f"overall, {last['rows_per_s']:.0f} rows/s at the end, build RSS {last['rss_mib']:.0f} MiB")
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
