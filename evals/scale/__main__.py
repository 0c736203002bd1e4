"""`python -m evals.scale`: measure, merge into OUT/scale.json, plot, print the table (see __init__)."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import __doc__ as ABOUT
from .common import QUERIES, ROOT, log
from .plot import plot
from .processes import bench_store_size, child_main, run_child
from .report import add_estimates, load_curves, load_results, machine, table

DEFAULT_OUT = ROOT / "evals" / "results"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m evals.scale", description=ABOUT.split("\n\n")[0])
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
    parser.add_argument("--metadata", choices=("ingest", "llama"), default="ingest",
                        help="Chroma row metadata: as ingest writes it (default), or as llama-index's vector store "
                             "wrote it before (results kept apart as '<mode>-llama-metadata')")
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
        results["insert_curves"] = load_curves(args.out)
        add_estimates(results, args.estimate_to)
        plot(results, args.out / "scale.png")
        print(table(results))
        return
    results["machine"] = machine()
    scratch = Path(tempfile.mkdtemp(prefix="bench-scale-", dir=args.workdir))
    profile_dir = args.out if args.profile else None

    def save() -> None:
        args.out.mkdir(parents=True, exist_ok=True)
        results["insert_curves"] = load_curves(args.out)
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
                    key = mode if args.metadata == "ingest" else f"{mode}-llama-metadata"
                    curve = args.out / f"insert-curve-{key}-{n}.jsonl"
                    result = bench_store_size(n, mode, scratch, args.seed, args.rounds, profile_dir, args.metadata,
                                              curve)
                    result["measured"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
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
        child_main(sys.argv[2], json.loads(sys.argv[3]))
    else:
        main()
