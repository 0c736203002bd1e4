"""One index generation on disk: its papers, chunks, vectors and BM25 index.

index_dir/generations/<name>/
  generation.json   where its Chroma collection lives (written first, so cleanup can find it)
  papers.json       [{"hash", "paper": Paper.to_dict()}]: maps hits back to papers, no re-parsing
  chunks.json       [{"id", "paper_key", "text", "embed_hash"}], in BM25 document order
  vectors.npy       one row per chunk: lets the next ingest reuse unchanged embeddings
  bm25/             the bm25s index
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..corpus.paper import Paper
from ..errors import IndexStoreError
from .bm25 import Bm25Index

GENERATIONS = "generations"


@dataclass(frozen=True)
class ChunkRecord:
    id: str
    paper_key: str
    text: str  # the chunk as stored in Chroma (no title line)
    embed_hash: str  # sha256 of exactly what was embedded: equal hash, reusable vector


@dataclass(frozen=True)
class StoredPaper:
    hash: str  # content hash of the paper record
    paper: Paper


class Generation:
    def __init__(self, index_dir: Path, name: str) -> None:
        self.name = name
        self.path = index_dir / GENERATIONS / name

    @classmethod
    def new(cls, index_dir: Path) -> Generation:
        # Time first so that names sort by age; random suffix so two ingests never collide.
        return cls(index_dir, f"g{time.strftime('%Y%m%d%H%M%S')}{secrets.token_hex(3)}")

    @property
    def bm25_dir(self) -> Path:
        return self.path / "bm25"

    def write_info(self, store: str, collection: str) -> None:
        self.path.mkdir(parents=True, exist_ok=False)
        self._write_json("generation.json", {"store": store, "collection": collection})

    def info(self) -> dict[str, str] | None:
        try:
            return json.loads((self.path / "generation.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def save(self, papers: list[StoredPaper], chunks: list[ChunkRecord], vectors: np.ndarray,
             bm25: Bm25Index) -> None:
        self._write_json("papers.json", [{"hash": p.hash, "paper": p.paper.to_dict()} for p in papers])
        self._write_json("chunks.json", [asdict(c) for c in chunks])
        np.save(self.path / "vectors.npy", vectors.astype(np.float32), allow_pickle=False)
        bm25.save(self.bm25_dir)

    def papers(self) -> list[StoredPaper]:
        try:
            return [StoredPaper(item["hash"], Paper.from_dict(item["paper"])) for item in self._read_json("papers.json")]
        except (KeyError, TypeError):
            raise self._corrupt("papers.json") from None

    def chunks(self) -> list[ChunkRecord]:
        try:
            return [ChunkRecord(**item) for item in self._read_json("chunks.json")]
        except TypeError:
            raise self._corrupt("chunks.json") from None

    def vectors(self) -> np.ndarray:
        try:
            return np.load(self.path / "vectors.npy", allow_pickle=False)
        except (OSError, ValueError):
            raise self._corrupt("vectors.npy") from None

    def bm25(self) -> Bm25Index:
        try:
            return Bm25Index.load(self.bm25_dir)
        except (OSError, ValueError, KeyError):
            raise self._corrupt("bm25") from None

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def _write_json(self, name: str, data: Any) -> None:
        (self.path / name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    def _read_json(self, name: str) -> Any:
        try:
            return json.loads((self.path / name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise self._corrupt(name) from None

    def _corrupt(self, what: str) -> IndexStoreError:
        return IndexStoreError(f"the index generation {self.path} is missing or has a corrupt {what}",
                               "rebuild it with `assistant ingest --rebuild`")


def all_generations(index_dir: Path) -> list[Generation]:
    root = index_dir / GENERATIONS
    if not root.is_dir():
        return []
    return [Generation(index_dir, p.name) for p in sorted(root.iterdir()) if p.is_dir()]
