"""CSL-JSON exports (Zotero, Better CSL JSON): a list of items with `issued.date-parts`,
`author` as family/given or literal, and the item's `id` (Better BibTeX: the citation key)."""

from __future__ import annotations

import json

from ..record import RawPaper, clean, find_arxiv_id, iso_date, normalise_doi, usable_key, year_of
from .parsed import Parsed, Problem

EXTENSIONS = (".json", ".csljson")
_TYPES = {
    "article-journal": "article", "article-magazine": "article", "article-newspaper": "article",
    "paper-conference": "inproceedings", "chapter": "incollection", "book": "book", "thesis": "phdthesis",
    "report": "techreport",
}


def looks_like(text: str) -> bool:
    return text.lstrip("\ufeff \t\r\n")[:1] in ("[", "{")


def _text(value: object) -> str | None:
    return clean(value) if isinstance(value, (str, int, float)) else None


def _name(person: object) -> str | None:
    if not isinstance(person, dict):
        return _text(person)
    if literal := _text(person.get("literal")):
        return literal
    family = " ".join(filter(None, [_text(person.get("non-dropping-particle")), _text(person.get("family"))]))
    given = " ".join(filter(None, [_text(person.get("given")), _text(person.get("dropping-particle"))]))
    suffix = _text(person.get("suffix"))
    return clean(" ".join(filter(None, [given, family])) + (f", {suffix}" if suffix else ""))


def _issued(item: dict) -> tuple[int | None, str | None]:
    """Year and ISO date of `issued`: {"date-parts": [[2020, 5, 1]]}, {"raw": "2020-05-01"} or {"literal": ...}."""
    issued = item.get("issued")
    if not isinstance(issued, dict):
        return year_of(_text(issued)), None
    parts = issued.get("date-parts")
    first = parts[0] if isinstance(parts, list) and parts and isinstance(parts[0], list) else []
    year = year_of(_text(first[0])) if first else year_of(_text(issued.get("raw")), _text(issued.get("literal")))
    date = iso_date(year, *first[1:3]) if len(first) >= 3 else None
    return year, date


def _paper(name: str, ordinal: int, item: dict) -> RawPaper:
    authors = [n for n in (_name(p) for p in item.get("author") or [] if p) if n] \
        if isinstance(item.get("author"), list) else []
    year, date = _issued(item)
    doi = normalise_doi(_text(item.get("DOI")))
    keywords = _text(item.get("keyword")) or ""
    return RawPaper(
        source=f"{name}#{ordinal}", line=None, abstract=_text(item.get("abstract")) or "", title=_text(item.get("title")),
        authors=authors, year=year, date=date, doi=doi, url=_text(item.get("URL")),
        arxiv_id=find_arxiv_id(_text(item.get("number")), _text(item.get("DOI")), _text(item.get("URL")),
                               _text(item.get("note"))),
        venue=_text(item.get("container-title")) or _text(item.get("event-title")),
        type=_TYPES.get(_text(item.get("type")) or "", "misc"),
        keywords=[k.strip() for k in keywords.replace(";", ",").split(",") if k.strip()],
        user_key=usable_key(_text(item.get("citation-key")) or _text(item.get("id"))),
    )


def parse(name: str, text: str) -> Parsed:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return Parsed([], [Problem(name, f"not valid JSON ({exc.msg}, column {exc.colno})", line=exc.lineno)])
    except (ValueError, RecursionError) as exc:  # a number too long to convert, nesting too deep
        return Parsed([], [Problem(name, f"not valid JSON ({exc})"[:200])])
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    if not isinstance(data, list):
        return Parsed([], [Problem(name, "not CSL-JSON: expected a list of items")])
    papers, problems = [], []
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            problems.append(Problem(name, "not a CSL item (an object with id, type, title, ...)", entry=f"#{number}"))
            continue
        papers.append(_paper(name, len(papers) + 1, item))
    return Parsed(papers, problems)
