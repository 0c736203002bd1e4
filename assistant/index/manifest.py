"""The manifest: a small file naming the index generation that answers queries.

Ingest builds a whole new generation beside the current one and then replaces this file in
one os.replace, so a reader sees either the old index or the new one, never a half-built mix.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import IndexStoreError

FORMAT = 3  # 2: SQLite tables, content-keyed Chroma ids, the server library record; 3: names, acronyms, authors tables
# Formats whose manifest still reads (its sources are kept): ingest brings their index up to date.
_UPDATABLE = (2, FORMAT)
MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class Manifest:
    generation: str  # directory name under index_dir/generations
    collection: str  # the Chroma collection holding this generation's vectors
    store: str  # "embedded" or the Chroma server URL
    embedder: str  # name of the embedder that built the vectors
    dim: int
    chunker: str
    corpus_hash: str  # digest of the papers, chunker and tokenizer: equal means nothing to do
    papers: int
    chunks: int
    created: str  # ISO timestamp
    format: int = FORMAT
    # The library's sources (index.sources.Source dicts); none: the sample papers shipped with the assistant.
    sources: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any], **overrides: Any) -> Manifest:
        """A manifest from its JSON (or a server's library record); fields added since format 2
        began take their defaults."""
        values = {f.name: data[f.name] for f in fields(cls)
                  if f.name in data or (f.default is MISSING and f.default_factory is MISSING)}
        return cls(**values | overrides)


def manifest_path(index_dir: Path) -> Path:
    return index_dir / MANIFEST_NAME


def read_manifest(index_dir: Path) -> Manifest | None:
    """The current manifest, or None when nothing has been ingested into index_dir yet."""
    path = manifest_path(index_dir)
    try:
        raw = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):  # nothing ingested there (a path ingest will refuse)
        return None
    except OSError as exc:
        raise IndexStoreError(f"cannot read the index manifest {path} ({exc.strerror})",
                              "check its permissions or choose another --index DIR") from None
    try:
        data = json.loads(raw)
        if data.get("format") not in _UPDATABLE:
            raise IndexStoreError(f"the index in {index_dir} has format {data.get('format')!r}, this version reads {FORMAT}",
                                  "rebuild it with `assistant ingest --rebuild`")
        return Manifest.from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise IndexStoreError(f"the index manifest {path} is corrupt",
                              "rebuild it with `assistant ingest --rebuild`") from None


def write_manifest(index_dir: Path, manifest: Manifest) -> None:
    """Atomically make `manifest` the current one (readers see the old or the new, whole)."""
    handle, tmp = tempfile.mkstemp(prefix=".manifest-", suffix=".json", dir=index_dir)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(asdict(manifest), out, indent=2)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, manifest_path(index_dir))
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
