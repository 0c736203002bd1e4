"""The one client for any OpenAI-compatible endpoint (OpenAI, Ollama, vLLM, llama-server, LM Studio):
chat completions and embeddings.

Uses the official `openai` client, imported when this module is (only when an endpoint is used).
One retry policy serves every call, and it is ours, not the client's, so that the backoff is a
setting and a stream that already showed tokens is never replayed: 429, 5xx and refused or reset
connections are retried with doubling backoff (longer if the server asks), a timeout is not (the
user already waited once). One placeholder key: the client never reads OPENAI_API_KEY by itself.
Every failure becomes one BackendError line naming the endpoint (never the key) and what to try.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence, TypeVar

import openai

from ..errors import BackendError
from .base import Message, TokenSink, chat_endpoint

if TYPE_CHECKING:
    from ..config import Settings

# Sent when no key is configured, so the client never reads OPENAI_API_KEY by itself and a real
# key cannot reach a server the user did not give it to (local servers ignore the key).
PLACEHOLDER_KEY = "sk-no-key-configured"
_MAX_BACKOFF = 8.0
# What the client raises for a failed call: its own errors, and decoding errors on a garbled body
# or stream. Errors from the token sink (e.g. a closed pipe) are not among them and propagate.
_CLIENT_FAILURES = (openai.OpenAIError, ValueError, TypeError, AttributeError)
_THINKING = re.compile(r"<think>.*?(?:</think>|$)\s*", re.DOTALL)
T = TypeVar("T")


@dataclass(frozen=True)
class Purpose:
    """What a call is for, as its error messages say it."""

    endpoint: str  # how the endpoint is named: "the endpoint", "the embeddings endpoint"
    reply: str  # what a good reply is
    model_option: str  # where the user names the model
    fallback: str = ""  # what else to try, after every hint


CHAT = Purpose("the endpoint", "an OpenAI chat completion", "--model")
EMBEDDINGS = Purpose("the embeddings endpoint", "an OpenAI embeddings response", "ASSISTANT_EMBEDDER",
                     "; or use the offline embedder (ASSISTANT_EMBEDDER=minilm)")


class _Retryable(Exception):
    """A failure worth another attempt (429, 5xx, connection refused or reset)."""

    def __init__(self, error: BackendError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class OpenAIClient:
    """One endpoint: its base URL, key, timeout and retry policy, for chat and embeddings alike."""

    def __init__(self, *, base_url: str, api_key: str, timeout: float, max_retries: int,
                 retry_backoff: float) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self._timeout = timeout
        self._max_retries = max(0, max_retries)
        self._backoff = max(0.0, retry_backoff)
        self._client = openai.OpenAI(base_url=self.base_url, api_key=api_key or PLACEHOLDER_KEY,
                                     timeout=timeout, max_retries=0)

    @classmethod
    def from_settings(cls, settings: Settings, base_url: str) -> "OpenAIClient":
        return cls(base_url=base_url, api_key=settings.api_key.reveal(), timeout=settings.timeout,
                   max_retries=settings.max_retries, retry_backoff=settings.retry_backoff)

    def chat(self, model: str, messages: Sequence[Message], *, temperature: float,
             stream_to: TokenSink | None = None) -> str:
        """The reply's text; with `stream_to`, streamed token by token."""
        streamed: list[str] = []  # tokens already shown: a stream that showed any is not replayed

        def sink(token: str) -> None:
            streamed.append(token)
            if stream_to is not None:
                stream_to(token)

        def attempt() -> str:
            if stream_to is None:
                return self._ask(model, list(messages), temperature)
            return self._ask_streaming(model, list(messages), temperature, sink)

        return self._with_retries(attempt, replayable=lambda: not streamed)

    def embed(self, model: str, texts: list[str]) -> list[list[float]]:
        """One vector per text, in order."""

        def attempt() -> list[list[float]]:
            with self._failures_explained(model, EMBEDDINGS):
                response = self._client.embeddings.create(model=model, input=texts)
                return [item.embedding for item in sorted(response.data, key=lambda d: d.index)]

        return self._with_retries(attempt)

    def served_models(self) -> list[str]:
        def attempt() -> list[str]:
            with self._failures_explained(None, CHAT):
                return sorted(m.id for m in self._client.models.list())

        return self._with_retries(attempt)

    def _with_retries(self, attempt: Callable[[], T], replayable: Callable[[], bool] = lambda: True) -> T:
        """`attempt()`, tried again after a retryable failure while retries are left and the
        attempt can be replayed."""
        retried = 0
        while True:
            try:
                return attempt()
            except _Retryable as failure:
                if retried == self._max_retries or not replayable():
                    if self._max_retries and replayable():
                        raise BackendError(
                            f"{failure.error.problem} (after {retried + 1} attempts)", failure.error.hint
                        ) from None
                    raise failure.error from None
                delay = min(_MAX_BACKOFF, self._backoff * 2**retried)
                if failure.retry_after is not None:
                    delay = max(delay, min(_MAX_BACKOFF, failure.retry_after))
                time.sleep(delay)
                retried += 1

    def _ask(self, model: str, messages: list[Message], temperature: float) -> str:
        with self._failures_explained(model, CHAT):
            reply = self._client.chat.completions.create(
                model=model, messages=messages, temperature=temperature  # type: ignore[arg-type]
            )
            choices = getattr(reply, "choices", None)
            if not isinstance(choices, list):
                raise self._malformed(CHAT)
            if not choices:
                return ""
            return choices[0].message.content or ""

    def _ask_streaming(self, model: str, messages: list[Message], temperature: float, sink: TokenSink) -> str:
        parts: list[str] = []
        finished = False
        with self._failures_explained(model, CHAT):
            stream = self._client.chat.completions.create(
                model=model, messages=messages, temperature=temperature, stream=True  # type: ignore[arg-type]
            )
            with stream:
                try:
                    for chunk in stream:
                        for choice in getattr(chunk, "choices", None) or ():
                            token = choice.delta.content if choice.delta else None
                            if token:
                                parts.append(token)
                                sink(token)
                            finished = finished or bool(choice.finish_reason)
                except openai.APITimeoutError:
                    raise
                except openai.APIConnectionError:
                    finished = False  # the connection dropped mid-stream: reported as cut below
        if not finished:
            raise BackendError(
                f"the reply stream from {self.base_url} ended before the reply was complete",
                "try again, or without --stream",
            )
        return "".join(parts)

    def _malformed(self, purpose: Purpose) -> BackendError:
        return BackendError(
            f"{purpose.endpoint} {self.base_url} sent a reply that is not {purpose.reply}",
            "check that --base-url is an OpenAI-compatible endpoint ending in /v1" + purpose.fallback,
        )

    @contextlib.contextmanager
    def _failures_explained(self, model: str | None, purpose: Purpose) -> Iterator[None]:
        """Turn any client failure inside the block into a BackendError or a _Retryable."""
        try:
            yield
        except _CLIENT_FAILURES as exc:
            raise self._explain(exc, model, purpose) from None

    def _explain(self, exc: BaseException, model: str | None, purpose: Purpose) -> BackendError | _Retryable:
        """The one-line BackendError for a client failure, wrapped in _Retryable if worth retrying."""
        where, fallback = f"{purpose.endpoint} {self.base_url}", purpose.fallback
        if isinstance(exc, openai.APITimeoutError):
            # Not retried: the user already waited the whole timeout once.
            return BackendError(f"{where} did not answer within {self._timeout:g} s",
                                "is the model still loading? try a longer --timeout" + fallback)
        if isinstance(exc, openai.APIConnectionError):
            return _Retryable(BackendError(f"cannot reach {where}",
                                           "is the server running? check --base-url" + fallback))
        if isinstance(exc, openai.APIStatusError):
            return self._explain_status(exc, model, purpose)
        if isinstance(exc, openai.APIError) and not isinstance(exc, openai.APIResponseValidationError):
            return BackendError(f"{where} reported an error: {self._redact(exc.message) or type(exc).__name__}",
                                f"check {purpose.model_option} and the server's log" + fallback)
        return self._malformed(purpose)

    def _explain_status(self, exc: "openai.APIStatusError", model: str | None,
                        purpose: Purpose) -> BackendError | _Retryable:
        where, code, fallback = f"{purpose.endpoint} {self.base_url}", exc.status_code, purpose.fallback
        detail = self._redact(_server_message(exc))
        if code in (401, 403):
            return BackendError(f"{where} refused the API key (HTTP {code})",
                                "check --api-key / OPENAI_API_KEY" + fallback)
        if code == 404:
            if model is None or "model" not in detail.lower():
                return BackendError(f"{where} has no such API path (HTTP 404)",
                                    "check that --base-url ends in /v1 (e.g. http://localhost:11434/v1)" + fallback)
            return BackendError(
                f"model {model!r} not found at {self.base_url}",
                f"list the served models with `curl {self.base_url}/models` and pass {purpose.model_option} NAME"
                + fallback,
            )
        if code == 429:
            return _Retryable(
                BackendError(f"{where} is rate-limiting requests (HTTP 429)",
                             "wait a minute and try again, or check your plan's limits" + fallback),
                retry_after=_retry_after(exc),
            )
        if code >= 500:
            return _Retryable(
                BackendError(f"{where} failed with HTTP {code}" + (f": {detail}" if detail else ""),
                             "check the server's log, or try again later" + fallback),
                retry_after=_retry_after(exc),
            )
        return BackendError(
            f"{where} rejected the request (HTTP {code}" + (f": {detail})" if detail else ")"),
            f"check {purpose.model_option} and the server's log" + fallback,
        )

    def _redact(self, text: str) -> str:
        text = " ".join(text.split())[:200]
        return text.replace(self._key, "***") if self._key else text


