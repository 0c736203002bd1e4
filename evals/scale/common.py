"""What every part of the scale benchmark shares: paths, sizes, the queries, logging, resource use."""

from __future__ import annotations

import io
import os
import resource
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

DIM = 384
SEARCH_K = 10
PAPERS_PER_FILE = 500
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


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def current_rss_mib() -> float:
    """Resident memory now (VmRSS), MiB: what a growth curve samples, where ru_maxrss only rises."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


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


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def write_profile(profiler, path: Path) -> None:
    import pstats

    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative")
    stats.print_stats(45)
    out.write("\n\n=== by own time ===\n")
    stats.sort_stats("tottime").print_stats(30)
    path.write_text(out.getvalue(), encoding="utf-8")
