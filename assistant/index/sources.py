"""The library's sources: the files and folders an index was built from.

Ingest records them (absolute paths) in the manifest and, on a Chroma server, in the library
record, so that a bare `assistant ingest` re-syncs them on any machine. Paths given to ingest
are added to them (--replace starts over, --remove drops one). An index never given sources
holds the sample papers shipped with the assistant; once it has sources, nothing reverts to
the samples.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..corpus.library import LibraryRead
from ..errors import CorpusError, InputError
from ..resources import default_seeds_dir
from . import chroma_store as store
from .manifest import read_manifest

if TYPE_CHECKING:
    from ..config import Settings


@dataclass(frozen=True)
class Source:
    path: str  # absolute
    formats: tuple[str, ...] = ()  # of the files read under it
    files: int = 0
    papers: int = 0  # papers with an entry in one of its files (a paper in two sources counts in both)
    ingested: str = ""  # ISO time of the ingest that last read it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"formats": list(self.formats)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Source:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known | {"formats": tuple(known.get("formats") or ())})


def absolute(path: str | Path) -> str:
    """The path as a source records it: absolute, normalised, symlinks kept as the user named them."""
    return os.path.abspath(os.path.expanduser(path))


def recorded(settings: Settings) -> dict[str, Any] | None:
    """The record of the library the settings point at (on a server, the server's library record,
    else the local manifest's fields), or None when nothing has been indexed there yet. Reads only."""
    label = store.store_label(settings)
    if label != store.EMBEDDED:
        served = store.read_library(store.client_for(label, settings.index_dir), label, store.collection_prefix(settings))
        if served is not None:
            return served
    manifest = read_manifest(settings.index_dir)
    return asdict(manifest) if manifest is not None else None


def remembered_paths(record: dict[str, Any] | None) -> list[str]:
    return [source.path for source in sources_of(record)] if record else []


def sources_of(record: dict[str, Any]) -> list[Source]:
    """The sources a manifest or library record names. One written before sources were recorded
    names the folder it was built from: that folder is its source, unless it was the samples."""
    if "sources" in record:
        return [Source.from_dict(s) for s in record["sources"]]
    folder = record.get("seeds_dir")
    return [Source(folder)] if folder and folder != str(default_seeds_dir()) else []


def chosen_paths(remembered: list[str], given: list[str], *, replace: bool, remove: list[str]) -> list[str]:
    """The paths the library is read from once this ingest is done: the remembered ones (none
    with replace), without those removed, then the given ones not already among them."""
    if replace and not given:
        raise InputError("--replace needs the paths to start over with", "e.g. assistant ingest --replace ~/library.bib")
    for path in remove:
        if path not in remembered:
            listed = ", ".join(remembered) or "none"
            raise InputError(f"{path} is not a source of this library (its sources: {listed})",
                             "`assistant sources` lists them")
        if path in given:
            raise InputError(f"{path} is both given and removed", "give it or --remove it, not both")
    kept = [] if replace else [p for p in remembered if p not in remove]
    paths = kept + [p for p in dict.fromkeys(given) if p not in kept]
    if remembered and not paths:
        raise InputError("that would leave the library without sources",
                         "name the new ones in the same command: assistant ingest NEW_PATH --remove OLD_PATH")
    return paths


def check_present(paths: list[str], remembered: list[str]) -> None:
    """Each path exists; a remembered one that does not is named with how to drop it."""
    for path in paths:
        if not os.path.exists(path):
            if path in remembered:
                raise CorpusError(f"the library source {path} does not exist any more",
                                  f"restore it, or drop it with `assistant ingest --remove {path}`")
            raise CorpusError(f"library path {path} does not exist", "check the path")


def describe(paths: list[str], read: LibraryRead, ingested: str) -> list[Source]:
    """Each path as this read found it: its files' formats, how many files and papers."""
    described = []
    for path in paths:
        files = [f for f in read.files if f.path == Path(path) or Path(path) in f.path.parents]
        names = {f.name for f in files}
        papers = sum(1 for p in read.papers if any(s.rpartition("#")[0] in names for s in p.sources))
        described.append(Source(path, tuple(sorted({f.format for f in files})), len(files), papers, ingested))
    return described