class OpenAIChat:
    """A chat model at an OpenAI-compatible endpoint: messages in, text out (optionally streamed)."""

    def __init__(self, client: OpenAIClient, *, model: str | None, temperature: float) -> None:
        self._client = client
        self.model = model
        self._temperature = temperature

    @property
    def base_url(self) -> str:
        return self._client.base_url

    @classmethod
    def from_settings(cls, settings: Settings) -> "OpenAIChat":
        client = OpenAIClient.from_settings(settings, chat_endpoint(settings))
        return cls(client, model=settings.model, temperature=settings.temperature)

    def complete(self, messages: Sequence[Message], *, stream_to: TokenSink | None = None) -> str:
        model = self.model or self._only_served_model()
        self.model = model
        text = self._client.chat(model, messages, temperature=self._temperature, stream_to=stream_to)
        text = _THINKING.sub("", text).strip()
        if not text:
            raise BackendError(
                f"the model {model!r} at {self.base_url} returned an empty reply",
                "try again, or another --model",
            )
        return text

    def _only_served_model(self) -> str:
        """With no model configured, the endpoint's only model; several or none is an error."""
        served = self._client.served_models()
        if len(served) == 1:
            return served[0]
        listing = ", ".join(served[:10]) + (", ..." if len(served) > 10 else "") if served else "none"
        raise BackendError(
            f"no model chosen and the endpoint {self.base_url} serves {len(served)} ({listing})",
            "pass --model NAME or set ASSISTANT_MODEL",
        )


def _server_message(exc: "openai.APIStatusError") -> str:
    body: Any = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        message = error.get("message") if isinstance(error, dict) else error
        return str(message or "")
    return str(body or "")


def _retry_after(exc: "openai.APIStatusError") -> float | None:
    try:
        return float(exc.response.headers.get("retry-after", ""))
    except ValueError:
        return None
