"""The backend registry: every answer backend a user can choose, by name.

Config validation, the CLI's --backend choices, the chat's /backend command and palette, and the
status bar all read BACKENDS, so adding a backend here is the whole of adding one. Importing this
module is cheap: each factory imports its drafter (and the openai client) only when called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlparse

from ..llm.base import OPENAI_URL, chat_endpoint

if TYPE_CHECKING:
    from ..config import Settings
    from .drafting import Drafter


@dataclass(frozen=True)
class Backend:
    name: str
    description: str  # what answering with it means, in a few words
    open: Callable[[Settings], Drafter]  # the drafter; raises BackendError when it cannot work
    check: Callable[[Settings], object]  # raises the BackendError `open` would, without opening anything
    describe_model: Callable[[Settings], str]  # the model as the status bar names it (never the key)


def _open_extractive(settings: Settings) -> Drafter:
    from .extractive import ExtractiveDrafter

    return ExtractiveDrafter()


def _open_openai(settings: Settings) -> Drafter:
    from ..llm.base import open_chat
    from .model_drafter import ModelDrafter

    return ModelDrafter("openai", open_chat(settings), citation_format=settings.citation_format,
                        context_tokens=settings.context_tokens, data_dir=settings.data_dir)


def _describe_openai_model(settings: Settings) -> str:
    host = urlparse(settings.base_url or OPENAI_URL).netloc
    return f"{settings.model or '(no model set)'} @ {host}"


BACKENDS: dict[str, Backend] = {
    backend.name: backend for backend in (
        Backend("extractive", "Answer by quoting the abstracts (no model)",
                _open_extractive, lambda settings: None, lambda settings: "no model"),
        Backend("openai", "Answer with the configured OpenAI-compatible endpoint",
                _open_openai, chat_endpoint, _describe_openai_model),
    )
}


def open_drafter(settings: Settings) -> Drafter:
    """The drafter of the backend the settings choose (--backend, else openai when an endpoint is
    set, else extractive)."""
    return BACKENDS[settings.chosen_backend].open(settings)
