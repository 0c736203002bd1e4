"""`assistant eval`: retrieval, answer and latency figures over a question set, in one report.

    report = run_evaluation(settings, questions, judge="offline")
    print(format_report(report)); report["invariants_broken"]  # [] when citations hold

Retrieval: recall@5/10, MRR@10, nDCG@10 for dense-only, BM25-only and hybrid, side by side.
Answers (the configured backend): share of shown sentences cited, citations to papers that
were not retrieved, ALCE citation recall and precision under a swappable support judge, fact
containment, refusals on out-of-corpus and on answerable questions. Outcomes (answered,
extractive_fallback, not_in_papers, declined): their counts, and for a model the share of its
drafted sentences that survived verification, the share of those it left uncited (attributed),
the fallback and false-refusal rates and the seconds per answer (`--base-url URL --model M`). Latency: search and ask
p50/p95, a fresh `assistant search` process, and optionally a fresh ingest.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from ..answer.attribution import gives_background
from ..answer.answerer import VectorCache, answer_question
from ..answer.markers import quotable
from ..answer.verification import Floors
from ..config import Settings, replace
from ..answer.backends import open_drafter
from ..llm.base import open_chat
from ..retrieve import Evidence, Filters, Retriever, open_retriever
from ..text import split_sentences
from .judge import ModelJudge, OfflineJudge, SupportJudge
from .metrics import alce_citation_scores, mean_by_key, percentile, ranking_metrics
from .questions import Question

RANKERS = ("dense", "bm25", "hybrid")
TIMING_QUERY = "which papers stabilize attention?"


class RecordingRetriever:
    """The real retriever, remembering what it returned last: the evidence an answer may cite."""

    def __init__(self, retriever: Retriever) -> None:
        self._retriever = retriever
        self.embedder = retriever.embedder
        self.last: list[Evidence] = []

    def search(self, query: str, k: int = 10, filters: Filters | None = None, per_paper: int = 1) -> list[Evidence]:
        self.last = self._retriever.search(query, k=k, filters=filters, per_paper=per_paper)
        return self.last

    def bm25_search(self, query: str, k: int = 10, filters: Filters | None = None,
                    per_paper: int | None = None) -> list[Evidence]:
        self.last = self._retriever.bm25_search(query, k=k, filters=filters, per_paper=per_paper)
        return self.last

    def papers(self) -> list[Any]:
        return self._retriever.papers()

    def index_name(self) -> str:
        return self._retriever.index_name()

    def authors_in(self, text: str) -> list[str]:
        return self._retriever.authors_in(text)

    def long_forms(self, text: str) -> dict[str, list[str]]:
        return self._retriever.long_forms(text)

    def query_vectors(self) -> dict[str, Any]:
        return self._retriever.query_vectors()


def retrieval_figures(retriever: Retriever, questions: Sequence[Question],
                      rankers: Sequence[str] = RANKERS) -> dict[str, Any]:
    """Per ranker, the mean ranking metrics over the questions that have relevant papers
    (asked with their year filter, as a user would with --year)."""
    rankable = [q for q in questions if q.answerable and q.relevant]
    searches = {"dense": retriever.dense_search, "bm25": retriever.bm25_search, "hybrid": retriever.search}
    figures: dict[str, Any] = {"questions": len(rankable)}
    for ranker in rankers:
        rows = [ranking_metrics([e.paper.source for e in searches[ranker](q.q, k=10, filters=Filters.parse(year=q.year))],
                                q.relevant) for q in rankable]
        figures[ranker] = mean_by_key(rows)
    return figures


def answer_figures(settings: Settings, retriever: Retriever, questions: Sequence[Question],
                   judge: SupportJudge) -> dict[str, Any]:
    recording = RecordingRetriever(retriever)
    drafter = open_drafter(settings)
    rows = []
    for q in questions:
        answer = answer_question(q.q, settings, recording, Filters.parse(year=q.year), drafter=drafter)  # type: ignore[arg-type]
        retrieved = {e.paper.key: e.paper for e in recording.last}
        cited = [c for s in answer.sentences for c in s.citations]
        alce = [alce_citation_scores(
            s.text,
            [Evidence(paper=retrieved[c.key], text=retrieved[c.key].abstract, score=0.0, rank=0, chunk_id=c.key)
             for c in s.citations if c.key in retrieved],
            judge.supports) for s in answer.sentences]
        rows.append({
            "id": q.id, "kind": q.kind, "refused": answer.refused,
            "sentences": len(answer.sentences),
            "uncited": sum(not s.citations for s in answer.sentences),
            "unsupported": sum(not s.supported for s in answer.sentences),
            "citations": len(cited),
            "invalid_citations": sum(c.key not in retrieved for c in cited),
            "quotes_in_abstract": sum(c.key in retrieved and _is_abstract_sentence(c.quote, retrieved[c.key].abstract)
                                      for c in cited),
            "alce_recall_hits": sum(a[0] for a in alce),
            "alce_precise": sum(a[1] for a in alce),
            "fact_found": all(a.lower() in answer.text.lower() for a in q.answer) if q.kind == "fact" else None,
            # A quote of the field as its paper found it ("Recent work has explored ...") pads an answer.
            "background": sum(map(gives_background, answer.sentences)),
            "relevant_cited": len({r.source for r in answer.references} & q.relevant),
            "relevant": len(q.relevant),
            "outcome": answer.outcome,
            "drafted": answer.drafted,
            "model_sentences": sum(s.origin in ("model", "attributed") for s in answer.sentences),
            "attributed": sum(s.origin == "attributed" for s in answer.sentences),
            # What a reader checks one by one: each shown model sentence with the quotes it was verified against.
            "model_shown": [{"text": s.text, "origin": s.origin, "quotes": [c.quote for c in s.citations]}
                            for s in answer.sentences if s.origin in ("model", "attributed")],
            "dropped": [{"kind": i.kind, "sentence": i.sentence, "detail": i.detail}
                        for i in answer.issues if i.sentence and i.kind.endswith("_dropped")],
            "fallback_s": answer.timings.get("fallback"),
            "verify_s": answer.timings.get("verify", 0.0),
            "total_s": answer.timings.get("total", 0.0),
        })
    return _summarise(rows) | {"backend": drafter.name, "model": drafter.model, "judge": judge.name}


def _is_abstract_sentence(quote: str, abstract: str) -> bool:
    return quote in {quotable(s) for s in split_sentences(abstract)}


def _share(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    answered = [r for r in rows if not r["refused"]]
    out_of_corpus = [r for r in rows if r["kind"] == "refuse"]
    answerable = [r for r in rows if r["kind"] != "refuse"]
    facts = [r for r in rows if r["kind"] == "fact"]
    shown = sum(r["sentences"] for r in answered)
    citations_shown = sum(r["citations"] for r in answered)
    with_relevant = [r for r in answered if r["relevant"]]
    totals = [r["total_s"] for r in rows]
    return {
        "questions": len(rows),
        "shown_sentences": shown,
        "shown_sentences_cited": _share(shown - sum(r["uncited"] for r in answered), shown),
        "invalid_citations": sum(r["invalid_citations"] for r in rows),
        "unsupported_sentences": sum(r["unsupported"] for r in answered),
        "background_sentences": sum(r["background"] for r in answered),
        "quotes_in_cited_abstract": _share(sum(r["quotes_in_abstract"] for r in answered), citations_shown),
        "alce_citation_recall": _share(sum(r["alce_recall_hits"] for r in answered), shown),
        "alce_citation_precision": _share(sum(r["alce_precise"] for r in answered), citations_shown),
        "fact_containment": _share(sum(bool(r["fact_found"]) for r in facts), len(facts)),
        "facts_missed": [r["id"] for r in facts if not r["fact_found"]],
        "refused_out_of_corpus": _share(sum(r["refused"] for r in out_of_corpus), len(out_of_corpus)),
        "answered_out_of_corpus": [r["id"] for r in out_of_corpus if not r["refused"]],
        "refused_answerable": _share(sum(r["refused"] for r in answerable), len(answerable)),
        "refused_answerable_ids": [r["id"] for r in answerable if r["refused"]],
        "relevant_papers_cited": (sum(r["relevant_cited"] / r["relevant"] for r in with_relevant) / len(with_relevant)
                                  if with_relevant else None),
        "enforcement_ms_p50": 1000 * percentile([r["verify_s"] for r in answered], 0.5),
        "enforcement_ms_p95": 1000 * percentile([r["verify_s"] for r in answered], 0.95),
        "outcomes": outcome_figures(rows),
        "ask_ms_p50": 1000 * percentile(totals, 0.5),
        "ask_ms_p95": 1000 * percentile(totals, 0.95),
        "per_question": rows,
    }


OUTCOMES = ("answered", "extractive_fallback", "not_in_papers", "declined")


def outcome_figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per outcome, the answers it ended in (answerable / out of corpus), and what became of the
    model's sentences: verified over drafted (survival), attributed over verified, the answers
    with at least one, fallbacks over answers, and answerable questions refused (either way)."""
    answerable = [r for r in rows if r["kind"] != "refuse"]
    drafted = sum(r["drafted"] for r in rows)
    verified = sum(r["model_sentences"] for r in rows)
    fallbacks = [r["fallback_s"] for r in rows if r["fallback_s"] is not None]
    return {
        "counts": {o: {"answerable": sum(r["outcome"] == o for r in answerable),
                       "out_of_corpus": sum(r["outcome"] == o and r["kind"] == "refuse" for r in rows)}
                   for o in OUTCOMES},
        "model_sentences_drafted": drafted,
        "model_sentences_verified": verified,
        "model_sentence_survival": _share(verified, drafted),
        "attribution_rate": _share(sum(r["attributed"] for r in rows), verified),
        "answers_with_a_verified_model_sentence": sum(r["model_sentences"] > 0 for r in rows),
        "answers_with_a_verified_model_sentence_share": _share(sum(r["model_sentences"] > 0 for r in answerable),
                                                               len(answerable)),
        "fallback_rate": _share(sum(r["outcome"] == "extractive_fallback" for r in rows), len(rows)),
        "false_refusal_rate": _share(sum(r["outcome"] in ("not_in_papers", "declined") for r in answerable),
                                     len(answerable)),
        "not_in_papers_answerable": [r["id"] for r in answerable if r["outcome"] == "not_in_papers"],
        "seconds_per_answer": statistics.fmean(r["total_s"] for r in rows) if rows else None,
        "fallback_s_max": max(fallbacks) if fallbacks else None,
    }


