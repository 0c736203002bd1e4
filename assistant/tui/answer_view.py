"""One answer in the conversation: the model's draft streamed in as it arrives, then replaced by
the enforced answer with clickable [n] markers, unsupported sentences flagged, removed ones
struck through, and the references underneath.
"""

from __future__ import annotations

import asyncio

from textual import events
from textual.app import ComposeResult
from textual.widgets import Markdown, Static

from ..answer.model import Answer, AnswerSentence
from ..corpus.paper import year_label
from ..llm.base import TokenSink
from ..text import printable
from .background import call_soon_from_thread
from .conversation import LinkedMarkdown, Turn, cite_link, escape_markdown, paper_link
from .sources import PaperDetail, Source

_ISSUE_LABELS = {
    "invalid_marker": "removed a citation to no retrieved paper",
    "unsupported_citation": "removed a citation its paper does not support",
    "uncited_dropped": "removed an uncited sentence",
    "repaired": "repaired",
    "attributed": "cited after generation",
    "unsupported_dropped": "removed an unsupported sentence",
    "off_question_dropped": "removed a sentence that does not answer the question",
    "background_dropped": "removed a background sentence that does not answer the question",
    "fallback": "answered from the papers' own sentences",
    "truncated_input": "shortened the question",
    "read_as": "question read as meant",
    "undated_left_out": "left out",
}


def answer_markdown(answer: Answer) -> str:
    """The answer as the chat shows it: [n] markers as links to the sources panel, and a heading
    above each paragraph that has one (the themes of a related-work section)."""
    return answer.render_body(_chat_sentence, lambda name: f"### {escape_markdown(name)}\n\n", _chat_refusal)


def _chat_refusal(statement: str) -> str:
    from ..answer.citations import REFUSAL  # it loads numpy, which the first frame must not wait for

    return f"*{escape_markdown(statement or REFUSAL)}*"


def _chat_sentence(sentence: AnswerSentence) -> str:
    marks = "".join(cite_link(c.n, c.key) for c in sentence.citations)
    text = escape_markdown(sentence.shown)
    if sentence.supported:
        return f"{text} {marks}".strip()
    note = f": {escape_markdown(sentence.note)}" if sentence.note else ""
    return f"_{text}_ {marks} **(unsupported{note})**"


def issues_markdown(answer: Answer) -> str:
    """What enforcement removed or changed (unsupported sentences are flagged inline instead)."""
    lines = []
    for issue in answer.issues:
        if issue.kind in ("unsupported", "refused"):
            continue
        label = _ISSUE_LABELS.get(issue.kind, issue.kind.replace("_", " "))
        sentence = f" ~~{escape_markdown(issue.sentence)}~~" if issue.sentence else ""
        lines.append(f"- **{label}**:{sentence} ({escape_markdown(issue.detail)})")
    return "\n".join(lines)


def references_markdown(answer: Answer) -> str:
    rows = []
    for ref in answer.references:
        meta = " · ".join(part for part in (ref.authors_display, year_label(ref.year)) if part)
        rows.append(f"- {paper_link(f'[{ref.n}] {ref.label}', ref.key)}" + (f" — {escape_markdown(meta)}" if meta else ""))
    return "\n".join(rows)


def answer_sources(answer: Answer) -> list[Source]:
    quotes: dict[str, list[str]] = {ref.key: [] for ref in answer.references}
    for sentence in answer.sentences:
        for citation in sentence.citations:
            quotes.setdefault(citation.key, []).append(citation.quote)
    return [Source(ref.key, ref.n, tuple(dict.fromkeys(q for q in quotes[ref.key] if q)), PaperDetail.of_reference(ref))
            for ref in answer.references]


def answer_caption(kind: str, answer: Answer) -> str:
    who = printable(answer.backend + (f" · {answer.model}" if answer.model else ""))
    outcome = answer.outcome.replace("_", " ")
    if answer.refused:
        return f"{kind} · {who} · {outcome}"
    papers = len(answer.references)
    flagged = sum(not s.supported for s in answer.sentences)
    caption = f"{kind} · {who} · {outcome} · {papers} paper{'s' * (papers != 1)} cited"
    return caption + (f" · {flagged} unsupported" if flagged else "")


class AnswerView(Turn):
    """An answer: pending, then (with a model) a streaming draft, then the enforced answer."""

    KIND = "Answer"

    def __init__(self, number: int) -> None:
        """`number` counts the answers of the session ("Sources · answer 2")."""
        super().__init__(classes="answer")
        self.number = number
        self.answer: Answer | None = None
        self._tokens: asyncio.Queue[str | None] = asyncio.Queue()
        self._pump: asyncio.Task | None = None

    def compose(self) -> ComposeResult:
        yield Static(f"{self.KIND} · searching the papers…", classes="turn-caption", markup=False)
        yield LinkedMarkdown(classes="answer-body")
        yield LinkedMarkdown(classes="answer-issues")
        yield LinkedMarkdown(classes="answer-references")

    @property
    def sources_title(self) -> str:
        return f"Sources · {self.KIND.lower()} {self.number}"

    def sources(self) -> list[Source]:
        return answer_sources(self.answer) if self.answer else []

    def on_key(self, event: events.Key) -> None:
        """Keys 1-9 on a focused answer show that reference in the sources panel."""
        references = {str(ref.n): ref.key for ref in self.answer.references} if self.answer else {}
        if event.character in references:
            event.stop()
            self.post_message(self.SourcesWanted(self, references[event.character]))

    def token_sink(self) -> TokenSink:
        """A callable any thread may feed tokens to; they are appended to the draft in order."""
        loop = asyncio.get_running_loop()
        body = self.query_one(".answer-body", Markdown)
        stream = Markdown.get_stream(body)

        async def pump() -> None:
            try:
                while (token := await self._tokens.get()) is not None:
                    if not self.has_class("drafting"):
                        self.add_class("drafting")
                        self.query_one(".turn-caption", Static).update(
                            f"{self.KIND} · drafting (citations are checked when it is done)…")
                    await stream.write(printable(token))
            finally:
                await stream.stop()

        self._pump = asyncio.create_task(pump())
        return lambda token: call_soon_from_thread(loop, self._tokens.put_nowait, token)

    async def _end_draft(self) -> None:
        if self._pump is not None:
            self._tokens.put_nowait(None)
            await self._pump
            self._pump = None
        self.remove_class("drafting")

    async def show_answer(self, answer: Answer) -> None:
        """Replace the draft (if any) with the enforced answer."""
        await self._end_draft()
        self.answer = answer
        self.set_class(answer.refused, "refused")
        self.query_one(".turn-caption", Static).update(answer_caption(self.KIND, answer))
        await self.query_one(".answer-body", Markdown).update(answer_markdown(answer))
        issues = issues_markdown(answer)
        await self._section(".answer-issues", issues)
        await self._section(".answer-references", references_markdown(answer))

    async def _section(self, selector: str, markdown: str) -> None:
        section = self.query_one(selector, Markdown)
        section.display = bool(markdown)
        await section.update(markdown)

    async def show_failure(self, message: str) -> None:
        await self._end_draft()
        self.add_class("failed")
        self.query_one(".turn-caption", Static).update(f"{self.KIND} · failed")
        await self.query_one(".answer-body", Markdown).update(f"**Could not answer:** {escape_markdown(message)}")
