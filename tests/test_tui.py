"""The chat UI driven headless through Textual's Pilot: every command, streaming against a real
OpenAI-compatible HTTP server, failures as notifications, history and export.

The index is the shared seed index (read only); each test has its own session store.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest
from textual import events
from textual.widgets import Input, Markdown

from assistant.answer.backends import BACKENDS
from assistant.answer.render import render_markdown
from assistant.config import Secret, Settings
from assistant.tui.answer_view import AnswerView
from assistant.tui.app import ChatApp, resolve_session
from assistant.tui.conversation import Turn, UserTurn
from assistant.tui.help import HelpScreen
from assistant.tui.related_view import RelatedWorkView
from assistant.tui.results import PapersView, SearchResultsView
from assistant.tui.sessions import SessionsScreen
from assistant.tui.session_store import MIGRATIONS, SessionStore, StoredTurn
from assistant.errors import InputError
from fake_openai import FakeOpenAI, Reply, free_port

pytestmark = pytest.mark.anyio

QUESTION = "which papers stabilize attention?"
STABILIZING = "zhai2023stabilizing"


class Recorder:
    """Wraps app.notify: the notifications still show, and the test can read them."""

    def __init__(self, app: ChatApp) -> None:
        self.notes: list[tuple[str, str]] = []
        original = app.notify

        def notify(message: str, **kwargs) -> None:
            self.notes.append((message, kwargs.get("severity", "information")))
            original(message, **kwargs)

        app.notify = notify  # type: ignore[method-assign]

    def errors(self) -> list[str]:
        return [message for message, severity in self.notes if severity == "error"]

    def text(self) -> str:
        return "\n".join(message for message, _ in self.notes)


async def wait_for(pilot, condition: Callable[[], object], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.05)


def idle(app: ChatApp) -> bool:
    return all(worker.is_finished for worker in app.workers)


async def submit(pilot, text: str) -> None:
    box = pilot.app.query_one("#question", Input)
    box.value = text
    box.focus()
    await pilot.press("enter")
    await pilot.pause()
    await wait_for(pilot, lambda: idle(pilot.app))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "sessions.sqlite3")


@pytest.fixture
def make_app(seed_settings: Settings, seed_retriever, store: SessionStore, tmp_path: Path):
    """A ChatApp on the seed index; logs go to this test's tmp dir (data_dir)."""

    def make(settings: Settings | None = None, **kwargs) -> ChatApp:
        settings = settings or dataclasses.replace(seed_settings, backend="extractive")
        if settings.data_dir == seed_settings.data_dir:  # not chosen by the test: this test's own
            settings = dataclasses.replace(settings, data_dir=tmp_path)
        kwargs.setdefault("retriever", seed_retriever)
        app = ChatApp(settings, store, kwargs.pop("session_id", "test0001"), **kwargs)
        return app

    return make


def openai_settings(seed_settings: Settings, server: FakeOpenAI, **changes) -> Settings:
    values = dict(backend="openai", base_url=server.base_url, model="test-model", max_retries=1,
                  retry_backoff=0.01, timeout=5.0)
    return dataclasses.replace(seed_settings, **(values | changes))


# -- layout and the index


async def test_status_bar_names_backend_index_filters_and_session(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.papers)
        text = str(app.status.query_one("#status-text").render())
        assert "extractive" in text and "122 papers" in text and "none" in text and "test0001" in text
        assert app.focused is app.query_one("#question")


@pytest.mark.slow
async def test_index_opens_in_the_background_with_progress_on_first_use(tmp_path, small_settings, store):
    """No retriever given: the app opens (here: first ingests) the index itself, showing progress."""
    app = ChatApp(dataclasses.replace(small_settings, backend="extractive"), store, "fresh001")
    stages: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        original = app.status.show_progress
        app.status.show_progress = lambda stage, done, total: (stages.append(stage), original(stage, done, total))
        await wait_for(pilot, lambda: app.papers, timeout=120)
        assert len(app.papers) == 30
        assert "30 papers" in str(app.status.query_one("#status-text").render())
    assert stages, "ingest reported no progress"


