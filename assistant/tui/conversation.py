"""The conversation: a scrolling column of turns (the user's lines and what came back).

A `Turn` that has sources (an answer, search results, a related-work section) is focusable:
focusing or clicking it, or clicking one of its citation links, posts `Turn.SourcesWanted`,
which the app answers by showing the turn's papers in the sources panel.
"""

from __future__ import annotations

import re

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Markdown, Static

from ..text import printable
from .sources import Source

WELCOME = """\
### Ask the papers

Every sentence of an answer is cited as [n] to a paper in the index, and the cited abstracts
appear on the right with the supporting sentence highlighted.

Try *which papers stabilize attention?*, `/search streaming speech recognition`,
`/related pseudo-labeling for ASR` or `/papers`. `/help` (or F1) lists every command and key.
"""
_QUESTION_SHOWN_CHARS = 600
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def escape_markdown(text: str) -> str:
    """Text that Markdown shows literally (titles and abstracts contain * _ [ ] and friends),
    without control characters."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(printable(text).split()))


def cite_link(number: int, key: str) -> str:
    """A clickable [n] marker (Markdown link with the paper key in the target)."""
    return f"[\\[{number}\\]](cite:{key})"


def paper_link(text: str, key: str) -> str:
    return f"[{escape_markdown(text)}](cite:{key})"


class LinkedMarkdown(Markdown):
    """Markdown whose cite: links select a paper instead of opening a browser."""

    def __init__(self, markdown: str | None = None, **kwargs) -> None:
        super().__init__(markdown, open_links=False, **kwargs)


class Turn(Vertical):
    """A conversation entry with papers behind it."""

    can_focus = True

    class SourcesWanted(Message):
        def __init__(self, turn: "Turn", key: str | None = None) -> None:
            super().__init__()
            self.turn = turn
            self.key = key

    def sources(self) -> list[Source]:
        return []

    @property
    def sources_title(self) -> str:
        return "Sources"

    def on_focus(self) -> None:
        self.post_message(self.SourcesWanted(self))

    def on_markdown_link_clicked(self, event: Markdown.LinkClicked) -> None:
        event.stop()
        scheme, _, key = event.href.partition(":")
        if scheme == "cite" and key:
            self.focus(scroll_visible=False)
            self.post_message(self.SourcesWanted(self, key))


class UserTurn(Static):
    """What the user typed (a very long paste is shown shortened; the full text is what is sent)."""

    def __init__(self, text: str) -> None:
        shown = text if len(text) <= _QUESTION_SHOWN_CHARS else (
            text[:_QUESTION_SHOWN_CHARS] + f"… ({len(text):,} characters)")
        super().__init__(Content.assemble(("You  ", "bold $text-primary"), printable(shown)))


class Conversation(VerticalScroll):
    """The turns, newest at the bottom; it follows the bottom while an answer streams in."""

    def compose(self) -> ComposeResult:
        yield Markdown(WELCOME, id="welcome")

    def on_mount(self) -> None:
        self.anchor()

    async def add(self, *turns: Widget) -> None:
        self.query_one("#welcome").display = False
        await self.mount_all(turns)
        self.scroll_end(animate=False)

    async def clear(self) -> None:
        await self.query_children().exclude("#welcome").remove()
        self.query_one("#welcome").display = True

    def turns(self) -> list[Turn]:
        return list(self.query(Turn))
