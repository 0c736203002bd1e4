"""The sources panel: the papers behind the selected turn, each with its supporting quote
highlighted inside its abstract.

It is an OptionList of paper cards, so arrow keys walk the papers and a citation marker
clicked in the conversation highlights (and scrolls to) its card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from ..answer.model import Reference
from ..corpus.paper import Paper
from ..text import latex_to_text, printable

EMPTY_HINT = "The papers behind the selected answer appear here. Click a [n] marker or a reference to show one."
QUOTE_STYLE = "bold $text-warning on $warning-muted"


@dataclass(frozen=True)
class PaperDetail:
    """What a card shows about a paper besides its key."""

    label: str  # the title, or the abstract's opening words where the listing has no title
    authors: str
    year: int | None
    origin: str  # "<seed file>#<ordinal>"
    abstract: str | None

    def __post_init__(self) -> None:
        for name in ("label", "authors", "origin", "abstract"):
            if (value := getattr(self, name)) is not None:
                object.__setattr__(self, name, printable(value))

    @classmethod
    def of_paper(cls, paper: Paper) -> "PaperDetail":
        return cls(paper.label, _all_authors(paper.authors, paper.authors_truncated), paper.year, paper.source,
                   paper.abstract)

    @classmethod
    def of_reference(cls, ref: Reference) -> "PaperDetail":
        return cls(ref.label, _all_authors(ref.authors, ref.authors_truncated), ref.year, ref.source, ref.abstract)


def _all_authors(authors: tuple[str, ...], truncated: bool) -> str:
    """Every listed author (the panel is where a reader looks for them), "et al." kept."""
    return ", ".join(authors) + (" et al." if truncated else "")


@dataclass(frozen=True)
class Source:
    """A paper a turn points at: its key, the [n] the turn uses for it, and what to highlight."""

    key: str
    number: int | None = None
    quotes: tuple[str, ...] = ()  # sentences the turn cited or matched, highlighted in the abstract
    detail: PaperDetail | None = None  # what the turn itself knows, used until the index is loaded


def quote_span(abstract: str, quote: str) -> tuple[int, int] | None:
    """Where quote occurs in abstract, ignoring differences in whitespace; None if it does not."""
    words = quote.split()
    if not words:
        return None
    match = re.search(r"\s+".join(map(re.escape, words)), abstract)
    return match.span() if match else None


def source_card(source: Source, detail: PaperDetail | None) -> Content:
    number = f"[{source.number}] " if source.number is not None else ""
    key = Content.styled(number + printable(source.key), "bold $text-accent")
    # Shown as a reader reads it (the quotes are rendered the same way): no LaTeX markup.
    abstract = latex_to_text(detail.abstract) if detail and detail.abstract is not None else None
    if detail is None:
        head = key
    else:
        meta = " · ".join(part for part in (detail.authors, str(detail.year or "n.d."), detail.origin) if part)
        head = Content.assemble(key, "\n", (detail.label, "bold"), "\n", (meta, "dim"))
    if abstract is None:
        body = Content.styled("(abstract shown once the index is loaded)", "dim italic")
    else:
        body = Content(abstract)
    loose = []
    for quote in map(printable, source.quotes):
        span = quote_span(abstract, latex_to_text(quote)) if abstract is not None else None
        if span:
            body = body.stylize(QUOTE_STYLE, *span)
        else:
            loose.append(quote)
    # A quote not found verbatim in the abstract is still shown, highlighted, above it.
    quoted = [Content.assemble("\n", (f"“{quote}”", QUOTE_STYLE)) for quote in loose]
    return Content.assemble(head, *quoted, "\n", body)


class SourcesPanel(OptionList):
    """Paper cards for the selected turn; `show()` replaces them, `select()` highlights one."""

    BORDER_TITLE = "Sources"

    def on_mount(self) -> None:
        self.show("Sources", [], {})

    def show(self, title: str, sources: list[Source], papers: Mapping[str, Paper], select: str | None = None) -> None:
        self.border_title = printable(title)
        self.clear_options()
        if not sources:
            self.add_option(Option(Content.styled(EMPTY_HINT, "dim italic"), disabled=True))
            return
        unique: dict[str, Source] = {}
        for source in sources:
            unique.setdefault(source.key, source)  # each paper once (option ids must be unique)
        options: list[Option | None] = []
        for source in unique.values():
            paper = papers.get(source.key)
            detail = PaperDetail.of_paper(paper) if paper else source.detail
            options += [Option(source_card(source, detail), id=source.key), None]
        self.add_options(options[:-1])
        self.select(select or sources[0].key)

    def select(self, key: str) -> bool:
        """Highlight the card of paper `key` and scroll it to the top; False if it is not shown."""
        try:
            index = self.get_option_index(key)
        except OptionDoesNotExist:
            return False
        self.highlighted = index
        self.scroll_to_highlight(top=True)
        return True

    @property
    def selected_key(self) -> str | None:
        option = self.highlighted_option
        return option.id if option else None
