"""The answer pipeline: retrieve -> draft (a model, or the extractive backend) -> enforce -> Answer.

    answer = answer_question("which papers stabilize attention?", settings, retriever)

Both backends produce a draft citing numbered evidence as [n]; both drafts pass the same
enforcement (citations.py). Only a model can be asked to repair uncited sentences.
"""

from __future__ import annotations

import dataclasses
import time
import weakref
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from ..config import Settings
from ..errors import BackendError, InputError
from ..llm.base import Backend, ChatBackend, Message, TokenSink, open_backend
from ..llm.extractive import Candidate, ExtractiveBackend
from ..resources import prompt
from ..retrieve import Evidence, Filters
from ..text import content_terms, split_sentences
from . import citations
from .attribution import attribution
from .markers import DROP, SENTINEL, quotable
from .model import Answer, Issue
from .relevance import REFUSAL, TermWeights, question_coverage, relevance_gap
from .repair import repair_request
from .verification import Floors

if TYPE_CHECKING:
    from ..retrieve import Retriever

MAX_QUESTION_CHARS = 2000  # longer questions are cut (with a notice): no question is that long
# Evidence sentences too short to stand alone as an answer sentence ("Code is available.").
_MIN_QUOTE_WORDS = 6
_BOILERPLATE = ("http://", "https://", "github.com", "code is available", "code will be", "is available at")


def answer_question(
    question: str,
    settings: Settings,
    retriever: Retriever,
    filters: Filters | None = None,
    on_token: TokenSink | None = None,
    backend: Backend | None = None,
) -> Answer:
    """Answer `question` from the indexed papers, every shown sentence cited and checked.

    `on_token` receives a model's tokens as they arrive (nothing for the extractive backend).
    `backend` defaults to the one the settings choose; pass one to reuse its client across
    questions. Raises InputError for an empty question and BackendError when the model fails.
    """
    started = time.perf_counter()
    question, issues = checked_question(question)
    backend = backend or open_backend(settings)
    evidence = whole_abstracts(retriever.search(question, k=settings.top_k, filters=filters))
    timings = {"retrieve": time.perf_counter() - started}

    finish = Finisher(Answer, question, backend, filters, timings, started)

    weights = term_weights(retriever)
    gap = relevance_gap(question, evidence, weights, dense_floor=settings.relevance_floor,
                                  coverage_floor=settings.coverage_floor)
    if gap:
        return finish.refused(issues + [Issue("refused", gap)])

    vectors = VectorCache(retriever.embedder.embed)
    generate_started = time.perf_counter()
    repair: ModelRepair | None = None
    if isinstance(backend, ExtractiveBackend):
        floor = settings.relevance_floor
        draft = backend.draft(question, frozenset(content_terms(question)),
                              quotable_candidates(question, evidence, weights, floor), vectors)
    else:
        chat: ChatBackend = backend  # type: ignore[assignment]
        messages = answer_messages(question, evidence)
        draft = chat.complete(messages, stream_to=on_token)
        repair = ModelRepair(chat, messages, draft, len(evidence), issues)

    timings["generate"] = time.perf_counter() - generate_started
    verify_started = time.perf_counter()
    enforced = citations.enforce(
        draft, evidence, embed=vectors, repair=repair,
        floors=Floors(support=settings.support_floor, terms=settings.term_floor),
    )
    repair_seconds = repair.seconds if repair else 0.0
    timings["verify"] = time.perf_counter() - verify_started - repair_seconds
    timings["generate"] += repair_seconds
    issues += enforced.issues
    if enforced.refused:
        reason = ("the model found the evidence insufficient" if enforced.refused_by_model
                  else "no sentence of the draft survived citation enforcement")
        return finish.refused(issues + [Issue("refused", reason)])
    return finish(sentences=enforced.sentences, references=enforced.references, refused=False,
                  refusal=None, issues=issues)


def checked_question(question: str) -> tuple[str, list[Issue]]:
    """The question on one line, cut to MAX_QUESTION_CHARS (with a notice); empty is an error."""
    question = " ".join(question.split())
    if not question:
        raise InputError("the question is empty", 'ask a question, e.g. ask "which papers stabilize attention?"')
    if len(question) <= MAX_QUESTION_CHARS:
        return question, []
    notice = f"the question was {len(question):,} characters long; only its first {MAX_QUESTION_CHARS:,} were used"
    return question[:MAX_QUESTION_CHARS].rstrip(), [Issue("truncated_input", notice)]


