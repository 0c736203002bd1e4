"""CSL-JSON for the papers of the library or an answer: what Zotero, Mendeley and pandoc import.

Each item carries the paper's key as `id` and `citation-key`, the CSL type of its record type,
authors as family/given (or literal for a name not to be split), `issued` date-parts, DOI, URL
(an arXiv paper without one gets its abs page), container-title, abstract and keywords. arXiv ids
go in `number` as "arXiv:ID", as Zotero writes preprints.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from ..corpus.paper import Paper
from .reference_fields import Name, arxiv_url, split_name

_CSL_TYPES = {
    "article": "article-journal", "inproceedings": "paper-conference", "incollection": "chapter", "book": "book",
    "phdthesis": "thesis", "mastersthesis": "thesis", "techreport": "report",
}
_PREPRINT = "article"  # CSL's type for preprints and working papers: every other record type


def _person(author: str) -> dict[str, str]:
    name: Name = split_name(author)
    if name.literal:
        return {"literal": name.literal}
    parts = {"family": name.family, "given": name.given, "non-dropping-particle": name.particle,
             "suffix": name.suffix}
    return {field: value for field, value in parts.items() if value}


def _issued(paper: Paper) -> dict[str, list[list[int]]] | None:
    if paper.date:
        return {"date-parts": [[int(part) for part in paper.date.split("-")]]}
    return {"date-parts": [[paper.year]]} if paper.year is not None else None


def to_csl_item(paper: Paper) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": paper.key,
        "citation-key": paper.key,
        "type": _CSL_TYPES.get(paper.type, _PREPRINT),
        "title": paper.title,
        "author": [_person(a) for a in paper.authors] or None,
        "issued": _issued(paper),
        "container-title": paper.venue,
        "DOI": paper.doi,
        "URL": paper.url or (arxiv_url(paper.arxiv_id) if paper.arxiv_id else None),
        "number": f"arXiv:{paper.arxiv_id}" if paper.arxiv_id else None,
        "note": paper.comment,
        "keyword": ", ".join(paper.keywords) or None,
        "abstract": paper.abstract or None,
    }
    return {field: value for field, value in item.items() if value is not None}


def to_csl_json(papers: Iterable[Paper]) -> str:
    """A CSL-JSON list, one item per distinct paper, in the given order."""
    items: dict[str, dict[str, Any]] = {}
    for paper in papers:
        items.setdefault(paper.key, to_csl_item(paper))
    return json.dumps(list(items.values()), indent=2, ensure_ascii=False) + "\n"
