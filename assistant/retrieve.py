"""Hybrid retrieval: dense (Chroma) and BM25 fused, diversified per paper, filtered.

Returns Evidence: the unit the answer layer cites.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable

from .corpus.names import names_in
from .corpus.paper import Paper
from .errors import IndexStoreError, InputError
from .index import ProgressCallback
from .index.vocabulary import VocabularyLookup, long_form_words, name_terms, paper_name, title_name
from .text import fold

if TYPE_CHECKING:
    import numpy as np

    from .config import RetrievalSettings, Settings
    from .index.background import Background
    from .index.embedder import Embedder
    from .index.reader import ChunkHit, IndexReader

_YEAR_RANGE = re.compile(r"^(?P<start>[1-9]\d{3})?(?P<dash>-)?(?P<end>[1-9]\d{3})?$")  # 0000 is no year
_YEAR_FORMS = "2021, 2020-2023, 2020- or -2023"
_MAX_COINED_PAPERS = 3  # a coined word used by more papers than this no longer points at one
# Rocchio feedback (retrieval.feedback_weight): the first fused ranking's best papers, at most this
# many, and only those scoring within FEEDBACK_MARGIN of the best one (a clear winner feeds back alone).
FEEDBACK_PAPERS = 3
FEEDBACK_MARGIN = 0.85


@dataclass(frozen=True)
class Filters:
    year_from: int | None = None
    year_to: int | None = None
    # An author's name in any form names.py reads ("T. Likhomanenko", "Li, Bo", no accents), or
    # one word: a substring of any author's name, ignoring case and accents.
    author: str | None = None
    category: str | None = None  # exact subject code, case-insensitive

    @classmethod
    def parse(cls, year: str | None = None, author: str | None = None, category: str | None = None) -> Filters:
        """Filters from user text: year "2021", "2020-2023", "2020-" or "-2023"; blank means unset."""
        year_from = year_to = None
        if year is not None and year.strip():
            match = _YEAR_RANGE.match(year.replace(" ", ""))
            if not match or not (match["start"] or match["end"]):
                raise InputError(f"the year filter {year!r} is not a year or a range", f"write it as {_YEAR_FORMS}")
            year_from = int(match["start"]) if match["start"] else None
            year_to = int(match["end"]) if match["end"] else None
            if not match["dash"]:
                year_to = year_from
            if year_from is not None and year_to is not None and year_from > year_to:
                raise InputError(f"the year range {year!r} ends before it starts", f"write it as {_YEAR_FORMS}")
        return cls(year_from=year_from, year_to=year_to,
                   author=author.strip() if author and author.strip() else None,
                   category=category.strip().upper() if category and category.strip() else None)

    def is_empty(self) -> bool:
        return not (self.year_from or self.year_to or self.author or self.category)

    def matches(self, paper: Paper) -> bool:
        """Whether `paper` passes every filter (a paper with no year fails any year filter)."""
        if self.year_from is not None and (paper.year is None or paper.year < self.year_from):
            return False
        if self.year_to is not None and (paper.year is None or paper.year > self.year_to):
            return False
        if self.category and (paper.category or "").upper() != self.category.upper():
            return False
        if self.author:
            if len(self.author.split()) > 1 or "," in self.author:
                return bool(names_in(self.author, paper.authors))
            needle = fold(self.author)
            return any(needle in fold(name) for name in paper.authors)
        return True

    def undated_notice(self, papers: list[Paper]) -> str | None:
        """What a year filter costs: the papers with no year it left out that every other filter
        admits, said in a sentence; None when it left out none."""
        if self.year_from is None and self.year_to is None:
            return None
        others = Filters(author=self.author, category=self.category)
        left_out = sum(1 for paper in papers if paper.year is None and others.matches(paper))
        if not left_out:
            return None
        return f"the year filter left out {left_out} paper{'' if left_out == 1 else 's'} with no year (shown as n.d.)"

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in (("year_from", self.year_from), ("year_to", self.year_to),
                                  ("author", self.author), ("category", self.category)) if v is not None}


@dataclass(frozen=True)
class Evidence:
    paper: Paper
    text: str  # the chunk of the abstract that matched
    score: float  # fused score (higher is better)
    rank: int  # 1-based position in the result list
    chunk_id: str
    dense_score: float | None = None  # cosine similarity of the chunk to the query, if ranked
    bm25_score: float | None = None
    named: bool = False  # the question names this paper ("Conformer", "dMel"): see PaperNames

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.paper.key,
            "source": self.paper.source,
            "title": self.paper.title,
            "label": self.paper.label,
            "authors": list(self.paper.authors),
            "year": self.paper.year,
            "category": self.paper.category,
            "score": round(self.score, 6),
            "dense_score": None if self.dense_score is None else round(self.dense_score, 6),
            "bm25_score": None if self.bm25_score is None else round(self.bm25_score, 6),
            "rank": self.rank,
            "snippet": self.text,
        }


class PaperNames:
    """The names papers go by, read off their titles: "Conformer: Convolution-augmented
    Transformer ..." is named Conformer, "Google USM: Scaling ..." Google USM.

    A question names a paper when it holds every word of the name ("What is Google's USM?") or of
    a short title ("does word order matter for asr?"), or a coined word of it (one with an inner
    capital or a digit: USM, dMel, slimIPL) that no other name has and few abstracts use. A common
    word like "Conformer" then points at the Conformer paper, which BM25 alone cannot tell from
    the many papers that use a Conformer.
    The names are worked out at ingest (index/vocabulary.py); a question looks up its own words.
    """

    def __init__(self, vocabulary: VocabularyLookup) -> None:
        self._vocabulary = vocabulary

    def named_in(self, question: str, long_forms: Iterable[str] = ()) -> set[str]:
        """Keys of the papers `question` names; a short title's words may be said by the long
        forms of the question's acronyms ("asr" for "Speech Recognition")."""
        terms = name_terms(" ".join([question, *long_forms]))
        return self._vocabulary.names_within(terms) | {
            key for key, used_by in self._vocabulary.coined_among(terms).values() if used_by <= _MAX_COINED_PAPERS}