def latency_figures(settings: Settings, retriever: Retriever, questions: Sequence[Question], *,
                    cold_start: bool, ingest: bool) -> dict[str, Any]:
    searches = []
    for q in questions:
        started = time.perf_counter()
        retriever.search(q.q, k=10)
        searches.append(time.perf_counter() - started)
    figures: dict[str, Any] = {"search_ms_p50": 1000 * percentile(searches, 0.5),
                               "search_ms_p95": 1000 * percentile(searches, 0.95)}
    if cold_start:
        for command in ("search", "ask"):
            runs = [_fresh_process_seconds(settings, command) for _ in range(3)]
            figures[f"{command}_process_s_median"] = statistics.median(runs)
            figures[f"{command}_process_s"] = runs
    if ingest:
        from ..index.ingest import ingest as run_ingest

        with tempfile.TemporaryDirectory(prefix="eval-ingest-") as tmp:
            started = time.perf_counter()
            run_ingest(replace(settings, index_dir=Path(tmp), chroma_url=None))
            figures["ingest_s"] = time.perf_counter() - started
    return figures


def _fresh_process_seconds(settings: Settings, command: str) -> float:
    """Wall time of `assistant search|ask` as a new process against the same index (extractive)."""
    argv = [sys.executable, "-c", "from assistant.cli import main; main()", command, TIMING_QUERY, "--json"]
    environ = {**os.environ, "ASSISTANT_INDEX_DIR": str(settings.index_dir), "ASSISTANT_BACKEND": "extractive"}
    if settings.chroma_url:
        environ["ASSISTANT_CHROMA_URL"] = settings.chroma_url
    started = time.perf_counter()
    subprocess.run(argv, env=environ, check=True, capture_output=True)
    return time.perf_counter() - started


