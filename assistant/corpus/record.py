"""What a format reader makes of one entry, before deduplication and keys; and the field
normalisations every format shares (DOIs, arXiv ids, years, citation keys)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Publication types use BibTeX's vocabulary: each format maps its own onto it.
PAPER_TYPES = ("article", "inproceedings", "incollection", "book", "phdthesis", "mastersthesis", "techreport",
               "misc")

_DOI = re.compile(r"\b(10\.\d{4,9}/\S+)", re.IGNORECASE)
_ARXIV_NEW = r"\d{4}\.\d{4,5}"
_ARXIV_OLD = r"[a-z-]+(?:\.[A-Z]{2})?/\d{7}"
_ARXIV_ID = re.compile(
    rf"(?:arxiv\.org/(?:abs|pdf)/|arxiv[:.]\s*|10\.48550/arxiv\.)(?P<id>{_ARXIV_NEW}|{_ARXIV_OLD})(?:v\d+)?",
    re.IGNORECASE)
_BARE_ARXIV_ID = re.compile(rf"^(?P<id>{_ARXIV_NEW}|{_ARXIV_OLD})(?:v\d+)?$", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)")
_ISO_DATE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
# A citation key a reference manager and LaTeX accept: no spaces, braces, commas, quotes or slashes.
_USABLE_KEY = re.compile(r"^[^\s,{}()\"'#%~=\\/]+$")


@dataclass
class RawPaper:
    """What a reader read for one entry, before duplicates are merged and keys assigned."""

    source: str  # "<file>#<ordinal in that file, from 1>"
    abstract: str  # "" when the entry has none (it is then indexed by its title)
    line: int | None  # where the entry starts in its file, from 1 (None: the format has no lines)
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    authors_truncated: bool = False  # the source itself cut the list ("et al.", "and others")
    affiliations: list[str] = field(default_factory=list)
    year: int | None = None
    date: str | None = None
    year_inferred: bool = False
    category: str | None = None
    arxiv_id: str | None = None
    comment: str | None = None
    doi: str | None = None
    url: str | None = None
    venue: str | None = None
    type: str = "misc"
    keywords: list[str] = field(default_factory=list)
    user_key: str | None = None
    sources: list[str] = field(default_factory=list)  # every file entry merged into this one; [source] if none

    def __post_init__(self) -> None:
        if not self.sources:
            self.sources = [self.source]


def clean(text: object) -> str | None:
    """A field's text with its whitespace collapsed, or None when nothing is left."""
    if text is None:
        return None
    collapsed = " ".join(str(text).split())
    return collapsed or None


def normalise_doi(text: str | None) -> str | None:
    """"https://doi.org/10.1000/XYZ" -> "10.1000/xyz" (DOIs are case-insensitive)."""
    if not text:
        return None
    match = _DOI.search(text)
    return match.group(1).rstrip(".,;").lower() if match else None


def find_arxiv_id(*texts: str | None) -> str | None:
    """The arXiv id (without version) named in any of texts: an arxiv.org URL, "arXiv:2101.00001",
    a 10.48550 DOI."""
    for text in texts:
        if text and (match := _ARXIV_ID.search(text)):
            return match["id"]
    return None


def bare_arxiv_id(text: str | None) -> str | None:
    """"2101.00001v2" -> "2101.00001"; None when text is not an arXiv id by itself."""
    match = _BARE_ARXIV_ID.match(text.strip()) if text else None
    return match["id"] if match else find_arxiv_id(text)


def year_of(*texts: object) -> int | None:
    """The first plausible year in texts: "2020///", "2020/05/01/", "May 2020", 2020."""
    for text in texts:
        if text is not None and (match := _YEAR.search(str(text))):
            return int(match.group(1))
    return None


def iso_date(year: int | None, month: object = None, day: object = None) -> str | None:
    """YYYY-MM-DD when year, month and day are all there and valid; else None."""
    try:
        month_number, day_number = int(str(month)), int(str(day))
    except (TypeError, ValueError):
        return None
    if year is None or not (1 <= month_number <= 12 and 1 <= day_number <= 31):
        return None
    return f"{year:04d}-{month_number:02d}-{day_number:02d}"


def date_of(text: str | None) -> str | None:
    """ISO date from "2020/05/01/" or "2020-05-01T..."; None when the text has no full date."""
    match = _ISO_DATE.match(text.strip()) if text else None
    return iso_date(int(match.group(1)), match.group(2), match.group(3)) if match else None


def usable_key(text: str | None) -> str | None:
    """The user's citation key if LaTeX and reference managers can use it as one."""
    key = (text or "").strip()
    return key if key and _USABLE_KEY.match(key) else None