class Acronyms:
    """The acronyms the abstracts define ("text-to-speech (TTS)"), so that a question in the long
    form also matches the abstracts that write only the acronym: "text-to-speech papers" finds a
    paper on "speech synthesis (TTS)" (see index/vocabulary.defined_acronyms).
    """

    def __init__(self, vocabulary: VocabularyLookup) -> None:
        self._vocabulary = vocabulary

    def expand(self, query: str) -> str:
        """The query with the acronym of each long form it holds appended (words compared in lower
        case, hyphens as spaces; left to right, the longest long form first at each word)."""
        words = long_form_words(query)
        longest = min(self._vocabulary.longest_form(), len(words))
        spans = {(i, n): " ".join(words[i:i + n]) for n in range(2, longest + 1) for i in range(len(words) - n + 1)}
        known = self._vocabulary.acronyms_of(list(dict.fromkeys(spans.values()))) if spans else {}
        acronyms: dict[str, None] = {}
        at = 0
        while at < len(words):
            n = next((n for n in range(longest, 1, -1) if spans.get((at, n)) in known), 0)
            if n:
                acronyms.setdefault(known[spans[at, n]])
            at += n or 1
        return " ".join([query, *acronyms]) if acronyms else query

    def spelled_out(self, text: str) -> dict[str, list[str]]:
        """Each word of `text` that is an acronym the abstracts define, with its long forms ("asr":
        ["automatic speech recognition", ...]); words compared in upper case."""
        words = {word: word.upper() for word in re.findall(r"[^\W\d_][\w-]*", text)}
        forms = self._vocabulary.long_forms_of(sorted(set(words.values()))) if words else {}
        return {word: forms[upper] for word, upper in words.items() if upper in forms}


