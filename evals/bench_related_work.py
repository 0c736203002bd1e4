"""Related-work sections of the offline writer (issue #10, point 6), this checkout beside a baseline.

    .venv/bin/python evals/bench_related_work.py [--before PYTHON] [--topics FILE] [--json FILE]

"after" is this checkout (the interpreter running the script); "before" is another installation
of the package (`--before` names its Python, e.g. a worktree's .venv/bin/python). Each side
ingests the shipped seeds into its own temporary index and writes a section on every topic of
evals/questions/related_work_topics.txt, or of --topics (this checkout's file, whichever package
runs), with the extractive backend. related_work_topics_unseen.txt holds topics written after
the writer's last change and scored once. Only public entry points are used, so an older checkout can run it.

Figures, summed over the topics:
- papers the section chose (its themes' papers) and the share of them it cites: a chosen paper
  that is not cited was lost to citation enforcement;
- enforcement notes (citations or sentences removed) and shown sentences flagged unsupported:
  what a reader sees as noise;
- background sentences shown (the field as a paper found it, not what the paper adds) and
  template phrases ("Similarly, ...", "Work on X in this collection spans ...");
- sections where one theme holds more than half the papers (with more than one theme).
Then every theme name, both sides, for reading: no figure says whether a name is good.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

TOPICS = Path(__file__).resolve().parent / "questions" / "related_work_topics.txt"
# The notes a reader gets when enforcement removed something (a citation, a sentence, a marker).
ENFORCEMENT_NOTES = ("invalid_marker", "unsupported_citation", "uncited_dropped", "unsupported_dropped",
                     "off_question_dropped", "background_dropped")
TEMPLATE = re.compile(r"\b(?:Similarly|In a related direction|Along the same line),|in this collection (?:spans|centres on)")


def topics(path: Path = TOPICS) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def measure(index_dir: Path, topics_file: Path = TOPICS) -> dict[str, Any]:
    """One section per topic, for the installed package, over a new index of the seeds."""
    from assistant.answer.attribution import gives_background
    from assistant.answer.related_work import write_related_work
    from assistant.config import Settings
    from assistant.retrieve import open_retriever

    settings = Settings(index_dir=index_dir, backend="extractive")
    retriever = open_retriever(settings)
    rows = []
    for topic in topics(topics_file):
        section = write_related_work(topic, settings, retriever)
        chosen = {key for theme in section.themes for key in theme.keys}
        cited = {c.key for s in section.sentences for c in s.citations}
        sizes = [len(theme.keys) for theme in section.themes]
        rows.append({
            "topic": topic, "refused": section.refused,
            "themes": [theme.name for theme in section.themes], "chosen": len(chosen),
            "cited": len(chosen & cited),
            "notes": sum(i.kind in ENFORCEMENT_NOTES for i in section.issues),
            "unsupported": sum(not s.supported for s in section.sentences),
            "background": sum(map(gives_background, section.sentences)),
            "template": sum(bool(TEMPLATE.search(s.text)) for s in section.sentences),
            "lopsided": len(sizes) > 1 and max(sizes) > sum(sizes) / 2,
        })
    return {"rows": rows}


def summarise(figures: dict[str, Any]) -> dict[str, Any]:
    rows = figures["rows"]
    chosen = sum(r["chosen"] for r in rows)
    return {
        "sections written": sum(not r["refused"] for r in rows),
        "papers chosen": chosen,
        "chosen papers cited": f"{sum(r['cited'] for r in rows) / chosen:.1%}" if chosen else "n/a",
        "enforcement notes": sum(r["notes"] for r in rows),
        "sentences flagged unsupported": sum(r["unsupported"] for r in rows),
        "background sentences shown": sum(r["background"] for r in rows),
        "template phrases": sum(r["template"] for r in rows),
        "one theme > half the papers": sum(r["lopsided"] for r in rows),
    }


def side(python: str, index_dir: Path, topics_file: Path) -> dict[str, Any]:
    """`measure` run by another interpreter (its own installation of the package)."""
    out = index_dir.parent / f"{index_dir.name}.json"
    subprocess.run([python, __file__, "--measure", str(index_dir), "--topics", str(topics_file), "--json", str(out)],
                   check=True)
    return json.loads(out.read_text(encoding="utf-8"))


def report(sides: dict[str, dict[str, Any]]) -> str:
    summaries = {name: summarise(figures) for name, figures in sides.items()}
    names = list(sides)
    lines = [f"{'':32s}" + "".join(f"{name:>12s}" for name in names)]
    for figure in next(iter(summaries.values())):
        lines.append(f"{figure:32s}" + "".join(f"{str(summaries[n][figure]):>12s}" for n in names))
    lines.append("")
    lines.append("Theme names" + "".join(f" | {name}" for name in names))
    for i, row in enumerate(next(iter(sides.values()))["rows"]):
        lines.append(f"- {row['topic']}: " + " | ".join(
            "refused" if sides[n]["rows"][i]["refused"] else "; ".join(sides[n]["rows"][i]["themes"]) for n in names))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="the Python of another installation of the package")
    parser.add_argument("--topics", type=Path, default=TOPICS, help="a file of topics, one a line")
    parser.add_argument("--json", type=Path, help="write the figures as JSON")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # one side, into this index
    args = parser.parse_args()
    if args.measure:
        figures = measure(args.measure, args.topics)
        args.json.write_text(json.dumps(figures), encoding="utf-8")
        return
    with tempfile.TemporaryDirectory() as tmp:
        sides = {}
        if args.before:
            sides["before"] = side(args.before, Path(tmp) / "before", args.topics)
        sides["after"] = side(sys.executable, Path(tmp) / "after", args.topics)
    print(report(sides))
    if args.json:
        args.json.write_text(json.dumps(sides, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
