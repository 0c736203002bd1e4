"""Evaluation question sets: JSON lines of id, kind, q, relevant (source locators), answer, year.

kind: "topic" | "fact" | "author" | "year" | "refuse"; `answer` (facts) lists strings a correct
answer contains; `year` is the filter a user would apply (e.g. "2020-2021").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..errors import InputError
from ..resources import packaged_dir

KINDS = ("topic", "fact", "author", "year", "refuse")


@dataclass(frozen=True)
class Question:
    id: str
    kind: str
    q: str
    relevant: frozenset[str]
    answer: tuple[str, ...] = ()
    year: str | None = None
    file: str = ""

    @property
    def answerable(self) -> bool:
        return self.kind != "refuse"


def default_question_files() -> list[Path]:
    """evals/questions/*.jsonl of the checkout (the sets are about the shipped seed corpus)."""
    try:
        folder = packaged_dir("evals") / "questions"
    except FileNotFoundError:
        return []
    return sorted(folder.glob("*.jsonl"))


def load_questions(paths: Iterable[Path]) -> list[Question]:
    """Every question of every file, each id once (the first file to use an id wins)."""
    questions: dict[str, Question] = {}
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise InputError(f"cannot read question file {path}: {exc.strerror}", "check --questions") from None
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                question = Question(
                    id=str(item["id"]), kind=item["kind"], q=item["q"], relevant=frozenset(item.get("relevant", [])),
                    answer=tuple(item.get("answer", [])), year=item.get("year"), file=path.name,
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(f"{path} line {number}: not a question record ({exc})",
                                 "each line needs id, kind, q and relevant") from None
            if question.kind not in KINDS:
                raise InputError(f"{path} line {number}: unknown kind {question.kind!r}", f"use one of {', '.join(KINDS)}")
            questions.setdefault(question.id, question)
    if not questions:
        raise InputError("no evaluation questions found", "pass --questions FILE.jsonl")
    return list(questions.values())