class Retriever:
    def __init__(self, settings: Settings, index: IndexReader, embedder: Background[Embedder]) -> None:
        self.settings = settings  # its `retrieval` section decides fusion and the per-paper cap
        self._index = index
        self._embedder = embedder
        self._vocabulary: tuple[IndexReader, PaperNames, Acronyms] | None = None
        self._last_query: tuple[str, np.ndarray] | None = None  # see query_vectors

    @property
    def embedder(self) -> Embedder:
        return self._embedder.get()

    def papers(self) -> list[Paper]:
        return self._index.papers()

    def index_name(self) -> str:
        """The index generation read now: what anything computed from its papers holds for."""
        return self._index.generation.name

    def named_papers(self, question: str) -> set[str]:
        """Keys of the papers the question names (see PaperNames), over the current index. A
        short title names its paper only in a question about that paper: one that says at most
        one word besides the title's and asks for no papers or methods ("survey iterative
        pseudo-labeling methods for speech recognition" is about the topic, not the IPL paper)."""
        _, names, acronyms = self._corpus_vocabulary()
        spelled = acronyms.spelled_out(question)
        named = names.named_in(question, [form for forms in spelled.values() for form in forms])
        asked = name_terms(question) - {acronym.lower() for acronym in spelled}
        return {key for key in named if not _by_title_alone(self._index.paper(key), asked, question)} \
            | self._called_so(question)

    def _called_so(self, question: str) -> set[str]:
        """The paper a question calls "the <words> paper" ("the word-order paper"), when its title
        alone holds those words (two or more)."""
        called: set[str] = set()
        for match in _THE_PAPER.finditer(question):
            if len(words := name_terms(match["words"])) > 1:
                holders = [p.key for p in self._index.papers() if words <= name_terms(p.title or "")]
                called.update(holders if len(holders) == 1 else ())
        return called

    def authors_in(self, text: str) -> list[str]:
        """The author names the index lists whose surname `text` holds, once per paper listing them,
        in corpus order: what names.names_in needs to find the authors `text` names."""
        return self._index.authors_in(text)

    def long_forms(self, text: str) -> dict[str, list[str]]:
        """The acronyms of `text` the indexed abstracts define, with their long forms (see Acronyms.spelled_out)."""
        return self._corpus_vocabulary()[2].spelled_out(text)

    def _bm25_query(self, query: str) -> str:
        """The query BM25 scores: with the acronyms of the long forms it holds (see Acronyms)."""
        return self._corpus_vocabulary()[2].expand(query)

    def _corpus_vocabulary(self) -> tuple[IndexReader, PaperNames, Acronyms]:
        """Paper names and acronyms of the current index's papers (looked up in its tables), once per index."""
        if self._vocabulary is None or self._vocabulary[0] is not self._index:
            vocabulary = self._index.vocabulary()
            self._vocabulary = (self._index, PaperNames(vocabulary), Acronyms(vocabulary))
        return self._vocabulary

    def paper(self, key: str) -> Paper:
        return self._index.paper(key)

    def search(self, query: str, k: int = 10, filters: Filters | None = None,
               per_paper: int | None = None) -> list[Evidence]:
        """The k best chunks by fused dense + BM25 score, at most `per_paper` from any one paper
        (default: the retrieval.per_paper setting)."""
        return self._on_current_index(lambda: self._hybrid(query, k, filters, per_paper))

    def dense_search(self, query: str, k: int = 10, filters: Filters | None = None,
                     per_paper: int | None = None) -> list[Evidence]:
        """Dense ranking alone (score = cosine similarity)."""
        return self._on_current_index(lambda: self._dense_only(query, k, filters, per_paper))

    def bm25_search(self, query: str, k: int = 10, filters: Filters | None = None,
                    per_paper: int | None = None) -> list[Evidence]:
        """BM25 ranking alone (score = BM25 score)."""
        return self._on_current_index(lambda: self._bm25_only(query, k, filters, per_paper))

    def _on_current_index(self, run: Callable[[], list[Evidence]]) -> list[Evidence]:
        """Run a search; if an ingest elsewhere replaced the generation it read, reopen and retry once."""
        try:
            return run()
        except IndexStoreError:
            if self._index.is_current():
                raise
        from .index.reader import open_index

        self._index = open_index(self.settings)
        return run()

    def _hybrid(self, query: str, k: int, filters: Filters | None, per_paper: int | None) -> list[Evidence]:
        query, per_paper, allowed = self._prepare(query, k, per_paper, filters)
        vector = self._vector(query)
        depth = self._depth(k, per_paper)
        dense = self._dense(vector, depth, filters, allowed)
        bm25_query = self._bm25_query(query)
        sparse = self._index.bm25(bm25_query, depth, allowed)
        named = self.named_papers(query)
        first = self._fuse(dense, sparse, bm25_query)
        fused = _named_first(first, named)
        # Feedback reads the rankers' own agreement: the bonus of a paper the question names would pass for it.
        if (feedback := self._feedback_vector(vector, first)) is not None:
            fused = _named_first(self._fuse(self._dense(feedback, depth, filters, allowed), sparse, bm25_query), named)
        return self._evidence(bm25_query, vector, _diversify(fused, k, per_paper), dense, named)

    def _feedback_vector(self, vector: np.ndarray, fused: list[tuple[ChunkHit, float]]) -> np.ndarray | None:
        """The query vector moved toward the stored vectors of the first ranking's best papers
        (Rocchio), so that a paraphrase also ranks the papers that resemble its clear matches:
        "text-to-speech papers" finds the video-to-speech paper beside the TTS ones. None when
        feedback is off, or when the best paper scores no more than one ranker alone can give
        (the rankers disagree on it, as on "lip reading", where BM25's best is on "reading")."""
        retrieval = self.settings.retrieval
        if retrieval.feedback_weight <= 0 or retrieval.fusion != "score" or not fused:
            return None
        best = fused[0][1]
        if best <= max(retrieval.alpha, 1 - retrieval.alpha):
            return None
        chosen = [hit.chunk_id for hit, score in _diversify(fused, FEEDBACK_PAPERS, 1)
                  if score >= FEEDBACK_MARGIN * best]
        stored = list(self._index.vectors(chosen).values())
        if not stored:
            return None
        moved = vector + retrieval.feedback_weight * sum(stored) / len(stored)
        return moved / float((moved @ moved) ** 0.5)

    def _dense_only(self, query: str, k: int, filters: Filters | None, per_paper: int | None) -> list[Evidence]:
        query, per_paper, allowed = self._prepare(query, k, per_paper, filters)
        vector = self._vector(query)
        dense = self._dense(vector, self._depth(k, per_paper), filters, allowed)
        return self._evidence(self._bm25_query(query), vector, _diversify([(h, h.score) for h in dense], k, per_paper),
                              dense, self.named_papers(query))

    def _bm25_only(self, query: str, k: int, filters: Filters | None, per_paper: int | None) -> list[Evidence]:
        query, per_paper, allowed = self._prepare(query, k, per_paper, filters)
        bm25_query = self._bm25_query(query)
        sparse = self._index.bm25(bm25_query, self._depth(k, per_paper), allowed)
        chosen = _diversify([(h, h.score) for h in sparse], k, per_paper)
        return self._evidence(bm25_query, self._vector(query), chosen, [], self.named_papers(query))

    def _prepare(self, query: str, k: int, per_paper: int | None,
                 filters: Filters | None) -> tuple[str, int, set[str] | None]:
        """The query stripped, the per-paper cap, and the keys of the papers the filters admit (None: all)."""
        if not isinstance(query, str) or not query.strip():
            raise InputError("the query is empty", "say what you are looking for, e.g. \"attention entropy collapse\"")
        per_paper = self.settings.retrieval.per_paper if per_paper is None else per_paper
        if k < 1 or per_paper < 1:
            raise InputError(f"k ({k}) and per_paper ({per_paper}) must be at least 1")
        if filters is None or filters.is_empty():
            return query.strip(), per_paper, None
        return query.strip(), per_paper, {p.key for p in self._index.papers() if filters.matches(p)}

    def _depth(self, k: int, per_paper: int) -> int:
        """Candidate chunks to take from each ranker: enough to fill k results at per_paper each."""
        return max(self.settings.retrieval.depth, 3 * k * per_paper)

    def _vector(self, query: str) -> np.ndarray:
        if self._last_query is None or self._last_query[0] != query:
            self._last_query = (query, self.embedder.embed([query])[0])
        return self._last_query[1]

    def query_vectors(self) -> dict[str, np.ndarray]:
        """The last query's vector by its text: an answer that embeds its question again reuses it."""
        return dict([self._last_query]) if self._last_query else {}

    def _dense(self, vector: np.ndarray, n: int, filters: Filters | None, allowed: set[str] | None) -> list[ChunkHit]:
        if filters is None or filters.is_empty():
            return self._index.dense(vector, n)
        # Year and category run as Chroma `where` clauses; an author substring has no Chroma
        # operator, so it travels as the list of papers it admits.
        return self._index.dense(vector, n, year_from=filters.year_from, year_to=filters.year_to,
                                 category=filters.category,
                                 paper_keys=sorted(allowed) if filters.author and allowed is not None else None)

    def _fuse(self, dense: list[ChunkHit], sparse: list[ChunkHit], bm25_query: str) -> list[tuple[ChunkHit, float]]:
        retrieval = self.settings.retrieval
        if retrieval.fusion == "rrf":
            return _reciprocal_rank_fusion(dense, sparse, retrieval)
        full_match = retrieval.bm25_reference * self._index.bm25_full_match(bm25_query)
        return _score_fusion(dense, sparse, retrieval.alpha, full_match)

    def _evidence(self, bm25_query: str, vector: np.ndarray, chosen: list[tuple[ChunkHit, float]],
                  dense: list[ChunkHit], named: set[str]) -> list[Evidence]:
        """The chosen chunks as Evidence, each with both rankers' scores and whether the query names its paper."""
        similarity = {h.chunk_id: h.score for h in dense}
        missing = [hit.chunk_id for hit, _ in chosen if hit.chunk_id not in similarity]
        similarity.update(self._index.similarities(vector, missing))
        bm25 = self._index.bm25_scores(bm25_query, [hit.chunk_id for hit, _ in chosen])
        return [Evidence(paper=self._index.paper(hit.paper_key), text=hit.text, score=score, rank=rank,
                         chunk_id=hit.chunk_id, dense_score=similarity.get(hit.chunk_id),
                         bm25_score=bm25.get(hit.chunk_id), named=hit.paper_key in named)
                for rank, (hit, score) in enumerate(chosen, start=1)]


