"""Keyword ranking with bm25s, persisted beside the vectors (tokens: see assistant/text.py)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..text import tokenize

MAX_QUERY_TOKENS = 512  # a pasted document as a query is cut, not scored term by term


class Bm25Index:
    """BM25 over a fixed list of documents; scores come back aligned with that list."""

    def __init__(self, model) -> None:
        self._model = model

    @classmethod
    def build(cls, documents: Iterable[list[str]]) -> Bm25Index:
        """BM25 over documents given as their tokens (tokenize()), read one at a time and kept
        only as token ids: memory grows with the vocabulary and the ids, not with every token string."""
        import bm25s

        vocabulary: dict[str, int] = {}
        token_ids = [[vocabulary.setdefault(token, len(vocabulary))
                      # An empty document still needs a token, or bm25s rejects the corpus.
                      for token in tokens or ["<empty>"]] for tokens in documents]
        model = bm25s.BM25()
        model.index((token_ids, vocabulary), show_progress=False)
        return cls(model)

    def save(self, directory: Path) -> None:
        self._model.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path) -> Bm25Index:
        import bm25s

        # Memory-mapped: opening a large index reads only the pages a query touches.
        return cls(bm25s.BM25.load(str(directory), mmap=True, show_progress=False))

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every document for `query` (zeros when no query word is indexed)."""
        known = self._model.get_tokens_ids(_query_tokens(query))
        if not known:
            return np.zeros(self._model.scores["num_docs"], dtype=np.float32)
        return self._model.get_scores(known)

    def full_match(self, query: str) -> float:
        """What a document of average length holding every query word once scores: each word's
        Lucene IDF times 1 / (1 + k1), as bm25s scores. A word no document holds counts as one that
        a single document holds: the question asks for it, though nothing can match it."""
        documents = self._model.scores["num_docs"]
        pointers = self._model.scores["indptr"]  # one column a word: its documents' scores
        vocabulary = self._model.vocab_dict
        total = 0.0
        for token in _query_tokens(query):
            word = vocabulary.get(token)
            holders = int(pointers[word + 1] - pointers[word]) if word is not None else 1
            total += math.log(1 + (documents - holders + 0.5) / (holders + 0.5))
        return total / (1 + self._model.k1)


def _query_tokens(query: str) -> list[str]:
    """The distinct search tokens of a query, first MAX_QUERY_TOKENS of them."""
    return list(dict.fromkeys(tokenize(query)))[:MAX_QUERY_TOKENS]
