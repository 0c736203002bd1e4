"""`assistant chat`: the conversation on the left, the cited papers on the right.

Everything slow (opening the index, retrieval, the model) runs in background threads and reaches
the screen through the event loop, so the UI never blocks. Every failure becomes a one-line
notification: an AssistantError's own message, or for anything unexpected a short line pointing
at the log file under the data directory, where the traceback goes. No traceback reaches the
screen.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.suggester import SuggestFromList
from textual.widgets import Footer, Input
from textual.worker import Worker

from ..answer.backends import BACKENDS
from ..config import Settings, replace
from ..errors import AssistantError, IndexStoreError, InputError
from ..retrieve import Filters
from ..text import printable
from .answer_view import AnswerView
from .background import call_soon_from_thread, run_in_background
from .commands import COMMANDS, FILTER_FIELDS, ChatCommand, ChatCommands, parse_filter_arguments, parse_slash
from .conversation import Conversation, Turn, UserTurn
from .help import HelpScreen
from .related_view import RelatedWorkView
from .results import PapersView, SearchResultsView, listed_papers
from .sessions import SessionsScreen
from .sources import SourcesPanel
from .status import StatusBar, describe_backend, describe_filters
from .session_store import SessionStore, StoredTurn, new_session_id
from ..answer.model import answer_from_dict
from .transcript import export_session

if TYPE_CHECKING:
    from ..answer.model import Answer
    from ..corpus.paper import Paper
    from ..answer.drafting import Drafter
    from ..llm.base import TokenSink
    from ..retrieve import ProgressCallback, Retriever

LOG_FILE = "chat.log"
_log = logging.getLogger("assistant.tui")


class ChatApp(App[None]):
    TITLE = "assistant chat"
    CSS_PATH = ["app.tcss", "conversation.tcss", "answer_view.tcss", "sources.tcss", "status.tcss"]
    COMMANDS = App.COMMANDS | {ChatCommands}
    BINDINGS = [
        Binding("ctrl+n", "new_chat", "New chat"),
        Binding("ctrl+o", "focus_sources", "Sources"),
        Binding("ctrl+y", "copy_answer", "Copy answer"),
        Binding("ctrl+r", "sessions", "Sessions"),
        Binding("f1", "help", "Help"),
        Binding("escape", "focus_input", "Back to input", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
        # Outside the input box (where digits are typed), 1-9 show the turn's source [n].
        *(Binding(str(n), f"show_source({n})", f"Source [{n}]", show=False) for n in range(1, 10)),
    ]

    def __init__(
        self,
        settings: Settings,
        store: SessionStore,
        session_id: str | None = None,
        *,
        resume: bool = False,
        retriever: Retriever | None = None,
        exit_after_first_frame: bool = False,
    ) -> None:
        """`resume` reopens `session_id` from the store; `retriever` skips opening the index (tests)."""
        super().__init__()
        self.settings = settings
        self.store = store
        self.session_id = session_id or new_session_id()
        self.filters = Filters()
        self.retriever = retriever
        self.papers: dict[str, Paper] = {}
        self._resume = resume
        self._exit_after_first_frame = exit_after_first_frame
        self._index_loader: Worker[None] | None = None
        self._index_error = ""
        self._retrieval_lock = threading.Lock()  # one retrieval or answer at a time in the background
        self._drafter: Drafter | None = None  # opened by the first question, kept until /backend changes
        self._answers = 0
        self._sources_turn: Turn | None = None

    # -- layout and start-up

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="chat"):
                yield Conversation(id="conversation")
                yield Input(
                    placeholder="Ask a question about the papers, or type / for commands",
                    id="question",
                    suggester=SuggestFromList([f"/{c.name}" + (" " if c.arguments else "") for c in COMMANDS],
                                              case_sensitive=False),
                )
            yield SourcesPanel(id="sources")
        yield StatusBar(self.settings, self.filters, self.session_id)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#question", Input).focus()
        if self._exit_after_first_frame:
            self.call_after_refresh(self.exit)
            return
        # The first frame is on screen before any heavy import starts.
        self.call_after_refresh(self._start_index_loader, True)
        if self._resume:
            self.call_after_refresh(self.restore_session, self.session_id)

    @property
    def conversation(self) -> Conversation:
        return self.query_one(Conversation)

    @property
    def sources_panel(self) -> SourcesPanel:
        return self.query_one(SourcesPanel)

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    def notify(self, message: str, *, title: str = "", **options: Any) -> None:
        """Every notification printable: messages carry paper titles, paths and servers' words."""
        super().notify(printable(message), title=printable(title), **options)

    # -- failures

    def describe_failure(self, error: Exception, doing: str) -> str:
        """The one line to show for a failure; an unexpected one is logged with its traceback."""
        if isinstance(error, AssistantError):
            return str(error)
        log_path = self.settings.data_dir / LOG_FILE
        self._log_unexpected(error, doing, log_path)
        return f"unexpected error while {doing} ({type(error).__name__}); details in {log_path}"

    def report_failure(self, error: Exception, doing: str) -> str:
        """Notify the user of a failure in one line and return that line."""
        message = self.describe_failure(error, doing)
        self.notify(message, title=f"Failed: {doing}", severity="error", timeout=12, markup=False)
        return message

    @staticmethod
    def _log_unexpected(error: Exception, doing: str, log_path: Path) -> None:
        try:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            if not any(getattr(h, "baseFilename", None) == str(log_path) for h in _log.handlers):
                handler = logging.FileHandler(log_path, encoding="utf-8")
                handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
                _log.addHandler(handler)
            _log.error("unexpected error while %s", doing, exc_info=error)
        except OSError:  # no writable data directory: the notification is all we can give
            pass

    # -- the index

    def _start_index_loader(self, announce: bool) -> Worker[None]:
        if self._index_loader is None or (self._index_loader.is_finished and self.retriever is None):
            self._index_loader = self.load_index(announce)
        return self._index_loader

    @work(group="index", exit_on_error=False)
    async def load_index(self, announce: bool) -> None:
        self.status.show_index("loading index…")
        loop = asyncio.get_running_loop()
        progress = partial(call_soon_from_thread, loop, self.status.show_progress)
        try:
            retriever = self.retriever or await run_in_background(partial(self._open_retriever, progress), "open-index")
            papers = await run_in_background(retriever.papers, "list-papers")
        except Exception as error:  # noqa: BLE001 - reported, and retried by the next command that needs it
            self.status.show_index("not available")
            report = self.report_failure if announce else self.describe_failure
            self._index_error = report(error, "opening the index")
            return
        self.retriever = retriever
        self.papers = {paper.key: paper for paper in papers}
        self.status.show_index(f"{len(papers)} papers")
        self._refresh_sources()

    def _open_retriever(self, progress: ProgressCallback) -> Retriever:
        from ..retrieve import open_retriever

        return open_retriever(self.settings, on_progress=progress)

    async def ready_retriever(self) -> Retriever:
        """The retriever, waiting for the index to load (and retrying a load that failed)."""
        await self._start_index_loader(False).wait()
        if self.retriever is None:
            raise IndexStoreError(f"the index is not available: {self._index_error}")
        return self.retriever

    # -- input

    @on(Input.Submitted, "#question")
    def submit(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.clear()
        if not text:
            return
        if text.startswith("/"):
            self.run_command(text)
        else:
            self.ask(text)

    def start_command(self, command: ChatCommand) -> None:
        """Put `/name ` in the input for the user to complete (palette entries with an argument)."""
        box = self.query_one("#question", Input)
        box.value = f"/{command.name} "
        box.cursor_position = len(box.value)
        box.focus()

    def run_command(self, text: str) -> None:
        try:
            slash = parse_slash(text)
            handler = getattr(self, f"command_{slash.command.name}")
            handler(slash.argument)
        except Exception as error:  # noqa: BLE001 - every failure is a notification, never a crash
            self.report_failure(error, text.split()[0])

    # -- turns that run in the background

    @work(group="turns", exit_on_error=False)
    async def ask(self, question: str) -> None:
        self._answers += 1
        await self._answer_turn("answer", question, AnswerView(self._answers), UserTurn(question))

    def command_related(self, topic: str) -> None:
        self.write_related(topic)

    @work(group="turns", exit_on_error=False)
    async def write_related(self, topic: str) -> None:
        self._answers += 1
        await self._answer_turn("related", topic, RelatedWorkView(self._answers), UserTurn(f"/related {topic}"))

    async def _answer_turn(self, kind: str, prompt: str, view: AnswerView, asked: UserTurn) -> None:
        """Show the prompt, stream the draft into `view`, then the enforced result; save the turn."""
        await self.conversation.add(asked, view)
        try:
            retriever = await self.ready_retriever()
            job = partial(self._produce_answer, kind, prompt, self.settings, retriever, self.filters, view.token_sink())
            answer = await run_in_background(job, kind)
        except Exception as error:  # noqa: BLE001
            await view.show_failure(self.report_failure(error, "writing related work" if kind == "related" else "answering"))
            return
        await view.show_answer(answer)
        self._show_sources(view)
        self._save(StoredTurn(kind, prompt, answer.to_dict()))

    def _produce_answer(self, kind: str, prompt: str, settings: Settings, retriever: Retriever, filters: Filters,
                 on_token: TokenSink) -> Answer:
        """The answer (or related-work section) for `prompt`: runs in a background thread."""
        from ..answer.backends import open_drafter

        with self._retrieval_lock:
            if self._drafter is None:
                self._drafter = open_drafter(settings)
            if kind == "related":
                from ..answer.related_work import write_related_work

                return write_related_work(prompt, settings, retriever, filters=filters, drafter=self._drafter,
                                          on_token=on_token)
            from ..answer.answerer import answer_question

            return answer_question(prompt, settings, retriever, filters=filters, on_token=on_token,
                                   drafter=self._drafter)

    def command_search(self, query: str) -> None:
        self.search(query)

    @work(group="turns", exit_on_error=False)
    async def search(self, query: str) -> None:
        try:
            retriever = await self.ready_retriever()
            filters, k = self.filters, max(self.settings.answer.top_k, 10)

            def run() -> list[dict[str, Any]]:
                with self._retrieval_lock:
                    return [e.to_dict() for e in retriever.search(query, k=k, filters=filters)]

            results = await run_in_background(run, "search")
        except Exception as error:  # noqa: BLE001
            self.report_failure(error, "searching")
            return
        view = SearchResultsView(query, results)
        await self.conversation.add(UserTurn(f"/search {query}"), view)
        self._show_sources(view)
        self._save(StoredTurn("search", query, results))

    def command_papers(self, word: str) -> None:
        self.list_papers(word)

    @work(group="turns", exit_on_error=False)
    async def list_papers(self, word: str = "") -> None:
        try:
            await self.ready_retriever()
        except Exception as error:  # noqa: BLE001
            self.report_failure(error, "listing the papers")
            return
        view = PapersView(listed_papers(list(self.papers.values()), word), len(self.papers), word)
        await self.conversation.add(UserTurn(f"/papers {word}".rstrip()), view)
        self._show_sources(view)

    def command_filter(self, argument: str) -> None:
        if argument.lower() == "clear":
            self.filters = Filters()
        elif argument:
            # Only the fields given change: `/filter category=CL` keeps the year and author.
            values = parse_filter_arguments(argument)
            parsed = Filters.parse(**values)
            changed = {name: getattr(parsed, name) for field in values for name in FILTER_FIELDS[field]}
            self.filters = dataclasses.replace(self.filters, **changed)
        self.status.describe(filters=self.filters)
        self.notify(f"Filters: {describe_filters(self.filters)}", title="/filter", markup=False)

    def command_backend(self, argument: str) -> None:
        if argument:
            choice = argument.strip().lower()
            if choice not in BACKENDS:
                raise InputError(f"unknown backend {choice!r}", f"choose {' or '.join(BACKENDS)}")
            BACKENDS[choice].check(self.settings)
            self.settings = replace(self.settings, backend=choice)
            self._drafter = None
            self.status.describe(settings=self.settings)
        backend, model = describe_backend(self.settings)
        self.notify(f"Backend: {backend} ({model})", title="/backend", markup=False)

    def command_export(self, argument: str) -> None:
        self.export(argument)

    @work(group="export", exit_on_error=False)
    async def export(self, argument: str) -> None:
        path = Path(argument).expanduser() if argument else Path.cwd() / f"session-{self.session_id}.md"
        try:
            await self.ready_retriever()  # the .bib is written from the indexed papers
        except AssistantError as error:
            self.notify(f"Exporting without BibTeX: {error}", title="/export", severity="warning", markup=False)
        try:
            turns = self.store.turns(self.session_id)
            if not turns:
                raise InputError("this session has nothing to export yet", "ask a question first")
            written = await run_in_background(partial(export_session, turns, path, self.session_id, self.papers))
        except Exception as error:  # noqa: BLE001
            self.report_failure(error, "exporting")
            return
        # The names first, the folder once: a long path must not push them out of the toast.
        self.notify(f"Saved {' and '.join(p.name for p in written)} in {written[0].parent}", title="/export",
                    markup=False, timeout=10)

    def command_copy(self, _: str) -> None:
        self.action_copy_answer()

    def command_sessions(self, _: str) -> None:
        self.action_sessions()

    def command_clear(self, _: str) -> None:
        self.action_new_chat()

    def command_help(self, _: str) -> None:
        self.action_help()

    # -- history

    def _save(self, turn: StoredTurn) -> None:
        """Write the turn now, on the UI thread: a few milliseconds, and never lost to a quick quit."""
        try:
            self.store.add_turn(self.session_id, turn)
        except Exception as error:  # noqa: BLE001
            self.report_failure(error, "saving the session")

    @work(group="session", exclusive=True, exit_on_error=False)
    async def restore_session(self, session_id: str) -> None:
        """Show a stored session's turns; new turns are added to it."""
        await self._reset(session_id)
        try:
            turns = self.store.turns(session_id)
            for stored in turns:
                await self._show_stored(stored)
        except Exception as error:  # noqa: BLE001
            self.report_failure(error, "reopening the session")
            return
        views = self.conversation.turns()
        if views:
            self._show_sources(views[-1])
        self.notify(f"Reopened session {session_id} ({len(turns)} turns)", markup=False)

    async def _show_stored(self, stored: StoredTurn) -> None:
        if stored.kind == "answer":
            self._answers += 1
            view = AnswerView(self._answers)
            await self.conversation.add(UserTurn(stored.prompt), view)
            await view.show_answer(answer_from_dict(stored.payload))
        elif stored.kind == "related":
            self._answers += 1
            related = RelatedWorkView(self._answers)
            await self.conversation.add(UserTurn(f"/related {stored.prompt}"), related)
            await related.show_answer(answer_from_dict(stored.payload))
        elif stored.kind == "search":
            await self.conversation.add(UserTurn(f"/search {stored.prompt}"),
                                        SearchResultsView(stored.prompt, stored.payload))

    async def _reset(self, session_id: str) -> None:
        self.workers.cancel_group(self, "turns")
        self.session_id = session_id
        self._answers = 0
        await self.conversation.clear()
        self.sources_panel.show("Sources", [], {})
        self.status.describe(session_id=session_id)

    # -- sources

    @on(Turn.SourcesWanted)
    def sources_wanted(self, event: Turn.SourcesWanted) -> None:
        if event.key is None and event.turn is self._sources_turn:
            return  # already shown: keep the reader's place in the panel
        self._show_sources(event.turn, event.key)

    def _show_sources(self, turn: Turn, key: str | None = None) -> None:
        self._sources_turn = turn
        self.sources_panel.show(turn.sources_title, turn.sources(), self.papers, select=key)

    def _refresh_sources(self) -> None:
        """Show the current turn's sources again (e.g. with abstracts, once the index is loaded)."""
        turn = self._sources_turn
        if turn is not None and turn.is_attached:
            self._show_sources(turn, self.sources_panel.selected_key)

    # -- actions (key bindings and the palette)

    def action_new_chat(self) -> None:
        self.new_chat()

    @work(group="session", exclusive=True, exit_on_error=False)
    async def new_chat(self) -> None:
        await self._reset(new_session_id())
        self.query_one("#question", Input).focus()
        self.notify(f"New session {self.session_id}", markup=False)

    def action_focus_sources(self) -> None:
        self.sources_panel.focus()

    def action_focus_input(self) -> None:
        self.query_one("#question", Input).focus()

    def action_show_source(self, number: int) -> None:
        turn = self._sources_turn
        sources = turn.sources() if turn is not None and turn.is_attached else []
        numbered = [source.key for source in sources if source.number == number]
        keys = numbered or [source.key for source in sources][number - 1 : number]
        if not (keys and self.sources_panel.select(keys[0])):
            self.notify(f"No source [{number}] in the panel.", severity="warning", markup=False)

    def action_copy_answer(self) -> None:
        from ..answer.render import render_markdown  # it loads the whole answer pipeline: not at launch

        answered = [view for view in self.query(AnswerView) if view.answer is not None]
        if not answered:
            self.notify("No answer to copy yet.", severity="warning")
            return
        self.copy_to_clipboard(render_markdown(answered[-1].answer))
        self.notify("Copied the last answer (Markdown, with its references).")

    def action_help(self) -> None:
        keys = [(self.get_key_display(b), b.description) for b in self.BINDINGS
                if isinstance(b, Binding) and not b.action.startswith("show_source")]
        keys.append(("1-9", "Show source [n] (outside the input box)"))
        keys.append((self.get_key_display(Binding(self.COMMAND_PALETTE_BINDING, "")), "Command palette: every command by name"))
        self.push_screen(HelpScreen(keys))

    def action_sessions(self) -> None:
        def reopen(session_id: str | None) -> None:
            if session_id and session_id != self.session_id:
                self.restore_session(session_id)

        self.push_screen(SessionsScreen(self.store, self.session_id), reopen)


def resolve_session(store: SessionStore, resume: str | None) -> str | None:
    """The session `--resume [ID]` asks for: None for a new one, the latest for "latest"."""
    if resume is None:
        return None
    if resume == "latest":
        latest = store.latest_session()
        if latest is None:
            raise InputError("there is no earlier chat session to resume", "start one with `assistant chat`")
        return latest
    if not store.has_session(resume):
        raise InputError(f"there is no chat session {resume!r}",
                         "run `assistant chat` and press ctrl+r to see the saved sessions")
    return resume


def run_chat(settings: Settings, resume: str | None = None, exit_after_first_frame: bool = False) -> None:
    """Run the chat app in this terminal (the `assistant chat` command)."""
    store = SessionStore.in_data_dir(settings.data_dir)
    session_id = resolve_session(store, resume)
    ChatApp(settings, store, session_id, resume=session_id is not None,
            exit_after_first_frame=exit_after_first_frame).run()