@pytest.mark.slow
async def test_a_broken_index_is_a_notification_and_the_app_stays_usable(tmp_path, store):
    empty_seeds = tmp_path / "no-seeds"
    empty_seeds.mkdir()
    settings = Settings(index_dir=tmp_path / "index", seeds_dir=empty_seeds, backend="extractive")
    app = ChatApp(settings, store, "broken01")
    async with app.run_test(size=(120, 40)) as pilot:
        notes = Recorder(app)
        await wait_for(pilot, lambda: app._index_loader and app._index_loader.is_finished)
        await pilot.pause()
        assert "not available" in str(app.status.query_one("#status-text").render())
        await submit(pilot, QUESTION)
        view = app.query_one(AnswerView)
        assert view.has_class("failed")
        assert any("has no files" in e for e in notes.errors())
        await submit(pilot, "/help")
        assert isinstance(app.screen, HelpScreen)


# -- answers and sources


async def test_a_question_gets_a_cited_answer_with_its_papers_in_the_sources_panel(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, QUESTION)
        view = app.query_one(AnswerView)
        assert view.answer is not None and not view.answer.refused
        keys = [ref.key for ref in view.answer.references]
        assert keys and {STABILIZING, "ramapuram2024theory"} & set(keys)
        body = view.query_one(".answer-body", Markdown).source
        assert f"(cite:{keys[0]})" in body and "[1\\]" in body
        references = view.query_one(".answer-references", Markdown).source
        assert all(key in references for key in keys)
        panel = app.sources_panel
        assert [panel.get_option_at_index(i).id for i in range(0, panel.option_count, 1)
                if panel.get_option_at_index(i).id] == keys
        assert panel.border_title == "Sources · answer 1"
        # The card shows the abstract with the cited quote highlighted inside it.
        card = panel.get_option(keys[0]).prompt
        quote = view.answer.sentences[0].citations[0].quote
        assert any(card.plain[span.start:span.end] == quote for span in card.spans if "warning" in str(span.style))


@pytest.mark.slow
async def test_clicking_a_citation_or_reference_selects_that_paper(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, QUESTION)
        view = app.query_one(AnswerView)
        last = view.answer.references[-1].key
        references = view.query_one(".answer-references", Markdown)
        references.post_message(Markdown.LinkClicked(references, f"cite:{last}"))
        await wait_for(pilot, lambda: app.sources_panel.selected_key == last)
        first = view.answer.references[0].key
        body = view.query_one(".answer-body", Markdown)
        body.post_message(Markdown.LinkClicked(body, f"cite:{first}"))
        await wait_for(pilot, lambda: app.sources_panel.selected_key == first)
        assert app.focused is view
        await pilot.press(str(len(view.answer.references)))  # keys 1-9 on the focused answer
        await wait_for(pilot, lambda: app.sources_panel.selected_key == last)


@pytest.mark.slow
async def test_focusing_an_earlier_turn_shows_its_sources(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, QUESTION)
        await submit(pilot, "/search sigmoid attention")
        assert app.sources_panel.border_title == "Sources · search"
        app.query_one(AnswerView).focus()
        await wait_for(pilot, lambda: app.sources_panel.border_title == "Sources · answer 1")
        await pilot.press("ctrl+o")
        assert app.focused is app.sources_panel
        await pilot.press("escape")
        assert app.focused is app.query_one("#question")
        await pilot.press("shift+tab")  # from the input back to the latest turn
        assert app.focused is app.query_one(SearchResultsView)
        await wait_for(pilot, lambda: app.sources_panel.border_title == "Sources · search")


async def test_an_out_of_corpus_question_is_refused_plainly(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "how do proteins fold into their native structure?")
        view = app.query_one(AnswerView)
        assert view.answer.refused and view.has_class("refused")
        assert "not in papers" in str(view.query_one(".turn-caption").render())  # issue 11: the outcome in a word


@pytest.mark.slow
async def test_a_100kb_paste_is_handled_without_freezing_or_crashing(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        notes = Recorder(app)
        box = app.query_one("#question", Input)
        box.focus()
        box.post_message(events.Paste("attention entropy collapse " * 4000))  # ~108 KB
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: idle(app) and app.query(AnswerView))
        await wait_for(pilot, lambda: idle(app))
        view = app.query_one(AnswerView)
        assert view.answer is not None or view.has_class("failed")
        if view.answer is not None:
            assert any(issue.kind == "truncated_input" for issue in view.answer.issues)
            assert "shortened the question" in view.query_one(".answer-issues", Markdown).source
        shown = str(app.query_one(UserTurn).render())
        assert len(shown) < 1000 and "characters)" in shown
        assert not [e for e in notes.errors() if "unexpected" in e]


