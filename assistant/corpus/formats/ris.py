"""RIS exports (Zotero, Mendeley, EndNote) through rispy.

rispy reads a whole file and silently drops an entry that has no `ER` line, so the file is cut
into entries here (TY ... ER, with their line numbers) and each entry is read on its own: a bad
entry is then named and the others still read.
"""

from __future__ import annotations

import re

from ..record import RawPaper, clean, date_of, find_arxiv_id, normalise_doi, usable_key, year_of
from .parsed import Parsed, Problem

EXTENSIONS = (".ris",)
_TAG = re.compile(r"^([A-Z][A-Z0-9])  -(?: |$)")
_FIRST_TAG = re.compile(r"^\s*TY  - ", re.MULTILINE)
_TYPES = {
    "JOUR": "article", "JFULL": "article", "MGZN": "article", "NEWS": "article", "EJOUR": "article",
    "CONF": "inproceedings", "CPAPER": "inproceedings", "CHAP": "incollection", "ECHAP": "incollection",
    "BOOK": "book", "EBOOK": "book", "EDBOOK": "book", "THES": "phdthesis", "RPRT": "techreport",
}


def looks_like(text: str) -> bool:
    return bool(_FIRST_TAG.search(text[:65536]))


def _entries(name: str, text: str) -> tuple[list[tuple[int, list[str]]], list[Problem]]:
    """The file's entries as (first line, lines from TY to ER), and the lines that belong to none."""
    entries: list[tuple[int, list[str]]] = []
    problems: list[Problem] = []
    current: tuple[int, list[str]] | None = None
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        tag = _TAG.match(line)
        if tag and tag.group(1) == "TY":
            if current:
                problems.append(Problem(name, "entry has no 'ER  -' line before the next 'TY  -'", line=current[0]))
            current = (number, [line])
        elif current is None:
            if line.strip():
                problems.append(Problem(name, f"text outside an entry (entries start with 'TY  - '): {line[:40]!r}",
                                        line=number))
        else:
            current[1].append(line)
            if tag and tag.group(1) == "ER":
                entries.append(current)
                current = None
    if current:
        problems.append(Problem(name, "entry has no 'ER  -' line (the file ends inside it)", line=current[0]))
    return entries, problems


def _name(text: str) -> str | None:
    """"Müller, Jérôme" -> "Jérôme Müller"; "Smith, J., Jr." -> "J. Smith, Jr."; others as written."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) == 1:
        return clean(text)
    last, first, *suffix = parts
    return clean(" ".join(filter(None, [first, last])) + (", " + " ".join(suffix) if any(suffix) else ""))


def _first(record: dict, *names: str) -> str | None:
    for name in names:
        value = record.get(name)
        if isinstance(value, list):
            value = next((v for v in value if clean(v)), None)
        if text := clean(value):
            return text
    return None


def _list(record: dict, *names: str) -> list[str]:
    values = []
    for name in names:
        value = record.get(name) or []
        values += [v for v in (value if isinstance(value, list) else [value]) if clean(v)]
    return values


def _paper(name: str, ordinal: int, line: int, record: dict) -> RawPaper:
    authors = list(dict.fromkeys(n for raw in _list(record, "authors", "first_authors") if (n := _name(raw))))
    date_text = _first(record, "date", "publication_year", "year")
    year = year_of(_first(record, "year"), _first(record, "publication_year"), _first(record, "date"))
    doi = normalise_doi(_first(record, "doi"))
    urls = _list(record, "urls")
    url = next((u for u in urls if normalise_doi(u) != doi), urls[0] if urls else None)
    return RawPaper(
        source=f"{name}#{ordinal}", line=line, abstract=_first(record, "abstract", "notes_abstract") or "",
        title=_first(record, "title", "primary_title"), authors=authors, year=year,
        date=date_of(date_text) if year_of(date_text) == year else None,
        doi=doi, url=clean(url), arxiv_id=find_arxiv_id(_first(record, "doi"), *urls, _first(record, "notes")),
        venue=_first(record, "journal_name", "secondary_title", "alternate_title3", "alternate_title1"),
        type=_TYPES.get((_first(record, "type_of_reference") or "").upper(), "misc"),
        keywords=[k for k in (clean(k) for k in _list(record, "keywords")) if k],
        user_key=usable_key(_first(record, "id")),
    )


def parse(name: str, text: str) -> Parsed:
    import rispy

    entries, problems = _entries(name, text)
    papers = []
    for line, lines in entries:
        try:
            record = rispy.loads("\n".join(lines))[0]
        except Exception as exc:  # rispy's own failures on malformed tags; named here, never a traceback
            problems.append(Problem(name, f"cannot be read as RIS ({type(exc).__name__}: {exc})"[:200], line=line))
            continue
        papers.append(_paper(name, len(papers) + 1, line, record))
    return Parsed(papers, problems)
