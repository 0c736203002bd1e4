"""`assistant eval`: the metrics, the question loader, the judges, and the CI run on the dev set
(which must fail when a citation invariant breaks)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from assistant import cli
from assistant.config import replace
from assistant.errors import InputError
from assistant.evaluation.judge import ModelJudge
from assistant.evaluation.metrics import alce_citation_scores, percentile, ranking_metrics
from assistant.evaluation.questions import default_question_files, load_questions
from assistant.evaluation.run import broken_invariants
from assistant.llm.base import open_chat
from fake_openai import FakeOpenAI, Reply

DEV = Path(__file__).resolve().parent.parent / "evals" / "questions" / "dev.jsonl"


def test_ranking_metrics_by_hand() -> None:
    m = ranking_metrics(["x", "a", "y", "b"], frozenset({"a", "b", "c"}))
    assert m["recall@5"] == pytest.approx(2 / 3) and m["mrr@10"] == 0.5
    ideal = 1 + 1 / 1.584962500721156 + 1 / 2
    assert m["ndcg@10"] == pytest.approx((1 / 1.584962500721156 + 1 / 2.321928094887362) / ideal)
    assert ranking_metrics(["x"], frozenset({"a"}))["mrr@10"] == 0.0


def test_alce_precision_marks_a_citation_that_adds_nothing() -> None:
    # Only passage "A" supports the statement: "B" alone does not, and without B it still holds.
    supports = lambda statement, passages: "A" in passages  # noqa: E731
    assert alce_citation_scores("s", ["A", "B"], supports) == (1, 1, 2)
    assert alce_citation_scores("s", ["B"], supports) == (0, 0, 1)
    assert alce_citation_scores("s", [], supports) == (0, 0, 0)
    # Both needed together: each is precise (removing either breaks support).
    both = lambda statement, passages: {"A", "B"} <= set(passages)  # noqa: E731
    assert alce_citation_scores("s", ["A", "B"], both) == (1, 2, 2)


def test_percentile() -> None:
    assert percentile([5, 1, 3], 0.5) == 3 and percentile([], 0.5) == 0.0


def test_question_files_are_found_and_ids_deduplicated() -> None:
    files = default_question_files()
    assert DEV in files
    questions = load_questions(files + [DEV])
    assert len({q.id for q in questions}) == len(questions) >= 72
    assert {q.kind for q in questions} == {"topic", "fact", "author", "year", "refuse"}


def test_a_malformed_question_file_is_a_clear_error(tmp_path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "kind": "topic"}\n', encoding="utf-8")
    with pytest.raises(InputError, match="bad.jsonl line 1"):
        load_questions([bad])


def test_broken_invariants_are_named() -> None:
    ok = {"shown_sentences_cited": 1.0, "invalid_citations": 0, "answered_out_of_corpus": []}
    assert broken_invariants(ok) == []
    assert len(broken_invariants(ok | {"shown_sentences_cited": 0.9, "invalid_citations": 2,
                                       "answered_out_of_corpus": ["r01"]})) == 3


def test_model_judge_asks_the_endpoint_and_reads_yes_or_no(seed_settings, seed_retriever) -> None:
    evidence = seed_retriever.search("attention entropy collapse", k=1)
    with FakeOpenAI() as server:
        server.script(Reply.text("Yes."), Reply.text("no"))
        judge = ModelJudge(open_chat(replace(seed_settings, backend="openai", base_url=server.base_url,
                                             model="test-model", max_retries=0)))
        assert judge.supports("Low attention entropy goes with instability.", evidence)
        assert not judge.supports("Attention entropy is irrelevant.", evidence)
        assert judge.supports("Low attention entropy goes with instability.", evidence)  # cached
        assert len(server.chat_requests) == 2
        assert "Claim: Attention entropy is irrelevant." in server.chat_requests[1].body["messages"][0]["content"]


def test_eval_holds_the_invariants_on_a_figure_no_paper_gives(isolated_env, seed_settings, tmp_path, monkeypatch,
                                                                capsys) -> None:
    """The answer to "what wer does whisper get on librispeech" lists the papers naming Whisper,
    found by a search of its own: the evaluation's retriever lacked it and the run crashed."""
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "w1", "kind": "topic", "q": "what wer does whisper get on librispeech",
                                     "relevant": ["002_7714854e86322287.txt#9"]}) + "\n", encoding="utf-8")
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(seed_settings.index_dir))
    monkeypatch.setattr(sys, "argv", ["assistant", "eval", "--questions", str(questions), "--out",
                                      str(tmp_path / "eval.json"), "--no-cold-start"])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    printed = capsys.readouterr().out
    assert exit_.value.code == 0 and "citation invariants hold" in printed, printed


@pytest.mark.slow
def test_eval_on_the_dev_set_holds_the_citation_invariants(isolated_env, seed_settings, tmp_path, monkeypatch, capsys) -> None:
    """The CI evaluation: the dev questions through retrieval and the default (extractive) backend."""
    out = tmp_path / "eval.json"
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(seed_settings.index_dir))
    monkeypatch.setattr(sys, "argv", ["assistant", "eval", "--questions", str(DEV), "--out", str(out), "--no-cold-start"])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    printed = capsys.readouterr().out
    assert exit_.value.code == 0, printed
    assert "citation invariants hold" in printed and "hybrid" in printed
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["questions"] == 12 and report["machine"]["cpus"] and "commit" in report
    answers = report["answers"]
    assert answers["shown_sentences_cited"] == 1.0 and answers["invalid_citations"] == 0
    assert answers["refused_out_of_corpus"] == 1.0 and answers["refused_answerable"] == 0.0
    assert f"background sentences shown   {answers['background_sentences']} " in printed
    retrieval = report["retrieval"]
    assert retrieval["hybrid"]["recall@10"] >= max(retrieval["dense"]["recall@10"], retrieval["bm25"]["recall@10"]) - 0.05


@pytest.mark.slow
def test_eval_exits_non_zero_when_an_invariant_breaks(isolated_env, seed_settings, tmp_path, monkeypatch, capsys) -> None:
    """CI relies on the exit code: a report with a broken invariant must fail the command."""
    import assistant.evaluation.run as run

    real = run.run_evaluation

    def answered_an_out_of_corpus_question(*args, **kwargs):
        report = real(*args, **kwargs)
        report["answers"]["answered_out_of_corpus"] = ["d11"]
        report["invariants_broken"] = run.broken_invariants(report["answers"])
        return report

    monkeypatch.setattr(run, "run_evaluation", answered_an_out_of_corpus_question)
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(seed_settings.index_dir))
    monkeypatch.setattr(sys, "argv", ["assistant", "eval", "--questions", str(DEV), "--out", str(tmp_path / "e.json"),
                                      "--no-cold-start"])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 1
    assert "INVARIANT BROKEN: out-of-corpus questions answered: d11" in capsys.readouterr().out
