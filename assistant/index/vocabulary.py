"""The names papers go by and the acronyms their abstracts define: worked out from the records
once, when a generation is built, and stored in its tables (generation.py), so that a question
looks up only the words it holds instead of reading every record (retrieve.PaperNames and
retrieve.Acronyms say what they are for).

`Vocabulary` holds them in memory, built from papers; a Generation answers the same lookups
from its tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from ..corpus.paper import Paper
from ..text import STOPWORDS, fold

# Recorded through the index manifest's corpus hash: a change to what is read off the records
# (names, acronyms) builds a new generation on the next ingest.
VOCABULARY = "vocabulary/v3"
_NAME_WORD = re.compile(r"[^\W_]+")
_MAX_NAME_WORDS = 3  # "Conformer: ...", "Google USM: ...": a longer lead-in is a phrase, not a name
# "(ASR)", "(LLMs)", "(dMel)": a capital past the first letter (the first such capital read once:
# "[A-Za-z0-9]*[A-Z]" read "(AAAA..." in quadratic time).
_ACRONYM_DEFINED = re.compile(r"\(([A-Za-z][a-z0-9]*[A-Z][A-Za-z0-9]*)\)")
_LONG_FORM_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_USED_WORD = re.compile(r"\w+")  # a coined word is used where it stands between word boundaries


def name_terms(text: str) -> frozenset[str]:
    """Folded words without stop words; a hyphen or apostrophe splits ("w2v-BERT", "Google's")."""
    return frozenset(w for w in _NAME_WORD.findall(fold(text)) if w not in STOPWORDS and len(w) > 1)


def paper_name(paper: Paper) -> tuple[frozenset[str], frozenset[str]]:
    """The terms of the name a paper's title gives it (its lead-in before a colon, of at most
    three words) and the coined words among them (an inner capital or a digit: USM, dMel), folded."""
    lead, colon, _ = (paper.title or "").partition(":")
    if not colon or not 0 < len(lead.split()) <= _MAX_NAME_WORDS:
        return frozenset(), frozenset()
    coined = frozenset(fold(word) for word in _NAME_WORD.findall(lead)
                       if any(ch.isupper() or ch.isdigit() for ch in word[1:]))
    return name_terms(lead), coined


# A short title is a name too: "Word Order Does Not Matter For Speech Recognition" is named by a
# question holding each of its words ("does word order matter for asr?"); two words are too few
# to tell a title from a phrase, six too many for a question to hold them all.
_TITLE_NAME_TERMS = range(3, 6)


def title_name(paper: Paper) -> frozenset[str]:
    """The terms of a short title, whole, as a name (empty for a longer or shorter one)."""
    terms = name_terms(paper.title or "")
    return terms if len(terms) in _TITLE_NAME_TERMS else frozenset()


def defined_acronyms(abstract: str) -> Iterator[tuple[str, str]]:
    """(long form, acronym) for each acronym the abstract defines, the long form's words in lower
    case: its capitals must be the initials of the words before the parenthesis ("text-to-speech
    (TTS)"), which keeps out asides such as "... setting (WER)"; or else every letter, a plural
    "s" aside, one word's initial ("Mixture-of-Experts (MoE)")."""
    for match in _ACRONYM_DEFINED.finditer(abstract):
        before = _LONG_FORM_WORD.findall(abstract[max(0, match.start() - 200):match.start()])
        capitals = [ch for ch in match[1] if ch.isupper()]
        letters = list(match[1][:-1] if match[1][-1] == "s" and match[1][-2].isupper() else match[1])
        for initials in (capitals, letters):
            words = before[-len(initials):] if len(initials) > 1 else []
            if len(words) == len(initials) and all(w[0].upper() == c.upper() for w, c in zip(words, initials)):
                yield " ".join(words).lower(), match[1]
                break


def acronym_words(text: str) -> set[str]:
    """The words of `text` as written, read as defined_acronyms reads an acronym ("FL", "DP")."""
    return set(_LONG_FORM_WORD.findall(text))


def long_form_words(text: str) -> list[str]:
    """The words of `text` as long forms are written: lower case, hyphens as spaces."""
    return _LONG_FORM_WORD.findall(text.lower())


class VocabularyLookup(Protocol):
    def names_within(self, terms: frozenset[str]) -> set[str]:
        """Keys of the papers whose every name term is among `terms`."""

    def coined_among(self, terms: frozenset[str]) -> dict[str, tuple[str, int]]:
        """For each of `terms` that is a coined word of exactly one paper's name: that paper's key,
        and how many papers use the word in their title or abstract."""

    def acronyms_of(self, long_forms: list[str]) -> dict[str, str]:
        """The acronym of each of `long_forms` that the abstracts define (the first definition)."""

    def long_forms_of(self, acronyms: list[str]) -> dict[str, list[str]]:
        """The long forms the abstracts define for each of `acronyms` (given in upper case), by acronym."""

    def longest_form(self) -> int:
        """Words in the longest long form (0: none)."""


@dataclass(frozen=True)
class Vocabulary:
    """Names and acronyms of a list of papers, in memory."""

    names: list[tuple[frozenset[str], str]]  # (name terms, paper key)
    coined: dict[str, tuple[str, int]]  # coined word of one paper's name -> (its key, papers using it)
    long_forms: dict[str, str]  # long form -> acronym, the first definition in corpus order

    @classmethod
    def of(cls, papers: list[Paper]) -> Vocabulary:
        names: list[tuple[frozenset[str], str]] = []
        coined: dict[str, set[str]] = {}
        long_forms: dict[str, str] = {}
        for paper in papers:
            terms, coined_words = paper_name(paper)
            names.extend((name, paper.key) for name in dict.fromkeys([terms, title_name(paper)]) if name)
            for word in coined_words:
                coined.setdefault(word, set()).add(paper.key)
            for long_form, acronym in defined_acronyms(paper.abstract):
                long_forms.setdefault(long_form, acronym)
        unique = {word: next(iter(keys)) for word, keys in coined.items() if len(keys) == 1}
        used = dict.fromkeys(unique, 0)
        if unique:
            for paper in papers:
                # Lower-cased, not folded (coined names are ASCII), as a reader would search for them.
                for word in set(_USED_WORD.findall(f"{paper.title or ''} {paper.abstract}".lower())) & unique.keys():
                    used[word] += 1
        return cls(names, {word: (key, used[word]) for word, key in unique.items()}, long_forms)

    def names_within(self, terms: frozenset[str]) -> set[str]:
        return {key for name, key in self.names if name <= terms}

    def coined_among(self, terms: frozenset[str]) -> dict[str, tuple[str, int]]:
        return {word: self.coined[word] for word in terms & self.coined.keys()}

    def acronyms_of(self, long_forms: list[str]) -> dict[str, str]:
        return {form: self.long_forms[form] for form in long_forms if form in self.long_forms}

    def long_forms_of(self, acronyms: list[str]) -> dict[str, list[str]]:
        forms: dict[str, list[str]] = {}
        for form, acronym in self.long_forms.items():
            if acronym.upper() in acronyms:
                forms.setdefault(acronym.upper(), []).append(form)
        return forms

    def longest_form(self) -> int:
        return max((len(form.split(" ")) for form in self.long_forms), default=0)
