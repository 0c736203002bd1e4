"""A question as its asker meant it: a word typed one slip away from a word of the library read
as that word ("confomer" as "conformer", "psuedo" as "pseudo", "fedrated" as "federated"), and
"whats" as "what's". Without it the gate reads the slip as a topic no paper addresses and refuses.

Only a word neither the papers nor everyday English use is read again, as a word of the papers'
abstracts and titles (not their authors: "Jiang" is no slip of "Jing") one slip away: a letter
left out or added (in words of 7 letters or more: "derive" is no "drive"), or two swapped,
neither at the first letter nor in the last two ("encodes" is no "encoders"; only a letter left
out before the last is read back in: "conformr"), and only when one such word is used by more
papers than any other. The answer notes each word it read so.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

from ..corpus.paper import Paper
from ..text import content_terms, latex_to_text
from .relevance import english_frequency

# Contractions typed without their apostrophe: "whats dmel" is "what's dMel".
_CONTRACTION = re.compile(r"\b(what|how|where|who|when|that)s\b", re.IGNORECASE)
_LETTERS = re.compile(r"[^\W\d_]+")
_MIN_LETTERS = 6  # shorter words are too often another word one slip away ("fed", "speak")
_MIN_LETTERS_LEFT_OUT = 7  # and a letter left out or added too: "derive", "drive"; "prose", "pose"
_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


class Spelling:
    """The words the papers use (lower case), each with how many papers use it."""

    def __init__(self, words: Mapping[str, int]) -> None:
        self._words = words

    @classmethod
    def from_papers(cls, papers: Iterable[Paper]) -> Spelling:
        words: Counter[str] = Counter()
        for paper in papers:  # not the authors: a name is no slip of another ("Jiang", "Jing")
            words.update(set(_LETTERS.findall(latex_to_text(f"{paper.title or ''} {paper.abstract}").lower())))
        return cls(words)

    def corrected(self, question: str) -> tuple[str, list[tuple[str, str]]]:
        """The question with each slip read as the papers' word, and the (typed, read) pairs of
        the words read so."""
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
        used = Counter({candidate: self._words[candidate] for candidate in _one_edit(word) if candidate in self._words})
        ranked = used.most_common(2)
        if not ranked or len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            return None  # no word, or two as likely
        meant = ranked[0][0]
        return meant[0].upper() + meant[1:] if typed[0].isupper() else meant


def with_apostrophes(question: str) -> str:
    """Contractions typed without their apostrophe given one: "whats dmel" is "what's dmel"."""
    return _CONTRACTION.sub(lambda m: f"{m[1]}'s", question)


def _in_english(word: str) -> bool:
    """Whether `word` is a word of everyday English (english_frequency.txt lists the common ones)."""
    terms = content_terms(word)
    frequency = english_frequency()
    return not terms or all(t in frequency for t in terms)


def _one_edit(word: str) -> set[str]:
    """The strings `word` may have been meant as, one slip away between its first letter and its
    last two: with a letter it left out (there or just before its last), without one it doubled or
    added, or with two neighbours swapped. A letter changed reads too often as another word
    ("scaled", "scales"; "batching", "matching"), an ending changed as another form of it
    ("pruned", "prune")."""
    splits = [(word[:i], word[i:]) for i in range(1, len(word) - 1)]
    swapped = {a + b[1] + b[0] + b[2:] for a, b in splits}
    if len(word) < _MIN_LETTERS_LEFT_OUT:
        return swapped  # a short word with a letter more or less is often another word: "merge", "mere"
    # A letter left out may also be the last but one ("conformr"); one added there, or after the
    # last, would change an ending ("encodes", "encoders").
    inserted = {word[:i] + c + word[i:] for i in range(1, len(word)) for c in _ALPHABET}
    return swapped | {a + b[1:] for a, b in splits} | inserted
