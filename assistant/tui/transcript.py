"""A session as text: stored turns back into Answers, and the Markdown + BibTeX export.

The export is one section per turn, each answer rendered by the answer layer exactly as `ask`
renders it ([n] markers, references, notes, backend); the .bib beside it holds every cited
paper once, in order of first citation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..answer.bibtex import to_bibtex
from ..answer.model import answer_from_dict
from ..corpus.paper import Paper
from ..errors import InputError
from ..text import printable
from .session_store import StoredTurn


def _search_markdown(results: list[dict[str, Any]]) -> str:
    if not results:
        return "No paper matched."
    return "\n".join(f"{r['rank']}. {r['label']} ({r.get('year') or 'n.d.'}) `{r['key']}`" for r in results)


def session_markdown(turns: list[StoredTurn], session_id: str) -> str:
    from ..answer.render import render_markdown  # it loads the whole answer pipeline: not at launch

    sections = [f"# Literature-review session {session_id}"]
    for turn in turns:
        if turn.kind == "answer":
            sections.append(f"## {turn.prompt}\n\n{render_markdown(answer_from_dict(turn.payload))}")
        elif turn.kind == "related":
            sections.append(render_markdown(answer_from_dict(turn.payload)))  # titled by the renderer
        elif turn.kind == "search":
            sections.append(f"## Search: {turn.prompt}\n\n{_search_markdown(turn.payload)}")
    return printable("\n\n---\n\n".join(section.rstrip() for section in sections) + "\n")


def cited_keys(turns: list[StoredTurn]) -> list[str]:
    """Every paper an answer in the session cites, in order of first citation."""
    keys: dict[str, None] = {}
    for turn in turns:
        if turn.kind in ("answer", "related"):
            keys.update((ref["key"], None) for ref in turn.payload["references"])
    return list(keys)


def export_session(turns: list[StoredTurn], path: Path, session_id: str, papers: Mapping[str, Paper]) -> list[Path]:
    """Write `path` (Markdown; .md added when it has no suffix) and, when answers cite papers,
    the same name with suffix .bib. Returns the paths written."""
    if not path.suffix:
        path = path.with_suffix(".md")
    files = {path: session_markdown(turns, session_id)}
    cited = [papers[key] for key in cited_keys(turns) if key in papers]
    if cited:
        files[path.with_suffix(".bib")] = to_bibtex(cited)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for target, text in files.items():
            target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {exc.filename or path} ({exc.strerror})",
                         "give another path: /export PATH") from None
    return list(files)
