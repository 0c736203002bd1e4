"""A chat backend for any OpenAI-compatible endpoint (OpenAI, Ollama, vLLM, llama-server, LM Studio).

Uses the official `openai` client, imported when this module is (only when this backend is
chosen). Retries are ours, not the client's, so that the backoff is a setting and a stream that
already showed tokens is never replayed. Every failure becomes one BackendError line naming the
endpoint (never the key) and what to try.
"""

from __future__ import annotations

import contextlib
import re
import time
from typing import Any, Iterator, Sequence

import openai

from ..config import Settings
from ..errors import BackendError
from .base import Message, TokenSink

OPENAI_URL = "https://api.openai.com/v1"
# Sent when no key is configured, so the client never reads OPENAI_API_KEY by itself and a real
# key cannot reach a server the user did not give it to (local servers ignore the key).
PLACEHOLDER_KEY = "sk-no-key-configured"
_MAX_BACKOFF = 8.0
# What the client raises for a failed call: its own errors, and decoding errors on a garbled body
# or stream. Errors from the token sink (e.g. a closed pipe) are not among them and propagate.
_CLIENT_FAILURES = (openai.OpenAIError, ValueError, TypeError, AttributeError)
_THINKING = re.compile(r"<think>.*?(?:</think>|$)\s*", re.DOTALL)


