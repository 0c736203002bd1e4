"""An Answer as Markdown (terminals via rich, files) or plain text (pipes). JSON is Answer.to_dict().
Both come out printable: no control character from a paper or a model survives into them.

Both show the same things: the answer paragraphs with [n] markers, unsupported sentences
visibly flagged, the numbered references, what enforcement removed or changed, and which
backend answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..corpus.paper import year_label
from ..text import printable
from .model import Answer, AnswerSentence, Issue, Reference, RelatedWork

# Issues shown in the notes; "unsupported" is shown on the sentence itself instead.
_NOTED = ("truncated_input", "read_as", "undated_left_out", "invalid_marker", "unsupported_citation", "uncited_dropped", "repaired",
          "repair_failed", "refused", "attributed", "unsupported_dropped", "off_question_dropped",
          "background_dropped", "fallback", "reply_capped", "prompt_echo")


@dataclass(frozen=True)
class _Style:
    """How one output format marks up the parts every answer has."""

    sentence: Callable[[AnswerSentence], str]
    heading: Callable[[str], str]  # a theme's name, before its paragraph
    title: Callable[[str], str]  # "Related work: <topic>"
    section: Callable[[str], str]  # "References", "Notes"
    reference: Callable[[str], str]  # one reference line
    note: Callable[[str], str]  # one note
    closing: Callable[[str], str]  # the backend line


def render_markdown(answer: Answer) -> str:
    return _render(answer, _MARKDOWN)


def render_draft(answer: Answer) -> str:
    """Markdown to paste into a manuscript: the section and its references, without the notes
    and the backend line, which are about this run, not about the papers."""
    return _render(answer, _MARKDOWN, for_manuscript=True)


def notes_text(answer: Answer) -> str:
    """The notes alone, one per line, as plain text (what a draft file leaves out)."""
    return printable("\n".join(_TEXT.note(n) for n in _notes(answer)))


def render_text(answer: Answer) -> str:
    return _render(answer, _TEXT)


def _render(answer: Answer, style: _Style, for_manuscript: bool = False) -> str:
    parts = [answer.render_body(style.sentence, style.heading)]
    if isinstance(answer, RelatedWork):
        parts.insert(0, style.title(f"Related work: {answer.topic}"))
    if answer.references:
        parts.append(style.section("References") + "\n".join(style.reference(reference_line(r)) for r in answer.references))
    if for_manuscript:
        return printable("\n\n".join(parts) + "\n")
    notes = _notes(answer)
    if notes:
        parts.append(style.section("Notes") + "\n".join(style.note(n) for n in notes))
    parts.append(style.closing(backend_line(answer)))
    return printable("\n\n".join(parts) + "\n")


def reference_line(reference: Reference) -> str:
    """"[n] Authors (year or n.d.). Title or label. source"."""
    who = f"{reference.authors_display or 'Unknown authors'} ({year_label(reference.year)})"
    return f"[{reference.n}] {_sentence(who)} {_sentence(reference.label)} {reference.source}"


def _sentence(text: str) -> str:
    """`text` ending in exactly one full stop ("Zhang et al." stays as it is)."""
    return text if text.endswith(".") else text + "."


def backend_line(answer: Answer) -> str:
    """The outcome in a word, then who answered and how."""
    return f"Outcome: {answer.outcome}. {_who_answered(answer)}"


def _who_answered(answer: Answer) -> str:
    if answer.backend == "extractive":
        return "Answered offline by the extractive backend: sentences quoted from the abstracts, no model."
    model = f"the model {answer.model or 'unknown'}" + (f" at {answer.endpoint}" if answer.endpoint else "")
    if answer.outcome == "extractive_fallback":
        quoted = "nor any of the papers' own" if answer.refused else "the answer quotes the papers' own sentences"
        return f"None of the sentences {model} wrote could be verified; {quoted}."
    if answer.outcome == "declined":
        return f"Declined by {model} ({answer.backend} backend)."
    if answer.refused:  # the relevance gate, or an author's name to make clear, before any draft
        return (f"Refused after {model} drafted: none of its sentences could be verified." if answer.drafted
                else f"Refused before drafting: {model} was not asked.")
    if answer.sentences and all(s.origin == "extractive" for s in answer.sentences):
        # Listings (an author's papers, the papers on a topic, a figure no paper gives) need no model.
        return f"Listed from the collection's records and the papers' own sentences; {model} was not asked."
    return f"Answered by {model} ({answer.backend} backend), every citation checked."


def _markdown_sentence(s: AnswerSentence) -> str:
    flag = f" **⚠ unsupported:** _{_escape(s.note or 'not supported by the cited evidence')}_" if not s.supported else ""
    return f"{_escape(s.shown)} {s.markers}{flag}"


def _text_sentence(s: AnswerSentence) -> str:
    flag = f" (UNSUPPORTED: {s.note or 'not supported by the cited evidence'})" if not s.supported else ""
    return f"{s.shown} {s.markers}{flag}"


def _notes(answer: Answer) -> list[str]:
    return [_note(i) for i in answer.issues if i.kind in _NOTED]


def _note(issue: Issue) -> str:
    if issue.sentence:
        quoted = issue.sentence if len(issue.sentence) <= 120 else issue.sentence[:117] + "..."
        return f"{issue.detail}: \u201c{quoted}\u201d"
    return issue.detail


def _escape(text: str) -> str:
    """Text that Markdown shows as written (abstracts contain *, _, and backslashes). Control
    sequences go first: escaping would break them up and leave their payload as text."""
    text = printable(text)
    for char in "\\`*_[]<>":
        text = text.replace(char, "\\" + char)
    return text


_MARKDOWN = _Style(sentence=_markdown_sentence, heading=lambda name: f"**{_escape(name)}.** ",
                   title=lambda text: f"## {_escape(text)}", section=lambda name: f"**{name}**\n\n",
                   reference=lambda line: f"- {_escape(line)}", note=lambda note: f"- {_escape(note)}",
                   closing=lambda line: f"_{line}_")
_TEXT = _Style(sentence=_text_sentence, heading=lambda name: f"{name}. ", title=lambda text: text,
               section=lambda name: f"{name}\n", reference=lambda line: line, note=lambda note: f"- {note}",
               closing=lambda line: line)
