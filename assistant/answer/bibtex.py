"""BibTeX for the papers an answer or a related-work section cites.

Entries are @misc (the listings are preprint pages) with `eprint`/`archivePrefix` where an
arXiv id is known. Every value is escaped so that `$`, `{`, `\\`, `&`, `%`, `#`, `_`, `~`, `^`
in titles and abstracts cannot break the file.
"""

from __future__ import annotations

import re
from typing import Iterable

from ..corpus.paper import Paper
from ..text import printable

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
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]")


def escape(text: str) -> str:
    """Text safe inside a BibTeX brace-delimited value (and without control characters)."""
    return _SPECIAL.sub(lambda m: _ESCAPES[m.group()], " ".join(printable(text).split()))


def _entry(paper: Paper) -> str:
    fields: list[tuple[str, str]] = []
    title = paper.title or f"{paper.label} (untitled in the listing)"
    # Double braces keep the capitalisation of acronyms such as ASR and LLMs.
    fields.append(("title", "{" + escape(title) + "}"))
    if paper.authors:
        names = [escape(a) for a in paper.authors] + (["others"] if paper.authors_truncated else [])
        fields.append(("author", " and ".join(names)))
    if paper.year:
        fields.append(("year", str(paper.year)))
    if paper.arxiv_id:
        fields += [("eprint", paper.arxiv_id), ("archivePrefix", "arXiv")]
    if paper.comment:
        fields.append(("note", escape(paper.comment)))
    fields.append(("howpublished", escape(f"seed listing {paper.source}")))
    fields.append(("abstract", escape(paper.abstract)))
    key = _KEY_UNSAFE.sub("", paper.key)
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}\n"


def to_bibtex(papers: Iterable[Paper]) -> str:
    """One entry per distinct paper, in the given order."""
    seen: set[str] = set()
    entries = []
    for paper in papers:
        if paper.key not in seen:
            seen.add(paper.key)
            entries.append(_entry(paper))
    return "\n".join(entries)
