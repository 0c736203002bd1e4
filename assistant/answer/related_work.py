"""The related-work writer: a topic in, a cited section in themed paragraphs out.

It stands on the `ask` path: the same retrieval, the same evidence numbering and the same
citation enforcement (citations.enforce) for every sentence. What it adds is breadth (more
papers, a relevance floor), themes (clustering, or the model's outline), and attribution
("Zhai et al. (2023) propose ...") taken from the records, never from a model.

    section = write_related_work("pseudo-labeling for ASR", settings, retriever)
"""

from __future__ import annotations

import dataclasses
import re
import time
from typing import TYPE_CHECKING, Sequence

from ..config import Settings
from ..index.embedder import remembered
from ..llm.base import TokenSink
from ..retrieve import Filters
from .answerer import (Finisher, VectorCache, checked_question, draft_checked, filter_issues, term_weights,
                       whole_abstracts)
from .extractive import ExtractiveDrafter
from .backends import open_drafter
from .drafting import Brief, Drafter
from .model import AnswerSentence, Issue, RelatedWork, ThemeSection
from .relevance import TOPIC_PAPERS, gate_meaning, papers_on_topic, relevance_gap

if TYPE_CHECKING:
    from ..retrieve import Retriever

_NOT_COVERED = "The indexed papers do not cover this topic."


def write_related_work(
    topic: str,
    settings: Settings,
    retriever: "Retriever",
    *,
    max_papers: int = TOPIC_PAPERS,
    filters: Filters | None = None,
    drafter: Drafter | None = None,
    on_token: TokenSink | None = None,
) -> RelatedWork:
    started = time.perf_counter()
    topic, issues = checked_question(topic)
    issues += filter_issues(filters, retriever)
    drafter = drafter or open_drafter(settings)
    found = whole_abstracts(retriever.search(topic, k=max_papers, filters=filters, per_paper=1))
    weights = term_weights(retriever)
    papers = papers_on_topic(topic, found, weights, relevance_floor=settings.answer.relevance_floor,
                             coverage_floor=settings.answer.coverage_floor)
    timings = {"retrieve": time.perf_counter() - started}

    finish = Finisher(RelatedWork, topic, drafter, filters, timings, started)

    vectors = VectorCache(remembered(retriever.embedder), retriever.query_vectors())
    gap = relevance_gap(topic, found, weights, dense_floor=settings.answer.relevance_floor,
                        coverage_floor=settings.answer.coverage_floor,
                        meaning=gate_meaning(retriever.embedder, vectors))
    if gap or not papers:
        return finish.refused(issues + [Issue("refused", gap or "no indexed paper is close enough to the topic")],
                              _NOT_COVERED)

    evidence = [dataclasses.replace(e, rank=i) for i, e in enumerate(papers, 1)]
    brief = Brief(topic, evidence, vectors, weights, settings.answer.relevance_floor, on_token, issues)
    checked = draft_checked(drafter.draft_related_work, ExtractiveDrafter(settings.extractive).draft_related_work,
                            brief, settings, timings)
    draft, enforced = checked.draft, checked.enforced
    enforced_sentences = check_attributions(enforced.sentences, {e.paper.key: e.paper for e in evidence})
    issues += [i for i in enforced.issues if i.kind != "unsupported"] + [
        Issue("unsupported", s.note or "not supported by the cited evidence", s.text)
        for s in enforced_sentences if not s.supported
    ]
    if enforced.refused:
        return finish.refused(issues + [Issue("refused", "no sentence of the draft survived citation enforcement")],
                              _NOT_COVERED, outcome=checked.outcome)
    sections = [
        ThemeSection(theme.name, paragraph, tuple(evidence[m].paper.key for m in theme.members))
        for paragraph, theme in enumerate(draft.themes)
    ]
    return finish(sentences=enforced_sentences, references=enforced.references, refused=False,
                  refusal=None, issues=issues, themes=sections, outcome=checked.outcome, drafted=checked.drafted)


# -- attribution check -------------------------------------------------------------------------

_ET_AL = re.compile(r"\b([A-Z][\w'-]+) et al\.")


def check_attributions(sentences: Sequence[AnswerSentence], papers: dict) -> list[AnswerSentence]:
    """Flag sentences naming "<Surname> et al." that match none of the papers they cite."""
    checked = []
    for s in sentences:
        named = set(_ET_AL.findall(s.text))
        cited_surnames = {papers[c.key].first_author_surname for c in s.citations if c.key in papers}
        wrong = sorted(named - cited_surnames)
        if wrong:
            reason = f"names {', '.join(wrong)} et al., who wrote none of the papers it cites"
            s = dataclasses.replace(s, supported=False, note="; ".join(filter(None, [s.note, reason])))
        checked.append(s)
    return checked
