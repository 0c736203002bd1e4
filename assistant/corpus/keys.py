"""Stable BibTeX-style citation keys: zhai2023stabilizing, arxiv2508.19990, seed004.3."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from .parsers import RawPaper

_SKIP_WORDS = {"a", "an", "the", "on", "of", "for", "to", "towards", "toward", "in", "and", "with", "by", "is", "are", "at", "from", "via"}


def ascii_word(text: str) -> str:
    """Lowercase ASCII letters and digits only: "Żelasko" -> "zelasko"."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def base_key(raw: RawPaper) -> str:
    if raw.authors and raw.title:
        surname = ascii_word(raw.authors[0].split()[-1]) or "anon"
        words = [ascii_word(w) for w in re.split(r"[\s:/-]+", raw.title)]
        first = next((w for w in words if w and w not in _SKIP_WORDS), "")
        return f"{surname}{raw.year or ''}{first}"
    if raw.arxiv_id:
        return f"arxiv{raw.arxiv_id}"
    file_name, _, ordinal = raw.source.partition("#")
    return f"seed{file_name.split('_')[0]}.{ordinal}"


def assign_keys(raws: list[RawPaper]) -> list[str]:
    """One key per paper, unique over the corpus: repeats get b, c, ... in corpus order."""
    bases = [base_key(r) for r in raws]
    totals = Counter(bases)
    seen: Counter[str] = Counter()
    keys = []
    for base in bases:
        seen[base] += 1
        keys.append(base if totals[base] == 1 or seen[base] == 1 else f"{base}{chr(ord('a') + seen[base] - 1)}")
    return keys
