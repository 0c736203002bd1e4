"""BibTeX for the papers an answer, a related-work section or the library export names.

Written for reference managers and biblatex to re-import as the same papers: the user's own
keys, the record's entry type (@article, @inproceedings, ..., @misc), doi and url, the arXiv
`eprint`/`archivePrefix`/`primaryClass`, journal or booktitle, every author (`and others` only
where the source itself cut the list). Text is Unicode with the characters BibTeX and LaTeX
treat specially escaped (`{`, `}`, `\\`, `$`, `&`, `%`, `#`, `_`, `~`, `^`); doi and url are
verbatim fields and stay as they are. A paper without a year has no year field; one without a
title (some listings have none) has no title field.
"""

from __future__ import annotations

import re
from typing import Iterable

from ..corpus.paper import Paper
from ..corpus.record import PAPER_TYPES
from ..text import printable
from .reference_fields import primary_class, split_name

_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_SPECIAL = re.compile("|".join(re.escape(ch) for ch in _ESCAPES))
# Characters BibTeX ends or breaks a key on.
_KEY_UNSAFE = re.compile(r"[\s,{}()\"'#%~=\\]")
_AND = re.compile(r"\band\b", re.IGNORECASE)  # BibTeX splits author lists on it
# Where each entry type keeps its venue.
_VENUE_FIELD = {"inproceedings": "booktitle", "incollection": "booktitle"}


def escape(text: str) -> str:
    """Text safe inside a BibTeX brace-delimited value (and without control characters)."""
    return _SPECIAL.sub(lambda m: _ESCAPES[m.group()], " ".join(printable(text).split()))


def _verbatim(text: str) -> str:
    """A URL or DOI as written; only braces, which would unbalance the value, are percent-encoded."""
    return text.strip().replace("{", "%7B").replace("}", "%7D")


def _person(author: str) -> str:
    """"Ann van Dyk" -> "van Dyk, Ann"; a name BibTeX must not split ("Google, Inc.") in braces."""
    name = split_name(author)
    if name.literal or _AND.search(author):
        return "{" + escape(name.literal or author) + "}"
    last = " ".join(filter(None, [name.particle, name.family]))
    return ", ".join(escape(part) for part in (last, name.suffix, name.given) if part)


def _authors(paper: Paper) -> str:
    names = [_person(a) for a in paper.authors]
    return " and ".join(names + (["others"] if paper.authors_truncated else []))


def _fields(paper: Paper) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    if paper.title:
        # Double braces keep the capitalisation of acronyms such as ASR and LLMs.
        fields.append(("title", "{" + escape(paper.title) + "}"))
    if paper.authors:
        fields.append(("author", _authors(paper)))
    if paper.year is not None:
        fields.append(("year", str(paper.year)))
    if paper.date:
        fields.append(("date", paper.date))
    if paper.venue:
        fields.append((_VENUE_FIELD.get(paper.type, "journal"), escape(paper.venue)))
    if paper.doi:
        fields.append(("doi", _verbatim(paper.doi)))
    if paper.url:
        fields.append(("url", _verbatim(paper.url)))
    if paper.arxiv_id:
        fields += [("eprint", paper.arxiv_id), ("archivePrefix", "arXiv")]
    if arxiv_class := primary_class(paper.category):  # kept without an eprint too: --category filters on it
        fields.append(("primaryClass", arxiv_class))
    if paper.comment:
        fields.append(("note", escape(paper.comment)))
    if paper.keywords:
        fields.append(("keywords", escape(", ".join(paper.keywords))))
    if paper.abstract:
        fields.append(("abstract", escape(paper.abstract)))
    return fields


def _entry(paper: Paper) -> str:
    key = _KEY_UNSAFE.sub("", paper.key)
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in _fields(paper))
    kind = paper.type if paper.type in PAPER_TYPES else "misc"
    return f"@{kind}{{{key},\n{body}\n}}\n"


def to_bibtex(papers: Iterable[Paper]) -> str:
    """One entry per distinct paper, in the given order."""
    seen: set[str] = set()
    entries = []
    for paper in papers:
        if paper.key not in seen:
            seen.add(paper.key)
            entries.append(_entry(paper))
    return "\n".join(entries)


def incomplete(papers: Iterable[Paper]) -> str | None:
    """A note naming the papers whose entries lack a title, authors or a year (some listings
    give none), for the user to complete them in a reference manager; None when none do."""
    lacking = {p.key: [f for f, given in (("title", p.title), ("authors", p.authors), ("year", p.year is not None))
                       if not given] for p in papers}
    lacking = {key: fields for key, fields in lacking.items() if fields}
    if not lacking:
        return None
    shown = ", ".join(f"{key} ({'/'.join(fields)})" for key, fields in list(lacking.items())[:5])
    more = f" and {len(lacking) - 5} more" if len(lacking) > 5 else ""
    return (f"{len(lacking)} BibTeX entr{'y lacks' if len(lacking) == 1 else 'ies lack'} fields the library does "
            f"not give: {shown}{more}; complete them in your reference manager before citing")
