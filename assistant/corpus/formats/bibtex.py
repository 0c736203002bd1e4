"""BibTeX and BibLaTeX exports (Zotero, Better BibTeX, JabRef, Mendeley) through bibtexparser 2.

bibtexparser splits the file into blocks and reports the ones it cannot read; this module
resolves what it leaves raw: `@string` macros with `#` concatenation, the month macros,
crossref inheritance, names ("Last, First and others") and LaTeX (see latex.py).
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

from ..record import (
    RawPaper,
    bare_arxiv_id,
    clean,
    find_arxiv_id,
    iso_date,
    normalise_doi,
    usable_key,
    year_of,
)
from .latex import latex_to_text, verbatim
from .parsed import Parsed, Problem

EXTENSIONS = (".bib", ".bibtex", ".biblatex")
_ENTRY_START = re.compile(r"^\s*@\s*[a-zA-Z]+\s*[{(]", re.MULTILINE)
_BLOCK_KEY = re.compile(r"@\s*[a-zA-Z]+\s*[{(]\s*([^,\s{}()]+)")

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_MACROS = dict(zip(_MONTHS, ("January", "February", "March", "April", "May", "June", "July", "August",
                                   "September", "October", "November", "December")))
_TYPES = {
    "article": "article", "inproceedings": "inproceedings", "conference": "inproceedings",
    "incollection": "incollection", "inbook": "incollection", "book": "book", "phdthesis": "phdthesis",
    "thesis": "phdthesis", "mastersthesis": "mastersthesis", "techreport": "techreport", "report": "techreport",
}
_VERBATIM_FIELDS = {"doi", "url", "eprint", "arxivid", "crossref"}
# What an entry takes from the volume it cross-references: the volume's venue and date, never its
# DOI, URL or abstract (those would make every paper of the volume one paper).
_INHERITED = {"booktitle", "year", "month", "day", "date", "publisher", "address", "editor", "series", "volume",
              "organization"}

# bibtexparser logs every failed block as a warning; the problems are reported here instead.
logging.getLogger("bibtexparser").addHandler(logging.NullHandler())


def looks_like(text: str) -> bool:
    return bool(_ENTRY_START.search(text[:65536]))


def _split_concatenation(raw: str) -> list[str]:
    """`ieee # " Transactions"` -> ["ieee ", ' " Transactions"']: split on `#` outside braces and quotes."""
    parts, depth, quoted, start = [], 0, False, 0
    for index, char in enumerate(raw):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == '"' and depth == 0:
            quoted = not quoted
        elif char == "#" and depth == 0 and not quoted:
            parts.append(raw[start:index])
            start = index + 1
    return parts + [raw[start:]]


def _resolve(raw: str, strings: dict[str, str]) -> str:
    """A field's raw value with its delimiters removed and its macros expanded."""
    if raw[:1] == "{" and raw[-1:] == "}" and "#" not in raw:
        return raw[1:-1]
    pieces = []
    for part in (p.strip() for p in _split_concatenation(raw)):
        if len(part) >= 2 and (part[0], part[-1]) in (("{", "}"), ('"', '"')):
            pieces.append(part[1:-1])
        else:
            pieces.append(strings.get(part.lower(), _MONTH_MACROS.get(part.lower(), part)))
    return "".join(pieces)


def _month_number(text: str | None) -> int | None:
    if not text:
        return None
    text = text.strip().lower()
    if text.isdigit():
        return int(text) if 1 <= int(text) <= 12 else None
    return _MONTHS.index(text[:3]) + 1 if text[:3] in _MONTHS else None


@lru_cache(maxsize=65536)
def _person(raw: str) -> str | None:
    """One BibTeX name ("van Dyk, Jr, Ann", "M{\\"u}ller, J.", "Ann Lee") as "First von Last, Jr"."""
    if not any(c in raw for c in "{\\~$") and raw.count(",") <= 1:  # the common case, without the parser
        last, _, first = raw.partition(",")
        return clean(f"{first} {last}")
    from bibtexparser.middlewares.names import parse_single_name_into_parts

    parts = parse_single_name_into_parts(raw, strict=False)
    name = " ".join(filter(None, [" ".join(parts.first), " ".join(parts.von + parts.last)]))
    return clean(latex_to_text(name + (", " + " ".join(parts.jr) if parts.jr else "")))


def _names(value: str) -> tuple[list[str], bool]:
    """"M{\\"u}ller, J. and van Dyk, Ann and others" -> (["J. Müller", "Ann van Dyk"], True)."""
    from bibtexparser.middlewares.names import split_multiple_persons_names

    names, truncated = [], False
    for raw in split_multiple_persons_names(value):
        if raw.strip().lower() == "others":
            truncated = True
        elif name := _person(raw):
            names.append(name)
    return names, truncated


