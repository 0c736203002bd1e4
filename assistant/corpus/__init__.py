"""The user's library: exports and seed listings -> deduplicated Paper records with stable keys."""

from __future__ import annotations

from pathlib import Path

from ..errors import CorpusError
from .library import LibraryRead, ParseCache, read_library
from .paper import Paper

__all__ = ["LibraryRead", "Paper", "ParseCache", "load_corpus", "parse_file", "read_library"]


def parse_file(path: Path) -> list[Paper]:
    """The papers of one file (keys unique within the file)."""
    return read_library([path]).papers


def load_corpus(seeds_dir: Path) -> list[Paper]:
    """Every paper of every file in seeds_dir; any unreadable file is a CorpusError naming it."""
    if not seeds_dir.is_dir():
        raise CorpusError(f"library folder {seeds_dir} does not exist", "check the path")
    return read_library([seeds_dir]).papers
