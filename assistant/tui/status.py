"""The status bar: backend, model, index size, active filters and session, plus the index's
loading state and, during a first ingest, a progress bar.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import ProgressBar, Static

from ..answer.backends import BACKENDS
from ..config import Settings
from ..retrieve import Filters


def describe_filters(filters: Filters) -> str:
    if filters.is_empty():
        return "none"
    parts = []
    if filters.year_from or filters.year_to:
        low, high = filters.year_from or "", filters.year_to or ""
        parts.append(f"year {low}" if low == high else f"year {low}-{high}")
    if filters.author:
        parts.append(f"author {filters.author}")
    if filters.category:
        parts.append(f"category {filters.category}")
    return ", ".join(parts)


def describe_backend(settings: Settings) -> tuple[str, str]:
    """(backend, model) as the status bar names them; the endpoint by host only, never the key."""
    backend = settings.chosen_backend
    return backend, BACKENDS[backend].describe_model(settings)


class StatusBar(Horizontal):
    def __init__(self, settings: Settings, filters: Filters, session_id: str) -> None:
        super().__init__()
        self._settings = settings
        self._filters = filters
        self._session_id = session_id
        self._index_state = "loading index…"

    def compose(self) -> ComposeResult:
        yield Static(id="status-text")
        yield ProgressBar(id="ingest-progress", show_eta=False)

    def on_mount(self) -> None:
        self._render_text()

    def describe(self, *, settings: Settings | None = None, filters: Filters | None = None,
                 session_id: str | None = None) -> None:
        if settings is not None:
            self._settings = settings
        if filters is not None:
            self._filters = filters
        if session_id is not None:
            self._session_id = session_id
        self._render_text()

    def _render_text(self) -> None:
        backend, model = describe_backend(self._settings)
        label = "dim"
        parts = [
            ("backend ", label), (backend, "bold"), ("  model ", label), (model, "bold"),
            ("  index ", label), (self._index_state, "bold"),
            ("  filters ", label), (describe_filters(self._filters), "bold"),
            ("  session ", label), (self._session_id, "bold"),
        ]
        self.query_one("#status-text", Static).update(Content.assemble(*parts))

    def show_progress(self, stage: str, done: int, total: int) -> None:
        """Draw the progress of a first ingest (stage: chunking, embedding, storing)."""
        bar = self.query_one("#ingest-progress", ProgressBar)
        bar.display = True
        bar.update(total=max(total, 1), progress=done)
        self._index_state = f"ingesting: {stage} {done}/{total}"
        self._render_text()

    def show_index(self, state: str) -> None:
        """Name the index's state ("loading index…", "122 papers", "not available"), no progress bar."""
        self.query_one("#ingest-progress", ProgressBar).display = False
        self._index_state = state
        self._render_text()
