"""Bounded time and size at a chat endpoint (issue 13 §4, §7): `--timeout` is a deadline for the
whole request, replies are capped (max_tokens is asked for, and what is read is cut), and a reply
body cut halfway is reported as cut, not as an unreachable endpoint. Also what the client learns
about an endpoint: structured-output dialects and the context window.

The time bounds are the issue's promises (upper limits a user would notice), not waits.
"""

from __future__ import annotations


import pytest

from assistant.errors import BackendError
from assistant.llm.openai_compat import REPLY_CHAR_CAP, OpenAIChat, OpenAIClient
from fake_openai import FakeOpenAI, Reply

MESSAGES = [{"role": "user", "content": "hello " * 400}]
DRIP = " ".join(["token"] * 200)


@pytest.fixture
def server():
    with FakeOpenAI() as fake:
        yield fake


def chat(server: FakeOpenAI, timeout: float = 3.0) -> OpenAIChat:
    client = OpenAIClient(base_url=server.base_url, api_key="", timeout=timeout, max_retries=1, retry_backoff=0.01,
                          max_tokens=256)
    return OpenAIChat(client, model="test-model", temperature=0.0)


@pytest.mark.parametrize("stream", [False, True])
def test_a_dripping_server_ends_at_the_deadline(server: FakeOpenAI, stream: bool) -> None:
    server.script(Reply.drip(DRIP, seconds=2.0))
    # Without the deadline the drip would end in a full reply and no error: the error is the deadline.
    with pytest.raises(BackendError) as caught:
        chat(server).complete(MESSAGES, stream_to=(lambda token: None) if stream else None)
    message = str(caught.value)
    assert "did not answer within 3 s" in message and "prompt was about 600 tokens" in message
    assert "--timeout" in message


def test_max_tokens_is_asked_for(server: FakeOpenAI) -> None:
    server.script(Reply.text("Short."))
    chat(server).complete(MESSAGES)
    assert server.chat_requests[0].body["max_tokens"] == 256


def test_a_5mb_streamed_reply_is_cut_at_the_cap(server: FakeOpenAI) -> None:
    server.script(Reply.text("word " * 1_000_000))
    model = chat(server, timeout=30.0)
    text = model.complete(MESSAGES, stream_to=lambda token: None)
    assert len(text) <= REPLY_CHAR_CAP and model.capped


def test_a_5mb_reply_body_is_refused_in_one_line(server: FakeOpenAI) -> None:
    server.script(Reply.text("word " * 1_000_000))
    with pytest.raises(BackendError) as caught:
        chat(server, timeout=30.0).complete(MESSAGES)
    assert "sent a reply of over" in str(caught.value) and "\n" not in str(caught.value)


def test_a_body_cut_halfway_is_reported_as_cut(server: FakeOpenAI) -> None:
    server.script(Reply.cut_body("An answer that will not arrive whole [1]. " * 20))
    with pytest.raises(BackendError) as caught:
        chat(server).complete(MESSAGES)
    message = str(caught.value)
    assert "was cut off after" in message and "cannot reach" not in message


def test_the_context_window_is_none_where_the_server_does_not_tell(server: FakeOpenAI) -> None:
    assert chat(server).context_window() is None
