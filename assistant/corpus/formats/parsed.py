"""What reading one file gives: its entries, and the entries it could not use, each named by place."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import CorpusError
from ..record import RawPaper

FIX_HINT = "fix or remove the entry, then re-run ingest"


@dataclass(frozen=True)
class Problem:
    """One entry (or a whole file) that cannot be used, and where it is."""

    file: str
    message: str
    line: int | None = None  # from 1
    entry: str | None = None  # the entry's key, id or ordinal as the file names it

    def __str__(self) -> str:
        if self.entry is not None:
            place = f"{self.file}: entry {self.entry!r}" + (f" at line {self.line}" if self.line else "")
        else:
            place = self.file + (f" line {self.line}" if self.line else "")
        return f"{place}: {self.message}"

    def error(self) -> CorpusError:
        return CorpusError(str(self), FIX_HINT)


@dataclass
class Parsed:
    papers: list[RawPaper]
    problems: list[Problem] = field(default_factory=list)
    format: str = ""  # what detection took the file for: "bibtex", "ris", ..., "listing"
