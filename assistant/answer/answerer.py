"""The answer pipeline: retrieve -> draft -> enforce -> Answer.

    answer = answer_question("which papers stabilize attention?", settings, retriever)

The drafter (drafting.py: the model's, or the extractive one) writes a draft citing numbered
evidence as [n]; every draft passes the same enforcement (citations.py), with the drafter's
repair when it has one.
"""

from __future__ import annotations

import dataclasses
import time
import weakref
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from ..config import Settings
from ..errors import InputError
from ..llm.base import TokenSink
from ..retrieve import Evidence, Filters
from . import citations
from .attribution import attribute
from .backends import open_drafter
from .collection import CollectionQuestion, answer_from_records
from .drafting import Brief, Draft, Drafter
from .model import Answer, Issue
from .relevance import REFUSAL, TermWeights, refusal_statement, relevance_gap
from .verification import Floors

if TYPE_CHECKING:
    from ..retrieve import Retriever

MAX_QUESTION_CHARS = 2000  # longer questions are cut (with a notice): no question is that long


def answer_question(
    question: str,
    settings: Settings,
    retriever: Retriever,
    filters: Filters | None = None,
    on_token: TokenSink | None = None,
    drafter: Drafter | None = None,
) -> Answer:
    """Answer `question` from the indexed papers, every shown sentence cited and checked.

    `on_token` receives a model's tokens as they arrive (nothing for the extractive drafter).
    `drafter` defaults to the one the settings choose; pass one to reuse its client across
    questions. Raises InputError for an empty question and BackendError when the model fails.
    """
    started = time.perf_counter()
    question, issues = checked_question(question)
    issues += filter_issues(filters, retriever)
    drafter = drafter or open_drafter(settings)
    records = CollectionQuestion.read(question, retriever.papers(), filters)
    if records.lists_papers:  # "what did X work on", "papers from 2021": listed from the records
        return answer_from_records(records, retriever, question, Finisher(Answer, question, drafter, records.filters,
                                                                          {}, started))
    filters = records.filters  # an author or year the question names narrows the search
    evidence = whole_abstracts(retriever.search(question, k=settings.answer.top_k, filters=filters))
    timings = {"retrieve": time.perf_counter() - started}

    finish = Finisher(Answer, question, drafter, filters, timings, started)

    weights = term_weights(retriever)
    gap = relevance_gap(question, evidence, weights, dense_floor=settings.answer.relevance_floor,
                                  coverage_floor=settings.answer.coverage_floor)
    if gap:
        return finish.refused(issues + [Issue("refused", gap)], refusal_statement(question, evidence, weights))

    brief = Brief(question, evidence, VectorCache(retriever.embedder.embed), weights, settings.answer.relevance_floor,
                  on_token, issues)
    _, enforced = draft_and_enforce(drafter.draft_answer, brief, settings, timings)
    issues += enforced.issues
    if enforced.refused:
        reason = ("the model found the evidence insufficient" if enforced.refused_by_model
                  else "no sentence of the draft survived citation enforcement")
        return finish.refused(issues + [Issue("refused", reason)])
    return finish(sentences=attribute(enforced.sentences, evidence), references=enforced.references,
                  refused=False, refusal=None, issues=issues)


def draft_and_enforce(write: Callable[[Brief], Draft], brief: Brief, settings: Settings,
                      timings: dict[str, float]) -> tuple[Draft, citations.Enforced]:
    """The drafter's draft, then the same citation enforcement for every drafter, both timed
    (asking for a repair counts as generation, not verification)."""
    started = time.perf_counter()
    draft = write(brief)
    timings["generate"] = time.perf_counter() - started
    started = time.perf_counter()
    enforced = citations.enforce(
        draft.text, brief.evidence, embed=brief.embed, repair=draft.repair,
        floors=Floors(support=settings.answer.support_floor, terms=settings.answer.term_floor),
    )
    repair_seconds = draft.repair.seconds if draft.repair else 0.0
    timings["verify"] = time.perf_counter() - started - repair_seconds
    timings["generate"] += repair_seconds
    return draft, enforced


def checked_question(question: str) -> tuple[str, list[Issue]]:
    """The question on one line, cut to MAX_QUESTION_CHARS (with a notice); empty or wordless is an error."""
    question = " ".join(question.split())
    if not question:
        raise InputError("the question is empty", 'ask a question, e.g. ask "which papers stabilize attention?"')
    if not any(ch.isalnum() for ch in question):
        raise InputError("the question has no words", 'ask a question, e.g. ask "which papers stabilize attention?"')
    if len(question) <= MAX_QUESTION_CHARS:
        return question, []
    notice = f"the question was {len(question):,} characters long; only its first {MAX_QUESTION_CHARS:,} were used"
    return question[:MAX_QUESTION_CHARS].rstrip(), [Issue("truncated_input", notice)]


def filter_issues(filters: Filters | None, retriever: Retriever) -> list[Issue]:
    """A notice of the papers a year filter left out because they have no year."""
    notice = filters.undated_notice(retriever.papers()) if filters else None
    return [Issue("undated_left_out", notice)] if notice else []


class Finisher:
    """Builds the Answer (or RelatedWork) of one request: the fields every answer carries,
    the total time, and the refused form with its plain statement."""

    def __init__(self, kind: type[Answer], question: str, drafter: Drafter, filters: Filters | None,
                 timings: dict[str, float], started: float) -> None:
        self._kind, self._question, self._drafter, self._filters = kind, question, drafter, filters
        self._timings, self._started = timings, started

    def __call__(self, **fields: object) -> Answer:
        self._timings["total"] = time.perf_counter() - self._started
        return self._kind(
            question=self._question,
            backend=self._drafter.name,
            model=self._drafter.model,
            endpoint=self._drafter.endpoint,
            timings={k: round(v, 4) for k, v in self._timings.items()},
            filters=self._filters.to_dict() if self._filters else {},
            **fields,  # type: ignore[arg-type]
        )

    def refused(self, issues: list[Issue], statement: str = REFUSAL) -> Answer:
        return self(sentences=[], references=[], refused=True, refusal=statement, issues=issues)


_TERM_WEIGHTS: "weakref.WeakKeyDictionary[Retriever, TermWeights]" = weakref.WeakKeyDictionary()


def term_weights(retriever: Retriever) -> TermWeights:
    """The term rarity over the retriever's papers, computed once per retriever (~50 ms at 122)."""
    if retriever not in _TERM_WEIGHTS:
        _TERM_WEIGHTS[retriever] = TermWeights.from_papers(retriever.papers())
    return _TERM_WEIGHTS[retriever]


def whole_abstracts(evidence: Sequence[Evidence]) -> list[Evidence]:
    """Each retrieved paper's whole abstract as its evidence, in place of the chunk that matched.

    Abstracts are short (a chunk or two), and the sentence that answers a question is often just
    outside the matching chunk; the model and the verifier should see the paper's whole claim.
    """
    return [dataclasses.replace(e, text=e.paper.abstract) if e.paper.abstract else e for e in evidence]


class VectorCache:
    """An embed function that embeds each distinct text once per answer (in one batch per call)."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray]) -> None:
        self._embed = embed
        self._known: dict[str, np.ndarray] = {}

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._known]
        if missing:
            self._known.update(zip(missing, self._embed(missing)))
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._known[t] for t in texts])
