"""Group papers into 2-5 named themes: agglomerative clustering of their embeddings, named by
the phrases most distinctive of each group (a class-based TF-IDF over titles and abstracts)."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..text import CLAIM_STOPWORDS

MIN_THEMES, MAX_THEMES = 2, 5
# Words that name no theme: stop words, and the vocabulary every paper in the field uses.
_GENERIC = CLAIM_STOPWORDS | frozenset("""
across even less often still toward towards
achieve achieves achieving better different effective efficient effort efforts enable enables enabling
existing faster first general good high improve improved improves improving large low made make makes
making model models one problem problems recent recently setting settings significant significantly
simple task tasks three trained training two way ways
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
    """Candidate theme phrases: runs of 1-3 content words, lowercased."""
    words = [w.lower() for w in _WORD.findall(text)]
    out = []
    for n in (1, 2, 3):
        for i in range(len(words) - n + 1):
            gram = words[i : i + n]
            if gram[0] in _GENERIC or gram[-1] in _GENERIC or any(len(w) < 3 and not w.isupper() for w in gram):
                continue
            out.append(" ".join(gram))
    return out


def _overlap(a: str, b: str) -> bool:
    """Phrases that say the same thing: a shared word, or one the acronym of the other (asr)."""
    def initials(p: str) -> str:
        return "".join(w[0] for w in p.split())

    return bool(set(a.split()) & set(b.split())) or a in (initials(b), initials(b)[1:]) or b in (initials(a), initials(a)[1:])


def _name_groups(texts: Sequence[str], names_from: Sequence[str], groups: list[list[int]], topic: str) -> list[str]:
    """Name each group by the 1-2 phrases of its titles that its papers share most and the
    other papers least (phrases count where they occur in a paper's title or abstract)."""
    topic_words = {w.lower() for w in _WORD.findall(topic)}
    title_phrases = [set(_phrases(t)) for t in names_from]
    doc_phrases = [set(_phrases(t)) | titles for t, titles in zip(texts, title_phrases)]
    document_frequency = Counter(p for phrases in doc_phrases for p in phrases)
    names = []
    for members in groups:
        counts = Counter(p for i in members for p in doc_phrases[i])

        def score(phrase: str) -> float:
            spread = counts[phrase] / len(members)  # share of the group that uses it
            rarity = (math.log((1 + len(texts)) / (1 + document_frequency[phrase])) + 1) ** 2
            words = phrase.split()
            novelty = 0.3 if set(words) <= topic_words else 1.0  # the topic itself names nothing
            return spread * rarity * novelty * (1 + 0.6 * (len(words) - 1))

        candidates = {p for i in members for p in title_phrases[i]}
        ranked = sorted((p for p in candidates if counts[p] >= min(2, len(members))), key=lambda p: (-score(p), p))
        chosen: list[str] = []
        for phrase in ranked:
            if not any(_overlap(phrase, c) for c in chosen) and phrase not in names:
                chosen.append(phrase)
            if len(chosen) == 2:
                break
        label = " and ".join(chosen) if chosen else f"group {len(names) + 1}"
        names.append(label[0].upper() + label[1:])
    return names


def group_into_themes(texts: Sequence[str], names_from: Sequence[str], vectors: np.ndarray, topic: str) -> list[Theme]:
    """Themes over papers given as texts (title + abstract), the short texts theme names are
    drawn from (titles, or first sentences), and normalized embedding rows.

    The number of themes (2-5, at most one per three papers) maximises the silhouette; fewer
    than six papers make a single theme.
    """
    if len(texts) < 2 * MIN_THEMES + 2:
        return [Theme(name=_name_groups(texts, names_from, [list(range(len(texts)))], topic)[0],
                      members=tuple(range(len(texts))))]
    terms = _term_vectors(texts)
    similarity = 0.5 * (vectors @ vectors.T) + 0.5 * (terms @ terms.T)
    candidates = [_cluster(similarity, k) for k in range(MIN_THEMES, min(MAX_THEMES, len(texts) // 3) + 1)]
    groups = max(candidates, key=lambda g: _quality(similarity, g))
    # Larger themes first; within a theme, papers keep their retrieval order.
    groups = [sorted(g) for g in sorted(groups, key=lambda g: (-len(g), min(g)))]
    names = _name_groups(texts, names_from, groups, topic)
    return [Theme(name=n, members=tuple(g)) for n, g in zip(names, groups)]
