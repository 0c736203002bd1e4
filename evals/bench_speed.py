"""Speed and memory: ingest from scratch, a fresh `assistant search`, warm in-process searches.

    .venv/bin/python evals/bench_speed.py [--runs 5] [--json out.json]

Targets (issue 2): fresh search process <= 1.5 s wall, warm search p50 <= 30 ms, ingest of the
122 shipped papers <= 15 s. Peak RSS is each child's own maximum resident set. Figures on a
shared machine move with its load: the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from evals.scale.common import QUERIES as SCALE_QUERIES  # noqa: E402
ASSISTANT = [sys.executable, "-c", "from assistant.cli import main; main()"]
# The first ten of the scale study's queries: the same questions time both benchmarks.
QUERIES = SCALE_QUERIES[:10]
# Runs a command; prints its wall time, peak RSS (ru_maxrss of the waited child, KiB) and CPU
# seconds (user + system: steadier than wall time on a loaded machine), and its exit code.
_MEASURE = """
import resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(time.perf_counter() - started, usage.ru_maxrss, usage.ru_utime + usage.ru_stime, code)
"""


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MiB, CPU seconds) of one fresh process running `command`."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, *command], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    if out[3] != "0":
        raise SystemExit(f"{' '.join(command)} failed with exit code {out[3]}")
    return float(out[0]), int(out[1]) / 1024, float(out[2])


def warm_searches(index_dir: Path, rounds: int) -> list[float]:
    from assistant.config import Settings
    from assistant.retrieve import open_retriever

    retriever = open_retriever(Settings(index_dir=index_dir))
    for query in QUERIES:  # warm-up: first calls pay for lazy set-up
        retriever.search(query)
    timings = []
    for _ in range(rounds):
        for query in QUERIES:
            started = time.perf_counter()
            retriever.search(query, k=10)
            timings.append(time.perf_counter() - started)
    return timings


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh search processes to time (median reported)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "OPENAI_"))}
    results: dict[str, float | list[float]] = {"load_average_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as tmp:
        index_dir = Path(tmp) / "index"
        env["ASSISTANT_CONFIG"] = str(Path(tmp) / "no-config.toml")
        common = ["--index", str(index_dir)]
        results["ingest_s"], results["ingest_peak_rss_mib"], results["ingest_cpu_s"] = measure(
            ASSISTANT + ["ingest", *common], env)
        measure(ASSISTANT + ["search", "warm the page cache", *common], env)
        runs = [measure(ASSISTANT + ["search", QUERIES[i % len(QUERIES)], *common], env) for i in range(args.runs)]
        results["search_process_s"] = [wall for wall, _, _ in runs]
        results["search_process_median_s"] = statistics.median(wall for wall, _, _ in runs)
        results["search_process_median_cpu_s"] = statistics.median(cpu for _, _, cpu in runs)
        results["search_peak_rss_mib"] = max(rss for _, rss, _ in runs)
        results["reingest_up_to_date_s"] = measure(ASSISTANT + ["ingest", *common], env)[0]
        timings = warm_searches(index_dir, rounds=10)
        results["warm_search_p50_ms"] = percentile(timings, 0.50) * 1000
        results["warm_search_p95_ms"] = percentile(timings, 0.95) * 1000
    results["load_average_after"] = os.getloadavg()[0]

    print(f"ingest from scratch        {results['ingest_s']:6.2f} s    (target <= 15 s; CPU {results['ingest_cpu_s']:.1f} s)"
          f"   peak RSS {results['ingest_peak_rss_mib']:.0f} MiB")
    print(f"re-ingest, up to date      {results['reingest_up_to_date_s']:6.2f} s")
    print(f"fresh `assistant search`   {results['search_process_median_s']:6.2f} s    (target <= 1.5 s; median of "
          f"{args.runs}: {', '.join(f'{t:.2f}' for t in results['search_process_s'])}; "
          f"CPU {results['search_process_median_cpu_s']:.2f} s)"
          f"   peak RSS {results['search_peak_rss_mib']:.0f} MiB")
    print(f"warm search p50 / p95      {results['warm_search_p50_ms']:6.1f} / {results['warm_search_p95_ms']:.1f} ms"
          f"   (target p50 <= 30 ms; {len(timings)} searches, k=10)")
    print(f"load average before/after  {results['load_average_before']:.2f} / {results['load_average_after']:.2f}"
          f" on {os.cpu_count()} CPUs")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
