"""Library reading speed: a generated 10,000-entry BibTeX file, read as ingest reads it.

    .venv/bin/python evals/bench_formats.py [--entries 10000] [--runs 3]

Target (issue 12): <= 5 s for 10,000 entries (parse, LaTeX decoding, deduplication and keys).
The entries look like a reference manager's export: @string macros, month macros, accented
names in LaTeX, braced titles, escapes in abstracts, arXiv eprints, DOIs, 2% duplicates (by DOI).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_SECONDS = 5.0
_SYLLABLES = ["ba", "ko", "ri", "zel", "mu", "ler", "san", "to", "vi", "ch", "an", "dr", "ew", "li", "ng",
              "{\\\"u}", "{\\'e}", "{\\v c}", "{\\.Z}", "{\\o}", "{\\~n}", "{\\'a}"]
_GIVEN = ["Ann", "Bo", "J{\\'e}r{\\^o}me", "Luc{\\'i}a", "Piotr", "Wei", "Aisha", "{\\L}ukasz", "Jong Wook", "Tara N."]
_WORDS = ["speech", "recognition", "transformer", "self-supervised", "{ASR}", "{LLM}", "attention", "robust",
          "streaming", "multilingual", "federated", "{BERT}", "pre-training", "noise", "adaptation", "end-to-end"]
_ABSTRACT_WORDS = ["we", "propose", "a", "model", "that", "improves", "word", "error", "rate", "by", "12\\%",
                   "on", "LibriSpeech", "\\&", "CommonVoice", "while", "using", "fewer", "parameters", "than",
                   "the", "baseline", "$\\alpha$-divergence", "results", "show", "gains"]
_VENUES = ["icassp", "interspeech", "neurips", "taslp"]


def _surname(rng: random.Random) -> str:
    name = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))
    return name[0].upper() + name[1:] if name[0].isalpha() else name


def generate(entries: int, seed: int = 12) -> str:
    rng = random.Random(seed)
    blocks = [
        '@string{icassp = "Proc. IEEE International Conference on Acoustics, Speech and Signal Processing"}',
        '@string{interspeech = "Proc. Interspeech"}',
        '@string{neurips = "Advances in Neural Information Processing Systems"}',
        '@string{taslp = "IEEE/ACM Transactions on Audio, Speech, and Language Processing"}',
        "@comment{jabref-meta: databaseType:bibtex;}",
    ]
    for index in range(entries):
        year = rng.randint(1995, 2025)
        authors = " and ".join(f"{_surname(rng)}, {rng.choice(_GIVEN)}" for _ in range(rng.randint(1, 8)))
        if rng.random() < 0.1:
            authors += " and others"
        title = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 12))).capitalize()
        abstract = " ".join(rng.choice(_ABSTRACT_WORDS) for _ in range(rng.randint(80, 220)))
        venue = rng.choice(_VENUES)
        kind, venue_field = ("article", "journal") if venue == "taslp" else ("inproceedings", "booktitle")
        fields = [
            f"  author = {{{authors}}}",
            f"  title = {{{{{title}}}}}",
            f"  {venue_field} = {venue}",
            f"  year = {{{year}}}",
            f"  month = {rng.choice(['jan', 'mar', 'jun', 'sep', 'dec'])}",
            f"  doi = {{10.1000/bench.{rng.randrange(index) if index and rng.random() < 0.02 else index}}}",
            f"  abstract = {{{abstract.capitalize()}.}}",
            f"  keywords = {{{', '.join(rng.sample(['asr', 'nlp', 'speech', 'ml', 'audio'], 2))}}}",
        ]
        if rng.random() < 0.3:
            fields += [f"  eprint = {{{year % 100:02d}{rng.randint(1, 12):02d}.{index:05d}}}", "  archiveprefix = {arXiv}"]
        blocks.append(f"@{kind}{{bench{index},\n" + ",\n".join(fields) + "\n}")
    return "\n\n".join(blocks) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from assistant.corpus import read_library

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "library.bib"
        path.write_text(generate(args.entries), encoding="utf-8")
        print(f"{path.name}: {args.entries} entries, {path.stat().st_size / 1e6:.1f} MB; load average "
              f"{os.getloadavg()[0]:.1f}")
        times, cpu_times = [], []
        for run in range(args.runs):
            started, cpu_started = time.perf_counter(), time.process_time()
            read = read_library([path])
            times.append(time.perf_counter() - started)
            cpu_times.append(time.process_time() - cpu_started)
            print(f"run {run + 1}: {times[-1]:.2f} s wall, {cpu_times[-1]:.2f} s CPU, {len(read.papers)} papers "
                  f"({read.merged} merged), {args.entries / times[-1]:,.0f} entries/s")
    median, cpu = statistics.median(times), statistics.median(cpu_times)
    verdict = "within" if median <= TARGET_SECONDS else "OVER"
    # CPU seconds are steadier than wall time on a shared machine; both are printed.
    print(f"parse time: median {median:.2f} s wall, {cpu:.2f} s CPU ({verdict} the {TARGET_SECONDS:.0f} s target); "
          f"{args.entries / median:,.0f} papers/s (entries read per second)")


if __name__ == "__main__":
    main()