class Finisher:
    """Builds the Answer (or RelatedWork) of one request: the fields every answer carries,
    the total time, and the refused form with its plain statement."""

    def __init__(self, kind: type[Answer], question: str, backend: Backend, filters: Filters | None,
                 timings: dict[str, float], started: float) -> None:
        self._kind, self._question, self._backend, self._filters = kind, question, backend, filters
        self._timings, self._started = timings, started

    def __call__(self, **fields: object) -> Answer:
        self._timings["total"] = time.perf_counter() - self._started
        return self._kind(
            question=self._question,
            backend=self._backend.name,
            model=self._backend.model,
            endpoint=getattr(self._backend, "base_url", None),
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


def quotable_candidates(
    question: str, evidence: Sequence[Evidence], weights: TermWeights, floor: float
) -> list[Candidate]:
    """The evidence sentences the extractive backend may quote: from evidence at least as
    relevant as the floor, long enough to stand alone, and not boilerplate (links, code)."""
    candidates = []
    for number, item in enumerate(evidence, 1):
        dense = item.dense_score or 0.0
        if dense < floor:
            continue
        # How well the paper as a whole answers: its similarity and its share of the key terms.
        prior = (dense + question_coverage(question, item, weights)[0]) / 2
        for sentence in split_sentences(item.text):
            text = quotable(sentence)
            if len(text.split()) < _MIN_QUOTE_WORDS or any(b in text.lower() for b in _BOILERPLATE):
                continue
            candidates.append(Candidate(number, item.paper.key, text,
                                        frozenset(content_terms(text)), prior))
    return candidates


def answer_messages(question: str, evidence: Sequence[Evidence]) -> list[Message]:
    """The system prompt, then the numbered evidence (as quoted data) and the question."""
    numbered = "\n\n".join(evidence_block(n, e) for n, e in enumerate(evidence, 1))
    return [
        {"role": "system", "content": prompt("system").format(sentinel=SENTINEL)},
        {"role": "user", "content": prompt("answer").format(
            evidence=numbered, question=question, sentinel=SENTINEL)},
    ]


class ModelRepair:
    """Asks the model, once, to cite or drop the sentences it left uncited (citations.enforce
    calls it). If the model fails now, those sentences are dropped and the failure reported."""

    def __init__(self, chat: ChatBackend, messages: list[Message], draft: str, n_sources: int,
                 issues: list[Issue]) -> None:
        self._chat, self._messages, self._draft, self._n_sources = chat, messages, draft, n_sources
        self._issues = issues
        self.seconds = 0.0  # time spent asking: it counts as generation, not verification

    def __call__(self, uncited: list[str]) -> str:
        started = time.perf_counter()
        try:
            return self._chat.complete(repair_messages(self._messages, self._draft, uncited, self._n_sources))
        except BackendError as exc:
            self._issues.append(Issue("repair_failed", f"could not ask the model to cite them: {exc}"))
            return ""
        finally:
            self.seconds += time.perf_counter() - started


def repair_messages(messages: list[Message], draft: str, uncited: list[str], n_sources: int) -> list[Message]:
    """The conversation so far, then the request to cite or drop each uncited sentence."""
    request = prompt("repair").format(
        sentences=repair_request(uncited), drop=DROP, n=n_sources)
    return [*messages, {"role": "assistant", "content": draft}, {"role": "user", "content": request}]


def evidence_block(n: int, item: Evidence) -> str:
    paper = item.paper
    return prompt("evidence").format(
        n=n,
        key=paper.key,
        year=paper.year or "unknown",
        label=_one_line(paper.label),
        authors=_one_line(paper.authors_display()) or "unknown",
        cite_as=attribution(paper),
        text=_fenced(item.text),
    ).strip()


def _one_line(text: str) -> str:
    return _fenced(" ".join(text.split()))


def _fenced(text: str) -> str:
    """Evidence text that cannot close its own <evidence> tag and pose as instructions."""
    return text.replace("<evidence", "‹evidence").replace("</evidence", "‹/evidence").strip()


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