class _Retryable(Exception):
    """A failure worth another attempt (429, 5xx, connection refused or reset)."""

    def __init__(self, error: BackendError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class OpenAICompatBackend:
    name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str | None,
        timeout: float,
        max_retries: int,
        retry_backoff: float,
        temperature: float,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._key = api_key
        self._timeout = timeout
        self._max_retries = max(0, max_retries)
        self._backoff = max(0.0, retry_backoff)
        self._temperature = temperature
        self._client = openai.OpenAI(
            base_url=self.base_url,
            api_key=api_key or PLACEHOLDER_KEY,
            timeout=timeout,
            max_retries=0,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> "OpenAICompatBackend":
        base_url = settings.base_url
        if not base_url:
            if not settings.api_key:
                raise BackendError(
                    "the openai backend needs an endpoint",
                    "pass --base-url (e.g. http://localhost:11434/v1 for Ollama) or set OPENAI_BASE_URL; "
                    "for api.openai.com set OPENAI_API_KEY; or use --backend extractive",
                )
            base_url = OPENAI_URL  # explicitly chosen openai backend with a key: OpenAI itself
        return cls(
            base_url=base_url,
            api_key=settings.api_key.reveal(),
            model=settings.model,
            timeout=settings.timeout,
            max_retries=settings.max_retries,
            retry_backoff=settings.retry_backoff,
            temperature=settings.temperature,
        )

    def complete(self, messages: Sequence[Message], *, stream_to: TokenSink | None = None) -> str:
        model = self.model or self._only_served_model()
        self.model = model
        streamed: list[str] = []  # tokens already shown: a stream that showed any is not replayed

        def sink(token: str) -> None:
            streamed.append(token)
            if stream_to is not None:
                stream_to(token)

        for attempt in range(self._max_retries + 1):
            try:
                if stream_to is None:
                    text = self._ask(model, list(messages))
                else:
                    text = self._ask_streaming(model, list(messages), sink)
                break
            except _Retryable as failure:
                if attempt == self._max_retries or streamed:
                    if self._max_retries and not streamed:
                        raise BackendError(
                            f"{failure.error.problem} (after {attempt + 1} attempts)", failure.error.hint
                        ) from None
                    raise failure.error from None
                delay = min(_MAX_BACKOFF, self._backoff * 2**attempt)
                if failure.retry_after is not None:
                    delay = max(delay, min(_MAX_BACKOFF, failure.retry_after))
                time.sleep(delay)
        text = _THINKING.sub("", text).strip()
        if not text:
            raise BackendError(
                f"the model {model!r} at {self.base_url} returned an empty reply",
                "try again, or another --model",
            )
        return text

    def _ask(self, model: str, messages: list[Message]) -> str:
        with self._failures_explained(model):
            reply = self._client.chat.completions.create(
                model=model, messages=messages, temperature=self._temperature  # type: ignore[arg-type]
            )
            choices = getattr(reply, "choices", None)
            if not isinstance(choices, list):
                raise self._malformed()
            if not choices:
                return ""
            return choices[0].message.content or ""

    def _ask_streaming(self, model: str, messages: list[Message], sink: TokenSink) -> str:
        parts: list[str] = []
        finished = False
        with self._failures_explained(model):
            stream = self._client.chat.completions.create(
                model=model, messages=messages, temperature=self._temperature, stream=True  # type: ignore[arg-type]
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

    def _only_served_model(self) -> str:
        """With no model configured, the endpoint's only model; several or none is an error."""
        with self._failures_explained(None):
            served = sorted(m.id for m in self._client.models.list())
        if len(served) == 1:
            return served[0]
        listing = ", ".join(served[:10]) + (", ..." if len(served) > 10 else "") if served else "none"
        raise BackendError(
            f"no model chosen and the endpoint {self.base_url} serves {len(served)} ({listing})",
            "pass --model NAME or set ASSISTANT_MODEL",
        )

    def _malformed(self) -> BackendError:
        return BackendError(
            f"the endpoint {self.base_url} sent a reply that is not an OpenAI chat completion",
            "check that --base-url is an OpenAI-compatible endpoint ending in /v1",
        )

    @contextlib.contextmanager
    def _failures_explained(self, model: str | None) -> Iterator[None]:
        """Turn any client failure inside the block into a BackendError or a _Retryable."""
        try:
            yield
        except _CLIENT_FAILURES as exc:
            raise self._explain(exc, model) from None

    def _explain(self, exc: BaseException, model: str | None) -> BackendError | _Retryable:
        """The one-line BackendError for a client failure, wrapped in _Retryable if worth retrying."""
        url = self.base_url
        if isinstance(exc, openai.APITimeoutError):
            # Not retried: the user already waited the whole timeout once.
            return BackendError(
                f"the endpoint {url} did not answer within {self._timeout:g} s",
                "is the model still loading? try a longer --timeout",
            )
        if isinstance(exc, openai.APIConnectionError):
            return _Retryable(BackendError(
                f"cannot reach the endpoint {url}", "is the server running? check --base-url"
            ))
        if isinstance(exc, openai.APIStatusError):
            return self._explain_status(exc, model)
        if isinstance(exc, openai.APIError) and not isinstance(exc, openai.APIResponseValidationError):
            return BackendError(
                f"the endpoint {url} reported an error: {self._redact(exc.message) or type(exc).__name__}",
                "check --model and the server's log",
            )
        return self._malformed()

    def _explain_status(self, exc: "openai.APIStatusError", model: str | None) -> BackendError | _Retryable:
        url, code = self.base_url, exc.status_code
        detail = self._redact(_server_message(exc))
        if code in (401, 403):
            return BackendError(
                f"the endpoint {url} refused the API key (HTTP {code})", "check --api-key / OPENAI_API_KEY"
            )
        if code == 404:
            if model is None or "model" not in detail.lower():
                return BackendError(
                    f"the endpoint {url} has no such API path (HTTP 404)",
                    "check that --base-url ends in /v1 (e.g. http://localhost:11434/v1)",
                )
            return BackendError(
                f"model {model!r} not found at {url}",
                f"list the served models with `curl {url}/models` and pass --model NAME",
            )
        if code == 429:
            return _Retryable(
                BackendError(f"the endpoint {url} is rate-limiting requests (HTTP 429)",
                             "wait a minute and try again, or check your plan's limits"),
                retry_after=_retry_after(exc),
            )
        if code >= 500:
            return _Retryable(
                BackendError(f"the endpoint {url} failed with HTTP {code}" + (f": {detail}" if detail else ""),
                             "check the server's log, or try again later"),
                retry_after=_retry_after(exc),
            )
        return BackendError(
            f"the endpoint {url} rejected the request (HTTP {code}" + (f": {detail})" if detail else ")"),
            "check --model and the server's log",
        )

    def _redact(self, text: str) -> str:
        text = " ".join(text.split())[:200]
        return text.replace(self._key, "***") if self._key else text


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