# -- streaming and backend failures against a real HTTP server


async def test_a_model_answer_streams_in_then_the_enforced_answer_replaces_the_draft(
        make_app, seed_settings, seed_retriever, monkeypatch):
    evidence = seed_retriever.search(QUESTION, k=seed_settings.answer.top_k)
    n = next(i for i, e in enumerate(evidence, 1) if e.paper.key == STABILIZING)
    draft = (f"Attention entropy collapse, where attention entropy becomes pathologically low, destabilizes "
             f"Transformer training [{n}]. A spectral reparametrization of linear layers prevents it [{n}].")
    drafts_seen: list[str] = []
    original_end = AnswerView._end_draft

    async def end_draft(view: AnswerView) -> None:
        await original_end(view)
        drafts_seen.append(view.query_one(".answer-body", Markdown).source)

    monkeypatch.setattr(AnswerView, "_end_draft", end_draft)
    with FakeOpenAI() as server:
        server.script(Reply.text(draft))
        app = make_app(openai_settings(seed_settings, server))
        async with app.run_test(size=(120, 40)) as pilot:
            await submit(pilot, QUESTION)
            view = app.query_one(AnswerView)
            assert view.answer is not None, "no answer"
            assert view.answer.backend == "openai" and view.answer.model == "test-model"
            assert STABILIZING in [ref.key for ref in view.answer.references]
            final = view.query_one(".answer-body", Markdown).source
            status = str(app.status.query_one("#status-text").render())
        assert "test-model @ 127.0.0.1" in status
        assert server.chat_requests[0].body["stream"] is True
        # The draft (with the model's own markers) was on screen before the enforced answer.
        assert drafts_seen and drafts_seen[0].replace(" ", "") == draft.replace(" ", "")
        assert final != drafts_seen[0] and f"(cite:{STABILIZING})" in final


@pytest.mark.parametrize("reply, expected", [
    (Reply.status(500), "HTTP 500"),
    (Reply.status(429), "429"),
    (Reply.hang(10), "time"),
])
@pytest.mark.slow
async def test_backend_failures_are_one_line_notifications_and_the_app_recovers(
        make_app, seed_settings, reply, expected):
    with FakeOpenAI() as server:
        server.script(reply)
        app = make_app(openai_settings(seed_settings, server, timeout=1.0, max_retries=0))
        async with app.run_test(size=(120, 40)) as pilot:
            notes = Recorder(app)
            await submit(pilot, QUESTION)
            view = app.query_one(AnswerView)
            assert view.has_class("failed")
            [error] = notes.errors()
            assert expected in error and "\n" not in error and "Traceback" not in error
            assert "127.0.0.1" in error
            # Still usable: switch to the extractive backend and ask again.
            await submit(pilot, "/backend extractive")
            await submit(pilot, QUESTION)
            assert app.query(AnswerView)[-1].answer is not None


@pytest.mark.slow
async def test_an_unreachable_endpoint_and_a_bad_model_name_are_clear(make_app, seed_settings):
    with FakeOpenAI() as server:
        app = make_app(openai_settings(seed_settings, server, model="no-such-model"))
        async with app.run_test(size=(120, 40)) as pilot:
            notes = Recorder(app)
            await submit(pilot, QUESTION)
            assert "no-such-model" in notes.errors()[-1]
    gone = dataclasses.replace(seed_settings, backend="openai", base_url=f"http://127.0.0.1:{free_port()}/v1",
                               model="test-model", max_retries=0, timeout=2.0)
    app = make_app(gone)
    async with app.run_test(size=(120, 40)) as pilot:
        notes = Recorder(app)
        await submit(pilot, QUESTION)
        [error] = notes.errors()
        assert "127.0.0.1" in error and "\n" not in error


@pytest.mark.slow
async def test_an_unexpected_exception_is_a_generic_line_and_a_logged_traceback(make_app, monkeypatch, seed_settings,
                                                                                tmp_path):
    import assistant.answer.answerer as answerer

    def explode(*args, **kwargs):
        raise RuntimeError("something internal broke")

    monkeypatch.setattr(answerer, "answer_question", explode)
    settings = dataclasses.replace(seed_settings, data_dir=tmp_path / "data", backend="extractive")
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        notes = Recorder(app)
        await submit(pilot, QUESTION)
        [error] = notes.errors()
        assert error.startswith("unexpected error while answering (RuntimeError)")
        assert "something internal broke" not in error
        await submit(pilot, "/papers")  # still usable
        assert app.query(PapersView)
    log = (tmp_path / "data" / "chat.log").read_text()
    assert "Traceback" in log and "something internal broke" in log


