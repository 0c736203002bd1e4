"""Transport to models: what a chat model is to the answer layer, and how one is opened.

`llm/` knows nothing of evidence, citations or answers: it carries messages to a chat model and
texts to an embeddings endpoint (openai_compat.py), and turns every failure into one
BackendError line. Drafting (what to ask, what to do with the reply) lives in `answer/`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Protocol, Sequence, TypedDict

from ..errors import BackendError

if TYPE_CHECKING:
    from ..config import Settings

TokenSink = Callable[[str], None]
OPENAI_URL = "https://api.openai.com/v1"


class Message(TypedDict):
    role: str  # "system" | "user" | "assistant"
    content: str


class ChatModel(Protocol):
    model: str | None  # the model's name; None until the endpoint's only model is looked up
    base_url: str

    def complete(self, messages: Sequence[Message], *, stream_to: TokenSink | None = None,
                 response_format: dict[str, Any] | None = None, retry: bool = True) -> str:
        """The model's reply to `messages`; each token goes to `stream_to` as it arrives.

        `response_format` asks for structured output in the server's dialect; with `retry`
        False a failure is reported at once (as when probing which dialect a server speaks).
        Raises BackendError (one line naming the endpoint and what to try) on any failure.
        """
        ...

    def context_window(self) -> int | None:
        """The model's context window in tokens, when the server tells; else None."""
        ...


def chat_endpoint(settings: Settings) -> str:
    """The chat endpoint the settings name: base_url, else OpenAI itself when only a key is set."""
    if settings.base_url:
        return settings.base_url
    if not settings.api_key:
        raise BackendError(
            "the openai backend needs an endpoint",
            "pass --base-url (e.g. http://localhost:11434/v1 for Ollama) or set OPENAI_BASE_URL; "
            "for api.openai.com set OPENAI_API_KEY; or use the extractive backend",
        )
    return OPENAI_URL


def open_chat(settings: Settings) -> ChatModel:
    """The chat model at the settings' endpoint; the openai client is imported only here."""
    from .openai_compat import OpenAIChat

    return OpenAIChat.from_settings(settings)