def make_judge(kind: str, settings: Settings, retriever: Retriever) -> SupportJudge:
    floors = Floors(support=settings.answer.support_floor, terms=settings.answer.term_floor)
    if kind == "offline":
        return OfflineJudge(VectorCache(retriever.embedder.embed), floors)
    return ModelJudge(open_chat(settings))


def run_evaluation(settings: Settings, questions: Sequence[Question], *, judge: str = "offline",
                   cold_start: bool = True, ingest: bool = False, on_progress: Any = None) -> dict[str, Any]:
    retriever = open_retriever(settings, on_progress=on_progress)
    report: dict[str, Any] = {
        "when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "commit": _commit(),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
        "question_files": sorted({q.file for q in questions}),
        "questions": len(questions),
        "kinds": {kind: sum(q.kind == kind for q in questions) for kind in sorted({q.kind for q in questions})},
    }
    report["retrieval"] = retrieval_figures(retriever, questions)
    report["answers"] = answer_figures(settings, retriever, questions, make_judge(judge, settings, retriever))
    report["latency"] = latency_figures(settings, retriever, questions, cold_start=cold_start, ingest=ingest)
    report["invariants_broken"] = broken_invariants(report["answers"])
    return report


def broken_invariants(answers: dict[str, Any]) -> list[str]:
    """The citation guarantees a release must keep; CI fails on any of them."""
    broken = []
    if answers["shown_sentences_cited"] not in (None, 1.0):
        broken.append("a shown sentence has no citation")
    if answers["invalid_citations"]:
        broken.append(f"{answers['invalid_citations']} citation(s) point at papers that were not retrieved")
    if answers["answered_out_of_corpus"]:
        broken.append(f"out-of-corpus questions answered: {', '.join(answers['answered_out_of_corpus'])}")
    return broken