# -- slash commands


@pytest.mark.slow
async def test_search_lists_ranked_papers_with_their_matching_snippets(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "/search attention entropy collapse")
        view = app.query_one(SearchResultsView)
        assert view.results[0]["key"] == STABILIZING
        assert app.sources_panel.selected_key == STABILIZING
        card = app.sources_panel.get_option(STABILIZING).prompt
        assert any("warning" in str(span.style) for span in card.spans)  # the matching chunk is highlighted


@pytest.mark.slow
async def test_papers_lists_the_whole_index(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "/papers")
        view = app.query_one(PapersView)
        assert len(view.papers) == 122
        assert app.sources_panel.border_title == "Sources · all papers"
        view.query_one(".papers-list").focus()
        await pilot.press("down", "down")
        await wait_for(pilot, lambda: app.sources_panel.selected_key == view.papers[2].key)


@pytest.mark.slow
async def test_related_writes_a_themed_cited_section(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "/related pseudo-labeling for speech recognition")
        view = app.query_one(RelatedWorkView)
        assert view.answer is not None and not view.answer.refused
        assert len(view.answer.references) >= 3
        body = view.query_one(".answer-body", Markdown).source
        assert "### " in body and "(cite:" in body
        assert app.sources_panel.border_title.startswith("Sources · related work")


@pytest.mark.slow
async def test_filter_sets_shows_and_clears_retrieval_filters(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        notes = Recorder(app)
        await submit(pilot, '/filter year=2020-2022 author="Tatiana Likhomanenko"')
        assert (app.filters.year_from, app.filters.year_to, app.filters.author) == (2020, 2022, "Tatiana Likhomanenko")
        status = str(app.status.query_one("#status-text").render())
        assert "year 2020-2022" in status and "author Tatiana Likhomanenko" in status
        await submit(pilot, "/search speech recognition")
        results = app.query_one(SearchResultsView).results
        assert results and all(2020 <= r["year"] <= 2022 for r in results)
        assert all(any("Likhomanenko" in a for a in r["authors"]) for r in results)
        await submit(pilot, "/filter category=CL")  # other fields stay
        assert app.filters.author == "Tatiana Likhomanenko" and app.filters.category == "CL"
        await submit(pilot, "/filter clear")
        assert app.filters.is_empty()
        await submit(pilot, "/filter year=twenty")
        assert "year filter" in notes.errors()[-1]
        await submit(pilot, "/filter venue=ICML")
        assert "venue=ICML" in notes.errors()[-1]


@pytest.mark.slow
async def test_backend_shows_and_switches_the_backend(make_app, seed_settings):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        notes = Recorder(app)
        await submit(pilot, "/backend")
        assert "Backend: extractive" in notes.text()
        await submit(pilot, "/backend openai")
        assert "needs an endpoint" in notes.errors()[-1]
        await submit(pilot, "/backend llama")
        assert "unknown backend" in notes.errors()[-1]
    with FakeOpenAI() as server:
        app = make_app(openai_settings(seed_settings, server))
        async with app.run_test(size=(120, 40)) as pilot:
            await submit(pilot, "/backend extractive")
            assert app.settings.chosen_backend == "extractive"
            await submit(pilot, QUESTION)
            assert app.query_one(AnswerView).answer.backend == "extractive"
            assert not server.chat_requests
            await submit(pilot, "/backend openai")
            assert "openai" in str(app.status.query_one("#status-text").render())


def test_the_status_bar_and_the_commands_name_every_registered_backend() -> None:
    from assistant.tui.commands import COMMANDS
    from assistant.tui.status import describe_backend

    assert describe_backend(Settings(backend="extractive")) == ("extractive", "no model")
    assert describe_backend(Settings(backend="openai", base_url="http://localhost:11434/v1", model="llama3")) == (
        "openai", "llama3 @ localhost:11434")
    assert describe_backend(Settings(backend="openai", api_key=Secret("sk-key"))) == (
        "openai", "(no model set) @ api.openai.com")
    [backend_command] = [c for c in COMMANDS if c.name == "backend"]
    assert all(name in backend_command.summary for name in BACKENDS)


@pytest.mark.slow
async def test_export_writes_the_session_as_markdown_and_the_cited_papers_as_bibtex(make_app, tmp_path):
    import bibtexparser

    app = make_app()
    out = tmp_path / "exports" / "review.md"
    async with app.run_test(size=(120, 40)) as pilot:
        notes = Recorder(app)
        await submit(pilot, "/export")
        assert "nothing to export" in notes.errors()[-1]
        await submit(pilot, QUESTION)
        await submit(pilot, "/search sigmoid attention")
        await submit(pilot, f"/export {out}")
        answer = app.query_one(AnswerView).answer
    cited = [ref.key for ref in answer.references]
    markdown = out.read_text()
    assert f"## {QUESTION}" in markdown and "## Search: sigmoid attention" in markdown
    assert render_markdown(answer).rstrip() in markdown
    library = bibtexparser.parse_string(out.with_suffix(".bib").read_text())
    assert [entry.key for entry in library.entries] == cited
    assert "Saved" in notes.text()


@pytest.mark.slow
async def test_clear_and_new_chat_start_a_fresh_session(make_app, store):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, QUESTION)
        await submit(pilot, "/clear")
        assert not app.query(Turn) and app.session_id != "test0001"
        assert app.query_one("#welcome").display
        first_new = app.session_id
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.session_id not in ("test0001", first_new)
    assert [s.id for s in store.sessions()] == ["test0001"]  # the old session stays in the history