def _fields(entry, strings: dict[str, str]) -> dict[str, str]:
    return {name.lower(): _resolve(str(f.value).strip(), strings) for name, f in entry.fields_dict.items()}


def _paper(name: str, ordinal: int, key: str, kind: str, line: int, fields: dict[str, str]) -> RawPaper:
    def text(field_name: str) -> str | None:
        value = fields.get(field_name)
        if value is None:
            return None
        return clean(verbatim(value) if field_name in _VERBATIM_FIELDS else latex_to_text(value))

    authors, truncated = _names(fields["author"]) if fields.get("author") else ([], False)
    date_field = text("date")
    year = year_of(text("year"), date_field)
    month = _month_number(text("month")) or (_month_number(date_field[5:7]) if date_field else None)
    day = text("day") or (date_field[8:10] if date_field else None)
    prefix = (text("archiveprefix") or text("eprinttype") or "").lower()
    eprint = text("eprint") if prefix in ("", "arxiv") else None
    primary_class = text("primaryclass") or text("eprintclass")
    keywords = [k.strip() for k in re.split(r"[,;]", text("keywords") or "") if k.strip()]
    return RawPaper(
        source=f"{name}#{ordinal}", line=line, abstract=text("abstract") or "", title=text("title"),
        authors=authors, authors_truncated=truncated, year=year, date=iso_date(year, month, day),
        arxiv_id=bare_arxiv_id(eprint) or bare_arxiv_id(text("arxivid"))
        or find_arxiv_id(text("doi"), text("url"), text("journal"), text("note")),
        category=primary_class.split(".")[-1].upper() if primary_class else None,
        doi=normalise_doi(text("doi")), url=text("url"),
        venue=text("journal") or text("journaltitle") or text("booktitle"),
        type=_TYPES.get(kind.lower(), "misc"), keywords=keywords, user_key=usable_key(key),
    )


def _failure(name: str, block) -> Problem:
    """A block bibtexparser could not read, said the way a user fixes it."""
    from bibtexparser.model import DuplicateBlockKeyBlock, DuplicateFieldKeyBlock

    key_match = _BLOCK_KEY.match((block.raw or "").lstrip())
    key = key_match.group(1) if key_match else None
    line = (block.start_line or 0) + 1
    if isinstance(block, DuplicateBlockKeyBlock):
        message = f"the key is already used at line {(block.previous_block.start_line or 0) + 1}"
    elif isinstance(block, DuplicateFieldKeyBlock):
        message = f"a field is given twice ({', '.join(sorted(block.duplicate_keys))})"
    else:
        reason = str(getattr(block.error, "abort_reason", None) or block.error or "cannot be parsed")
        message = "unbalanced braces" if "closing" in reason or "end of file" in reason else reason.splitlines()[0]
    return Problem(name, message, line=line, entry=key)


def parse(name: str, text: str) -> Parsed:
    import bibtexparser
    from bibtexparser.exceptions import ParsingException
    from bibtexparser.model import ParsingFailedBlock

    try:
        library = bibtexparser.parse_string(text, parse_stack=[])
    except ParsingException as exc:  # the splitter's own inconsistencies ("please report this issue")
        return Parsed([], [Problem(name, f"cannot be parsed as BibTeX ({type(exc).__name__})")])
    strings: dict[str, str] = {}
    for string in library.strings:
        strings[string.key.lower()] = _resolve(str(string.value).strip(), strings)
    problems = [_failure(name, block) for block in library.blocks if isinstance(block, ParsingFailedBlock)]
    entries = [(entry, _fields(entry, strings)) for entry in library.entries]
    by_key = {entry.key.lower(): fields for entry, fields in entries}
    containers = {fields["crossref"].strip().lower() for _, fields in entries if fields.get("crossref")}
    papers = []
    for entry, fields in entries:
        line = entry.start_line + 1
        if entry.key.lower() in containers:
            continue  # a proceedings volume or book that entries cross-reference, not a paper itself
        parent = by_key.get(fields.get("crossref", "").strip().lower())
        if parent:
            inherited = {k: v for k, v in parent.items() if k in _INHERITED}
            fields = {**inherited, "booktitle": parent.get("booktitle") or parent.get("title", ""), **fields}
        try:
            paper = _paper(name, len(papers) + 1, entry.key, entry.entry_type, line, fields)
        except ValueError as exc:  # bibtexparser's name splitter: "Unterminated opening brace", ...
            problems.append(Problem(name, str(exc).splitlines()[0], line=line, entry=entry.key))
            continue
        papers.append(paper)
    return Parsed(papers, problems)
