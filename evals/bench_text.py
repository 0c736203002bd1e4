"""Sentence-splitter throughput on abstract-like text of 60 KB, 250 KB and 5 MB.

    .venv/bin/python evals/bench_text.py

The splitter is linear in the text's length (issue 9): the MB/s column should hold steady as
the text grows. Before, 61 KB took 4 s and 244 KB 59 s.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.corpus import load_corpus  # noqa: E402
from assistant.resources import default_seeds_dir  # noqa: E402
from assistant.text import split_sentences  # noqa: E402

SIZES = {"60 KB": 60_000, "250 KB": 250_000, "5 MB": 5_000_000}


def main() -> None:
    abstracts = " ".join(p.abstract for p in load_corpus(default_seeds_dir()))
    print(f"{'size':>7} {'sentences':>10} {'seconds':>8} {'MB/s':>6}")
    for label, size in SIZES.items():
        text = (abstracts + " ") * (size // len(abstracts) + 1)
        text = text[:size]
        start = time.perf_counter()
        sentences = split_sentences(text)
        seconds = time.perf_counter() - start
        print(f"{label:>7} {len(sentences):>10} {seconds:>8.3f} {size / 1e6 / seconds:>6.1f}")


if __name__ == "__main__":
    main()
