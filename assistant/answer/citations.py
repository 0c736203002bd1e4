"""Citation enforcement: what a draft must pass before any of it is shown as an answer.

In order: the draft's sentences and markers are read and markers pointing at no evidence are
removed (markers.py); sentences left uncited are repaired once, when the caller can ask the
model, or dropped (repair.py); every cited sentence is checked against the text it cites and
flagged when it fails (verification.py); finally citations are renumbered by the references
they point at. Whether to draft at all is the relevance gate's call (relevance.py).

Pure functions over the draft, the evidence and an embedding function: no I/O, no model calls
(the repair request is a callback the caller supplies).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from ..retrieve import Evidence
from .markers import SENTINEL, parse_draft
from .model import AnswerSentence, Citation, Issue, Reference
from .repair import apply_repair, drop_uncited
from .verification import Embed, Floors, Verdict, verify

Repair = Callable[[list[str]], str]  # uncited sentences -> the model's numbered reply


# -- the answer's citations and references -----------------------------------------------------


def assemble(
    verdicts: Sequence[Verdict], evidence: Sequence[Evidence]
) -> tuple[list[AnswerSentence], list[Reference], list[Issue]]:
    """Renumber citations by reference (cited papers, in order of first citation) and report
    the unsupported sentences. Two evidence items from one paper share one reference."""
    numbers: dict[str, int] = {}
    references: list[Reference] = []
    sentences: list[AnswerSentence] = []
    issues: list[Issue] = []
    for verdict in verdicts:
        citations: dict[int, Citation] = {}
        for source, quote in verdict.quotes.items():
            paper = evidence[source - 1].paper
            if paper.key not in numbers:
                numbers[paper.key] = len(references) + 1
                references.append(_reference(numbers[paper.key], evidence[source - 1]))
            n = numbers[paper.key]
            citations.setdefault(n, Citation(n, paper.key, quote))
        sentences.append(AnswerSentence(
            text=verdict.sentence.text,
            citations=tuple(citations.values()),
            supported=verdict.supported,
            note=verdict.note,
            paragraph=verdict.sentence.paragraph,
        ))
        if not verdict.supported:
            issues.append(Issue("unsupported", verdict.note or "not supported by the cited evidence", verdict.sentence.text))
    return sentences, references, issues


def _reference(n: int, evidence: Evidence) -> Reference:
    paper = evidence.paper
    return Reference(
        n=n,
        key=paper.key,
        title=paper.title,
        label=paper.label,
        authors=paper.authors,
        authors_truncated=paper.authors_truncated,
        year=paper.year,
        source=paper.source,
        arxiv_id=paper.arxiv_id,
        authors_display=paper.authors_display(),
        abstract=paper.abstract,
    )


# -- the whole enforcement ---------------------------------------------------------------------


@dataclass(frozen=True)
class Enforced:
    sentences: list[AnswerSentence]
    references: list[Reference]
    issues: list[Issue]
    refused_by_model: bool  # the draft was the refusal sentinel

    @property
    def refused(self) -> bool:
        return self.refused_by_model or not self.sentences


def enforce(
    draft: str,
    evidence: Sequence[Evidence],
    *,
    embed: Embed,
    floors: Floors,
    repair: Repair | None = None,
) -> Enforced:
    """The whole enforcement, in order: parse, drop bad markers, repair once or drop uncited
    sentences, verify, renumber. `repair` (optional) asks the model to cite or drop the
    sentences it is given and returns its reply."""
    sentences, issues = parse_draft(draft, len(evidence))
    if re.match(rf"\W*{SENTINEL}", draft) or (not sentences and SENTINEL in draft):
        return Enforced([], [], issues, refused_by_model=True)  # whatever explanation follows
    missing = [s for s in sentences if not s.cited]
    if missing and repair is not None:
        sentences, repaired = apply_repair(sentences, repair([s.text for s in missing]), len(evidence))
        issues += repaired
    sentences, dropped = drop_uncited(sentences)
    issues += dropped
    answer_sentences, references, flagged = assemble(verify(sentences, evidence, embed, floors), evidence)
    return Enforced(answer_sentences, references, issues + flagged, refused_by_model=False)
