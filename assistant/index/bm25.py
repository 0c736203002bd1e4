"""Keyword ranking with bm25s, persisted beside the vectors (tokens: see assistant/text.py)."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from itertools import islice
from pathlib import Path

import numpy as np

from ..text import tokenize

_BLOCK = 1024  # documents whose token strings are held at once while they become ids
MAX_QUERY_TOKENS = 512  # a pasted document as a query is cut, not scored term by term


class Bm25Index:
    """BM25 over a fixed list of documents; scores come back aligned with that list."""

    def __init__(self, model) -> None:
        self._model = model

    @classmethod
    def build(cls, documents: Iterable[list[str]]) -> Bm25Index:
        """BM25 over documents given as their tokens (tokenize()), read one at a time and kept
        only as token ids: memory grows with the vocabulary and the ids, not with every token string.

        The score matrix is bm25s's (Lucene BM25, its k1 and b) computed with whole-array numpy
        operations: bm25s's own build counts each document's terms in Python, ~0.4 s at 8,700
        chunks, which an ingest that adds one paper to 5,000 pays in full."""
        import bm25s

        vocabulary: dict[str, int] = {}
        ids = array("q")
        lengths = array("q")
        documents = iter(documents)
        # An empty document still needs a token, or bm25s rejects the corpus.
        while block := [tokens or ["<empty>"] for tokens in islice(documents, _BLOCK)]:
            flat = [token for tokens in block for token in tokens]
            for token in dict.fromkeys(flat):  # numbered in order of first use, as bm25s numbers them
                vocabulary.setdefault(token, len(vocabulary))
            ids.extend(map(vocabulary.__getitem__, flat))
            lengths.extend(map(len, block))
        model = bm25s.BM25(method="lucene")
        model.scores = _lucene_scores(np.frombuffer(ids, dtype=np.int64), np.frombuffer(lengths, dtype=np.int64),
                                      len(vocabulary), model.k1, model.b)
        model.vocab_dict = vocabulary | {"": len(vocabulary)}  # the empty token bm25s's index() adds
        model.unique_token_ids_set = set(model.vocab_dict.values())
        model.nonoccurrence_array = None  # Lucene BM25 has none
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


def _lucene_scores(ids: np.ndarray, lengths: np.ndarray, vocabulary_size: int, k1: float,
                   b: float) -> dict[str, np.ndarray | int]:
    """bm25s's score matrix (CSC by term: each term's documents and their scores) for documents
    given as one array of token ids and their lengths."""
    documents = len(lengths)
    pairs, frequency = np.unique(np.repeat(np.arange(documents, dtype=np.int64), lengths) * vocabulary_size + ids,
                                 return_counts=True)  # sorted by document, then term
    document, term = pairs // vocabulary_size, pairs % vocabulary_size
    holders = np.bincount(term, minlength=vocabulary_size)
    idf = np.log(1 + (documents - holders + 0.5) / (holders + 0.5)).astype(np.float32)
    length_norm = k1 * ((1 - b) + b * lengths / (lengths.mean() if documents else 1.0))
    scores = (idf[term] * (frequency / (length_norm[document] + frequency))).astype(np.float32)
    order = np.argsort(term, kind="stable")  # by term, then document
    indptr = np.zeros(vocabulary_size + 1, dtype=np.int64)
    np.cumsum(holders, out=indptr[1:])
    return {"data": scores[order], "indices": document[order].astype(np.int32), "indptr": indptr,
            "num_docs": documents}


def _query_tokens(query: str) -> list[str]:
    """The distinct search tokens of a query, first MAX_QUERY_TOKENS of them."""
    return list(dict.fromkeys(tokenize(query)))[:MAX_QUERY_TOKENS]