def _reciprocal_rank_fusion(dense: list[ChunkHit], sparse: list[ChunkHit],
                            retrieval: RetrievalSettings) -> list[tuple[ChunkHit, float]]:
    scores: dict[str, float] = {}
    hits: dict[str, ChunkHit] = {}
    for weight, ranking in ((retrieval.dense_weight, dense), (retrieval.bm25_weight, sparse)):
        for rank, hit in enumerate(ranking, start=1):
            scores[hit.chunk_id] = scores.get(hit.chunk_id, 0.0) + weight / (retrieval.rrf_k + rank)
            hits.setdefault(hit.chunk_id, hit)
    return sorted(((hits[cid], score) for cid, score in scores.items()), key=lambda pair: -pair[1])


def _score_fusion(dense: list[ChunkHit], sparse: list[ChunkHit], alpha: float,
                  bm25_scale: float = 0.0) -> list[tuple[ChunkHit, float]]:
    """Chunks by fused score; a paper's best chunk carries the paper's score.

    A paper scores alpha * (its best dense share) + (1 - alpha) * (its best BM25 share), so a
    paper whose one chunk matches the meaning and another the words gets credit for both.
    A chunk only one ranker found has a share of 0 from the other. BM25 shares are of the best
    candidate's score, or of `bm25_scale` when that is higher: a best match on one common word
    of the question ("reading" in "any work on lip reading?") then does not count as a full one.
    """
    low = min((h.score for h in dense), default=0.0)
    span = max((h.score for h in dense), default=0.0) - low
    top_bm25 = max([h.score for h in sparse] + [bm25_scale])
    dense_share = {h.chunk_id: (h.score - low) / span if span > 0 else 1.0 for h in dense}
    bm25_share = {h.chunk_id: h.score / top_bm25 for h in sparse} if top_bm25 > 0 else {}
    hits = {h.chunk_id: h for h in sparse} | {h.chunk_id: h for h in dense}
    chunk_score = {cid: alpha * dense_share.get(cid, 0.0) + (1 - alpha) * bm25_share.get(cid, 0.0) for cid in hits}

    best_chunk: dict[str, str] = {}
    paper_dense: dict[str, float] = {}
    paper_bm25: dict[str, float] = {}
    for cid, hit in hits.items():
        key = hit.paper_key
        paper_dense[key] = max(paper_dense.get(key, 0.0), dense_share.get(cid, 0.0))
        paper_bm25[key] = max(paper_bm25.get(key, 0.0), bm25_share.get(cid, 0.0))
        if key not in best_chunk or chunk_score[cid] > chunk_score[best_chunk[key]]:
            best_chunk[key] = cid
    best = {cid: key for key, cid in best_chunk.items()}
    fused = [(hit, alpha * paper_dense[best[cid]] + (1 - alpha) * paper_bm25[best[cid]] if cid in best
              else chunk_score[cid]) for cid, hit in hits.items()]
    return sorted(fused, key=lambda pair: -pair[1])


