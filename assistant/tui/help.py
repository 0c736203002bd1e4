"""The help screen: every slash command and key binding, read from the same tables the app uses."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static

from .commands import COMMANDS


def help_markdown(keys: list[tuple[str, str]]) -> str:
    commands = "\n".join(f"- `{command.usage}` {command.summary}" for command in COMMANDS)
    bindings = "\n".join(f"- `{key}` {description}" for key, description in keys)
    return f"""\
Type a question and press **Enter**: the answer cites every sentence as [n] and the cited
abstracts appear in the sources panel with the supporting sentence highlighted. Click a marker
or a reference to show that paper; from the keyboard, **shift+tab** focuses the latest answer,
**1**-**9** show its references, and **ctrl+o** moves into the sources panel.

**Commands**

{commands}

**Keys**

{bindings}
"""


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self._keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-dialog"):
            yield Static("Help · press Esc to close", id="help-title")
            yield Markdown(help_markdown(self._keys))