@pytest.mark.slow
async def test_help_lists_every_command_and_key(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "/help")
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.query_one(Markdown).source
        for command in ("/search", "/related", "/papers", "/filter", "/backend", "/export", "/clear", "/help"):
            assert f"`{command}" in text
        assert "New chat" in text and "Copy answer" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)


async def test_unknown_and_incomplete_commands_are_explained(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        notes = Recorder(app)
        await submit(pilot, "/frobnicate")
        assert "unknown command /frobnicate" in notes.errors()[-1]
        await submit(pilot, "/search")
        assert "/search needs QUERY" in notes.errors()[-1]
        await submit(pilot, "/search [b]attention[/b")  # markup-like text is shown as typed
        assert "[b]attention[/b" in str(app.query_one(SearchResultsView).query_one(".turn-caption").render())


def first_palette_entry(app: ChatApp) -> str:
    from textual.command import CommandList

    listing = app.screen.query(CommandList)
    if not listing or not listing.first().option_count:
        return ""
    return str(listing.first().get_option_at_index(0).prompt)


@pytest.mark.slow
async def test_the_command_palette_offers_the_commands(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"papers")
        await wait_for(pilot, lambda: "/papers" in first_palette_entry(app), timeout=10)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.query(PapersView))
        await pilot.press("ctrl+p")
        await pilot.press(*"search")
        await wait_for(pilot, lambda: "/search" in first_palette_entry(app), timeout=10)
        await pilot.press("enter")
        await pilot.pause()
        assert app.query_one("#question", Input).value == "/search "


@pytest.mark.slow
async def test_copy_last_answer(make_app):
    app = make_app()
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    async with app.run_test(size=(120, 40)) as pilot:
        notes = Recorder(app)
        await pilot.press("ctrl+y")
        assert "No answer to copy" in notes.text()
        await submit(pilot, QUESTION)
        await pilot.press("ctrl+y")
        answer = app.query_one(AnswerView).answer
    assert copied == [render_markdown(answer)]  # what `ask` prints: markers, references, notes
    assert "[1]" in copied[0] and "**References**" in copied[0]


# -- history


@pytest.mark.slow
async def test_sessions_are_saved_and_resumed(make_app, store, seed_settings):
    app = make_app(session_id="first001")
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, QUESTION)
        await submit(pilot, "/search sigmoid attention")
        answer = app.query_one(AnswerView).answer
    assert resolve_session(store, "latest") == "first001"
    assert resolve_session(store, "first001") == "first001"
    with pytest.raises(InputError):
        resolve_session(store, "nope")

    app = make_app(session_id="first001", resume=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.query(SearchResultsView))
        await wait_for(pilot, lambda: idle(app))
        restored = app.query_one(AnswerView).answer
        assert restored.to_dict() == answer.to_dict()
        assert app.sources_panel.border_title == "Sources · search"
        await submit(pilot, "/papers")  # a listing is not a saved turn
        await submit(pilot, "how is speech recognition trained with pseudo-labels?")
    assert [turn.kind for turn in store.turns("first001")] == ["answer", "search", "answer"]


