"""The one client for any OpenAI-compatible endpoint (OpenAI, Ollama, vLLM, llama-server, LM Studio):
chat completions and embeddings.

Uses the official `openai` client, imported when this module is (only when an endpoint is used).
One retry policy serves every call, and it is ours, not the client's, so that the backoff is a
setting and a stream that already showed tokens is never replayed: 429, 5xx and refused or reset
connections are retried with doubling backoff (longer if the server asks), a timeout is not (the
user already waited once). One placeholder key: the client never reads OPENAI_API_KEY by itself.
Every failure becomes one BackendError line naming the endpoint (never the key) and what to try.

Time and size are bounded: `timeout` is a deadline for the whole chat request (a server dripping
one token every few seconds ends there too), the reply is asked for at most `max_tokens` and is
read up to REPLY_CHAR_CAP characters, and a body cut off halfway is reported as cut, not as an
unreachable endpoint.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence, TypeVar

import openai

try:  # the HTTP library the openai client reads replies with: httpx2 since openai 3, httpx before
    import httpx2 as httpx
except ImportError:  # pragma: no cover - depends on the installed openai
    import httpx  # type: ignore[no-redef]

from ..errors import BackendError
from .base import Message, TokenSink, chat_endpoint

if TYPE_CHECKING:
    from ..config import Settings

# Sent when no key is configured, so the client never reads OPENAI_API_KEY by itself and a real
# key cannot reach a server the user did not give it to (local servers ignore the key).
PLACEHOLDER_KEY = "sk-no-key-configured"
_MAX_BACKOFF = 8.0
# The most of a reply that is read: an answer or a related-work section is a few thousand
# characters; anything past this is a runaway model or a hostile server.
REPLY_CHAR_CAP = 32_000
_CHARS_PER_TOKEN = 4  # a rough count of prompt tokens, for messages about prompt size
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


@dataclass(frozen=True)
class Reply:
    text: str
    capped: bool  # cut at REPLY_CHAR_CAP


class _Retryable(Exception):
    """A failure worth another attempt (429, 5xx, connection refused or reset)."""

    def __init__(self, error: BackendError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


class OpenAIClient:
    """One endpoint: its base URL, key, timeout and retry policy, for chat and embeddings alike."""

    def __init__(self, *, base_url: str, api_key: str, timeout: float, max_retries: int,
                 retry_backoff: float, max_tokens: int | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self._timeout = timeout
        self._max_tokens = max_tokens
        self._max_retries = max(0, max_retries)
        self._backoff = max(0.0, retry_backoff)
        self._client = openai.OpenAI(base_url=self.base_url, api_key=api_key or PLACEHOLDER_KEY,
                                     timeout=timeout, max_retries=0)

    @classmethod
    def from_settings(cls, settings: Settings, base_url: str) -> "OpenAIClient":
        return cls(base_url=base_url, api_key=settings.api_key.reveal(), timeout=settings.timeout,
                   max_retries=settings.max_retries, retry_backoff=settings.retry_backoff,
                   max_tokens=settings.max_tokens)

    def chat(self, model: str, messages: Sequence[Message], *, temperature: float,
             stream_to: TokenSink | None = None, response_format: dict[str, Any] | None = None,
             retry: bool = True) -> "Reply":
        """The reply, within the deadline; with `stream_to`, streamed token by token.

        `response_format` is sent as given (servers differ in which forms they accept); with
        `retry` False a failure is reported at once, as when probing what a server accepts.
        """
        streamed: list[str] = []  # tokens already shown: a stream that showed any is not replayed
        late = threading.Event()  # set at the deadline: the abandoned request shows nothing more
        prompt_chars = sum(len(m["content"]) for m in messages)
        extra: dict[str, Any] = {"temperature": temperature}
        if self._max_tokens:
            extra["max_tokens"] = self._max_tokens
        if response_format is not None:
            extra["response_format"] = response_format

        def sink(token: str) -> None:
            if late.is_set():
                return
            streamed.append(token)
            if stream_to is not None:
                stream_to(token)

        def attempt() -> Reply:
            if stream_to is None:
                return self._ask(model, list(messages), extra, late)
            return self._ask_streaming(model, list(messages), extra, sink, late)

        def request() -> Reply:
            if not retry:
                try:
                    return attempt()
                except _Retryable as failure:
                    raise failure.error from None
            return self._with_retries(attempt, replayable=lambda: not streamed)

        return self._by_deadline(request, late, prompt_chars)

    def _by_deadline(self, request: Callable[[], T], late: threading.Event, prompt_chars: int) -> T:
        """`request()`, abandoned when it has not finished `timeout` seconds after it started.

        The client's own timeout only bounds the wait for each chunk; the request runs in a
        daemon thread so that the deadline holds however slowly the server sends.
        """
        outcome: list[tuple[bool, Any]] = []

        def run() -> None:
            try:
                outcome.append((True, request()))
            except BaseException as exc:  # handed to the caller's thread below
                outcome.append((False, exc))

        worker = threading.Thread(target=run, name="chat-request", daemon=True)
        worker.start()
        worker.join(self._timeout)
        if not outcome:
            late.set()
            raise self._too_slow(CHAT, prompt_chars)
        ok, value = outcome[0]
        if ok:
            return value
        raise value

    def _too_slow(self, purpose: Purpose, prompt_chars: int | None = None) -> BackendError:
        size = (f" (the prompt was about {prompt_chars // _CHARS_PER_TOKEN:,} tokens; a CPU model reads "
                "roughly 100-200 a second)" if prompt_chars else "")
        return BackendError(f"{purpose.endpoint} {self.base_url} did not answer within {self._timeout:g} s{size}",
                            "is the model still loading? try a longer --timeout, fewer papers (-k) "
                            "or a smaller --context-tokens" + purpose.fallback)

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

    def context_window(self, model: str | None) -> int | None:
        """The model's context window as the server reports it: llama-server's /props, Ollama's
        /api/show (its default window is 2,048 tokens unless num_ctx is set), vLLM's
        max_model_len; None when it does not say (llama-cpp-python, OpenAI)."""
        root = re.sub(r"/v1$", "", self.base_url)
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        try:
            with httpx.Client(timeout=min(5.0, self._timeout), headers=headers) as http:
                props = _json_or_none(http.get(f"{root}/props"))
                if isinstance(props, dict):
                    settings = props.get("default_generation_settings") or {}
                    n_ctx = props.get("n_ctx") or (settings.get("n_ctx") if isinstance(settings, dict) else None)
                    if isinstance(n_ctx, int) and n_ctx > 0:
                        return n_ctx
                if model:
                    shown = _json_or_none(http.post(f"{root}/api/show", json={"model": model}))
                    if isinstance(shown, dict) and "model_info" in shown:
                        found = re.search(r"\bnum_ctx\s+(\d+)", str(shown.get("parameters") or ""))
                        return int(found.group(1)) if found else 2048
                listed = _json_or_none(http.get(f"{self.base_url}/models"))
                for entry in (listed or {}).get("data", []) if isinstance(listed, dict) else []:
                    if isinstance(entry, dict) and entry.get("id") == model and isinstance(entry.get("max_model_len"), int):
                        return entry["max_model_len"]
        except httpx.HTTPError:
            return None
        return None

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

    def _ask(self, model: str, messages: list[Message], extra: dict[str, Any], late: threading.Event) -> "Reply":
        """The whole reply of a non-streamed request, read up to REPLY_CHAR_CAP (more is refused:
        a JSON body cannot be read in part)."""
        body = bytearray()
        with self._failures_explained(model, CHAT):
            with self._client.chat.completions.with_streaming_response.create(
                model=model, messages=messages, **extra  # type: ignore[arg-type]
            ) as response:
                with self._reading_body(body):
                    for chunk in response.iter_bytes():
                        body += chunk
                        if late.is_set():
                            return Reply("", capped=False)
                        if len(body) > 4 * REPLY_CHAR_CAP:
                            raise BackendError(
                                f"the endpoint {self.base_url} sent a reply of over {4 * REPLY_CHAR_CAP:,} bytes",
                                "check the server's max_tokens limit, or use --stream")
        try:
            reply = json.loads(body)
            choices = reply["choices"] if isinstance(reply, dict) else None
        except (ValueError, KeyError):
            choices = None
        if not isinstance(choices, list):
            raise self._malformed(CHAT)
        if not choices:
            return Reply("", capped=False)
        message = choices[0].get("message") if isinstance(choices[0], dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        if content is not None and not isinstance(content, str):
            raise self._malformed(CHAT)
        content = content or ""
        return Reply(content[:REPLY_CHAR_CAP], capped=len(content) > REPLY_CHAR_CAP)

    def _ask_streaming(self, model: str, messages: list[Message], extra: dict[str, Any], sink: TokenSink,
                       late: threading.Event) -> "Reply":
        parts: list[str] = []
        size = 0
        finished = capped = False
        with self._failures_explained(model, CHAT):
            stream = self._client.chat.completions.create(
                model=model, messages=messages, stream=True, **extra  # type: ignore[arg-type]
            )
            with stream:
                try:
                    for chunk in stream:
                        for choice in getattr(chunk, "choices", None) or ():
                            token = choice.delta.content if choice.delta else None
                            if token:
                                parts.append(token)
                                size += len(token)
                                sink(token)
                            finished = finished or bool(choice.finish_reason)
                        if late.is_set():
                            return Reply("", capped=False)
                        if size > REPLY_CHAR_CAP:
                            finished = capped = True  # enough: stop reading a runaway reply
                            break
                except openai.APITimeoutError:
                    raise
                except (openai.APIConnectionError, httpx.TransportError):
                    finished = False  # the connection dropped mid-stream: reported as cut below
        if not finished:
            raise BackendError(
                f"the reply stream from {self.base_url} ended before the reply was complete",
                "try again, or without --stream",
            )
        text = "".join(parts)
        return Reply(text[:REPLY_CHAR_CAP], capped=capped)

    @contextlib.contextmanager
    def _reading_body(self, body: bytearray) -> Iterator[None]:
        """A connection failure while the body arrives: the reply was cut, the server was reached."""
        try:
            yield
        except httpx.TimeoutException:
            raise self._too_slow(CHAT) from None
        except (httpx.TransportError, openai.APIConnectionError):
            raise _Retryable(BackendError(
                f"the reply from {self.base_url} was cut off after {len(body):,} bytes",
                "the server closed the connection mid-reply: check its log, or try again")) from None

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
            return self._too_slow(purpose)
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
        self.capped = False  # the last reply was cut at REPLY_CHAR_CAP

    @property
    def base_url(self) -> str:
        return self._client.base_url

    @classmethod
    def from_settings(cls, settings: Settings) -> "OpenAIChat":
        client = OpenAIClient.from_settings(settings, chat_endpoint(settings))
        return cls(client, model=settings.model, temperature=settings.temperature)

    def complete(self, messages: Sequence[Message], *, stream_to: TokenSink | None = None,
                 response_format: dict[str, Any] | None = None, retry: bool = True) -> str:
        model = self.model or self._only_served_model()
        self.model = model
        reply = self._client.chat(model, messages, temperature=self._temperature, stream_to=stream_to,
                                  response_format=response_format, retry=retry)
        self.capped = reply.capped
        text = _THINKING.sub("", reply.text).strip()
        if not text:
            raise BackendError(
                f"the model {model!r} at {self.base_url} returned an empty reply",
                "try again, or another --model",
            )
        return text

    def context_window(self) -> int | None:
        """The context window the server gives the model, when it tells; else None."""
        return self._client.context_window(self.model)

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


def _json_or_none(response: httpx.Response) -> Any:
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:
        return None