# "the word-order paper", "the sigmoid attention paper": a paper called by words of its title.
_THE_PAPER = re.compile(r"\bthe\s+(?P<words>(?:[\w-]+\s+){0,3}?[\w-]+)\s+(?:paper|study)\b", re.IGNORECASE)
# A question asking for papers or methods on a topic, which a title's words do not make one paper's.
_ASKS_FOR_MANY = re.compile(r"\b(?:papers|works|methods|approaches|techniques|studies|survey|overview)\b", re.IGNORECASE)
_WORDS_BESIDE_TITLE = 1


def _by_title_alone(paper: Paper, asked: frozenset[str], question: str) -> bool:
    """Whether only the paper's short title names it in the question (not the name before its
    title's colon, nor a coined word of it), and the question is not about that paper alone."""
    lead, coined = paper_name(paper)
    if (lead and lead <= asked) or coined & asked:
        return False
    title = title_name(paper)
    return bool(title) and (len(asked - title) > _WORDS_BESIDE_TITLE or bool(_ASKS_FOR_MANY.search(question)))


def _named_first(ranked: list[tuple[ChunkHit, float]], named: set[str]) -> list[tuple[ChunkHit, float]]:
    """The chunks of the papers the question names ahead of the rest: their score gains the top
    fused score, so scores still fall with rank and each group keeps its order."""
    if not named or not ranked:
        return ranked
    bonus = max(score for _, score in ranked)
    return sorted(((hit, score + bonus if hit.paper_key in named else score) for hit, score in ranked),
                  key=lambda pair: -pair[1])


