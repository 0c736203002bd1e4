"""The answer pipeline: retrieve -> draft -> enforce -> Answer.

    answer = answer_question("which papers stabilize attention?", settings, retriever)

The drafter (drafting.py: the model's, or the extractive one) writes a draft citing numbered
evidence as [n]; every draft passes the same enforcement (citations.py). A model's uncited
sentences are attributed after the fact by the verifier (posthoc.py) or dropped, and so are the
ones that fail verification: only verified sentences are shown.

The outcome says what happened, in a word (Answer.outcome): "answered"; "extractive_fallback"
when none of the model's sentences could be verified, so the papers' own sentences answer
instead; "not_in_papers" only when the relevance gate finds nothing to answer from; "declined"
when the model says the evidence does not answer (its references are listed for the user to
judge).
"""

from __future__ import annotations

import dataclasses
import re
import time
import weakref
from typing import TYPE_CHECKING, Callable, Sequence, TypeVar

import numpy as np

from ..config import Settings
from ..errors import InputError
from ..index.embedder import remembered
from ..llm.base import TokenSink
from ..retrieve import Evidence, Filters
from ..text import content_terms
from . import citations
from .asked import Asked, bare_subject, figure_asked, says_what
from .attribution import attribute
from .backends import open_drafter
from .collection import (CollectionQuestion, answer_from_records, clarify_namesakes, list_figure_unreported,
                         list_papers_on, list_papers_using)
from .drafting import Brief, Draft, Drafter
from .extractive import ExtractiveDrafter, about_its_subject, sentences_naming, unreported_figure
from .markers import quotes
from .model import Answer, AnswerSentence, Citation, Issue, Reference
from .on_question import answering_only
from .posthoc import PostHocAttribution
from .relevance import (REFUSAL, TOPIC_PAPERS, TermWeights, gate_meaning, holds_every_word, on_topic,
                        question_coverage, refusal_statement, relevance_gap, said_whole, says_compounds, topic_floor)
from .spelling import Spelling, with_apostrophes
from .verification import Floors

if TYPE_CHECKING:
    from ..retrieve import Retriever

MAX_QUESTION_CHARS = 2000  # longer questions are cut (with a notice): no question is that long
UNVERIFIABLE = "No sentence of the model's draft, nor of the papers themselves, could be verified as an answer."
DECLINED = ("The model found that the evidence does not answer this question; "
            "the papers it was given are listed below, for you to judge.")


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
    question, read = spelling(retriever).corrected(with_apostrophes(question))  # "whats" is "what's"
    issues += [Issue("read_as", f"read “{typed}” as “{word}”, the papers' word") for typed, word in read]
    issues += filter_issues(filters, retriever)
    drafter = drafter or open_drafter(settings)
    records = CollectionQuestion.read(question, retriever.authors_in(question), filters, retriever.papers())
    listing = Finisher(Answer, question, drafter, records.filters, {}, started)
    if records.namesakes:  # "papers by Bai": which Bai?
        return listing.refused(issues + [Issue("refused", "the author's name is ambiguous")],
                               clarify_namesakes(records))
    if records.lists_papers:  # "what did X work on", "papers from 2021": listed from the records
        return answer_from_records(records, retriever, question, listing, issues)
    if records.topic and (records.with_authors or not records.narrowed):
        # "papers on X", "who works on X here?": the library's papers on X (with their authors)
        return _list_papers_on(records, settings, retriever, listing, issues)
    if records.topic:  # "which papers by X are (not) about Y?": X's papers, those on Y (or the others)
        on = _papers_on(records.topic, records.filters, settings, retriever, strict=not records.excludes)
        return answer_from_records(records, retriever, records.topic, listing, issues,
                                   on_topic=lambda e: e.paper.key in on)
    filters = records.filters  # an author or year the question names narrows the search
    evidence = whole_abstracts(retriever.search(question, k=settings.answer.top_k, filters=filters))
    timings = {"retrieve": time.perf_counter() - started}

    finish = Finisher(Answer, question, drafter, filters, timings, started)

    weights = term_weights(retriever)
    vectors = VectorCache(remembered(retriever.embedder), retriever.query_vectors())
    gap = relevance_gap(question, evidence, weights, dense_floor=settings.answer.relevance_floor,
                        coverage_floor=settings.answer.coverage_floor,
                        meaning=gate_meaning(retriever.embedder, vectors))
    if gap:
        return finish.refused(issues + [Issue("refused", gap)], refusal_statement(question, evidence, weights))

    if (using := _papers_using_unsaid(question, evidence, retriever)) is not None:
        subject, papers = using
        long_forms = sorted(retriever.long_forms(subject).get(subject, []), key=len)[:1]  # "word error rate(s)"
        return list_papers_using(subject, long_forms,
                                 Asked.of(question) == Asked.METHOD, papers, finish, issues)

    evidence = about_its_subject(question, evidence, weights, settings.answer.relevance_floor)
    if (unreported := unreported_figure(question, evidence, weights, settings.answer.relevance_floor)) \
            and (figure := figure_asked(question)):
        term, thing = unreported
        # Every paper naming the thing, not only those retrieved for the question: BM25 scores those alone.
        naming = whole_abstracts(retriever.bm25_search(thing, k=len(retriever.papers()), filters=filters, per_paper=1))
        if mentions := sentences_naming(question, term, naming, weights):
            return list_figure_unreported(figure, thing, mentions, [e.text for e in evidence], finish, issues)

    brief = Brief(question, evidence, vectors, weights, settings.answer.relevance_floor, on_token, issues)
    checked = draft_checked(drafter.draft_answer, ExtractiveDrafter(settings.extractive).draft_answer,
                            brief, settings, timings)
    issues += checked.enforced.issues
    if checked.outcome == "declined":
        return finish.refused(issues + [Issue("refused", "the model found the evidence insufficient")], DECLINED,
                              outcome="declined", references=evidence_references(evidence), drafted=checked.drafted)
    if checked.enforced.refused:
        return finish.refused(issues + [Issue("refused", "no sentence of the draft survived citation enforcement")],
                              REFUSAL if checked.outcome == "not_in_papers" else UNVERIFIABLE, outcome=checked.outcome,
                              drafted=checked.drafted)
    return finish(sentences=attribute(checked.enforced.sentences, evidence), references=checked.enforced.references,
                  refused=False, refusal=None, issues=issues, outcome=checked.outcome, drafted=checked.drafted)


