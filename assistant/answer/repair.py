"""Sentences a draft left uncited: offered once to a repair callback (post-hoc attribution, see
posthoc.py, answers in the numbered "k. <sentence> [n]" / "k. DROP" form), then dropped and reported."""

from __future__ import annotations

import re
from typing import Sequence

from .markers import DROP, DraftSentence, read_citations
from .model import Issue


def apply_repair(
    sentences: list[DraftSentence], reply: str, n_sources: int
) -> tuple[list[DraftSentence], list[Issue]]:
    """Replace each uncited sentence the model's numbered reply now cites validly.

    The reply has one line per uncited sentence, "k. <sentence> [n]" or "k. DROP"; anything
    else leaves the sentence uncited (and so dropped later).
    """
    uncited = [i for i, s in enumerate(sentences) if not s.cited]
    answers: dict[int, str] = {}
    for line in reply.splitlines():
        match = re.match(r"\s*(\d+)\s*[.):]\s*(.*\S)", line)
        if match:
            answers.setdefault(int(match.group(1)), match.group(2))
    repaired = list(sentences)
    issues: list[Issue] = []
    for k, index in enumerate(uncited, 1):
        answer = answers.get(k, "")
        if not answer or answer.strip(" .").upper() == DROP:
            continue
        text, cited, invalid = read_citations(answer, n_sources)
        if invalid:
            issues.append(Issue("invalid_marker", invalid, text))
        if cited and re.search(r"\w", text):
            repaired[index] = DraftSentence(text, cited, sentences[index].paragraph)
            issues.append(Issue("repaired", "an uncited sentence was given a citation on request", text))
    return repaired, issues


def drop_uncited(sentences: Sequence[DraftSentence]) -> tuple[list[DraftSentence], list[Issue]]:
    """The sentences with a citation, and a report of each removed for having none (never
    cited, or every citation removed as unsupported)."""
    kept = [s for s in sentences if s.cited]
    issues = [
        Issue("uncited_dropped", "removed a sentence without a supporting citation", s.text)
        for s in sentences
        if not s.cited
    ]
    return kept, issues
