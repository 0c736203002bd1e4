"""Synthetic corpora: abstract-like papers for the pipeline, short chunks and unit vectors for the store.

Everything is seeded: the shipped seed abstracts' sentences recombined, new titles, authors,
dates and categories.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from pathlib import Path

from .common import DIM, PAPERS_PER_FILE

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z$\\(])")
_FIRST_NAMES = ["Ana", "Bruno", "Chen", "Dara", "Elif", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kavya", "Lior",
                "Mei", "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen",
                "Ximena", "Yusuf", "Zofia", "Aiko", "Bilal", "Carmen", "Dmitri", "Esther", "Felix"]
_SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "to", "vi", "dan", "mor", "el", "ba", "ri", "no", "ster", "quin",
              "ha", "pel", "zu", "gor", "an", "wick", "ler", "sen", "ova", "ito", "berg", "man", "ez"]
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_CATEGORIES = ["CL", "LG", "AS", "CV", "SD", "DC", "AI", "ML", "IR", "MM"]


@dataclass(frozen=True)
class SeedText:
    """What the synthetic corpora recombine: sentences, abstract lengths and title words of the seeds."""

    sentences: list[str]
    sentence_counts: list[int]  # sentences per real abstract: the synthetic abstracts follow it
    title_words: list[str]


def seed_text() -> SeedText:
    from assistant.corpus import load_corpus
    from assistant.resources import default_seeds_dir

    papers = load_corpus(default_seeds_dir())
    sentences, counts = [], []
    for paper in papers:
        parts = [s.strip() for s in _SENTENCE_END.split(paper.abstract.replace("\n", " ")) if len(s.strip()) > 20]
        sentences.extend(parts)
        counts.append(max(1, len(parts)))
    words = sorted({w.lower() for p in papers if p.title for w in re.findall(r"[A-Za-z]{4,}", p.title)})
    return SeedText(sentences, counts, words)


def _surname(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


@dataclass(frozen=True)
class SynthPaper:
    title: str
    authors: tuple[str, ...]
    truncated: bool
    year: int
    month: int
    day: int
    category: str
    abstract: str


def synthetic_papers(n: int, seed: int = 0, text: SeedText | None = None) -> list[SynthPaper]:
    """n abstract-like papers: seed sentences recombined, new titles, authors, dates, categories."""
    text = text or seed_text()
    rng = random.Random(seed)
    papers = []
    for _ in range(n):
        # Title: capitalised seed title words, the last one lower-case (the listing glues the
        # first author's name to it, and the parser finds the seam at the capital).
        words = rng.sample(text.title_words, rng.randint(4, 8))
        title = " ".join(w.capitalize() for w in words[:-1]) + " for " + words[-1]
        authors = tuple(f"{rng.choice(_FIRST_NAMES)} {_surname(rng)}" for _ in range(rng.randint(1, 4)))
        abstract = " ".join(rng.choice(text.sentences) for _ in range(rng.choice(text.sentence_counts)))
        papers.append(SynthPaper(title, authors, rng.random() < 0.3, rng.randint(2015, 2025), rng.randint(1, 12),
                                 rng.randint(1, 28), rng.choice(_CATEGORIES), abstract))
    return papers


def write_listing(papers: list[SynthPaper], seeds_dir: Path, per_file: int = PAPERS_PER_FILE) -> list[Path]:
    """The papers as seed files in the "listing" layout (as seeds/000 and 001), per_file to a file."""
    seeds_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for number, start in enumerate(range(0, len(papers), per_file)):
        lines = []
        for p in papers[start:start + per_file]:
            lines.append(f"{p.category}{_MONTHS[p.month - 1]} {p.day}, {p.year}")
            lines.append(p.title + ", ".join(p.authors) + (" et al." if p.truncated else ""))
            lines.append(p.abstract)
        path = seeds_dir / f"{number:03d}_synthetic.txt"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(path)
    return files


def check_round_trip(papers: list[SynthPaper], seeds_dir: Path) -> None:
    """The seed files parse back into exactly the papers written (titles split from authors)."""
    from assistant.corpus import load_corpus

    loaded = load_corpus(seeds_dir)
    if len(loaded) != len(papers):
        raise SystemExit(f"synthetic corpus: wrote {len(papers)} papers, load_corpus read {len(loaded)}")
    for written, read in zip(papers, loaded):
        if (read.title, read.authors, read.year, read.abstract) != (written.title, written.authors, written.year,
                                                                     written.abstract):
            raise SystemExit(f"synthetic corpus: {read.source} did not parse back as written: {read.title!r}")


def unit_vectors(count: int, seed: int, batch: int) -> "np.ndarray":
    """Seeded random 384-d unit float32 rows (batch number in the seed: any batch is reproducible)."""
    import numpy as np

    rows = np.random.default_rng([seed, batch]).standard_normal((count, DIM), dtype=np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


class QueryVectors:
    """Stands in for the embedder on the query path: a seeded unit vector per query text (no model)."""

    name = "all-MiniLM-L6-v2"
    dim = DIM

    def embed(self, texts: list[str]) -> "np.ndarray":
        import numpy as np

        return np.stack([unit_vectors(1, int(hashlib.sha256(t.encode()).hexdigest()[:8], 16), 0)[0] for t in texts])


@dataclass(frozen=True)
class SynthChunks:
    papers: list  # assistant Paper records
    texts: list[str]
    owner: list[int]  # chunk -> index of its paper
    ordinal: list[int]  # chunk -> its number within its paper, from 0

    def chunk_id(self, i: int) -> str:
        from assistant.index.chunking import chunk_id

        return chunk_id(self.papers[self.owner[i]].key, self.ordinal[i])


def synthetic_chunks(n_chunks: int, seed: int = 0, text: SeedText | None = None) -> SynthChunks:
    """n chunks of 1-3 seed sentences each, 1-3 chunks per synthetic paper."""
    from assistant.corpus.paper import Paper

    text = text or seed_text()
    rng = random.Random(seed)
    papers, chunks, owner, ordinal = [], [], [], []
    while len(chunks) < n_chunks:
        index = len(papers)
        count = min(rng.choice((1, 2, 2, 3)), n_chunks - len(chunks))
        parts = [" ".join(rng.choice(text.sentences) for _ in range(rng.randint(1, 3))) for _ in range(count)]
        year = rng.randint(2015, 2025)
        words = rng.sample(text.title_words, 5)
        authors = tuple(f"{rng.choice(_FIRST_NAMES)} {_surname(rng)}" for _ in range(rng.randint(1, 3)))
        key = f"{authors[0].split()[-1].lower()}{year}{words[0]}{index}"  # unique by construction
        papers.append(Paper(key=key, source=f"{index // PAPERS_PER_FILE:03d}_synthetic.txt#{index % PAPERS_PER_FILE + 1}",
                            title=" ".join(w.capitalize() for w in words), authors=authors, authors_truncated=False,
                            year=year, date=None, year_inferred=False, category=rng.choice(_CATEGORIES),
                            arxiv_id=None, comment=None, affiliations=(), abstract=" ".join(parts)))
        chunks.extend(parts)
        owner.extend([index] * count)
        ordinal.extend(range(count))
    return SynthChunks(papers, chunks, owner, ordinal)
