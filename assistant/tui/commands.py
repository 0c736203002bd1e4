"""The chat's commands: one table that the slash-command parser, the help screen and the
command palette all read, so the three can never disagree.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from ..answer.backends import BACKENDS
from ..errors import InputError

if TYPE_CHECKING:
    from .app import ChatApp


@dataclass(frozen=True)
class ChatCommand:
    name: str
    arguments: str  # how the argument is written in /help, "" when it takes none
    summary: str
    argument_required: bool = False

    @property
    def usage(self) -> str:
        return f"/{self.name} {self.arguments}".rstrip()


COMMANDS: tuple[ChatCommand, ...] = (
    ChatCommand("search", "QUERY", "Rank the papers that match QUERY (no answer, just evidence)", True),
    ChatCommand("related", "TOPIC", "Write a cited related-work section on TOPIC", True),
    ChatCommand("papers", "[WORD]", "List the papers, newest first (WORD: those with it in title, authors or key)"),
    ChatCommand("filter", "[year=2020-2023] [author=NAME] [category=CL]",
                "Restrict retrieval (/filter clear removes every filter; alone, shows them)"),
    ChatCommand("backend", "[NAME]", f"Show the answer backend, or switch to {' or '.join(BACKENDS)}"),
    ChatCommand("export", "[PATH]", "Save this session as Markdown, with a .bib of every cited paper"),
    ChatCommand("copy", "", "Copy the last answer as Markdown, with its references"),
    ChatCommand("sessions", "", "Browse and reopen earlier sessions"),
    ChatCommand("clear", "", "Clear the screen and start a new session (the old one stays in /sessions)"),
    ChatCommand("help", "", "Show commands and keys"),
)
_BY_NAME = {command.name: command for command in COMMANDS}


@dataclass(frozen=True)
class SlashCommand:
    command: ChatCommand
    argument: str


def parse_slash(text: str) -> SlashCommand:
    """`/name argument...` -> the command and its argument text; InputError for unknown or incomplete ones."""
    name, _, argument = text.strip().removeprefix("/").partition(" ")
    command = _BY_NAME.get(name.lower())
    if command is None:
        raise InputError(f"unknown command /{name}", "type /help for the list of commands")
    argument = argument.strip()
    if command.argument_required and not argument:
        raise InputError(f"/{command.name} needs {command.arguments}", f"e.g. {command.usage}")
    return SlashCommand(command, argument)


# What each /filter field sets in Filters.
FILTER_FIELDS = {"year": ("year_from", "year_to"), "author": ("author",), "category": ("category",)}


def parse_filter_arguments(argument: str) -> dict[str, str]:
    """`year=2020-2023 author="Li Wang"` (or `author=Li Wang`) -> {"year": ..., "author": ...}."""
    try:
        words = shlex.split(argument)
    except ValueError as exc:
        raise InputError(f"cannot read the filter ({exc})", 'quote names with spaces: author="Li Wang"') from None
    values: dict[str, str] = {}
    field = None
    for word in words:
        name, sep, value = word.partition("=")
        if sep and name.lower() in FILTER_FIELDS:
            field = name.lower()
            values[field] = value
        elif field is not None:  # an unquoted name with spaces continues the previous value
            values[field] = f"{values[field]} {word}".strip()
        else:
            raise InputError(f"cannot read the filter {word!r}",
                             "write year=2020-2023, author=NAME or category=CL (or /filter clear)")
    return values


class ChatCommands(Provider):
    """The command palette (ctrl+p): every slash command, plus one-step variants of some."""

    @property
    def chat(self) -> "ChatApp":
        return self.app  # type: ignore[return-value]

    def _entries(self) -> list[tuple[str, str, object]]:
        entries: list[tuple[str, str, object]] = []
        for command in COMMANDS:
            if command.argument_required:
                # Commands with an argument start a line in the input box for the user to finish.
                entries.append((command.usage, command.summary, partial(self.chat.start_command, command)))
            else:
                entries.append((command.usage, command.summary, partial(self.chat.run_command, f"/{command.name}")))
        for backend in BACKENDS.values():
            usage = f"/backend {backend.name}"
            entries.append((usage, backend.description, partial(self.chat.run_command, usage)))
        entries.append(("/filter clear", "Remove every retrieval filter", partial(self.chat.run_command, "/filter clear")))
        return entries

    async def discover(self) -> Hits:
        for name, summary, callback in self._entries():
            yield DiscoveryHit(Content(name), callback, help=summary)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, summary, callback in self._entries():
            score = max(matcher.match(name), matcher.match(summary) * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=summary)  # type: ignore[arg-type]