def _diversify(ranked: list[tuple[ChunkHit, float]], k: int, per_paper: int) -> list[tuple[ChunkHit, float]]:
    """The first k of `ranked`, skipping chunks of papers that already have per_paper of theirs."""
    taken: dict[str, int] = {}
    chosen = []
    for hit, score in ranked:
        if taken.get(hit.paper_key, 0) < per_paper:
            taken[hit.paper_key] = taken.get(hit.paper_key, 0) + 1
            chosen.append((hit, score))
            if len(chosen) == k:
                break
    return chosen


def open_retriever(settings: Settings, on_progress: ProgressCallback | None = None) -> Retriever:
    """A retriever over the index in settings.index_dir; the first use ingests the default seeds."""
    from .index.background import Background

    def load_embedder() -> Embedder:
        from .index.embedder import get_embedder

        return get_embedder(settings)

    # The model session builds on a thread while chromadb imports and the index opens here.
    embedder = Background(load_embedder, name="load-embedder")
    from .index.reader import open_index

    return Retriever(settings, open_index(settings, on_progress), embedder)


def indexed_papers(settings: Settings, on_progress: ProgressCallback | None = None) -> list[Paper]:
    """The papers in the index, in corpus order, without opening Chroma or the model."""
    from .index.reader import open_papers

    return open_papers(settings, on_progress).papers()
