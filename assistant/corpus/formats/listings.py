"""The seed listing layouts: one parser per layout, and detection that picks the layout of a file.

The layouts (see seeds/):
- listing      (000, 001): "<CAT><Mon> <d>[, <yyyy>][Code]" / "<Title><First Author>, ... [et al.] [· affil]" / abstract
- author_page  (002): a "Last, First" header, then title / "Last, First, Last, First, ..." / abstract
- arxiv_blocks (003): blank-line separated: abstract, [comment], "arXiv:<id>", "Created: <date> [Updated: ...]"
- abstracts    (004): one "Abstract:<text>" per line

Parsers return RawPaper records; keys are assigned over the whole library in keys.py.
"""

from __future__ import annotations

import re
from typing import Callable

from ...errors import CorpusError
from ..record import RawPaper
from .parsed import Parsed

_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_MONTH_NUMBER = {m: i for i, m in enumerate(_MONTHS.split("|"), start=1)}
LISTING_HEADER = re.compile(
    rf"^(?P<category>[A-Z][A-Z-]*?)(?P<month>{_MONTHS}) (?P<day>\d{{1,2}})(?:, (?P<year>\d{{4}}))?(?P<code>Code)?$"
)
# The first token of a person's name, matched on its letter case shape (see _case_shape): "Haoping",
# "W.", "Cheng-I", "Jean-Baptiste", "O'Neil", and any script's letters: "Jürgen", "Łukasz", "Zoë".
_NAME_HEAD = re.compile(r"^(?:(?:A['’])?Aa+(?:-Aa*)?|A\.|Aa*-A)$")
_AUTHOR_HEADER = re.compile(r"^[^\s,][^,]{0,40}, [^,]{1,40}$")
_ARXIV_ID = re.compile(r"^arXiv:(?P<id>\d{4}\.\d{4,5}(?:v\d+)?)$")
_CREATED = re.compile(r"^Created: (?P<created>\d{4}-\d{2}-\d{2})(?: Updated: (?P<updated>\d{4}-\d{2}-\d{2}))?$")
_ABSTRACT_LINE = "Abstract:"
# Lines end at \n, \r\n or \r only. The other characters str.splitlines() breaks at (form feed,
# NEL, U+2028, ...) occur inside entries, where they are spaces, not the end of a field.
_LINE_END = re.compile(r"\r\n|\r|\n")
_INNER_BREAK = re.compile("[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


class _Lines:
    """A file's lines with its name, so every error can say where it happened."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.lines = [_INNER_BREAK.sub(" ", line) for line in _LINE_END.split(text)]

    def error(self, line: int, problem: str, hint: str | None = None) -> CorpusError:
        return CorpusError(f"{self.name} line {line}: {problem}", hint or "fix or remove the entry, then re-run ingest")


# --- listing (000, 001) -----------------------------------------------------------------------


_PARTICLES = {"de", "van", "der", "von", "da", "di", "del", "la", "le", "du", "dos", "bin", "al", "ten", "ter"}
_MAX_NAME_TOKENS = 5


def _case_shape(text: str) -> str:
    """"Jürgen" -> "Aaaaaa": each upper-case letter as A, each lower-case one as a, in any script."""
    return "".join("A" if ch.isupper() else "a" if ch.islower() else ch for ch in text)


def _is_name_token(token: str) -> bool:
    if token in _PARTICLES:
        return True
    return token[:1].isupper() and all(ch.isalpha() or ch in ".-'’" for ch in token)


def _is_name(text: str) -> bool:
    tokens = text.split()
    return 2 <= len(tokens) <= _MAX_NAME_TOKENS and all(_is_name_token(t) for t in tokens)


def split_title_and_first_author(glued: str) -> tuple[str, str] | None:
    """Split "…InspectiONHaoping Bai" into ("…InspectiON", "Haoping Bai"); None if no seam.

    The listing glues the title's last word to the first author's name. Scanning the name's
    possible first tokens from the end (the surname is never the glued one), the first token
    that splits into a non-empty title tail and a name head ("Haoping", "W.", "Cheng-I")
    followed by name-like tokens is the seam; within a token, the leftmost such split keeps
    hyphenated first names and "O'Neil" whole.
    """
    tokens = glued.split(" ")
    for index in range(len(tokens) - 2, max(-1, len(tokens) - 1 - _MAX_NAME_TOKENS), -1):
        token = tokens[index]
        for cut in range(1, len(token)):
            if not (token[cut].isupper() and _NAME_HEAD.match(_case_shape(token[cut:]))):
                continue
            name = " ".join([token[cut:]] + tokens[index + 1 :])
            if _is_name(name):
                return " ".join(tokens[:index] + [token[:cut]]), name
    return None


def _parse_byline(text: str, where: _Lines, line: int) -> tuple[str, list[str], bool, list[str]]:
    """Title, authors, "et al." flag and affiliations of a listing's second line.

    Titles may contain ", " themselves, so the seam is looked for in the first comma-separated
    segment after which every segment is a name.
    """
    byline, _, affiliations = text.partition(" · ")
    segments = [s.strip() for s in byline.split(", ")]
    truncated = segments[-1].endswith(" et al.")
    if truncated:
        segments[-1] = segments[-1].removesuffix(" et al.").strip()
    for i, segment in enumerate(segments):
        split = split_title_and_first_author(segment)
        if split and all(_is_name(s) for s in segments[i + 1 :]):
            title = ", ".join(segments[:i] + [split[0]])
            affils = [a.strip() for a in affiliations.split(",") if a.strip()]
            return title, [split[1], *segments[i + 1 :]], truncated, affils
    raise where.error(line, "cannot tell the title from the first author's name")


def _listing_year(where: _Lines) -> int | None:
    """The year of a listing's year-less dates: listings drop the year for the current year,
    so it is the year after the newest explicit one (the smallest consistent choice)."""
    years = [int(m["year"]) for text in where.lines if (m := LISTING_HEADER.match(text)) and m["year"]]
    return max(years) + 1 if years else None


def parse_listing(where: _Lines) -> list[RawPaper]:
    lines = where.lines
    while lines and not lines[-1].strip():
        lines.pop()
    current_year = _listing_year(where)
    papers = []
    for start in range(0, len(lines), 3):
        header = LISTING_HEADER.match(lines[start].strip())
        if not header:
            raise where.error(start + 1, f"expected a header like 'LGMar 11, 2023', found {lines[start][:60]!r}")
        if start + 2 >= len(lines) or not lines[start + 1].strip() or not lines[start + 2].strip():
            raise where.error(start + 1, "entry cut short: a header without its title line and abstract")
        title, authors, truncated, affiliations = _parse_byline(lines[start + 1].strip(), where, start + 2)
        year = int(header["year"]) if header["year"] else current_year
        date = f"{year:04d}-{_MONTH_NUMBER[header['month']]:02d}-{int(header['day']):02d}" if year else None
        papers.append(RawPaper(
            source=f"{where.name}#{start // 3 + 1}", line=start + 1, abstract=lines[start + 2].strip(),
            title=title, authors=authors, authors_truncated=truncated, affiliations=affiliations,
            year=year, date=date, year_inferred=not header["year"], category=header["category"],
        ))
    return papers


# --- author page (002) ------------------------------------------------------------------------


def _last_first_to_names(text: str) -> list[str] | None:
    """"Hu, Ke, Qiu, WeiDong" -> ["Ke Hu", "WeiDong Qiu"]; None when the parts do not pair up."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) % 2 or not all(parts):
        return None
    return [f"{first} {last}" for last, first in zip(parts[::2], parts[1::2])]


def parse_author_page(where: _Lines) -> list[RawPaper]:
    lines = [text.strip() for text in where.lines]
    while lines and not lines[-1]:
        lines.pop()
    papers = []
    body = 1  # line 1 is the page's author header
    for start in range(body, len(lines), 3):
        if start + 2 >= len(lines) or not all(lines[start : start + 3]):
            raise where.error(start + 1, "entry cut short: expected a title, an author line and an abstract")
        authors = _last_first_to_names(lines[start + 1])
        if authors is None:
            raise where.error(start + 2, "author line is not 'Last, First, Last, First, ...'")
        papers.append(RawPaper(
            source=f"{where.name}#{(start - body) // 3 + 1}", line=start + 1,
            title=lines[start], authors=authors, abstract=lines[start + 2],
        ))
    return papers


# --- arXiv blocks (003) -----------------------------------------------------------------------


def parse_arxiv_blocks(where: _Lines) -> list[RawPaper]:
    papers: list[RawPaper] = []
    pending: list[tuple[int, str]] = []  # (line number, text) since the last entry ended
    arxiv_id: str | None = None
    for number, raw in enumerate(where.lines, start=1):
        text = raw.strip()
        if not text:
            continue
        if match := _ARXIV_ID.match(text):
            arxiv_id = match["id"]
            continue
        if match := _CREATED.match(text):
            if not pending or arxiv_id is None:
                raise where.error(number, "entry cut short: a 'Created:' line without its abstract and arXiv id")
            if len(pending) > 2:
                raise where.error(pending[0][0], "entry has more than an abstract and one comment line")
            (first_line, abstract), *comment = pending
            papers.append(RawPaper(
                source=f"{where.name}#{len(papers) + 1}", line=first_line, abstract=abstract,
                comment=comment[0][1] if comment else None, arxiv_id=arxiv_id,
                date=match["created"], year=int(match["created"][:4]),
            ))
            pending, arxiv_id = [], None
            continue
        if arxiv_id is not None:
            raise where.error(number, "expected 'Created: YYYY-MM-DD' after the arXiv id")
        pending.append((number, text))
    if pending or arxiv_id:
        line = pending[0][0] if pending else len(where.lines)
        raise where.error(line, "entry cut short: no 'arXiv:' and 'Created:' lines after this abstract")
    return papers


# --- abstracts only (004) ---------------------------------------------------------------------


def parse_abstracts(where: _Lines) -> list[RawPaper]:
    papers = []
    for number, raw in enumerate(where.lines, start=1):
        text = raw.strip()
        if not text:
            continue
        if not text.startswith(_ABSTRACT_LINE) or not text[len(_ABSTRACT_LINE):].strip():
            raise where.error(number, "expected 'Abstract:<text>'")
        papers.append(RawPaper(source=f"{where.name}#{len(papers) + 1}", line=number,
                               abstract=text[len(_ABSTRACT_LINE):].strip()))
    return papers


# --- detection --------------------------------------------------------------------------------


def _first_lines(where: _Lines, count: int) -> list[str]:
    return [t.strip() for t in where.lines if t.strip()][:count]


LAYOUTS: dict[str, tuple[Callable[[_Lines], bool], Callable[[_Lines], list[RawPaper]]]] = {
    "listing": (lambda w: bool(LISTING_HEADER.match((_first_lines(w, 1) or [""])[0])), parse_listing),
    "author_page": (
        lambda w: len(head := _first_lines(w, 3)) == 3 and bool(_AUTHOR_HEADER.match(head[0]))
        and "," in head[2] and not head[1].startswith(_ABSTRACT_LINE),
        parse_author_page,
    ),
    "arxiv_blocks": (
        lambda w: any(_ARXIV_ID.match(t.strip()) or _CREATED.match(t.strip()) for t in w.lines),
        parse_arxiv_blocks,
    ),
    "abstracts": (lambda w: (_first_lines(w, 1) or [""])[0].startswith(_ABSTRACT_LINE), parse_abstracts),
}


def detect_layout(where: _Lines) -> str:
    for name, (detect, _) in LAYOUTS.items():
        if detect(where):
            return name
    raise CorpusError(
        f"{where.name}: no known seed layout matches this file",
        f"expected BibTeX, RIS, CSL-JSON, arXiv Atom or a seed layout ({', '.join(LAYOUTS)}; see README, "
        "'Seed formats'); fix or remove the file",
    )


def parse_text(name: str, text: str) -> list[RawPaper]:
    where = _Lines(name, text)
    _, parse = LAYOUTS[detect_layout(where)]
    papers = parse(where)
    if not papers:
        raise CorpusError(f"{name}: no paper entries found", "check the file's layout")
    return papers


def parse(name: str, text: str) -> Parsed:
    """A listing is read whole or not at all: its entries are told apart by line position."""
    return Parsed(parse_text(name, text))

