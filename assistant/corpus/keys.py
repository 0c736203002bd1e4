"""Citation keys: the user's own where it is present and unique, else one made from the paper.

Made keys come from the content (zhai2023stabilizing, arxiv2508.19990) or, for an entry with
neither title nor arXiv id, from its place in its own file (seed004.3). Papers that would share
a made key each get a suffix hashed from their content, never from their position in the
library: adding files never moves a key to another paper. A paper that had a key in the index
before keeps it: a newcomer that would share it takes the suffix.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter

from .record import RawPaper

_SKIP_WORDS = {"a", "an", "the", "on", "of", "for", "to", "towards", "toward", "in", "and", "with", "by", "is", "are", "at", "from", "via"}
_SUFFIX_LENGTH = 4


def ascii_word(text: str) -> str:
    """Lowercase ASCII letters and digits only: "Żelasko" -> "zelasko"."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def base_key(raw: RawPaper) -> str:
    if raw.title:
        surname = ascii_word(raw.authors[0].split()[-1]) if raw.authors and raw.authors[0].split() else ""
        words = [ascii_word(w) for w in re.split(r"[\s:/-]+", raw.title)]
        first = next((w for w in words if w and w not in _SKIP_WORDS), "")
        return f"{surname or 'anon'}{raw.year or ''}{first}"
    if raw.arxiv_id:
        return f"arxiv{raw.arxiv_id}"
    file_name, _, ordinal = raw.source.partition("#")
    return f"seed{file_name.rsplit('/', 1)[-1].split('_')[0]}.{ordinal}"


def _content_hash(raw: RawPaper, *extra: str) -> str:
    identity = [raw.doi, raw.arxiv_id, raw.title, raw.authors, raw.year, raw.abstract, *extra]
    return hashlib.sha256(json.dumps(identity, ensure_ascii=False).encode()).hexdigest()


def assign_keys(raws: list[RawPaper], remembered: list[str | None] | None = None) -> list[str]:
    """One key per paper, unique over the library. remembered[i] is the key raws[i] had in the
    index before: it stays unless the user's own key of another paper claims it."""
    user_keys = Counter(r.user_key for r in raws if r.user_key)
    keys: list[str | None] = [r.user_key if r.user_key and user_keys[r.user_key] == 1 else None for r in raws]
    taken = {k for k in keys if k}
    for index, key in enumerate(remembered or ()):
        if keys[index] is None and key and key not in taken:
            keys[index] = key
            taken.add(key)
    bases = {i: base_key(r) for i, r in enumerate(raws) if keys[i] is None}
    shared = Counter(bases.values())
    for index, base in bases.items():
        if shared[base] == 1 and base not in taken:
            keys[index] = base
    # Papers that would share a made key: a content suffix; identical content also hashes the source.
    suffixed = {i: f"{base}-{_content_hash(raws[i])[:_SUFFIX_LENGTH]}" for i, base in bases.items() if keys[i] is None}
    repeats = Counter(suffixed.values())
    for index, key in suffixed.items():
        if repeats[key] > 1 or key in taken:
            key = fallback = f"{bases[index]}-{_content_hash(raws[index], raws[index].source)[:8]}"
            copies = 1
            while key in taken:  # the same entry under the same file name in two folders of the library
                copies += 1
                key = f"{fallback}-{copies}"
        keys[index] = key
        taken.add(key)
    return [str(key) for key in keys]  # every index got a key above
