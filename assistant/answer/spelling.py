"""A question as its asker meant it: a word typed one slip away from a word of the library read
as that word ("confomer" as "conformer", "psuedo" as "pseudo", "fedrated" as "federated"), and
"whats" as "what's". Without it the gate reads the slip as a topic no paper addresses and refuses.

Only a word neither the papers nor everyday English hold is read again, only as a word the papers
use one slip away (a letter left out or added, or two swapped, past the first letter), and only
when one such word is used by more papers than any other; the answer notes each word it read so.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

from ..corpus.paper import Paper
from ..text import content_terms
from .relevance import english_frequency, paper_as_read

# Contractions typed without their apostrophe: "whats dmel" is "what's dMel".
_CONTRACTION = re.compile(r"\b(what|how|where|who|when|that)s\b", re.IGNORECASE)
_LETTERS = re.compile(r"[^\W\d_]+")
_MIN_LETTERS = 5  # shorter words are too often another word one slip away ("fed", "speak")
_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


class Spelling:
    """The words the papers use (lower case), each with how many papers use it."""

    def __init__(self, words: Mapping[str, int]) -> None:
        self._words = words

    @classmethod
    def from_papers(cls, papers: Iterable[Paper]) -> Spelling:
        words: Counter[str] = Counter()
        for paper in papers:
            words.update(set(_LETTERS.findall(paper_as_read(paper, paper.abstract).lower())))
        return cls(words)

    def corrected(self, question: str) -> tuple[str, list[tuple[str, str]]]:
        """The question with contractions given their apostrophe and each slip read as the
        papers' word, and the (typed, read) pairs of the words read so."""
        question = _CONTRACTION.sub(lambda m: f"{m[1]}'s", question)
        read: dict[str, str] = {}
        for typed in dict.fromkeys(_LETTERS.findall(question)):
            if word := self._meant(typed):
                read[typed] = word
        if not read:
            return question, []
        pattern = re.compile(r"(?<![^\W\d_])(?:" + "|".join(map(re.escape, read)) + r")(?![^\W\d_])")
        return pattern.sub(lambda m: read[m[0]], question), list(read.items())

    def _meant(self, typed: str) -> str | None:
        word = typed.lower()
        if len(word) < _MIN_LETTERS or word in self._words or _in_english(word):
            return None
        # A letter more or less at the end is another form of a word, not a slip: "pruned", "prune".
        used = Counter({candidate: self._words[candidate] for candidate in _one_edit(word)
                        if candidate in self._words and candidate[:-1] != word and word[:-1] != candidate})
        ranked = used.most_common(2)
        if not ranked or len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            return None  # no word, or two as likely
        meant = ranked[0][0]
        return meant[0].upper() + meant[1:] if typed[0].isupper() else meant


def _in_english(word: str) -> bool:
    """Whether `word` is a word of everyday English (english_frequency.txt lists the common ones)."""
    terms = content_terms(word)
    frequency = english_frequency()
    return not terms or all(t in frequency for t in terms)


def _one_edit(word: str) -> set[str]:
    """The strings `word` may have been meant as, one slip away past its first letter: with a
    letter it left out, without one it doubled or added, or with two neighbours swapped. A
    letter changed reads too often as another word ("scaled", "scales"; "batching", "matching")."""
    splits = [(word[:i], word[i:]) for i in range(1, len(word) + 1)]
    return ({a + b[1:] for a, b in splits if b}
            | {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
            | {a + c + b for a, b in splits for c in _ALPHABET})
