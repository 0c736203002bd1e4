"""Benchmark the answer pipeline (extractive backend) on the evaluation questions.

    python evals/bench_answers.py [--index DIR] [--json results.json] [QUESTION_FILES...]

Default question files: /work/shared/evals/dev_questions.jsonl (if present) and
evals/questions/*.jsonl, de-duplicated by id. Each line: id, kind (topic/fact/author/year/
refuse), q, relevant (source locators), answer (facts: strings the answer must contain),
optional year filter.

Prints, and writes with --json:
- shown sentences cited (must be 100%) and citations to papers that were not retrieved (must be 0);
- quotes that are sentences of the cited abstract (must be 100%);
- fact containment (target >= 90%), refusal rate out of corpus (target 100%) and on answerable
  questions (target <= 5%), and how many relevant papers the answers cite;
- enforcement time per answer p50/p95 (target <= 50 ms) and total answer time;
- a fresh `ask` process's wall time, median of 3 (target <= 2 s).

Exits 1 when a citation invariant breaks (an uncited shown sentence, a citation to a paper not
retrieved, an answered out-of-corpus question), so CI can run it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from assistant.answer import citations
from assistant.answer.answerer import answer_question
from assistant.config import load_settings, replace
from assistant.retrieve import Evidence, Filters, open_retriever

ROOT = Path(__file__).resolve().parent
SHARED_DEV = Path("/work/shared/evals/dev_questions.jsonl")
TIMING_QUESTION = "which papers stabilize attention?"


class RecordingRetriever:
    """The real retriever, remembering what it returned last: the evidence an answer may cite."""

    def __init__(self, retriever: Any) -> None:
        self._retriever = retriever
        self.embedder = retriever.embedder
        self.last: list[Evidence] = []

    def search(self, query: str, k: int = 10, filters: Filters | None = None, per_paper: int = 1) -> list[Evidence]:
        self.last = self._retriever.search(query, k=k, filters=filters, per_paper=per_paper)
        return self.last

    def papers(self) -> list[Any]:
        return self._retriever.papers()


def load_questions(paths: list[Path]) -> list[dict[str, Any]]:
    questions: dict[str, dict[str, Any]] = {}
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                questions.setdefault(item["id"], item)
    return list(questions.values())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0


def fresh_process_seconds(index_dir: Path, runs: int = 3) -> list[float]:
    """Wall time of `ask QUESTION` as a new process, `runs` times."""
    script = Path(sys.executable).with_name("ask")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from assistant.cli import ask_main; ask_main()"]
    environ = {**os.environ, "ASSISTANT_INDEX_DIR": str(index_dir), "ASSISTANT_BACKEND": "extractive"}
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([*command, TIMING_QUESTION], env=environ, check=True, capture_output=True)
        seconds.append(time.perf_counter() - started)
    return seconds


def run(questions: list[dict[str, Any]], settings: Any) -> dict[str, Any]:
    retriever = RecordingRetriever(open_retriever(settings))
    rows = []
    for q in questions:
        answer = answer_question(q["q"], settings, retriever, Filters.parse(year=q.get("year")))
        retrieved = {e.paper.key: e.paper for e in retriever.last}
        cited = [c for s in answer.sentences for c in s.citations]
        rows.append({
            "id": q["id"],
            "kind": q["kind"],
            "refused": answer.refused,
            "sentences": len(answer.sentences),
            "uncited": sum(not s.citations for s in answer.sentences),
            "unsupported": sum(not s.supported for s in answer.sentences),
            "citations": len(cited),
            "invalid_citations": sum(c.key not in retrieved for c in cited),
            "quotes_in_abstract": sum(
                c.key in retrieved and c.quote in {citations.quotable(x) for x in citations.split_sentences(retrieved[c.key].abstract)}
                for c in cited),
            "fact_found": all(a in answer.text for a in q.get("answer", [])) if q["kind"] == "fact" else None,
            "relevant_cited": len({r.source for r in answer.references} & set(q.get("relevant", []))),
            "relevant": len(q.get("relevant", [])),
            "verify_s": answer.timings.get("verify", 0.0),
            "total_s": answer.timings.get("total", 0.0),
        })
    return summarise(rows)


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    answered = [r for r in rows if not r["refused"]]
    out_of_corpus = [r for r in rows if r["kind"] == "refuse"]
    answerable = [r for r in rows if r["kind"] != "refuse"]
    facts = [r for r in rows if r["kind"] == "fact"]
    shown = sum(r["sentences"] for r in answered)
    cited = sum(r["citations"] for r in answered)
    enforcement = [r["verify_s"] for r in answered]
    with_relevant = [r for r in answered if r["relevant"]]
    return {
        "questions": len(rows),
        "shown_sentences": shown,
        "shown_sentences_cited": (shown - sum(r["uncited"] for r in answered)) / shown if shown else 1.0,
        "invalid_citations": sum(r["invalid_citations"] for r in rows),
        "quotes_in_cited_abstract": sum(r["quotes_in_abstract"] for r in answered) / cited if cited else 1.0,
        "unsupported_sentences": sum(r["unsupported"] for r in answered),
        "fact_containment": sum(bool(r["fact_found"]) for r in facts) / len(facts) if facts else None,
        "facts_missed": [r["id"] for r in facts if not r["fact_found"]],
        "refused_out_of_corpus": sum(r["refused"] for r in out_of_corpus) / len(out_of_corpus) if out_of_corpus else None,
        "answered_out_of_corpus": [r["id"] for r in out_of_corpus if not r["refused"]],
        "refused_answerable": sum(r["refused"] for r in answerable) / len(answerable) if answerable else None,
        "refused_answerable_ids": [r["id"] for r in answerable if r["refused"]],
        "relevant_papers_cited": (sum(r["relevant_cited"] / r["relevant"] for r in with_relevant) / len(with_relevant)
                                  if with_relevant else None),
        "sentences_per_answer": shown / len(answered) if answered else 0.0,
        "enforcement_ms_p50": 1000 * percentile(enforcement, 0.5),
        "enforcement_ms_p95": 1000 * percentile(enforcement, 0.95),
        "answer_ms_p50": 1000 * percentile([r["total_s"] for r in answered], 0.5),
        "per_question": rows,
    }


def report(results: dict[str, Any]) -> list[str]:
    """Print the figures; return the broken invariants."""
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1%}"

    print(f"questions                          {results['questions']}")
    print(f"shown sentences cited              {pct(results['shown_sentences_cited'])} of {results['shown_sentences']} (must be 100%)")
    print(f"citations to non-evidence          {results['invalid_citations']} (must be 0)")
    print(f"quotes found in the cited abstract {pct(results['quotes_in_cited_abstract'])}")
    print(f"sentences flagged unsupported      {results['unsupported_sentences']}")
    print(f"fact containment                   {pct(results['fact_containment'])} (target >= 90%; missed {results['facts_missed']})")
    print(f"refused, out of corpus             {pct(results['refused_out_of_corpus'])} (target 100%)")
    print(f"refused, answerable                {pct(results['refused_answerable'])} (target <= 5%; {results['refused_answerable_ids']})")
    print(f"relevant papers cited              {pct(results['relevant_papers_cited'])} (recall per answer, mean)")
    print(f"sentences per answer               {results['sentences_per_answer']:.1f}")
    print(f"enforcement per answer             p50 {results['enforcement_ms_p50']:.1f} ms, p95 {results['enforcement_ms_p95']:.1f} ms (target <= 50 ms)")
    print(f"answer (in process)                p50 {results['answer_ms_p50']:.0f} ms")
    if "ask_process_s" in results:
        runs = ", ".join(f"{s:.2f}" for s in results["ask_process_s"])
        print(f"fresh `ask` process                median {results['ask_process_median_s']:.2f} s ({runs}) (target <= 2 s)")
    broken = []
    if results["shown_sentences_cited"] < 1.0:
        broken.append("a shown sentence has no citation")
    if results["invalid_citations"]:
        broken.append("a citation points at a paper that was not retrieved")
    if results["answered_out_of_corpus"]:
        broken.append(f"out-of-corpus questions answered: {results['answered_out_of_corpus']}")
    return broken


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="question files (.jsonl)")
    parser.add_argument("--index", type=Path, help="index directory (default: the configured one; built if missing)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--no-process", action="store_true", help="skip the fresh-process timing")
    args = parser.parse_args()
    files = args.files or [p for p in [SHARED_DEV, *sorted((ROOT / "questions").glob("*.jsonl"))] if p.exists()]
    settings = replace(load_settings({"index_dir": args.index} if args.index else {}), backend="extractive")
    results = run(load_questions(files), settings)
    results["question_files"] = [str(p) for p in files]
    if not args.no_process:
        seconds = fresh_process_seconds(settings.index_dir)
        results["ask_process_s"] = seconds
        results["ask_process_median_s"] = statistics.median(seconds)
    broken = report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    for problem in broken:
        print(f"INVARIANT BROKEN: {problem}", file=sys.stderr)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
