"""Read a user's library: files and folders in any known format -> deduplicated Papers with keys.

By default the first unusable file or entry is a CorpusError naming it, so a caller that builds
an index from the result stays atomic. With skip_invalid, what can be read is read and what
could not is listed. An abstract longer than MAX_ABSTRACT_CHARS is cut, with a logged warning.
Given a ParseCache, a file whose name and bytes are unchanged since it was last read is not parsed again.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import re
import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass, field, fields, replace
from functools import cache
from pathlib import Path

from ..errors import CorpusError
from ..text import printable
from .dedup import deduplicate, identities
from .formats import Parsed, Problem, decode, parse_text
from .keys import assign_keys
from .paper import Paper
from .record import RawPaper


# Abstracts run to a few thousand characters (arXiv allows 1,920); far longer text is not an
# abstract, and indexing or quoting it would take minutes.
MAX_ABSTRACT_CHARS = 20_000
_log = logging.getLogger("assistant.corpus")


@dataclass
class LibraryRead:
    papers: list[Paper]
    merged: int = 0  # entries folded into another record as the same paper
    skipped: list[Problem] = field(default_factory=list)  # entries left out (invalid, or without abstract if required)
    without_abstract: int = 0  # papers kept that will be indexed by their title alone
    errors: list[str] = field(default_factory=list)  # whole files left out under skip_invalid, each naming the file
    files: list[LibraryFile] = field(default_factory=list)  # every file read, with the format it was read as


@dataclass(frozen=True)
class LibraryFile:
    path: Path  # as found under the path given
    name: str  # as papers' sources name it: "<name>#<ordinal>"
    format: str


def library_files(paths: Iterable[Path]) -> list[tuple[Path, str]]:
    """(path, name to show) of every file to read: files as given; folders recursively, in name
    order, without hidden files and folders; each symlink followed once, loops not at all."""
    found: list[tuple[Path, str]] = []
    seen_files: set[str] = set()
    for root in paths:
        if not root.exists():
            raise CorpusError(f"library path {root} does not exist", "check the path")
        if not root.is_dir():
            if os.path.realpath(root) not in seen_files:
                seen_files.add(os.path.realpath(root))
                found.append((root, root.name))
            continue
        before = len(found)
        _walk(root, root, {os.path.realpath(root)}, seen_files, found)
        if len(found) == before:
            raise CorpusError(f"{root} has no files", "add library exports or listings to it, or pass another path")
    return found


def _walk(root: Path, folder: Path, ancestors: set[str], seen_files: set[str], found: list[tuple[Path, str]]) -> None:
    try:
        children = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise CorpusError(f"{folder}: cannot list ({exc.strerror})", "check its permissions") from None
    for child in children:
        if child.name.startswith("."):
            continue
        path = Path(child.path)
        real = os.path.realpath(path)
        if child.is_dir():  # follows symlinks
            if real not in ancestors:  # a link back up the tree would loop
                _walk(root, path, ancestors | {real}, seen_files, found)
        elif real not in seen_files:
            seen_files.add(real)
            found.append((path, path.relative_to(root).as_posix()))


class ParseCache:
    """Each library file's entries as last parsed (control sequences already removed), in a SQLite
    file: a file whose name and bytes hash as before is read back, not parsed again (parsing and
    cleaning 5,000 entries costs ~1 s; hashing their 6 MB ~20 ms). Keyed by content, not mtime: a
    file rewritten within the clock's resolution is still seen to change. Entries parsed by another
    version of the corpus code never match. Best effort: an unusable cache file is a cache miss."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: set[str] = set()

    def get(self, path: Path, digest: str) -> Parsed | None:
        self._seen.add(str(path))
        try:
            with closing(self._connect()) as db:
                row = db.execute("SELECT parsed FROM files WHERE path = ? AND digest = ?", (str(path), digest)).fetchone()
        except sqlite3.Error:
            return None
        if row is None:
            return None
        try:
            data = json.loads(row[0])
            return Parsed([RawPaper(**raw) for raw in data["papers"]], [Problem(**p) for p in data["problems"]],
                          data["format"])
        except (ValueError, TypeError, KeyError):  # a damaged row: parse the file again
            return None

    def put(self, path: Path, digest: str, parsed: Parsed) -> None:
        record = json.dumps({"papers": [_fields(raw) for raw in parsed.papers],
                             "problems": [_fields(problem) for problem in parsed.problems], "format": parsed.format},
                            ensure_ascii=False)
        try:
            with closing(self._connect()) as db, db:
                db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?)", (str(path), digest, record))
        except sqlite3.Error:
            pass

    def forget_others(self) -> None:
        """Drop the entries of files this read did not meet (removed from the library)."""
        try:
            with closing(self._connect()) as db, db:
                stale = [p for (p,) in db.execute("SELECT path FROM files") if p not in self._seen]
                db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in stale])
        except sqlite3.Error:
            pass

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)  # two ingests may read the library at once
        db.execute("CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, digest TEXT NOT NULL, parsed TEXT NOT NULL)")
        return db


def _fields(record: object) -> dict:
    return {f.name: getattr(record, f.name) for f in fields(record)}


_PARSER_LIBRARIES = ("bibtexparser", "rispy", "pylatexenc")


