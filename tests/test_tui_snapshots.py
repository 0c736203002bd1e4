"""Snapshots of the chat's screens at a fixed size (pytest-textual-snapshot; SVGs in __snapshots__).

Deterministic by construction: a fixed session id, the seed index, no clock or timings on
screen, and for the answer a fixed Answer (stored as a session turn and reopened) so that the
picture shows the UI, not the current choices of the extractive answerer. Deterministic under
load too: each picture waits for its state (workers finished, Markdown rendered, the screen
shown), and the input's cursor does not blink. Regenerate with
`pytest tests/test_tui_snapshots.py --snapshot-update` and look at the SVGs before committing.
"""

from __future__ import annotations

import dataclasses
import time

import pytest
from textual.widgets import Input, Markdown

from assistant.answer.model import Answer, AnswerSentence, Citation, Issue, Reference
from assistant.config import Settings
from assistant.tui.app import ChatApp
from assistant.tui.help import HelpScreen
from assistant.tui.session_store import SessionStore, StoredTurn

pytestmark = pytest.mark.slow

SIZE = (120, 40)
SETTLE_TIMEOUT = 60  # seconds: a bound on waiting for the state, never a wait in itself
QUESTION = "which papers stabilize attention?"


def reference(n: int, paper) -> Reference:
    return Reference(n=n, key=paper.key, title=paper.title, label=paper.label, authors=paper.authors,
                     authors_truncated=paper.authors_truncated, year=paper.year, source=paper.source,
                     arxiv_id=paper.arxiv_id, authors_display=paper.authors_display(), abstract=paper.abstract)


def fixed_answer(retriever) -> Answer:
    """An answer showing every state: cited sentences, an unsupported one, a removed one."""
    zhai, sigmoid = retriever.paper("zhai2023stabilizing"), retriever.paper("ramapuram2024theory")
    zhai_quote = ("We demonstrate that $σ$Reparam successfully prevents entropy collapse in the attention "
                  "layers, promoting more stable training.")
    sigmoid_quote = ("Through detailed empirical analysis, we identify stabilization of large initial attention "
                     "norms during the early stages of training as a crucial factor for the successful training "
                     "of models with sigmoid attention, outperforming prior attempts.")
    return Answer(
        question=QUESTION,
        sentences=[
            AnswerSentence("σReparam reparametrizes all linear layers with spectral normalization and prevents "
                           "attention entropy collapse, promoting more stable training.",
                           (Citation(1, zhai.key, zhai_quote),), True),
            AnswerSentence("Stabilizing large initial attention norms early in training is a crucial factor for "
                           "training models with sigmoid attention.",
                           (Citation(2, sigmoid.key, sigmoid_quote),), True),
            AnswerSentence("Both methods double the training speed on every benchmark.",
                           (Citation(1, zhai.key, zhai_quote), Citation(2, sigmoid.key, sigmoid_quote)), False,
                           note="the cited abstracts do not mention training speed", paragraph=1),
        ],
        references=[reference(1, zhai), reference(2, sigmoid)],
        refused=False,
        backend="extractive",
        model=None,
        issues=[
            Issue("uncited_dropped", "the sentence cited no evidence and was dropped",
                  "Attention is all you need."),
            Issue("unsupported", "the cited abstracts do not mention training speed",
                  "Both methods double the training speed on every benchmark."),
        ],
    )


@pytest.fixture
def chat_app(seed_settings: Settings, seed_retriever, tmp_path):
    store = SessionStore(tmp_path / "sessions.sqlite3")

    def make(**kwargs) -> ChatApp:
        settings = dataclasses.replace(seed_settings, backend="extractive")
        return ChatApp(settings, store, "snapshot", retriever=seed_retriever, **kwargs)

    make.store = store
    return make


def rendered(markdown: Markdown) -> bool:
    """Its text is on screen: Markdown parses in a thread and mounts its blocks after (late under load)."""
    return (markdown._initial_markdown is None and not markdown.lock.is_locked
            and (not markdown.source or bool(markdown.children)))


async def settle(pilot, condition) -> None:
    """Wait until `condition` holds, every worker has finished and every Markdown has rendered; then
    clear notifications and stop the cursor blinking, so that the picture shows state, not timing."""
    app = pilot.app
    deadline = time.monotonic() + SETTLE_TIMEOUT

    def ready() -> bool:
        return (bool(condition()) and all(w.is_finished for w in app.workers)
                and all(rendered(m) for screen in app.screen_stack for m in screen.query(Markdown)))

    while not ready():
        assert time.monotonic() < deadline, "the app did not settle"
        await app.workers.wait_for_complete()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.05)
    app.clear_notifications()
    for screen in app.screen_stack:
        for box in screen.query(Input):
            box.cursor_blink = False  # shows the cursor, steadily
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def test_main_screen(snap_compare, chat_app):
    app = chat_app()

    async def run_before(pilot) -> None:
        await settle(pilot, lambda: app.papers)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_answer_with_sources(snap_compare, chat_app, seed_retriever):
    chat_app.store.add_turn("snapshot", StoredTurn("answer", QUESTION, fixed_answer(seed_retriever).to_dict()))
    app = chat_app(resume=True)

    async def run_before(pilot) -> None:
        await settle(pilot, lambda: app.papers and app.sources_panel.option_count > 1)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare, chat_app):
    app = chat_app()

    async def run_before(pilot) -> None:
        await settle(pilot, lambda: app.papers)
        await pilot.press("f1")
        await settle(pilot, lambda: isinstance(app.screen, HelpScreen))

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
