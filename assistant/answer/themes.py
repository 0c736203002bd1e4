"""Group papers into 2-5 named themes: agglomerative clustering of their embeddings, named by
the phrases most distinctive of each group (a class-based TF-IDF over titles and abstracts)."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..text import CLAIM_STOPWORDS, content_terms, joined, printable
from .relevance import specificity

MIN_THEMES, MAX_THEMES = 2, 5
OTHER_WORK = "Other work"
# Words that name no theme: stop words, and the vocabulary every paper in the field uses.
_GENERIC = CLAIM_STOPWORDS | frozenset("""
across even less often still toward towards
achieve achieves achieving better different effective efficient effort efforts enable enables enabling
existing faster first general good high improve improved improves improving large low made make makes
making model models one problem problems recent recently setting settings significant significantly
simple task tasks three trained training two way ways specifically designed design designs propose proposed
data gap gaps recognition speech performance system systems framework frameworks learning efficiency
ml ai
since unlike while despite although whereas
""".split())
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]|[A-Za-z]")


@dataclass(frozen=True)
class Theme:
    name: str
    members: tuple[int, ...]  # indices into the papers given to group_into_themes


def _term_vectors(texts: Sequence[str]) -> np.ndarray:
    """L2-normalized TF-IDF rows over content words: topical vocabulary the embedding blurs."""
    docs = [Counter(w.lower() for w in _WORD.findall(t) if w.lower() not in _GENERIC and len(w) > 2) for t in texts]
    vocabulary = sorted({w for d in docs for w in d})
    index = {w: i for i, w in enumerate(vocabulary)}
    frequency = Counter(w for d in docs for w in d)
    matrix = np.zeros((len(texts), max(1, len(vocabulary))), dtype=np.float32)
    for row, doc in enumerate(docs):
        for word, count in doc.items():
            matrix[row, index[word]] = (1 + math.log(count)) * math.log((1 + len(texts)) / (1 + frequency[word]))
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


def _cluster(similarity: np.ndarray, count: int) -> list[list[int]]:
    """Average-linkage agglomerative clustering into `count` groups of at least two papers."""
    groups = [[i] for i in range(len(similarity))]
    while len(groups) > count:
        best, pair = -math.inf, (0, 1)
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                score = similarity[np.ix_(groups[a], groups[b])].mean()
                if score > best:
                    best, pair = score, (a, b)
        a, b = pair
        groups[a] = groups[a] + groups.pop(b)
    # A theme of one paper is no theme: fold each singleton into the group it is closest to.
    while len(groups) > 1 and (single := next((g for g in groups if len(g) == 1), None)):
        groups.remove(single)
        nearest = max(groups, key=lambda g: similarity[single[0], g].mean())
        nearest.append(single[0])
    return groups


def _bisect(similarity: np.ndarray, rounds: int = 5) -> list[list[int]]:
    """Two groups of at least two: the members ordered from most like to least like the two
    least similar members, cut in the middle, then moved to the group they resemble more on
    average while both keep two. Average linkage peels outliers off a broad group one at a time;
    this cuts it through the middle. None for fewer than four members."""
    n = len(similarity)
    if n < 4:
        return []
    a, b = np.unravel_index(int(np.argmin(similarity)), similarity.shape)
    order = [int(i) for i in np.argsort(similarity[:, b] - similarity[:, a], kind="stable")]
    sides = [sorted(order[: n // 2]), sorted(order[n // 2:])]
    for _ in range(rounds):
        closer = similarity[:, sides[0]].mean(axis=1) >= similarity[:, sides[1]].mean(axis=1)
        new = [[i for i in range(n) if closer[i]], [i for i in range(n) if not closer[i]]]
        if min(map(len, new)) < 2 or new == sides:
            break
        sides = new
    return sides


def _quality(similarity: np.ndarray, groups: list[list[int]]) -> float:
    """Mean silhouette of the grouping under distance = 1 - similarity."""
    if len(groups) < 2:
        return -1.0
    distance = 1.0 - similarity
    label = {i: g for g, members in enumerate(groups) for i in members}
    scores = []
    for i in range(len(similarity)):
        own = [j for j in groups[label[i]] if j != i]
        if not own:
            scores.append(0.0)
            continue
        a = distance[i, own].mean()
        b = min(distance[i, members].mean() for g, members in enumerate(groups) if g != label[i])
        scores.append((b - a) / max(a, b, 1e-9))
    return float(np.mean(scores))


def _phrases(text: str) -> list[str]:
    """Candidate theme phrases: runs of 1-3 content words, lowercased. A word of two letters
    counts only as an acronym (ML, LM), judged as written."""
    written = _WORD.findall(text)
    words = [w.lower() for w in written]
    out = []
    for n in (1, 2, 3):
        for i in range(len(words) - n + 1):
            gram = words[i : i + n]
            if (gram[0] in _GENERIC or gram[-1] in _GENERIC or "and" in gram or "or" in gram
                    or any(len(w) < 3 and not w.isupper() for w in written[i : i + n])):
                continue
            out.append(" ".join(gram))
    return out


# A phrase names a theme when it scores this much: a lone everyday word all its papers use and
# no other does ("detection", 0.6); a lone modifier ("neural", 0.3) does not.
_NAMES_A_THEME = 0.35
_SHORTLIST = 20  # candidate names per theme whose quality is weighed
# A word that qualifies what a theme is about rather than naming it: "neural", "jointly",
# "continuous", "limited". It may open a name ("continuous pseudo-labeling"), not be one. The
# nouns with those endings that name things in the field are no modifiers.
_MODIFIER = re.compile(r"(?:al|ous|ive|ly|ic|[^e]ed|able|ible|ful|less)$")
_NOT_MODIFIERS = frozenset("""
retrieval signal interval proposal removal trial material tutorial journal music metric topic logic
anomaly family assembly objective perspective alternative initiative
""".split())


def _name_quality(phrase: str, as_written: str) -> float:
    """How well a phrase names a theme, whatever its papers: a term of the field ("sparse
    mixture-of-experts", "HuBERT", "self-training") over a lone everyday word ("machine",
    "text") over a lone modifier ("neural", "jointly"). Longer phrases say more."""
    words = phrase.split()
    if len(words) > 1:
        quality = 1.0 + 0.3 * (len(words) - 1)
        if _is_modifier(words[-1]) and "-" not in words[-1]:
            quality *= 0.4  # it ends where the thing it qualifies should be
        if words[-1].rstrip("s") in (_initials(" ".join(words[:-1])), _initials(" ".join(words[:-1]))[1:]):
            quality *= 0.3  # a long form and its own acronym: "foundation models fms"
        return quality
    if any(c.isupper() or c.isdigit() for c in as_written[1:]):
        return 1.0  # an acronym or a coined name: ASR, HuBERT, MoE, wav2vec
    if "-" in phrase:
        return 0.9
    if _is_modifier(phrase):
        return 0.3
    # A plain word names as well as it is rare in English: "detection" yes, "common" or "positions" hardly.
    return 0.6 * min(1.0, min(map(specificity, content_terms(phrase)), default=0.0) / 0.6)


def _is_modifier(word: str) -> bool:
    return bool(_MODIFIER.search(word)) and word not in _NOT_MODIFIERS


def _initials(phrase: str) -> str:
    return "".join(w[0] for w in phrase.split())


def _name_groups(texts: Sequence[str], names_from: Sequence[str], groups: list[list[int]],
                 topic: str) -> tuple[list[str | None], list[str | None]]:
    """Name each group by the phrase that tells it apart: the share of its papers that use the
    phrase (in title or abstract) less the share of the other papers that do, times how well the
    phrase names anything (_name_quality). Candidates are the phrases of the group's titles (an
    abstract's phrases are as often incidental: "natural language processing" in a speech
    paper's first sentence), used by at least two of its papers; the topic's own words name no
    theme. A group with no such phrase is named by its papers' names, or not at all (None; its
    best phrase, if any, is returned beside the names)."""
    of_topic = _of_topic(topic)
    title_phrases = [set(_phrases(t)) for t in names_from]
    doc_phrases = [set(_phrases(t)) | titles for t, titles in zip(texts, title_phrases)]
    everywhere = Counter(p for phrases in doc_phrases for p in phrases)
    # Casing as the abstracts write a phrase: titles capitalise every word.
    written = [t[len(title):] if t.startswith(title) else t for t, title in zip(texts, names_from)] + list(names_from)
    names: list[str | None] = []
    weak: list[str | None] = []  # for a group with no name, its best phrase all the same
    used: set[str] = set()  # a phrase names one theme only
    for members in groups:
        inside = Counter(p for i in members for p in doc_phrases[i])
        others = max(1, len(texts) - len(members))
        in_titles = Counter(p for i in members for p in title_phrases[i])

        def rough(phrase: str) -> float:
            distinct = inside[phrase] / len(members) - (everywhere[phrase] - inside[phrase]) / others
            novelty = 0.3 if all(map(of_topic, phrase.split())) else 1.0
            # One title's coined name that others only mention ("SlimIPL") names that paper, not a theme.
            shared = 1.0 if in_titles[phrase] > 1 or len(members) == 1 else 0.8
            return distinct * novelty * shared * (1.0 + 0.3 * (len(phrase.split()) - 1))

        def score(phrase: str) -> float:
            length = 1.0 + 0.3 * (len(phrase.split()) - 1)
            return rough(phrase) / length * _name_quality(phrase, _as_written(phrase, written))

        # How a phrase is written is looked up for the likeliest few only: a search of every text.
        shortlist = sorted((p for p in in_titles if inside[p] >= min(2, len(members)) and p not in used),
                           key=lambda p: (-rough(p), p))[:_SHORTLIST]
        best = max(shortlist, key=lambda p: (score(p), p), default=None)
        if best is not None and score(best) >= _NAMES_A_THEME:
            used.add(best)
            names.append(_headline(_as_written(best, written)))
            weak.append(None)
        else:
            names.append(_named_by_papers([names_from[i] for i in members]))
            fallback = best if best is not None and score(best) > 0 and best not in used else None
            used.update([fallback] if fallback else [])
            weak.append(_headline(_as_written(fallback, written)) if fallback else None)
    return names, weak


def _of_topic(topic: str) -> Callable[[str], bool]:
    """Whether a (lowercased) word is the topic's: one of its words, or the acronym of a run of
    them ("sr" for "speech recognition"), also with a letter before ("asr": automatic speech
    recognition; a hyphen parts words too: "avsr"). The topic's own words name no theme."""
    words = [w.lower() for w in _WORD.findall(topic)]
    parts = [p for w in words for p in w.split("-")]  # "audio-visual speech recognition": avsr
    runs = {_initials(" ".join(seq[i:j])) for seq in (words, parts)
            for i in range(len(seq)) for j in range(i + 2, len(seq) + 1)}
    return lambda word: word in words or word in runs or word[1:] in runs


