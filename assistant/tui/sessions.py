"""The session list: earlier chats, most recent first; Enter reopens one, d deletes it."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..text import printable
from .session_store import SessionStore, SessionSummary


def session_label(session: SessionSummary, current: str) -> Content:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(session.updated_at))
    marker = "  (this session)" if session.id == current else ""
    return Content.assemble(
        (printable(session.title) or "(untitled)", "bold"), "\n",
        (f"{session.id} · {when} · {session.turns} turn{'s' * (session.turns != 1)}{marker}", "dim"),
    )


class SessionsScreen(ModalScreen[str | None]):
    """Dismisses with the chosen session id, or None."""

    CSS_PATH = "sessions.tcss"
    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("d,delete", "delete", "Delete session"),
    ]

    def __init__(self, store: SessionStore, current: str) -> None:
        super().__init__()
        self._store = store
        self._current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="sessions-dialog"):
            yield Static("Sessions · Enter opens · d deletes · Esc closes", id="sessions-title")
            yield OptionList(id="sessions-list")

    def on_mount(self) -> None:
        self._fill()

    def _fill(self) -> None:
        sessions = self._store.sessions()
        listing = self.query_one(OptionList)
        listing.clear_options()
        if not sessions:
            listing.add_option(Option(Content.styled("No saved sessions yet: ask a question first.", "dim italic"),
                                      disabled=True))
            return
        options: list[Option | None] = []
        for session in sessions:
            options += [Option(session_label(session, self._current), id=session.id), None]
        listing.add_options(options[:-1])
        listing.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_delete(self) -> None:
        option = self.query_one(OptionList).highlighted_option
        if option is None or option.id is None:
            return
        if option.id == self._current:
            self.notify("This is the open session; start a new chat (ctrl+n) before deleting it.", severity="warning")
            return
        self._store.delete_session(option.id)
        self._fill()
