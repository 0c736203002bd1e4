"""The answer backends: the OpenAI-compatible one against a real loopback server, and the factory.

Every failure must become one BackendError line that names the endpoint, says what to try, and
never contains the API key.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from assistant.answer.backends import BACKENDS
from assistant.config import ConfigError, Secret, Settings, load_settings
from assistant.errors import BackendError
from assistant.index.embedder import get_embedder
from assistant.answer.backends import open_drafter
from assistant.answer.extractive import Candidate, ExtractiveDrafter
from assistant.llm.openai_compat import PLACEHOLDER_KEY, OpenAIChat, OpenAIClient
from fake_openai import FakeOpenAI, Reply, free_port

KEY = "sk-test-SECRET-4242"
MESSAGES = [{"role": "user", "content": "hello"}]


@pytest.fixture
def server():
    with FakeOpenAI() as fake:
        yield fake


def backend(base_url: str, **overrides) -> OpenAIChat:
    options = dict(base_url=base_url, api_key=KEY, timeout=2.0, max_retries=2, retry_backoff=0.01)
    options.update(overrides)
    model = options.pop("model", "test-model")
    return OpenAIChat(OpenAIClient(**options), model=model, temperature=0.0)


def failure(base_url: str, stream_to=None, **overrides) -> str:
    with pytest.raises(BackendError) as caught:
        backend(base_url, **overrides).complete(MESSAGES, stream_to=stream_to)
    message = str(caught.value)
    assert "\n" not in message and KEY not in message
    assert base_url in message
    return message


def test_completes_and_sends_the_conversation(server: FakeOpenAI) -> None:
    server.script(Reply.text("An answer [1]."))
    assert backend(server.base_url).complete(MESSAGES) == "An answer [1]."
    [request] = server.chat_requests
    assert request.body["messages"] == MESSAGES and request.body["model"] == "test-model"
    assert request.header("authorization") == f"Bearer {KEY}"


def test_streams_each_token_as_it_arrives(server: FakeOpenAI) -> None:
    server.script(Reply.text("Streams arrive word by word [2]."))
    tokens: list[str] = []
    assert backend(server.base_url).complete(MESSAGES, stream_to=tokens.append) == "Streams arrive word by word [2]."
    assert len(tokens) == 6 and server.chat_requests[0].body["stream"] is True


def test_sends_a_placeholder_when_no_key_is_configured(server: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")  # must not be picked up by the client
    server.script(Reply.text("ok"))
    backend(server.base_url, api_key="").complete(MESSAGES)
    assert server.chat_requests[0].header("authorization") == f"Bearer {PLACEHOLDER_KEY}"


def test_strips_a_reasoning_models_thinking(server: FakeOpenAI) -> None:
    server.script(Reply.text("<think>the user wants...</think>\nThe answer [1]."))
    assert backend(server.base_url).complete(MESSAGES) == "The answer [1]."


def test_retries_a_429_then_succeeds(server: FakeOpenAI) -> None:
    server.script(Reply.status(429, retry_after=0), Reply.text("ok"))
    assert backend(server.base_url).complete(MESSAGES) == "ok"
    assert len(server.chat_requests) == 2


def test_gives_up_on_500_after_the_retries(server: FakeOpenAI) -> None:
    server.script(Reply.status(500))
    message = failure(server.base_url)
    assert "HTTP 500" in message and "after 3 attempts" in message
    assert len(server.chat_requests) == 3


def test_gives_up_on_429_after_the_retries(server: FakeOpenAI) -> None:
    server.script(Reply.status(429))
    assert "rate-limiting" in failure(server.base_url, max_retries=1)
    assert len(server.chat_requests) == 2


def test_unreachable_endpoint() -> None:
    message = failure(f"http://127.0.0.1:{free_port()}/v1", max_retries=1)
    assert "cannot reach" in message and "--base-url" in message


def test_hanging_server_times_out_without_retrying(server: FakeOpenAI) -> None:
    server.script(Reply.hang(30))
    message = failure(server.base_url, timeout=0.5)
    assert "did not answer within 0.5 s" in message and "--timeout" in message
    assert len(server.chat_requests) == 1


def test_stream_cut_midway_is_not_replayed(server: FakeOpenAI) -> None:
    server.script(Reply.truncated("one two three four five six", tokens_before_cut=3), Reply.text("never sent"))
    tokens: list[str] = []
    message = failure(server.base_url, stream_to=tokens.append)
    assert "ended before the reply was complete" in message
    assert "".join(tokens) == "one two three " and len(server.chat_requests) == 1


@pytest.mark.parametrize("stream", [False, True])
def test_malformed_reply(server: FakeOpenAI, stream: bool) -> None:
    server.script(Reply.malformed())
    message = failure(server.base_url, stream_to=(lambda token: None) if stream else None)
    assert "not an OpenAI chat completion" in message


@pytest.mark.parametrize("stream", [False, True])
def test_empty_completion(server: FakeOpenAI, stream: bool) -> None:
    server.script(Reply.text(""))
    assert "empty reply" in failure(server.base_url, stream_to=(lambda token: None) if stream else None)


def test_unauthorized_names_the_key_options_but_never_the_key(server: FakeOpenAI) -> None:
    server.script(Reply.status(401, f"Incorrect API key provided: {KEY}"))
    message = failure(server.base_url)
    assert "HTTP 401" in message and "--api-key / OPENAI_API_KEY" in message


def test_unknown_model(server: FakeOpenAI) -> None:
    message = failure(server.base_url, model="no-such-model")
    assert "model 'no-such-model' not found" in message and "/models" in message


def test_wrong_api_path(server: FakeOpenAI) -> None:
    message = failure(server.base_url.removesuffix("/v1"))
    assert "no such API path" in message and "/v1" in message


def test_server_error_text_is_redacted(server: FakeOpenAI) -> None:
    server.script(Reply.status(400, f"bad request from key {KEY}"))
    assert "***" in failure(server.base_url)


def test_no_model_configured_uses_the_only_served_model(server: FakeOpenAI) -> None:
    server.script(Reply.text("ok"))
    chosen = backend(server.base_url, model=None)
    assert chosen.complete(MESSAGES) == "ok" and chosen.model == "test-model"


def test_no_model_configured_and_several_served(server: FakeOpenAI) -> None:
    server.models.append("other-model")
    message = failure(server.base_url, model=None)
    assert "serves 2 (other-model, test-model)" in message and "--model" in message


# -- one client for chat and embeddings: one retry policy, one placeholder key ------------------

CALLS = {
    "chat": (lambda settings: OpenAIChat.from_settings(settings).complete(MESSAGES), "chat_requests"),
    "embeddings": (lambda settings: get_embedder(settings).embed(["some text", "more text"]), "embedding_requests"),
}


def endpoint_settings(server: FakeOpenAI, **overrides) -> Settings:
    values = dict(base_url=server.base_url, api_key=Secret(KEY), model="test-model", embedder="test-model",
                  timeout=2.0, max_retries=2, retry_backoff=0.01)
    return Settings(**(values | overrides))


@pytest.mark.parametrize("call", sorted(CALLS))
def test_chat_and_embeddings_retry_a_429_alike(server: FakeOpenAI, call: str) -> None:
    server.script(Reply.status(429, retry_after=0), Reply.text("ok"))
    run, requests = CALLS[call]
    run(endpoint_settings(server))
    assert len(getattr(server, requests)) == 2


@pytest.mark.parametrize("call", sorted(CALLS))
def test_chat_and_embeddings_give_up_after_the_same_retries(server: FakeOpenAI, call: str) -> None:
    server.script(Reply.status(429))
    run, requests = CALLS[call]
    with pytest.raises(BackendError) as caught:
        run(endpoint_settings(server))
    message = str(caught.value)
    assert "rate-limiting" in message and "after 3 attempts" in message and server.base_url in message
    assert "\n" not in message and KEY not in message
    assert len(getattr(server, requests)) == 3


@pytest.mark.parametrize("call", sorted(CALLS))
def test_chat_and_embeddings_send_the_same_placeholder_key(server: FakeOpenAI, call: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")  # must not be picked up by the client
    server.script(Reply.text("ok"))
    run, requests = CALLS[call]
    run(endpoint_settings(server, api_key=Secret("")))
    assert getattr(server, requests)[0].header("authorization") == f"Bearer {PLACEHOLDER_KEY}"


def test_embeddings_failures_name_the_offline_embedder(server: FakeOpenAI) -> None:
    server.script(Reply.status(500))
    with pytest.raises(BackendError, match="embeddings endpoint .*ASSISTANT_EMBEDDER=minilm"):
        get_embedder(endpoint_settings(server, max_retries=0)).embed(["text"])


# -- choosing a backend ------------------------------------------------------------------------

def test_config_accepts_exactly_the_registered_backends(isolated_env) -> None:
    for name in BACKENDS:
        assert load_settings({"backend": name}).backend == name
    with pytest.raises(ConfigError) as caught:
        load_settings({"backend": "nope"})
    assert all(name in str(caught.value) for name in BACKENDS)


def test_factory_chooses_extractive_without_an_endpoint() -> None:
    chosen = open_drafter(Settings())
    assert isinstance(chosen, ExtractiveDrafter) and chosen.name == "extractive" and chosen.model is None


def test_factory_chooses_openai_with_an_endpoint() -> None:
    chosen = open_drafter(Settings(base_url="http://127.0.0.1:9/v1", model="m"))
    assert chosen.name == "openai" and chosen.model == "m"


def test_factory_refuses_openai_with_nowhere_to_go() -> None:
    with pytest.raises(BackendError, match="needs an endpoint"):
        open_drafter(Settings(backend="openai"))


def test_factory_uses_openai_itself_only_when_asked_with_a_key() -> None:
    chosen = open_drafter(Settings(backend="openai", api_key=Secret(KEY), model="gpt-4o-mini"))
    assert chosen.endpoint == "https://api.openai.com/v1"
    assert KEY not in repr(chosen.endpoint)


def test_extractive_never_imports_the_openai_client() -> None:
    code = ("import sys; from assistant.config import Settings; from assistant.answer.backends import open_drafter; "
            "open_drafter(Settings()); import assistant.answer.answerer; print('openai' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# -- the extractive strategy -------------------------------------------------------------------

def axis_embed(texts: list[str]) -> np.ndarray:
    """Each text's vector is its axis by first word: same first word, same meaning."""
    axes = {"question": 0, "alpha": 1, "beta": 2, "gamma": 3, "delta": 4}
    rows = np.zeros((len(texts), 8), dtype=np.float32)
    for row, text in zip(rows, texts):
        row[axes.get(text.split()[0].lower(), 7)] = 1.0
        row[0] += 0.5 if "answer" in text else 0.0
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_extractive_quotes_grouped_by_paper_best_first_without_duplicates() -> None:
    candidates = [
        Candidate(1, "p1", "alpha states the answer in 3 words.", frozenset({"answer"}), 0.6),
        Candidate(1, "p1", "alpha states the answer in 3 words, again.", frozenset({"answer"}), 0.6),
        Candidate(2, "p2", "beta gives an answer too.", frozenset({"answer"}), 0.5),
        Candidate(2, "p2", "gamma is background.", frozenset(), 0.5),
        Candidate(3, "p3", "delta is off topic.", frozenset(), 0.1),
    ]
    draft = ExtractiveDrafter().quote("question answer", frozenset({"answer"}), candidates, axis_embed)
    assert draft == "alpha states the answer in 3 words. [1]\n\nbeta gives an answer too. [2]"


def test_extractive_with_nothing_to_quote_drafts_nothing() -> None:
    assert ExtractiveDrafter().quote("question", frozenset(), [], axis_embed) == ""
