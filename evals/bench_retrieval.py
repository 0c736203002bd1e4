"""Retrieval quality of dense-only, BM25-only and hybrid ranking, side by side, and the fusion grid.

    .venv/bin/python evals/bench_retrieval.py [--index DIR] [--questions F.jsonl ...] [--json out.json] [--tune]

Questions: evals/questions/dev.jsonl (the shared dev set, used for tuning) and the other
evals/questions/*.jsonl files (held out; also shown file by file), de-duplicated by id;
refusals have nothing to retrieve and are left out. Metrics at paper level (one chunk per paper): recall@5, recall@10,
MRR@10, nDCG@10 (binary relevance). `assistant eval` reports the same figures over all files.

Without --index the shipped seeds are ingested into a temporary directory first. --tune scores
a grid of fusion settings (score fusion and RRF) on the dev set and prints the best of each
family with their held-out figures beside them, for the record; the default in
assistant/config.py (RetrievalSettings) is what the report explains, not a pick by held-out numbers.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
from dataclasses import asdict, replace
from pathlib import Path

from assistant.config import RetrievalSettings, load_settings
from assistant.evaluation.questions import Question, default_question_files, load_questions
from assistant.evaluation.run import RANKERS, retrieval_figures
from assistant.retrieve import Retriever, open_retriever


def question_sets(files: list[Path] | None = None) -> dict[str, list[Question]]:
    """{"dev": [...], "held-out": [...], "all": [...]}, each id once, then each held-out file on its
    own by its name ("natural", "natural2", ...)."""
    questions = load_questions(files or default_question_files())
    dev = [q for q in questions if q.file == "dev.jsonl"]
    held_out = [q for q in questions if q.file != "dev.jsonl"]
    by_file = {Path(name).stem: [q for q in held_out if q.file == name]
               for name in dict.fromkeys(q.file for q in held_out)}
    return {"dev": dev, "held-out": held_out, "all": dev + held_out, **by_file}


def print_table(results: dict[str, dict]) -> None:
    print(f"{'set':<15} {'n':>3}  {'ranker':<7} {'R@5':>6} {'R@10':>6} {'MRR@10':>7} {'nDCG@10':>8}")
    for name, figures in results.items():
        for ranker in RANKERS:
            m = figures[ranker]
            print(f"{name:<15} {figures['questions']:>3}  {ranker:<7} {m['recall@5']:>6.3f} {m['recall@10']:>6.3f} "
                  f"{m['mrr@10']:>7.3f} {m['ndcg@10']:>8.3f}")


def fusion_grid() -> list[RetrievalSettings]:
    score = [RetrievalSettings(fusion="score", alpha=alpha / 20, depth=depth)
             for alpha, depth in itertools.product(range(4, 17), (20, 50, 100))]
    rrf = [RetrievalSettings(fusion="rrf", rrf_k=rrf_k, dense_weight=weight, depth=depth)
           for rrf_k, weight, depth in itertools.product((1, 5, 10, 20, 40, 60, 100), (0.5, 0.75, 1.0, 1.5, 2.0),
                                                          (20, 50, 100))]
    return score + rrf


def tune(retriever: Retriever, sets: dict[str, list[Question]]) -> list[tuple[float, RetrievalSettings, dict, dict]]:
    """Every fusion setting of the grid scored on dev by recall@10 + MRR@10, best first.

    The held-out figures ride along for the report only; they never decide the ranking.
    """
    scored = []
    settings = retriever.settings
    for fusion in fusion_grid():
        retriever.settings = replace(settings, retrieval=fusion)
        dev = retrieval_figures(retriever, sets["dev"], ("hybrid",))["hybrid"]
        held_out = retrieval_figures(retriever, sets["held-out"], ("hybrid",))["hybrid"]
        scored.append((dev["recall@10"] + dev["mrr@10"], fusion, dev, held_out))
    retriever.settings = settings
    scored.sort(key=lambda item: -item[0])
    return scored


def describe(retrieval: RetrievalSettings) -> str:
    if retrieval.fusion == "rrf":
        return f"rrf k={retrieval.rrf_k:g} dense_weight={retrieval.dense_weight:g} depth={retrieval.depth}"
    return f"score alpha={retrieval.alpha:g} depth={retrieval.depth}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=Path, help="an index of the shipped seeds (default: build one in a temp dir)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--tune", action="store_true", help="grid-search the fusion parameters on the dev set")
    parser.add_argument("--questions", type=Path, nargs="+", metavar="F.jsonl",
                        help="question files (default: every evals/questions/*.jsonl); dev.jsonl is the tuning set")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-index-") as tmp:
        # The environment and config file apply (ASSISTANT_EMBEDDER, ASSISTANT_RETRIEVAL__*), as for `ask`.
        retriever = open_retriever(replace(load_settings(), index_dir=args.index or Path(tmp)))
        sets = question_sets(args.questions)
        print(f"questions: dev {len(sets['dev'])}, held-out {len(sets['held-out'])} (refusals left out below)")
        print(f"fusion: {describe(retriever.settings.retrieval)}")
        results = {name: retrieval_figures(retriever, questions) for name, questions in sets.items() if questions}
        print_table(results)
        out: dict = {"fusion": asdict(retriever.settings.retrieval), "results": results}
        if args.tune:
            scored = tune(retriever, sets)
            print("\nfusion grid, best on dev first (objective: dev recall@10 + MRR@10):")
            print(f"  {'setting':<42} {'dev R@10':>8} {'MRR':>6}   {'held-out R@10':>13} {'MRR':>6}")
            for method in ("score", "rrf"):
                for _, fusion, dev, held in [row for row in scored if row[1].fusion == method][:6]:
                    print(f"  {describe(fusion):<42} {dev['recall@10']:>8.3f} {dev['mrr@10']:>6.3f}   "
                          f"{held['recall@10']:>13.3f} {held['mrr@10']:>6.3f}")
            out["grid"] = [{"fusion": asdict(f), "dev": d, "held-out": h} for _, f, d, h in scored]
        if args.json:
            args.json.write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
