"""Author names as a reader writes them: any case, with or without accents, initials for given
names ("T. Likhomanenko"), "Last, First" ("Li, Bo"), a middle initial or not ("Tara Sainath" is
"Tara N. Sainath").

    names_in("which papers did t. likhomanenko write?", ["Tatiana Likhomanenko", "Bo Li"])
    -> ["Tatiana Likhomanenko"]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from ..text import fold

_WORD = re.compile(r"[^\W\d_]+")
_GIVEN_WINDOW = 3  # given names and initials stand at most this many words before the surname
# A surname alone typed in lower case names an author only when this long: "what did he find"
# is no question about a He, "what did sainath work on" one about Tara Sainath.
_BARE_SURNAME = 5


def name_words(name: str) -> tuple[list[str], str]:
    """(given names, surname), folded; "Last, First" is read as First Last."""
    last, comma, first = name.partition(",")
    words = _folded_words(f"{first} {last}" if comma else name)
    return (list(words[:-1]), words[-1]) if words else ([], "")


# Every question, and every paper an author filter checks, reads the collection's names again.
@lru_cache(maxsize=16384)
def _folded_words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(fold(text)))


def words_of(text: str) -> list[str]:
    """The words of `text` as names are compared: folded, letters only."""
    return list(_folded_words(text))


def names_in(text: str, authors: Iterable[str]) -> list[str]:
    """The author names of `authors` that `text` mentions: surname together with a given name
    or its initial, before it ("Bo Li", "B. Li") or after it ("Li, Bo"); or the surname alone
    as an author's ("by Likhomanenko", "Collobert's papers", "what did Sainath work on") when
    one person of `authors` has it (all its forms share a first initial: "by Li" names none of
    the Lis, see surname_alone)."""
    words = _folded_words(text)
    places: dict[str, list[int]] = {}
    for i, word in enumerate(words):
        places.setdefault(word, []).append(i)
    authors = list(dict.fromkeys(authors))
    alone = surname_alone(text, authors)
    found = []
    for author in authors:
        given, surname = name_words(author)
        if given and (len(alone.get(author, ())) == 1
                      or any(_given_beside(words, i, given) for i in places.get(surname, ()))):
            found.append(author)
    return found


def surname_alone(text: str, authors: Iterable[str]) -> dict[str, set[str]]:
    """The authors whose surname `text` writes alone as an author's ("by Bai", "Zhang's
    papers"), capitalised or long enough not to be a word ("what did he find" names no He), each
    with the first initials of everyone of `authors` with that surname: one initial, one person."""
    words = _folded_words(text)
    written = _WORD.findall(text)  # as typed: a surname alone must look like a name
    capitalised = [w[0].isupper() for w in written] if len(written) == len(words) else [False] * len(words)
    spots = {word for i, word in enumerate(words)
             if _surname_as_author(words, i) and (capitalised[i] or len(word) >= _BARE_SURNAME)}
    initials: dict[str, set[str]] = {}
    people = []
    for author in dict.fromkeys(authors):
        given, surname = name_words(author)
        if given and surname in spots:
            initials.setdefault(surname, set()).add(given[0][0])
            people.append((author, surname))
    return {author: initials[surname] for author, surname in people}


def _surname_as_author(words: Sequence[str], at: int) -> bool:
    """Whether the surname at `at` is written as an author's: after "by" or "from", as the one
    who did ("what did Sainath work on", "what has Pang published"), or possessive."""
    return ((at > 0 and words[at - 1] in ("by", "from", "did", "has", "does"))
            or (at + 1 < len(words) and words[at + 1] == "s"))


def _given_beside(words: Sequence[str], at: int, given: list[str]) -> bool:
    """Whether the surname at `at` has one of the `given` names, or the first one's initial, beside it."""
    full = {g for g in given if len(g) > 1}
    if at + 1 < len(words) and words[at + 1] in full:
        return True  # "Li, Bo"
    before = words[max(0, at - _GIVEN_WINDOW):at]
    if full & set(before):
        return True  # "Bo Li", "Chao-Han Huck Yang", "Tara N. Sainath", "Ronny Huang" for "W. Ronny Huang"
    # An initial counts right before the surname or before a middle initial: "T. Likhomanenko", "T. N. Sainath".
    initials = [w for w in before[-2:] if len(w) == 1]
    return bool(before) and len(before[-1]) == 1 and any(given[0].startswith(w) for w in initials)
