"""The seed corpus: files in several listing layouts -> Paper records with stable keys."""

from __future__ import annotations

from pathlib import Path

from ..errors import CorpusError
from .keys import assign_keys
from .paper import Paper
from .parsers import RawPaper, decode, parse_text

__all__ = ["Paper", "load_corpus", "parse_file", "seed_files"]


def seed_files(seeds_dir: Path) -> list[Path]:
    """The listing files of a seeds directory, in name order (hidden files ignored)."""
    if not seeds_dir.is_dir():
        raise CorpusError(f"seeds directory {seeds_dir} does not exist", "pass --seeds DIR with your listings")
    files = sorted(p for p in seeds_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise CorpusError(f"seeds directory {seeds_dir} has no files", "add listing files or pass another --seeds DIR")
    return files


def _read(path: Path) -> list[RawPaper]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{path}: cannot read ({exc.strerror})", "check the path and its permissions") from None
    return parse_text(path.name, decode(path.name, data))


def _to_papers(raws: list[RawPaper]) -> list[Paper]:
    return [
        Paper(
            key=key, source=r.source, title=r.title, authors=tuple(r.authors), authors_truncated=r.authors_truncated,
            year=r.year, date=r.date, year_inferred=r.year_inferred, category=r.category, arxiv_id=r.arxiv_id,
            comment=r.comment, affiliations=tuple(r.affiliations), abstract=r.abstract,
        )
        for key, r in zip(assign_keys(raws), raws)
    ]


def parse_file(path: Path) -> list[Paper]:
    """The papers of one listing file (keys unique within the file)."""
    return _to_papers(_read(path))


def load_corpus(seeds_dir: Path) -> list[Paper]:
    """Every paper of every listing in seeds_dir; any unreadable file is a CorpusError naming it."""
    raws = [raw for path in seed_files(seeds_dir) for raw in _read(path)]
    return _to_papers(raws)
