"""Turns that list papers rather than answer: /search results and the /papers listing."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ..corpus.paper import Paper
from ..text import printable
from .conversation import LinkedMarkdown, Turn, escape_markdown, paper_link
from .sources import Source

_SNIPPET_CHARS = 240


def _shorten(text: str, limit: int) -> str:
    text = " ".join(printable(text).split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def search_markdown(results: list[dict[str, Any]]) -> str:
    if not results:
        return "*No paper matches; try other words or /filter clear.*"
    rows = []
    for item in results:
        year = item.get("year") or "n.d."
        head = paper_link(f"[{item['rank']}] {item['label']}", item["key"])
        rows.append(f"- {head} ({year}, `{item['key']}`)\n\n  > {escape_markdown(_shorten(item['snippet'], _SNIPPET_CHARS))}")
    return "\n".join(rows)


class SearchResultsView(Turn):
    """Ranked evidence for a query (Evidence.to_dict() items): no answer, just the papers."""

    def __init__(self, query: str, results: list[dict[str, Any]]) -> None:
        super().__init__(classes="results")
        self.query_text = query
        self.results = results

    def compose(self) -> ComposeResult:
        count = len(self.results)
        yield Static(f"Search · {count} paper{'s' * (count != 1)} for “{_shorten(self.query_text, 80)}”",
                     classes="turn-caption", markup=False)
        yield LinkedMarkdown(search_markdown(self.results))

    @property
    def sources_title(self) -> str:
        return "Sources · search"

    def sources(self) -> list[Source]:
        return [Source(item["key"], item["rank"], (item["snippet"],)) for item in self.results]


def paper_row(paper: Paper, key_width: int) -> Content:
    return Content.assemble((f"{paper.year or 'n.d.':<5}", "dim"),
                            (printable(paper.key).ljust(key_width), "$text-accent"), printable(paper.label))


def listed_papers(papers: list[Paper], word: str = "") -> list[Paper]:
    """The papers whose title, authors or key contain `word` (any case), newest first, then by title;
    papers without a year last."""
    needle = word.casefold()
    found = [p for p in papers
             if needle in " ".join((p.label, *p.authors, p.key)).casefold()]
    return sorted(found, key=lambda p: (p.year is None, -(p.year or 0), p.label.casefold()))


class PapersView(Turn):
    """Indexed papers as a list: moving through it shows each paper in the sources panel."""

    can_focus = False  # the list inside takes the focus

    def __init__(self, papers: list[Paper], total: int | None = None, word: str = "") -> None:
        """`papers` as listed; `total` papers in the index when `word` filtered them."""
        super().__init__(classes="results papers")
        self.papers = papers
        self.total = len(papers) if total is None else total
        self.word = word

    def compose(self) -> ComposeResult:
        caption = (f"Papers · {len(self.papers)} of {self.total} with “{_shorten(self.word, 40)}”" if self.word
                   else f"Papers · {self.total} in the index")
        yield Static(caption, classes="turn-caption", markup=False)
        key_width = max((len(paper.key) for paper in self.papers), default=0) + 2
        yield OptionList(*(Option(paper_row(paper, key_width), id=paper.key) for paper in self.papers),
                         classes="papers-list")

    @property
    def sources_title(self) -> str:
        return "Sources · all papers"

    def sources(self) -> list[Source]:
        return [Source(paper.key) for paper in self.papers]

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self.post_message(self.SourcesWanted(self, event.option.id))
