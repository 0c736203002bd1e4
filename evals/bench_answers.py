"""Answer quality and speed of the offline path (issue #10), this checkout beside a baseline.

    .venv/bin/python evals/bench_answers.py [--before PYTHON|FILE.json] [--runs 5] [--held-out natural2.jsonl]
        [--out evals/results/answers.md]

One run measures two sides on the same machine: "after" is this checkout (the interpreter
running the script), "before" is another installation of the package (`--before` names its
Python, e.g. /work/main/.venv/bin/python for a checkout of main), or figures recorded earlier
(`--before FILE.json`, written by `--json`). Each side ingests the shipped seeds into its own
temporary index and answers every question of evals/questions/*.jsonl (files of this
checkout, whichever package runs) with the extractive backend. The script uses only the
package's public entry points, so an older checkout can run it as the "before" side.

Figures (targets from the issue in brackets):
- retrieval on the held-out fact and topic questions (natural.jsonl, or --held-out): recall@10 and MRR@10 of
  dense, BM25 and hybrid [hybrid recall@10 >= 0.97 and >= 0.03 above the best single ranker];
- facts: the gold paper in the hybrid top 3, and every fact string in the answer [all];
- authors: share of the author's papers the answer cites [>= 90%];
- refusals: near-topic unanswerable questions refused [>= 90%], answerable refused [<= 5%];
- readability: shown sentences opening in the first person (We/Our/In this paper ...) and raw
  LaTeX commands in shown text [0 and 0];
- speed: a fresh `ask` process, both sides interleaved [after <= 1.1x before], and the warm
  in-process answer p50 [<= 50 ms]. With a `--before` Python, warm answers are timed in two
  warm processes, one per side, answering each question in turn (who goes first alternates),
  so that the machine's load falls on both sides alike; the load average is quoted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

QUESTIONS_DIR = Path(__file__).resolve().parent / "questions"
HELD_OUT = "natural.jsonl"
FRESH_ASK_QUESTION = "which papers stabilize attention?"
RANKERS = ("dense", "bm25", "hybrid")
FIRST_PERSON = re.compile(r"^\W*(we|our|us|in this (paper|work|study)|here,? we)\b", re.IGNORECASE)
RAW_LATEX = re.compile(r"\\[a-zA-Z]+|\$[^$\s][^$]*\$")


# -- one side: figures of the package this interpreter imports ------------------------------------


def measure(index_dir: Path, held_out: str = HELD_OUT) -> dict[str, Any]:
    """Every figure but the fresh-process time, for the installed package, over a new index."""
    from assistant.answer.answerer import answer_question
    from assistant.config import Settings
    from assistant.evaluation.metrics import mean_by_key, percentile, ranking_metrics
    from assistant.evaluation.questions import load_questions
    from assistant.retrieve import Filters, open_retriever

    settings = Settings(index_dir=index_dir, backend="extractive")
    started = time.perf_counter()
    retriever = open_retriever(settings)
    ingest_s = time.perf_counter() - started
    questions = load_questions(sorted(QUESTIONS_DIR.glob("*.jsonl")))

    rankable = [q for q in questions if q.file == held_out and q.kind in ("fact", "topic")]
    searches = {"dense": retriever.dense_search, "bm25": retriever.bm25_search, "hybrid": retriever.search}
    retrieval = {ranker: mean_by_key([ranking_metrics([e.paper.source for e in searches[ranker](q.q, k=10)],
                                                      q.relevant) for q in rankable])
                 for ranker in RANKERS}

    answer_question(FRESH_ASK_QUESTION, settings, retriever)  # warm-up: caches built once per process
    rows, seconds = [], []
    for q in questions:
        filters = Filters.parse(year=q.year)
        started = time.perf_counter()
        answer = answer_question(q.q, settings, retriever, filters)
        seconds.append(time.perf_counter() - started)
        shown = [s.shown for s in answer.sentences]  # as the reader sees them: attribution, then quote
        cited = {r.source for r in answer.references}
        row: dict[str, Any] = {"id": q.id, "kind": q.kind, "file": q.file, "refused": answer.refused,
                               "first_person": [t for t in shown if FIRST_PERSON.match(t)],
                               "latex": [t for t in shown if RAW_LATEX.search(t)]}
        if q.kind == "fact":
            top3 = {e.paper.source for e in retriever.search(q.q, k=3, filters=filters)}
            row["gold_top3"] = bool(q.relevant & top3)
            row["fact_found"] = all(a.lower() in answer.text.lower() for a in q.answer)
        if q.kind == "author":
            row["author_cited"] = len(cited & q.relevant) / len(q.relevant)
        rows.append(row)
    return {"retrieval": retrieval, "retrieval_questions": len(rankable), "held_out": held_out, "rows": rows,
            "answer_ms_p50": 1000 * percentile(seconds, 0.5), "answer_ms_p95": 1000 * percentile(seconds, 0.95),
            "ingest_s": ingest_s}


def serve_answers(index_dir: Path) -> None:
    """One side of the interleaved speed run: warm up, say "ready", then answer each question
    whose position stdin names and print how many seconds the answer took."""
    from assistant.answer.answerer import answer_question
    from assistant.config import Settings
    from assistant.evaluation.questions import load_questions
    from assistant.retrieve import Filters, open_retriever

    settings = Settings(index_dir=index_dir, backend="extractive")
    retriever = open_retriever(settings)
    questions = load_questions(sorted(QUESTIONS_DIR.glob("*.jsonl")))
    answer_question(FRESH_ASK_QUESTION, settings, retriever)
    print("ready", flush=True)
    for line in sys.stdin:
        question = questions[int(line)]
        started = time.perf_counter()
        answer_question(question.q, settings, retriever, Filters.parse(year=question.year))
        print(time.perf_counter() - started, flush=True)


def interleaved_answer_seconds(sides: dict[str, tuple[str, Path]], count: int) -> dict[str, list[float]]:
    """Warm answer times of every side (name: its Python and index), question by question."""
    workers = {name: subprocess.Popen([python, __file__, "--serve", str(index_dir)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
               for name, (python, index_dir) in sides.items()}
    seconds: dict[str, list[float]] = {name: [] for name in sides}
    try:
        for worker in workers.values():
            if worker.stdout.readline().strip() != "ready":
                raise RuntimeError("a speed worker failed to start")
        for i in range(count):
            names = list(workers) if i % 2 == 0 else list(reversed(workers))
            for name in names:
                workers[name].stdin.write(f"{i}\n")
                workers[name].stdin.flush()
                seconds[name].append(float(workers[name].stdout.readline()))
    finally:
        for worker in workers.values():
            worker.stdin.close()
            worker.wait()
    return seconds


def summarise(figures: dict[str, Any]) -> dict[str, Any]:
    rows = figures["rows"]

    def share(selected: list[dict], test) -> float | None:
        return sum(bool(test(r)) for r in selected) / len(selected) if selected else None

    held = [r for r in rows if r["file"] == HELD_OUT]
    facts = [r for r in rows if r["kind"] == "fact"]
    authors = [r for r in rows if r["kind"] == "author"]
    near_topic = [r for r in held if r["kind"] == "refuse"]
    answerable = [r for r in rows if r["kind"] != "refuse"]
    return {
        "hybrid_r10": figures["retrieval"]["hybrid"]["recall@10"],
        "best_single_r10": max(figures["retrieval"][r]["recall@10"] for r in ("dense", "bm25")),
        "facts_gold_top3": share(facts, lambda r: r["gold_top3"]),
        "facts_found": share(facts, lambda r: r["fact_found"]),
        "facts_missed": [r["id"] for r in facts if not (r["gold_top3"] and r["fact_found"])],
        "held_out_facts_found": share([r for r in facts if r["file"] == HELD_OUT],
                                      lambda r: r["gold_top3"] and r["fact_found"]),
        "author_cited": sum(r["author_cited"] for r in authors) / len(authors) if authors else None,
        "held_out_author_cited": (sum(r["author_cited"] for r in authors if r["file"] == HELD_OUT)
                                  / max(1, sum(r["file"] == HELD_OUT for r in authors))),
        "near_topic_refused": share(near_topic, lambda r: r["refused"]),
        "near_topic_answered": [r["id"] for r in near_topic if not r["refused"]],
        "answerable_refused": share(answerable, lambda r: r["refused"]),
        "answerable_refused_ids": [r["id"] for r in answerable if r["refused"]],
        "first_person": sum(len(r["first_person"]) for r in rows),
        "latex": sum(len(r["latex"]) for r in rows),
    }


# -- both sides, one report ----------------------------------------------------------------------


def side(python: str, index_dir: Path, held_out: str) -> dict[str, Any]:
    """`measure` run by another interpreter (its own installation of the package)."""
    out = index_dir.parent / f"{index_dir.name}.json"
    subprocess.run([python, __file__, "--measure", str(index_dir), "--held-out", held_out, "--json", str(out)],
                   check=True)
    return json.loads(out.read_text(encoding="utf-8"))


def fresh_ask_seconds(python: str, index_dir: Path) -> float:
    environ = {**os.environ, "ASSISTANT_INDEX_DIR": str(index_dir), "ASSISTANT_BACKEND": "extractive"}
    started = time.perf_counter()
    subprocess.run([python, "-c", "from assistant.cli import ask_main; ask_main()", FRESH_ASK_QUESTION, "--json"],
                   env=environ, check=True, capture_output=True)
    return time.perf_counter() - started


def report(before: dict[str, Any], after: dict[str, Any], commit: str) -> str:
    b, a = summarise(before), summarise(after)

    def num(value: Any, form: str = ".3f") -> str:
        return "n/a" if value is None else format(value, form)

    lines = [
        "# Answers benchmark (issue #10)",
        "",
        (f"`.venv/bin/python evals/bench_answers.py` at {commit}; load average "
         f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; extractive backend"
         + (f"; warm answers timed side by side at load {after['answer_load']:.1f}." if "answer_load" in after
            else ".")),
        "",
        f"## Retrieval: held-out fact and topic questions ({after['retrieval_questions']}, {after['held_out']})",
        "",
        "| ranker | recall@10 before | after | MRR@10 before | after |",
        "|---|---|---|---|---|",
    ]
    for ranker in RANKERS:
        rb, ra = before["retrieval"][ranker], after["retrieval"][ranker]
        lines.append(f"| {ranker} | {num(rb['recall@10'])} | {num(ra['recall@10'])} | "
                     f"{num(rb['mrr@10'])} | {num(ra['mrr@10'])} |")
    low_authors = [r["id"] for r in after["rows"] if r["kind"] == "author" and r["author_cited"] < 0.9]
    speed_b, speed_a = statistics.median(before["fresh_ask_s"]), statistics.median(after["fresh_ask_s"])
    rows = [
        ("hybrid recall@10 minus best single ranker", "≥ 0.03",
         num(b["hybrid_r10"] - b["best_single_r10"], "+.3f"), num(a["hybrid_r10"] - a["best_single_r10"], "+.3f")),
        ("facts: gold paper in hybrid top 3 (all sets)", "all", num(b["facts_gold_top3"]), num(a["facts_gold_top3"])),
        ("facts: every fact string in the answer (all sets)", "all", num(b["facts_found"]), num(a["facts_found"])),
        ("facts: both, held-out", "all", num(b["held_out_facts_found"]), num(a["held_out_facts_found"])),
        ("authors: share of the author's papers cited (all sets)", "≥ 0.90", num(b["author_cited"]),
         num(a["author_cited"])),
        ("authors: same, held-out", "≥ 0.90", num(b["held_out_author_cited"]), num(a["held_out_author_cited"])),
        ("near-topic unanswerable refused (held-out)", "≥ 0.90", num(b["near_topic_refused"]),
         num(a["near_topic_refused"])),
        ("answerable refused (all sets)", "≤ 0.05", num(b["answerable_refused"]), num(a["answerable_refused"])),
        ("shown sentences opening in the first person", "0", str(b["first_person"]), str(a["first_person"])),
        ("shown sentences with raw LaTeX", "0", str(b["latex"]), str(a["latex"])),
        ("fresh `ask` process, median s", "≤ 1.1x before", f"{speed_b:.2f}", f"{speed_a:.2f} ({speed_a / speed_b:.2f}x)"),
        ("warm answer p50 / p95, ms", "p50 ≤ 50", f"{before['answer_ms_p50']:.0f} / {before['answer_ms_p95']:.0f}",
         f"{after['answer_ms_p50']:.0f} / {after['answer_ms_p95']:.0f}"),
    ]
    lines += ["", "## Answers", "", "| measure | target | before | after |", "|---|---|---|---|"]
    lines += [f"| {name} | {target} | {x} | {y} |" for name, target, x, y in rows]
    lines += ["", "Misses after:", "",
              f"- facts (gold not in top 3 or a fact string missing): {', '.join(a['facts_missed']) or 'none'}",
              f"- near-topic questions answered: {', '.join(a['near_topic_answered']) or 'none'}",
              f"- answerable questions refused: {', '.join(a['answerable_refused_ids']) or 'none'}",
              f"- author questions below 90%: {', '.join(low_authors) or 'none'}",
              ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", help="the baseline: a Python with the old package installed, or a --json file")
    parser.add_argument("--runs", type=int, default=5, help="fresh `ask` processes per side (median)")
    parser.add_argument("--out", type=Path, help="write the Markdown report here")
    parser.add_argument("--json", type=Path, help="write this side's figures here")
    parser.add_argument("--held-out", default=HELD_OUT, metavar="F.jsonl",
                        help=f"the question file (in evals/questions) whose fact and topic questions the retrieval "
                             f"figures are over (default {HELD_OUT})")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # one side, into this index dir
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # one side of the speed run, over this index
    args = parser.parse_args()

    if args.measure:
        args.json.write_text(json.dumps(measure(args.measure, args.held_out)), encoding="utf-8")
        return
    if args.serve:
        serve_answers(args.serve)
        return
    with tempfile.TemporaryDirectory(prefix="bench-answers-") as tmp:
        after_index = Path(tmp) / "after"
        after = measure(after_index, args.held_out)
        before_index = Path(tmp) / "before"
        recorded = args.before and args.before.endswith(".json")
        before = json.loads(Path(args.before).read_text(encoding="utf-8")) if recorded else None
        if before is None and args.before:
            before = side(args.before, before_index, args.held_out)
        if args.before and not recorded:  # warm answers again, both sides in turn: the same load on each
            from assistant.evaluation.metrics import percentile

            timed = interleaved_answer_seconds({"before": (args.before, before_index),
                                                "after": (sys.executable, after_index)}, len(after["rows"]))
            for figures, seconds in ((before, timed["before"]), (after, timed["after"])):
                figures["answer_ms_p50"] = 1000 * percentile(seconds, 0.5)
                figures["answer_ms_p95"] = 1000 * percentile(seconds, 0.95)
            after["answer_load"] = os.getloadavg()[0]
        after["fresh_ask_s"] = []
        for _ in range(args.runs):  # interleaved, so that the machine's load falls on both sides alike
            if args.before and not recorded:
                before.setdefault("fresh_ask_s", []).append(fresh_ask_seconds(args.before, before_index))
            after["fresh_ask_s"].append(fresh_ask_seconds(sys.executable, after_index))
    if args.json:
        args.json.write_text(json.dumps(after), encoding="utf-8")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            check=False, cwd=Path(__file__).parent).stdout.strip()
    text = report(before or after, after, commit)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
