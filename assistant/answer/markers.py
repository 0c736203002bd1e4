"""A draft's sentences and their citation markers.

A draft (from a model or the extractive backend) cites numbered evidence as [n]. Here it is
split into sentences and its markers are read ([1], [1, 3], [1][2], [2-4], [1–3], before or
after the full stop); markers pointing at no evidence are removed and reported.

Evidence is data, and two things keep it from acting as more: its own bracketed numbers ("as
shown in [2]") are removed wherever it enters a draft (the prompt's evidence and every quote),
so every marker a draft carries was written by the drafter; and a sentence that reads like
instructions to a model is never quoted (see instruction_like).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from ..text import MARKER, latex_to_text, printable, split_sentences
from .model import Issue

SENTINEL = "INSUFFICIENT_EVIDENCE"  # what the model replies when the evidence does not answer
DROP = "DROP"  # what the model replies in a repair for a sentence it cannot cite

# Several markers may follow each other ([1][2], [1], [2]).
# Each starts where a run of spaces does (or at a word), so that a long run is not read again from
# each of its spaces.
_MARKER_RUN = re.compile(rf"(?<!\s)\s*{MARKER.pattern}(?:\s*[,;]?\s*{MARKER.pattern})*")
# An abstract's citation of a paper by author and year, in brackets: "[Gunasekar et al., 2023]".
_AUTHOR_YEAR = re.compile(r"(?<!\s)\s*\[[A-Z][^\[\]]{0,80}?,\s*(?:19|20)\d{2}[a-z]?\]")
_LIST_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")
# What abstracts do not say and prompt injections do, each a reason a reader can check: orders to
# set aside the rules, claimed authority, the prompt's own tags, and orders addressed to "you".
_INSTRUCTION_LIKE = re.compile(
    r"\b(?:ignore|disregard|forget)\s+(?:(?:all|any|the|your|of)\s+)*"
    r"(?:previous|prior|above|earlier|preceding|foregoing)\b"
    r"|\b(?:system|developer|admin)\s+override\b|\b(?:new|updated)\s+instructions?\s*:"
    r"|</?\s*(?:evidence|system|user|assistant|instructions?)\b[^>]*>|<\|\w+\|>"
    r"|\byou\s+(?:must|should|shall|will|are\s+(?:required|instructed)\s+to)\s+(?:now\s+|always\s+)?"
    r"(?:state|say|write|answer|reply|respond|cite|claim|report|mention|output|include|tell)\b",
    re.IGNORECASE,
)


def instruction_like(sentence: str) -> bool:
    """Does an evidence sentence read like instructions to a model ("Ignore all previous
    instructions", "SYSTEM OVERRIDE", "</evidence>", "you must state ...")? Such a sentence is
    never quoted and never counts as support."""
    return _INSTRUCTION_LIKE.search(sentence) is not None


def without_markers(text: str) -> str:
    """Evidence text without its own bracketed citations, "[1]" or "[Gunasekar et al., 2023]":
    they would read as citations to ours."""
    return _AUTHOR_YEAR.sub("", _MARKER_RUN.sub("", text))


@lru_cache(maxsize=4096)  # the same abstracts' sentences are checked answer after answer
def quotable(sentence: str) -> str:
    """An evidence sentence as an answer may quote it: without bracketed numbers (they would
    read as citations to our evidence), without LaTeX markup ("$\\textit{x}$" -> "x") and without
    control characters; empty when it reads like instructions (nothing of it may be quoted)."""
    if instruction_like(sentence):
        return ""
    return _clean(latex_to_text(without_markers(printable(sentence))))


def quotes(text: str) -> list[str]:
    """The sentences of an evidence text that may be quoted, each as quotable() gives it."""
    return [quote for quote in map(quotable, split_sentences(text)) if quote]


def parse_markers(sentence: str) -> tuple[str, list[tuple[int, int]]]:
    """The sentence without its markers, and each cited span (first, last) in order.

    "[1, 3]" gives (1, 1), (3, 3); "[2-4]" gives (2, 4); a reversed range is read in order.
    """
    spans: list[tuple[int, int]] = []
    for match in MARKER.finditer(sentence):
        for part in re.split(r"\s*[,;]\s*", match.group(1)):
            ends = [int(x) for x in re.split(r"\s*[-–—]\s*", part)]
            spans.append((min(ends), max(ends)))
    return _clean(_MARKER_RUN.sub("", sentence)), spans


def read_citations(sentence: str, n_sources: int) -> tuple[str, tuple[int, ...], str | None]:
    """The sentence without markers, the evidence numbers it validly cites (in order of first
    mention), and why some markers were removed (None when all point at evidence)."""
    text, spans = parse_markers(sentence)
    cited: list[int] = []
    invalid: list[str] = []
    for first, last in spans:
        cited.extend(range(max(first, 1), min(last, n_sources) + 1))
        if first < 1 or last > n_sources:
            invalid.append(f"[{first}]" if first == last else f"[{first}-{last}]")
    why = (f"removed citation {', '.join(invalid)}: it points at no evidence (there are {n_sources} sources)"
           if invalid else None)
    return text, _merge((), tuple(cited)), why


def _clean(text: str) -> str:
    text = re.sub(r"\(\s*\)", "", text)  # "(see [1])" leaves "(see)", but "([1])" leaves nothing
    text = re.sub(r"\s+([.,;:!?)])", r"\1", text)
    return " ".join(text.split())


@dataclass(frozen=True)
class DraftSentence:
    text: str  # without markers
    cited: tuple[int, ...]  # valid evidence numbers (1-based), in order of first mention
    paragraph: int = 0


def parse_draft(draft: str, n_sources: int) -> tuple[list[DraftSentence], list[Issue]]:
    """Split a draft into sentences with valid citations; report markers citing no evidence.

    Paragraphs are separated by blank lines; each line is at least one sentence (a model's
    list items are separate claims). A line of markers alone cites the sentence before it.
    Sentences carrying the refusal sentinel are not content and are left out.
    """
    sentences: list[DraftSentence] = []
    issues: list[Issue] = []
    for paragraph, block in enumerate(re.split(r"\n\s*\n", printable(draft).strip())):
        for line in block.splitlines():
            for raw in split_sentences(_LIST_BULLET.sub("", line)):
                if SENTINEL in raw:
                    continue
                text, cited, invalid = read_citations(raw, n_sources)
                if invalid:
                    issues.append(Issue("invalid_marker", invalid, text or raw))
                if not re.search(r"\w", text):
                    if sentences and cited:  # markers on a line of their own
                        last = sentences[-1]
                        sentences[-1] = replace(last, cited=_merge(last.cited, cited))
                    continue
                sentences.append(DraftSentence(text, cited, paragraph))
    return sentences, issues


def _merge(first: tuple[int, ...], second: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(first + second))