def _list_papers_on(records: CollectionQuestion, settings: Settings, retriever: Retriever, finish: "Finisher",
                    issues: list[Issue]) -> Answer:
    """The papers on the question's topic, judged as an author's are (_papers_on), most on topic
    first (with their authors, for "who works on X"); refused as any question is when no paper
    addresses the topic."""
    topic = records.topic or ""
    admitted = sum(records.filters.matches(p) for p in retriever.papers())
    found = whole_abstracts(retriever.search(topic, k=max(admitted, 1), filters=records.filters, per_paper=1))
    weights = term_weights(retriever)
    vectors = VectorCache(remembered(retriever.embedder), retriever.query_vectors())
    gap = relevance_gap(topic, found[:TOPIC_PAPERS], weights, dense_floor=settings.answer.relevance_floor,
                        coverage_floor=settings.answer.coverage_floor,
                        meaning=gate_meaning(retriever.embedder, vectors))
    on = _papers_on(topic, records.filters, settings, retriever)
    papers = [e for e in found if e.paper.key in on]
    if gap or not papers:
        return finish.refused(issues + [Issue("refused", gap or "no indexed paper is close enough to the topic")],
                              refusal_statement(topic, found, weights))
    return list_papers_on(records, papers, finish, issues)


def _papers_on(topic: str, filters: Filters, settings: Settings, retriever: Retriever, strict: bool = True) -> set[str]:
    """The keys of the papers within `filters` on the topic, or on either of "X or Y", by the bar
    of a related-work section. Each paper is judged alone, against the best match in the whole
    library: "papers from 2024 on speech tokenization" are not the 2024 papers nearest to it that
    say "tokens". Not `strict`: every paper holding the topic's key terms, however far from the best
    match; a paper is listed as not on a topic only when it clearly is not ("not about ASR" must not
    list "Continuous Soft Pseudo-Labeling in ASR")."""
    weights = term_weights(retriever)
    admitted = sum(filters.matches(p) for p in retriever.papers())
    on: set[str] = set()
    for part in filter(str.strip, _ALTERNATIVES.split(topic)):
        # "ASR" is also "automatic speech recognition": a paper saying only that is on the topic.
        spelled = [(re.sub(rf"\b{re.escape(word)}\b", form, part), (word, form))
                   for word, forms in retriever.long_forms(part).items() for form in forms]
        for said, acronym in [(part, None), *spelled]:
            found = whole_abstracts(retriever.search(said, k=max(admitted, 1), filters=filters, per_paper=1))
            if acronym and strict:  # said whole: "large language model", not "large" here and "language model" there
                found = [e for e in found if holds_every_word(acronym[0], e) or said_whole(acronym[1], [e.paper])]
            # "mixture of experts for ASR": a paper on mixture of experts that never says ASR is not on it.
            if strict and len(pieces := _QUALIFIED.split(said, maxsplit=1)) == 2 and content_terms(pieces[1]):
                field = [(pieces[1], ""), *((form, word) for word, forms in retriever.long_forms(pieces[1]).items()
                                            for form in forms)]
                found = [e for e in found if any(holds_every_word(phrase, e, short) for phrase, short in field)]
            if strict:
                floor = topic_floor(retriever.search(said, k=TOPIC_PAPERS, per_paper=1), settings.answer.relevance_floor)
                on |= {e.paper.key for e in found
                       if on_topic(said, e, weights, dense_floor=floor, coverage_floor=settings.answer.coverage_floor)}
            else:  # on it unless it holds under half the share of the topic's key terms an answer needs
                on |= {e.paper.key for e in found if says_compounds(said, e)
                       and question_coverage(said, e, weights)[0] >= settings.answer.coverage_floor / 2}
    return on


