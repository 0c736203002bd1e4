"""arXiv API results (an Atom feed: export.arxiv.org/api/query?...) saved to a file."""

from __future__ import annotations

import re

from ..record import RawPaper, bare_arxiv_id, clean, date_of, normalise_doi, year_of
from .parsed import Parsed, Problem

EXTENSIONS = (".atom", ".xml")
_ATOM = "{http://www.w3.org/2005/Atom}"
_ARXIV = "{http://arxiv.org/schemas/atom}"
_FEED = re.compile(r"<feed[\s>]")


def looks_like(text: str) -> bool:
    return text.lstrip("\ufeff \t\r\n")[:1] == "<" and bool(_FEED.search(text[:4096]))


def _xml_parser():
    try:  # defusedxml refuses entity expansion bombs; the standard parser is the fallback
        from defusedxml.ElementTree import ParseError, fromstring
    except ImportError:
        from xml.etree.ElementTree import ParseError, fromstring
    return fromstring, ParseError


def _text(element, tag: str) -> str | None:
    found = element.find(tag)
    return clean(found.text) if found is not None else None


def _paper(name: str, ordinal: int, entry) -> RawPaper:
    entry_id = _text(entry, f"{_ATOM}id") or ""
    published = _text(entry, f"{_ATOM}published")
    primary = entry.find(f"{_ARXIV}primary_category")
    category = primary.get("term") if primary is not None else None
    links = [link.get("href") for link in entry.findall(f"{_ATOM}link") if link.get("rel") == "alternate"]
    affiliations = [a for author in entry.findall(f"{_ATOM}author")
                    for a in (clean(x.text) for x in author.findall(f"{_ARXIV}affiliation")) if a]
    return RawPaper(
        source=f"{name}#{ordinal}", line=None, abstract=_text(entry, f"{_ATOM}summary") or "",
        title=_text(entry, f"{_ATOM}title"),
        authors=[n for n in (_text(a, f"{_ATOM}name") for a in entry.findall(f"{_ATOM}author")) if n],
        affiliations=list(dict.fromkeys(affiliations)),
        year=year_of(published), date=date_of(published), arxiv_id=bare_arxiv_id(entry_id),
        category=category.split(".")[-1].upper() if category else None,
        comment=_text(entry, f"{_ARXIV}comment"), doi=normalise_doi(_text(entry, f"{_ARXIV}doi")),
        url=clean(links[0]) if links else clean(entry_id) or None, venue=_text(entry, f"{_ARXIV}journal_ref"),
    )


def parse(name: str, text: str) -> Parsed:
    fromstring, parse_error = _xml_parser()
    try:
        feed = fromstring(text.lstrip("\ufeff"))
    except parse_error as exc:
        line = getattr(exc, "position", (None,))[0]
        return Parsed([], [Problem(name, f"not well-formed XML ({str(exc).split(':')[0]})", line=line)])
    except ValueError as exc:  # defusedxml: entities or a DTD, which a feed never needs
        return Parsed([], [Problem(name, f"refused XML ({type(exc).__name__})")])
    if feed.tag != f"{_ATOM}feed":
        return Parsed([], [Problem(name, "not an Atom feed (no <feed> in the Atom namespace)")])
    papers, problems = [], []
    for number, entry in enumerate(feed.findall(f"{_ATOM}entry"), start=1):
        entry_id = _text(entry, f"{_ATOM}id") or f"#{number}"
        if "/api/errors" in entry_id:
            problems.append(Problem(name, f"the arXiv API returned an error: {_text(entry, f'{_ATOM}summary')}",
                                    entry=f"#{number}"))
            continue
        papers.append(_paper(name, len(papers) + 1, entry))
    return Parsed(papers, problems)
