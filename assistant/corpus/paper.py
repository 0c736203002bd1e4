"""The Paper record every layer above the corpus works with."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ..text import first_sentence, joined

_LABEL_WORDS = 12


def year_label(year: int | None) -> str:
    """The year as a reference shows it: "n.d." when the source gives none."""
    return str(year) if year is not None else "n.d."


@dataclass(frozen=True)
class Paper:
    key: str  # stable citation key, BibTeX style: zhai2023stabilizing, arxiv2508.19990, ...
    source: str  # "<seed file name>#<ordinal in that file, from 1>"
    title: str | None  # exactly as listed; None where the listing has no title
    authors: tuple[str, ...]  # "First Last", in listed order
    authors_truncated: bool  # the listing ends its author list with "et al."
    year: int | None
    date: str | None  # ISO date (YYYY-MM-DD) when the listing gives one
    year_inferred: bool  # the listing's date had no year; it was inferred (see parsers)
    category: str | None  # arXiv-style subject code from the listing (LG, CL, AS, ...)
    arxiv_id: str | None
    comment: str | None  # journal/venue/pages comment where the listing has one
    affiliations: tuple[str, ...]
    abstract: str  # "" when the source has none: the paper is then indexed by its title
    doi: str | None = None  # lower case, without a resolver prefix: 10.1000/xyz
    url: str | None = None
    venue: str | None = None  # journal, booktitle or container title
    type: str = "misc"  # in BibTeX's words: article, inproceedings, incollection, book, ..., misc
    keywords: tuple[str, ...] = ()
    user_key: str | None = None  # the key of the user's own export (BibTeX key, RIS ID, CSL id)
    sources: tuple[str, ...] = ()  # every file entry merged into this record; `source` is the first

    def __post_init__(self) -> None:
        if not self.sources:
            object.__setattr__(self, "sources", (self.source,))

    @property
    def label(self) -> str:
        """What to call the paper: its title, else the opening words of its abstract."""
        if self.title:
            return self.title
        words = first_sentence(self.abstract).split()
        return " ".join(words[:_LABEL_WORDS]) + ("..." if len(words) > _LABEL_WORDS else "")

    @property
    def year_label(self) -> str:
        return year_label(self.year)

    @property
    def first_author_surname(self) -> str | None:
        return self.authors[0].split()[-1] if self.authors else None

    def authors_display(self, limit: int = 3) -> str:
        """"A, B and C" or "A et al." as a reader expects; empty when the listing has none."""
        if not self.authors:
            return ""
        if len(self.authors) > limit or (self.authors_truncated and len(self.authors) > 1):
            return f"{self.authors[0]} et al."
        if len(self.authors) == 1:
            return self.authors[0] + (" et al." if self.authors_truncated else "")
        return joined(self.authors)

    def to_dict(self) -> dict[str, Any]:
        # Field by field, not dataclasses.asdict: its deep copy of every value costs ~0.3 ms a paper,
        # most of an unchanged paper's ingest (the values are immutable: nothing to copy).
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["authors"] = list(self.authors)
        data["affiliations"] = list(self.affiliations)
        data["keywords"] = list(self.keywords)
        data["sources"] = list(self.sources)
        data["label"] = self.label
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Paper":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["authors"] = tuple(known.get("authors") or ())
        known["affiliations"] = tuple(known.get("affiliations") or ())
        known["keywords"] = tuple(known.get("keywords") or ())
        known["sources"] = tuple(known.get("sources") or ())
        return cls(**known)