# "pseudo-labeling or self-training": a paper on either is on the topic ("CTC/attention" is one thing).
_ALTERNATIVES = re.compile(r"\s+or\s+", re.IGNORECASE)
# A topic narrowed to a field or use: "mixture of experts for ASR", "LLMs in speech recognition".
_QUALIFIED = re.compile(r"\s+(?:for|in)\s+", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Checked:
    draft: Draft  # the draft whose sentences are shown (the extractive one after a fallback)
    enforced: citations.Enforced  # only verified sentences, each with its origin
    outcome: str  # "answered" | "extractive_fallback" | "declined" | "not_in_papers"
    drafted: int = 0  # the model's sentences before enforcement


def draft_checked(write: Callable[[Brief], Draft], fall_back: Callable[[Brief], Draft], brief: Brief,
                  settings: Settings, timings: dict[str, float]) -> Checked:
    """The draft, enforced; a model's unverified sentences, and those that do not answer the
    question, dropped (and reported); and when none of them is left, the papers' own sentences
    (`fall_back`) in their place."""
    draft, enforced = draft_and_enforce(write, brief, settings, timings)
    if draft.origin != "model":
        return Checked(draft, _with_origins(enforced, None), "not_in_papers" if enforced.refused else "answered")
    if enforced.refused_by_model:
        return Checked(draft, enforced, "declined", draft.drafted)
    attributed = draft.repair.attributed if isinstance(draft.repair, PostHocAttribution) else {}
    verified = _verified_only(answering_only(_with_origins(enforced, attributed), brief))
    if draft.on_verified is not None:
        draft.on_verified(len(verified.sentences))
    if verified.sentences:
        return Checked(draft, verified, "answered", draft.drafted)
    started = time.perf_counter()
    fallback = fall_back(brief)
    shown = citations.enforce(fallback.text, brief.evidence, embed=brief.embed, floors=floors_of(settings))
    unverified = (f"none of the model's {draft.drafted} sentence{'s' if draft.drafted != 1 else ''} could be "
                  "verified against the evidence as an answer to the question" if draft.drafted
                  else "the model's reply held no sentence to check")
    why = Issue("fallback", f"{unverified}, so the answer quotes the papers instead")
    shown = _verified_only(_with_origins(shown, None))
    timings["fallback"] = time.perf_counter() - started
    return Checked(fallback, dataclasses.replace(shown, issues=verified.issues + [why] + shown.issues),
                   "extractive_fallback", draft.drafted)


def floors_of(settings: Settings) -> Floors:
    return Floors(support=settings.answer.support_floor, terms=settings.answer.term_floor)


def _with_origins(enforced: citations.Enforced, attributed: dict[str, int] | None) -> citations.Enforced:
    """Each sentence labelled: "extractive" when `attributed` is None (no model wrote them), else
    "attributed" when the verifier cited it after generation, else "model"."""
    def origin(s: AnswerSentence) -> str:
        if attributed is None:
            return "extractive"
        return "attributed" if s.text in attributed else "model"

    return dataclasses.replace(enforced, sentences=[dataclasses.replace(s, origin=origin(s)) for s in enforced.sentences])


def _verified_only(enforced: citations.Enforced) -> citations.Enforced:
    """The supported sentences, citations renumbered by the references they still cite; each
    dropped one reported with why, and each attributed one noted."""
    kept = [s for s in enforced.sentences if s.supported]
    issues = [i for i in enforced.issues if i.kind not in ("unsupported", "repaired")]
    issues += [Issue("attributed", "the model did not cite this sentence; the evidence it matches was cited "
                                   "after checking that it supports it", s.text)
               for s in kept if s.origin == "attributed"]
    issues += [Issue("unsupported_dropped", f"removed a sentence the cited evidence does not support "
                                            f"({s.note or 'not supported'})", s.text)
               for s in enforced.sentences if not s.supported]
    numbers: dict[int, int] = {}
    for s in kept:
        for c in s.citations:
            numbers.setdefault(c.n, len(numbers) + 1)
    references = [dataclasses.replace(r, n=numbers[r.n]) for r in enforced.references if r.n in numbers]
    references.sort(key=lambda r: r.n)
    sentences = [dataclasses.replace(s, citations=tuple(Citation(numbers[c.n], c.key, c.quote) for c in s.citations))
                 for s in kept]
    return dataclasses.replace(enforced, sentences=sentences, references=references, issues=issues)


def evidence_references(evidence: Sequence[Evidence]) -> list[Reference]:
    """The papers of the evidence, numbered in order, each once."""
    first = {e.paper.key: e for e in reversed(evidence)}
    ordered = list(dict.fromkeys(e.paper.key for e in evidence))
    return [citations._reference(n, first[key]) for n, key in enumerate(ordered, 1)]


def draft_and_enforce(write: Callable[[Brief], Draft], brief: Brief, settings: Settings,
                      timings: dict[str, float]) -> tuple[Draft, citations.Enforced]:
    """The drafter's draft, then the same citation enforcement for every drafter, both timed
    (asking a model for a repair counts as generation, not verification). A model's uncited
    sentences are attributed by the verifier."""
    started = time.perf_counter()
    draft = write(brief)
    timings["generate"] = time.perf_counter() - started
    started = time.perf_counter()
    if draft.repair is None and draft.origin == "model":
        draft.repair = PostHocAttribution(brief.evidence, brief.embed, floors_of(settings))
    enforced = citations.enforce(draft.text, brief.evidence, embed=brief.embed, repair=draft.repair,
                                 floors=floors_of(settings))
    repair_seconds = draft.repair.seconds if draft.repair else 0.0
    timings["verify"] = time.perf_counter() - started - repair_seconds
    timings["generate"] += repair_seconds
    return draft, enforced


def _papers_using_unsaid(question: str, evidence: Sequence[Evidence],
                         retriever: Retriever) -> tuple[str, list[tuple[Evidence, str]]] | None:
    """For "what is X?" or "how does X work?" where papers use X but none says what it is (names
    it in its title, proposes it, says "X is a ..."): X and each paper using it with its first
    sentence that does. "How does LoRA work" quoted three papers that fine-tune with LoRA adapters."""
    subject = bare_subject(question)
    if subject is None:
        return None
    used = re.compile(rf"\b{re.escape(subject)}\b", re.IGNORECASE)
    papers = []
    for item in evidence:
        if used.search(item.paper.title or ""):
            return None
        sentences = [quote for quote in quotes(item.text) if used.search(quote)]
        if any(says_what(subject, sentence) for sentence in sentences):
            return None
        if sentences:
            papers.append((item, sentences[0]))
    # Named as the papers write it: "LoRA", however typed.
    return (used.search(papers[0][1])[0], papers) if papers else None


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
    notice = filters.undated_notice(retriever.papers()) if filters and not filters.is_empty() else None
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

    def refused(self, issues: list[Issue], statement: str = REFUSAL, *, outcome: str = "not_in_papers",
                references: list[Reference] | None = None, drafted: int = 0) -> Answer:
        return self(sentences=[], references=references or [], refused=True, refusal=statement, issues=issues,
                    outcome=outcome, drafted=drafted)


# What is read off all of a retriever's papers, once per index generation it reads (an ingest in
# another process moves a long chat session on to a new one).
_OF_PAPERS: "weakref.WeakKeyDictionary[Retriever, dict[type, tuple[str, object]]]" = weakref.WeakKeyDictionary()
_Read = TypeVar("_Read", TermWeights, Spelling)


def _of_papers(retriever: Retriever, kind: type[_Read]) -> _Read:
    cached = _OF_PAPERS.setdefault(retriever, {})
    generation = retriever.index_name()
    if kind not in cached or cached[kind][0] != generation:
        cached[kind] = (generation, kind.from_papers(retriever.papers()))
    return cached[kind][1]  # type: ignore[return-value]


def term_weights(retriever: Retriever) -> TermWeights:
    """The term rarity over the retriever's papers (~50 ms at 122)."""
    return _of_papers(retriever, TermWeights)


def spelling(retriever: Retriever) -> Spelling:
    """The words of the retriever's papers, for reading a question's slips."""
    return _of_papers(retriever, Spelling)


def whole_abstracts(evidence: Sequence[Evidence]) -> list[Evidence]:
    """Each retrieved paper's whole abstract as its evidence, in place of the chunk that matched.

    Abstracts are short (a chunk or two), and the sentence that answers a question is often just
    outside the matching chunk; the model and the verifier should see the paper's whole claim.
    """
    return [dataclasses.replace(e, text=e.paper.abstract) if e.paper.abstract else e for e in evidence]


class VectorCache:
    """An embed function that embeds each distinct text once per answer (in one batch per call)."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray], known: dict[str, np.ndarray] | None = None) -> None:
        self._embed = embed
        self._known: dict[str, np.ndarray] = dict(known or {})

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._known]
        if missing:
            self._known.update(zip(missing, self._embed(missing)))
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._known[t] for t in texts])