def _commit() -> str | None:
    try:
        result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                                cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None


def format_report(report: dict[str, Any]) -> str:
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1%}"

    r, a, t = report["retrieval"], report["answers"], report["latency"]
    o_ = a["outcomes"]
    lines = [
        f"{report['questions']} questions ({', '.join(f'{k} {v}' for k, v in report['kinds'].items())}) "
        f"from {', '.join(report['question_files'])}; commit {report['commit'] or 'unknown'}",
        "",
        f"Retrieval ({r['questions']} questions with relevant papers)",
        f"  {'ranker':<8}{'R@5':>7}{'R@10':>7}{'MRR@10':>8}{'nDCG@10':>9}",
    ]
    for ranker in RANKERS:
        m = r[ranker]
        if m:
            lines.append(f"  {ranker:<8}{m['recall@5']:>7.3f}{m['recall@10']:>7.3f}{m['mrr@10']:>8.3f}{m['ndcg@10']:>9.3f}")
    lines += [
        "",
        f"Answers ({a['backend']}{' ' + a['model'] if a['model'] else ''}; judge: {a['judge']})",
        f"  shown sentences cited        {pct(a['shown_sentences_cited'])} of {a['shown_sentences']} (must be 100%)",
        f"  citations to non-evidence    {a['invalid_citations']} (must be 0)",
        f"  ALCE citation recall         {pct(a['alce_citation_recall'])}",
        f"  ALCE citation precision      {pct(a['alce_citation_precision'])}",
        f"  sentences flagged unsupported {a['unsupported_sentences']}",
        f"  background sentences shown   {a['background_sentences']} (quotes of the field, not of what a paper adds)",
        f"  quotes found in cited abstract {pct(a['quotes_in_cited_abstract'])}",
        f"  fact containment             {pct(a['fact_containment'])} (missed: {', '.join(a['facts_missed']) or 'none'})",
        f"  refused, out of corpus       {pct(a['refused_out_of_corpus'])} (must be 100%)",
        f"  refused, answerable          {pct(a['refused_answerable'])} ({', '.join(a['refused_answerable_ids']) or 'none'})",
        f"  relevant papers cited        {pct(a['relevant_papers_cited'])}",
        "",
        "Outcomes (answerable / out of corpus)",
        *[f"  {o:<28} {c['answerable']:>3} / {c['out_of_corpus']}" for o, c in o_["counts"].items()],
        f"  model sentences verified     {o_['model_sentences_verified']} of {o_['model_sentences_drafted']} drafted "
        f"({pct(o_['model_sentence_survival'])} survival)",
        f"  attributed after generation  {pct(o_['attribution_rate'])} of the verified ones",
        f"  answers with a model sentence {o_['answers_with_a_verified_model_sentence']} "
        f"({pct(o_['answers_with_a_verified_model_sentence_share'])} of answerable)",
        f"  fallback rate                {pct(o_['fallback_rate'])}"
        + (f" (extractive fallback at most {o_['fallback_s_max']:.2f} s)" if o_['fallback_s_max'] is not None else ""),
        f"  false refusals               {pct(o_['false_refusal_rate'])} of answerable "
        f"(not in papers: {', '.join(o_['not_in_papers_answerable']) or 'none'})",
        f"  seconds per answer           {o_['seconds_per_answer']:.2f}",
        "",
        "Latency",
        f"  search (in process)          p50 {t['search_ms_p50']:.1f} ms, p95 {t['search_ms_p95']:.1f} ms",
        f"  ask ({a['backend']})             p50 {a['ask_ms_p50']:.0f} ms, p95 {a['ask_ms_p95']:.0f} ms",
        f"  enforcement per answer       p50 {a['enforcement_ms_p50']:.1f} ms, p95 {a['enforcement_ms_p95']:.1f} ms",
    ]
    for command in ("search", "ask"):
        if f"{command}_process_s_median" in t:
            lines.append(f"  fresh `{command}` process{' ' * (10 - len(command))}median {t[f'{command}_process_s_median']:.2f} s")
    if "ingest_s" in t:
        lines.append(f"  ingest of the seeds          {t['ingest_s']:.1f} s")
    lines.append("")
    lines += [f"INVARIANT BROKEN: {b}" for b in report["invariants_broken"]] or ["citation invariants hold"]
    return "\n".join(lines)
