"""The one way in to an answer backend, and the factory that picks it from Settings.

There are two kinds of backend and they are honestly different:
- a `ChatBackend` is a chat model behind an endpoint: messages in, text out (optionally
  streamed token by token);
- the extractive backend is no model at all: it drafts an answer by quoting the evidence
  (see extractive.py).
Both carry `name` and `model`, which every Answer reports, and both drafts go through the same
citation enforcement in the answer layer.
"""

from __future__ import annotations

from typing import Callable, Protocol, Sequence, TypedDict

from ..config import Settings

TokenSink = Callable[[str], None]


class Message(TypedDict):
    role: str  # "system" | "user" | "assistant"
    content: str


class Backend(Protocol):
    name: str  # "openai" | "extractive"
    model: str | None  # the model's name; None when no model is involved


class ChatBackend(Backend, Protocol):
    def complete(self, messages: Sequence[Message], *, stream_to: TokenSink | None = None) -> str:
        """The model's reply to `messages`; each token goes to `stream_to` as it arrives.

        Raises BackendError (one line naming the endpoint and what to try) on any failure.
        """
        ...


def open_backend(settings: Settings) -> Backend:
    """The backend the settings choose: --backend, else openai when an endpoint is set, else extractive.

    The openai client is imported only here, and only when that backend is chosen.
    """
    if settings.chosen_backend == "openai":
        from .openai_compat import OpenAICompatBackend

        return OpenAICompatBackend.from_settings(settings)
    from .extractive import ExtractiveBackend

    return ExtractiveBackend(settings.extractive)
