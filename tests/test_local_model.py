"""`ask`, related-work and the chat through a real local model: llama-cpp-python's server with
SmolLM2-135M-Instruct (tests/local_model.py), the weakest model a user could point the assistant
at. Whatever it writes, every shown sentence is cited and verified, the outcome says what
happened, and "not in the papers" is said only when the relevance gate says so.

Slow (the server loads a model and reads prompts on the CPU); skipped, saying why, where
llama-cpp-python or the model file is missing. The fakes (fake_openai.py) stay for what a real
server will not do on demand: 429, cut streams, garbage.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from assistant import cli
from assistant.config import Settings
from assistant.llm.endpoints import FILE_NAME
from local_model import MODEL_ALIAS, LlamaServer, Unavailable

pytestmark = pytest.mark.slow

ANSWERABLE = "What word error rate does Conformer reach on LibriSpeech?"
OUT_OF_CORPUS = "Which papers study graph neural networks for molecule property prediction?"
SHOWN_ORIGINS = {"model", "attributed", "extractive"}
NATIVE_CONTEXT = 2048  # Ollama's default window too: the evidence must be cut to fit it


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory):
    try:
        server = LlamaServer.start(tmp_path_factory.mktemp("llama"))
    except Unavailable as missing:
        pytest.skip(f"no real local model: {missing}")
    with server:
        yield server


@pytest.fixture(scope="module")
def native_llama(tmp_path_factory: pytest.TempPathFactory):
    """llama.cpp's own llama-server, with a window smaller than the evidence would fill."""
    try:
        server = LlamaServer.start(tmp_path_factory.mktemp("llama-native"), native=True, context=NATIVE_CONTEXT)
    except Unavailable as missing:
        pytest.skip(f"no real llama-server: {missing}")
    with server:
        yield server


def use_server(server: LlamaServer, seed_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI on the seed index and `server`; returns the data dir endpoints are remembered in."""
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(seed_settings.index_dir))
    monkeypatch.setenv("ASSISTANT_SEEDS_DIR", str(seed_settings.seeds_dir))
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("ASSISTANT_MODEL", MODEL_ALIAS)
    monkeypatch.setenv("ASSISTANT_MAX_RETRIES", "0")
    return seed_settings.data_dir


@pytest.fixture
def local_env(isolated_env: None, seed_settings: Settings, llama: LlamaServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    return use_server(llama, seed_settings, monkeypatch)


def remembered_endpoint(data_dir: Path, server: LlamaServer) -> dict[str, Any]:
    """What the assistant remembers of `server` (each server of the session has its own record)."""
    remembered = json.loads((data_dir / FILE_NAME).read_text())
    return remembered[f"{server.base_url} {MODEL_ALIAS}"]


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["assistant", *argv])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


def assert_every_shown_sentence_verified(answer: dict[str, Any]) -> None:
    assert answer["sentences"], answer
    for sentence in answer["sentences"]:
        assert sentence["citations"] and sentence["supported"], sentence
        assert sentence["origin"] in SHOWN_ORIGINS
    if answer["outcome"] == "extractive_fallback":
        assert {s["origin"] for s in answer["sentences"]} == {"extractive"}
        assert any(i["kind"] == "fallback" for i in answer["issues"])


def test_ask_json_answers_with_verified_sentences_and_remembers_the_dialect(local_env, llama, monkeypatch,
                                                                           capsys) -> None:
    code, out, err = run(monkeypatch, capsys, "ask", ANSWERABLE, "--json", "--citation-format", "json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["outcome"] in ("answered", "extractive_fallback") and answer["model"] == MODEL_ALIAS
    assert_every_shown_sentence_verified(answer)
    # llama-cpp-python's server answers 500 to json_schema and takes json_object with a schema;
    # it does not say how long its window is.
    record = remembered_endpoint(local_env, llama)
    assert record["dialect"] == "json_object" and not record["context_tokens"]


def test_llama_server_tells_its_window_and_takes_json_schema(isolated_env, seed_settings, native_llama,
                                                             monkeypatch, capsys) -> None:
    data_dir = use_server(native_llama, seed_settings, monkeypatch)
    code, out, err = run(monkeypatch, capsys, "ask", ANSWERABLE, "--json", "--citation-format", "json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["outcome"] in ("answered", "extractive_fallback")
    assert_every_shown_sentence_verified(answer)
    record = remembered_endpoint(data_dir, native_llama)
    # The evidence was cut to the window /props reports (a prompt past it would fail or be truncated).
    assert record["context_tokens"] == NATIVE_CONTEXT and record["dialect"] == "json_schema"


def test_ask_plain_text_names_the_outcome(local_env, monkeypatch, capsys) -> None:
    code, out, err = run(monkeypatch, capsys, "ask", ANSWERABLE, "--citation-format", "markers")
    assert code == 0, err
    assert "Outcome: answered." in out or "Outcome: extractive_fallback." in out
    assert "do not address" not in out and "References" in out


def test_ask_streams_the_model_tokens_then_the_checked_answer(local_env, monkeypatch, capsys) -> None:
    code, out, err = run(monkeypatch, capsys, "ask", ANSWERABLE, "--stream", "--citation-format", "markers")
    assert code == 0, err
    assert err.strip()  # the model's own words arrived as it wrote them
    assert "Outcome: " in out and "[1]" in out


def test_an_out_of_corpus_question_is_not_in_the_papers(local_env, monkeypatch, capsys) -> None:
    _, out, _ = run(monkeypatch, capsys, "ask", OUT_OF_CORPUS, "--json")
    answer = json.loads(out)
    assert answer["refused"] and answer["outcome"] == "not_in_papers" and answer["sentences"] == []


def test_related_work_through_the_local_model(local_env, monkeypatch, capsys) -> None:
    code, out, err = run(monkeypatch, capsys, "related-work", "pseudo-labeling for speech recognition", "--json")
    assert code == 0, err
    section = json.loads(out)
    assert section["outcome"] in ("answered", "extractive_fallback")
    assert_every_shown_sentence_verified(section)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_chat_answers_through_the_local_model(llama, seed_settings, seed_retriever, tmp_path) -> None:
    from textual.widgets import Input

    from assistant.tui.answer_view import AnswerView
    from assistant.tui.app import ChatApp
    from assistant.tui.session_store import SessionStore

    settings = dataclasses.replace(seed_settings, backend="openai", base_url=llama.base_url, model=MODEL_ALIAS,
                                   max_retries=0, index_dir=seed_settings.index_dir)
    app = ChatApp(settings, SessionStore(tmp_path / "sessions.sqlite3"), "local001", retriever=seed_retriever)
    async with app.run_test(size=(120, 40)) as pilot:
        box = app.query_one("#question", Input)
        box.value = ANSWERABLE
        box.focus()
        await pilot.press("enter")
        deadline = time.monotonic() + settings.timeout + 60
        while not (app.query(AnswerView) and app.query_one(AnswerView).answer is not None):
            assert time.monotonic() < deadline, "no answer from the chat"
            await pilot.pause(0.2)
        view = app.query_one(AnswerView)
        caption = str(view.query_one(".turn-caption").render())
    answer = view.answer
    assert answer.outcome in ("answered", "extractive_fallback")
    assert answer.outcome.replace("_", " ") in caption
    assert all(s.citations and s.supported for s in answer.sentences)