@cache
def _parser_version() -> str:
    """A hash of the code that turns a file into entries: a cached parse is valid only under it."""
    digest = hashlib.sha256()
    for module in sorted(Path(__file__).parent.rglob("*.py")) + [Path(__file__).parent.parent / "text.py"]:
        digest.update(module.read_bytes())
    for library in _PARSER_LIBRARIES:  # an upgraded parser may read the same bytes otherwise
        digest.update(f"{library}={importlib.metadata.version(library)}".encode())
    return digest.hexdigest()


def _read_file(path: Path, name: str, parse_cache: ParseCache | None = None) -> Parsed:
    """The file's entries, without terminal control sequences (from the cache when it has them)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{name}: cannot read ({exc.strerror})", "check the path and its permissions") from None
    if parse_cache is None:
        return _parse(name, data)
    digest = hashlib.sha256(f"{_parser_version()}\0{name}\0".encode() + data).hexdigest()
    if (parsed := parse_cache.get(path, digest)) is None:
        parsed = _parse(name, data)
        parse_cache.put(path, digest, parsed)
    return parsed


def _parse(name: str, data: bytes) -> Parsed:
    parsed = parse_text(name, decode(name, data))
    parsed.papers = [_printable(raw) for raw in parsed.papers]
    return parsed


def _capped_abstract(raw: RawPaper) -> str:
    """The abstract, cut at a word before MAX_ABSTRACT_CHARS with a warning when it is longer."""
    if len(raw.abstract) <= MAX_ABSTRACT_CHARS:
        return raw.abstract
    _log.warning("warning: %s: the abstract is %s characters long; only its first %s are indexed",
                 raw.source, f"{len(raw.abstract):,}", f"{MAX_ABSTRACT_CHARS:,}")
    cut = raw.abstract[:MAX_ABSTRACT_CHARS]
    words = cut.rsplit(None, 1)
    return (words[0] if len(words) == 2 else cut).rstrip()


def _to_papers(raws: list[RawPaper], previous: Iterable[Paper]) -> list[Paper]:
    known: dict[tuple, str] = {}
    for paper in previous:
        for identity in identities(paper):
            known.setdefault(identity, paper.key)
    remembered = [next((known[i] for i in identities(r) if i in known), None) for r in raws]
    return [
        Paper(
            key=key, source=r.source, title=r.title, authors=tuple(r.authors), authors_truncated=r.authors_truncated,
            year=r.year, date=r.date, year_inferred=r.year_inferred, category=r.category, arxiv_id=r.arxiv_id,
            comment=r.comment, affiliations=tuple(r.affiliations), abstract=r.abstract, doi=r.doi, url=r.url,
            venue=r.venue, type=r.type, keywords=tuple(r.keywords), user_key=r.user_key, sources=tuple(r.sources),
        )
        for key, r in zip(assign_keys(raws, remembered), raws)
    ]


def _printable(raw: RawPaper) -> RawPaper:
    """The entry without terminal control sequences in any field (their text is kept): nothing
    from a library file reaches a terminal, an export or a key raw."""
    changes = {}
    for f in fields(raw):
        value = getattr(raw, f.name)
        if isinstance(value, str):
            changes[f.name] = _printable_text(value)
        elif isinstance(value, list):
            changes[f.name] = [_printable_text(v) if isinstance(v, str) else v for v in value]
    return replace(raw, **changes)


def _printable_text(text: str) -> str:
    shown = printable(text)
    # A sequence removed between two words leaves their spaces: one is enough.
    return text if shown == text else re.sub(r" {2,}", " ", shown).strip()


def read_library(paths: Iterable[Path], *, skip_invalid: bool = False, require_abstract: bool = False,
                 previous: Iterable[Paper] = (), parse_cache: ParseCache | None = None) -> LibraryRead:
    """Every paper in paths (files or folders), duplicates merged, each with a unique key.

    A file or entry that cannot be read is a CorpusError naming the file, the entry and its
    line, unless skip_invalid: then it is left out and listed. Entries without an abstract are
    kept and counted, unless require_abstract: then they are left out and listed. A paper of
    `previous` (the library as indexed before) keeps its key. parse_cache: see ParseCache.
    """
    read = LibraryRead(papers=[])
    raws: list[RawPaper] = []
    for path, name in library_files(paths):
        try:
            parsed = _read_file(path, name, parse_cache)
        except CorpusError as error:
            if not skip_invalid:
                raise
            read.errors.append(str(error.problem))
            continue
        if parsed.problems and not skip_invalid:
            first, more = parsed.problems[0], len(parsed.problems) - 1
            error = first.error()
            if more:
                error = CorpusError(f"{first} (and {more} more problem{'s' if more > 1 else ''} in {name})",
                                    error.hint)
            raise error
        read.skipped += parsed.problems
        read.files.append(LibraryFile(path, name, parsed.format))
        for raw in parsed.papers:
            raw.abstract = _capped_abstract(raw)
            if not raw.abstract and require_abstract:
                read.skipped.append(Problem(name, "no abstract", line=raw.line, entry=raw.user_key or raw.title))
            else:
                raws.append(raw)
    if parse_cache is not None:
        parse_cache.forget_others()
    papers, read.merged = deduplicate(raws)
    read.papers = _to_papers(papers, previous)
    read.without_abstract = sum(1 for p in read.papers if not p.abstract)
    return read