def _named_by_papers(labels: Sequence[str]) -> str | None:
    """A theme named by what its papers are called, "Pathways, GSPMD and ScaleAcross Explorer":
    the names of at most three words that their titles give before a colon (at most three names),
    when two or more titles give one; else None, no name."""
    short = [name for name in (label.split(":")[0].strip() for label in labels if ":" in label)
             if len(name.split()) <= 3][:3]
    return None if len(short) < 2 else joined(short)


def _as_written(phrase: str, texts: Sequence[str]) -> str:
    """The phrase as the papers write it most often, in their abstracts, else their titles (the
    two halves of `texts`); see as_written."""
    return as_written(phrase, texts[: len(texts) // 2], texts[len(texts) // 2:])


def as_written(phrase: str, *sources: Sequence[str]) -> str:
    """The phrase as the texts write it most often ("moe architectures" -> "MoE architectures",
    "multimodal llm" -> "multimodal LLM", "wer" -> "WER"), from the first of `sources` that writes
    it; as given when none does."""
    pattern = re.compile(r"(?<![\w-])" + r"[\s-]+".join(map(re.escape, phrase.split())) + r"(?![\w-])", re.IGNORECASE)
    for source in sources:
        forms = Counter(m.group() for t in source for m in pattern.finditer(t))
        if forms:
            # Among equally frequent forms, one keeping capitals (an acronym) over a sentence's first word.
            return max(forms, key=lambda f: (forms[f], sum(c.isupper() for c in f[1:])))
    return phrase


def _headline(name: str) -> str:
    """Capitalised as a heading, unless it opens with a coined name ("dMel tokens", "wav2vec")."""
    first = name.split()[0] if name.split() else name
    return name if any(c.isupper() or c.isdigit() for c in first[1:]) else name[0].upper() + name[1:]


def group_into_themes(texts: Sequence[str], names_from: Sequence[str], vectors: np.ndarray, topic: str) -> list[Theme]:
    """Themes over papers given as texts (title + abstract), the short texts theme names are
    drawn from (titles, or first sentences), and normalized embedding rows.

    The number of themes (2-5, at most one per three papers) maximises the silhouette among the
    groupings where no theme holds more than half the papers (any grouping when none does);
    fewer than six papers make a single theme. Names keep the papers' casing (MoE, LLM, ASR).
    """
    if len(texts) < 2 * MIN_THEMES + 2:
        return _named_themes(texts, names_from, [list(range(len(texts)))], topic)
    terms = _term_vectors(texts)
    similarity = 0.5 * (vectors @ vectors.T) + 0.5 * (terms @ terms.T)
    candidates = [_cluster(similarity, k) for k in range(MIN_THEMES, min(MAX_THEMES, len(texts) // 3) + 1)]
    # No theme holds more than half the papers when some grouping avoids it.
    balanced = [g for g in candidates if max(map(len, g)) <= len(texts) / 2] or candidates
    groups = max(balanced, key=lambda g: _quality(similarity, g))
    while max(map(len, groups)) > len(texts) / 2 and len(groups) < MAX_THEMES:  # a broad topic: split its bulk
        largest = max(groups, key=len)
        halves = _bisect(similarity[np.ix_(largest, largest)])
        if not halves:  # it holds together: one theme
            break
        groups = [g for g in groups if g is not largest] + [[largest[i] for i in half] for half in halves]
    # Larger themes first; within a theme, papers keep their retrieval order.
    groups = [sorted(g) for g in sorted(groups, key=lambda g: (-len(g), min(g)))]
    return _named_themes(texts, names_from, groups, topic)


def _named_themes(texts: Sequence[str], names_from: Sequence[str], groups: list[list[int]], topic: str) -> list[Theme]:
    """The groups as named themes; the groups no phrase names are one, last: "Other work" (the
    topic itself when no group has a name). One group is the topic: a heading tells a theme
    from others, and there are none ("Model compression", not "ASR", which all its papers say)."""
    # Names are shown in a terminal: nothing of a record's control sequences may reach them.
    texts, names_from, topic = [printable(t) for t in texts], [printable(t) for t in names_from], printable(topic)
    if len(groups) == 1:
        return [Theme(name=_headline(topic), members=tuple(groups[0]))]
    names, weak = _name_groups(texts, names_from, groups, topic)
    unnamed = [i for i, name in enumerate(names) if not name]
    if len(unnamed) > 1 and sum(len(groups[i]) for i in unnamed) > len(texts) / 2:
        for i in unnamed:  # one "Other work" would hold most papers: each keeps its best phrase
            names[i] = weak[i]
    themes = [Theme(name=name, members=tuple(group)) for name, group in zip(names, groups) if name]
    rest = sorted(i for name, group in zip(names, groups) if not name for i in group)
    if rest:
        themes.append(Theme(name=OTHER_WORK if themes else _headline(topic), members=tuple(rest)))
    return themes