@pytest.mark.slow
async def test_the_session_list_reopens_and_deletes_sessions(make_app, store):
    store.add_turn("older001", StoredTurn("search", "sigmoid attention", []))
    store.add_turn("older002", StoredTurn("search", "pseudo labels", []))
    app = make_app(session_id="current1")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+r")
        await pilot.pause()
        assert isinstance(app.screen, SessionsScreen)
        listing = app.screen.query_one("#sessions-list")
        assert [listing.get_option_at_index(i).id for i in range(listing.option_count)
                if listing.get_option_at_index(i).id] == ["older002", "older001"]
        await pilot.press("d")  # deletes older002
        await pilot.pause()
        await pilot.press("enter")  # opens older001
        await wait_for(pilot, lambda: app.session_id == "older001" and app.query(SearchResultsView))
    assert [s.id for s in store.sessions()] == ["older001"]


def test_chat_resume_names_a_missing_session_clearly(tmp_path, monkeypatch, isolated_env, capsys):
    from assistant.cli import _run, cli

    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    assert _run(cli, ["chat", "--resume"]) == 2
    assert "no earlier chat session" in capsys.readouterr().err
    SessionStore(tmp_path / "sessions.sqlite3").add_turn("kept0001", StoredTurn("search", "q", []))
    assert _run(cli, ["chat", "--resume", "missing1"]) == 2
    assert "no chat session 'missing1'" in capsys.readouterr().err


def test_history_holds_no_secret_and_is_versioned(tmp_path, seed_settings, seed_retriever):
    key = "sk-test-secret-key-12345"
    store = SessionStore(tmp_path / "sessions.sqlite3")
    assert store.schema_version() == len(MIGRATIONS)

    async def run() -> None:
        with FakeOpenAI() as server:
            evidence = seed_retriever.search(QUESTION, k=seed_settings.answer.top_k)
            n = next(i for i, e in enumerate(evidence, 1) if e.paper.key == STABILIZING)
            server.script(Reply.text(f"Attention entropy collapse destabilizes Transformer training [{n}]."))
            settings = openai_settings(seed_settings, server, api_key=Secret(key))
            app = ChatApp(settings, store, "secret01", retriever=seed_retriever)
            async with app.run_test(size=(120, 40)) as pilot:
                await submit(pilot, QUESTION)
                assert app.query_one(AnswerView).answer is not None
            assert server.chat_requests[0].header("Authorization") == f"Bearer {key}"

    asyncio.run(run())
    assert store.turns("secret01")
    assert key.encode() not in (tmp_path / "sessions.sqlite3").read_bytes()
    # Reopening an up-to-date store applies no migration; a newer one is refused clearly.
    SessionStore(tmp_path / "sessions.sqlite3")
    with sqlite3.connect(tmp_path / "sessions.sqlite3") as db:
        db.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(Exception, match="newer"):
        SessionStore(tmp_path / "sessions.sqlite3")


# -- launch


def test_launch_imports_nothing_heavy_before_the_first_frame(seed_settings, tmp_path):
    """The first frame is drawn before chromadb, llama-index, onnxruntime or openai load."""
    script = f"""
import sys, time
started = time.perf_counter()
from assistant.config import Settings
from assistant.tui.app import ChatApp
from assistant.tui.session_store import SessionStore
from pathlib import Path
app = ChatApp(Settings(index_dir=Path({str(seed_settings.index_dir)!r}), backend="extractive"),
              SessionStore(Path({str(tmp_path / 's.sqlite3')!r})), exit_after_first_frame=True)
app.run(headless=True, size=(120, 40))
heavy = sorted(m for m in ("chromadb", "llama_index", "onnxruntime", "openai", "numpy") if m in sys.modules)
print(round(time.perf_counter() - started, 3), heavy)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    seconds, heavy = out.stdout.strip().split(" ", 1)
    assert heavy == "[]", f"imported before the first frame: {heavy}"
    print(f"first frame after {seconds} s (headless, in-process)")
