"""One record per paper: entries that are the same paper (in one file or several) are merged.

"The same" means the same DOI, or the same arXiv id, or the same normalised title with the
same first-author surname and year (an entry without a year takes the one year its dated
namesakes agree on). Matching is transitive: a Zotero entry with a DOI, a RIS
entry with the same DOI and an arXiv entry with the Zotero entry's arXiv id are one paper.
"""

from __future__ import annotations

import dataclasses

from .keys import ascii_word
from .paper import Paper
from .record import RawPaper

# Filled from a later duplicate when the first one lacks them.
_FIRST_PRESENT = ("title", "date", "category", "arxiv_id", "comment", "doi", "url", "venue", "user_key")


def normalised_title(title: str) -> str:
    """Letters and digits only, accents folded: "{BERT}: Pre-training..." == "BERT: pre-training ..."."""
    return ascii_word(title)


def identities(raw: RawPaper | Paper) -> list[tuple]:
    """What makes two records the same paper: DOI, arXiv id, normalised title with first author and year."""
    found: list[tuple] = []
    if raw.doi:
        found.append(("doi", raw.doi.lower()))
    if raw.arxiv_id:
        found.append(("arxiv", raw.arxiv_id.lower()))
    if raw.title and (title := normalised_title(raw.title)):
        surname = ascii_word(raw.authors[0].split()[-1]) if raw.authors and raw.authors[0].split() else ""
        found.append(("title", title, surname, raw.year))
    return found


def _groups(raws: list[RawPaper]) -> list[list[int]]:
    """Indices of raws that are one paper, each group in reading order, groups by first member."""
    parent = list(range(len(raws)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    def join(first: int, this: int) -> None:
        first, this = root(first), root(this)
        parent[max(first, this)] = min(first, this)

    owner: dict[tuple, int] = {}
    for index, raw in enumerate(raws):
        for identity in identities(raw):
            if identity in owner:
                join(owner[identity], index)
            else:
                owner[identity] = index
    # A listing without dates (an author page) names no year: its entry is the paper of that title
    # and first author when all the dated entries of them agree on one year.
    years: dict[tuple, set[int]] = {}
    for identity in owner:
        if identity[0] == "title" and identity[3] is not None:
            years.setdefault(identity[1:3], set()).add(identity[3])
    for identity, index in owner.items():
        if identity[0] == "title" and identity[3] is None and len(dated := years.get(identity[1:3], ())) == 1:
            join(owner[(*identity[:3], *dated)], index)
    groups: dict[int, list[int]] = {}
    for index in range(len(raws)):
        groups.setdefault(root(index), []).append(index)
    return sorted(groups.values(), key=lambda g: g[0])


def _authors_rank(raw: RawPaper) -> tuple[int, bool]:
    return (len(raw.authors), not raw.authors_truncated)


def merge(records: list[RawPaper]) -> RawPaper:
    """The first record, completed from the others: the fullest author list, the first value
    present of every other field, every keyword, affiliation and source."""
    merged = dataclasses.replace(records[0], authors=list(records[0].authors), keywords=list(records[0].keywords),
                                 affiliations=list(records[0].affiliations), sources=list(records[0].sources))
    for other in records[1:]:
        for name in _FIRST_PRESENT:
            if getattr(merged, name) is None and getattr(other, name) is not None:
                setattr(merged, name, getattr(other, name))
        if merged.year is None and other.year is not None:
            merged.year, merged.year_inferred = other.year, other.year_inferred
        if not merged.abstract:
            merged.abstract = other.abstract
        if _authors_rank(other) > _authors_rank(merged):
            merged.authors, merged.authors_truncated = list(other.authors), other.authors_truncated
        if merged.type == "misc":
            merged.type = other.type
        merged.keywords += [k for k in other.keywords if k.lower() not in {m.lower() for m in merged.keywords}]
        merged.affiliations += [a for a in other.affiliations if a not in merged.affiliations]
        merged.sources += [s for s in other.sources if s not in merged.sources]
    return merged


def deduplicate(raws: list[RawPaper]) -> tuple[list[RawPaper], int]:
    """The distinct papers of raws (merged), and how many entries were merged into others."""
    papers = [merge([raws[i] for i in group]) if len(group) > 1 else raws[group[0]] for group in _groups(raws)]
    return papers, len(raws) - len(papers)
