"""A draft's sentences and their citation markers.

A draft (from a model or the extractive backend) cites numbered evidence as [n]. Here it is
split into sentences and its markers are read ([1], [1, 3], [1][2], [2-4], [1–3], before or
after the full stop); markers pointing at no evidence are removed and reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..text import MARKER, latex_to_text, split_sentences
from .model import Issue

SENTINEL = "INSUFFICIENT_EVIDENCE"  # what the model replies when the evidence does not answer
DROP = "DROP"  # what the model replies in a repair for a sentence it cannot cite

# Several markers may follow each other ([1][2], [1], [2]).
_MARKER_RUN = re.compile(rf"\s*{MARKER.pattern}(?:\s*[,;]?\s*{MARKER.pattern})*")
_LIST_BULLET = re.compile(r"^\s*(?:[-*•]|\d{1,2}[.)])\s+")


def quotable(sentence: str) -> str:
    """An evidence sentence as an answer may quote it: without bracketed numbers (they would
    read as citations to our evidence) and without LaTeX markup ("$\\textit{x}$" -> "x")."""
    return _clean(latex_to_text(_MARKER_RUN.sub("", sentence)))


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
    for paragraph, block in enumerate(re.split(r"\n\s*\n", draft.strip())):
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
