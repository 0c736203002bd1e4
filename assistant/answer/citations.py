"""Citation enforcement: what a draft must pass before any of it is shown as an answer.

In order: the draft's sentences and markers are read and markers pointing at no evidence are
removed (markers.py); every citation of every sentence is checked on its own against the paper
it cites, and a citation its paper does not support is removed and reported (verification.py);
sentences left without a citation are repaired once, when the caller can ask the model, or
dropped (repair.py); a sentence whose numbers its citations do not state is flagged; finally
citations are renumbered by the references they point at. Whether to draft at all is the
relevance gate's call (relevance.py).

Pure functions over the draft, the evidence and an embedding function: no I/O, no model calls
(the repair request is a callback the caller supplies).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Sequence

from ..retrieve import Evidence
from ..text import printable
from .markers import SENTINEL, parse_draft
from .model import AnswerSentence, Citation, Issue, Reference
from .repair import apply_repair, drop_uncited
from .verification import Embed, Floors, Verdict, verify

Repair = Callable[[list[str]], str]  # uncited sentences -> the model's numbered reply


# -- the answer's citations and references -----------------------------------------------------


def assemble(
    verdicts: Sequence[Verdict], evidence: Sequence[Evidence]
) -> tuple[list[AnswerSentence], list[Reference], list[Issue]]:
    """Renumber the supporting citations by reference (cited papers, in order of first
    citation) and report the unsupported sentences. Two evidence items from one paper share one
    reference."""
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
    """The whole enforcement, in order: parse, drop bad markers, check every citation and remove
    those their papers do not support, repair once or drop the sentences left uncited, renumber.
    `repair` (optional) asks the model to cite or drop the sentences it is given and returns its
    reply."""
    sentences, issues = parse_draft(draft, len(evidence))
    if re.match(rf"\W*{SENTINEL}", draft) or (not sentences and SENTINEL in draft):
        return Enforced([], [], issues, refused_by_model=True)  # whatever explanation follows
    verdicts = verify(sentences, evidence, embed, floors)
    issues += _rejected(verdicts, evidence)
    checked = [replace(v.sentence, cited=tuple(v.quotes)) for v in verdicts]
    missing = [s.text for s in checked if not s.cited]
    if missing and repair is not None:
        repaired, repair_issues = apply_repair(checked, printable(repair(missing)), len(evidence))
        issues += repair_issues
        changed = [i for i, (before, after) in enumerate(zip(checked, repaired)) if after is not before]
        for i, verdict in zip(changed, verify([repaired[i] for i in changed], evidence, embed, floors)):
            issues += _rejected([verdict], evidence)
            verdicts[i], checked[i] = verdict, replace(verdict.sentence, cited=tuple(verdict.quotes))
    _, dropped = drop_uncited(checked)
    answer_sentences, references, flagged = assemble([v for v in verdicts if v.quotes], evidence)
    return Enforced(answer_sentences, references, issues + dropped + flagged, refused_by_model=False)


def _rejected(verdicts: Sequence[Verdict], evidence: Sequence[Evidence]) -> list[Issue]:
    """A report of every citation removed because its paper does not support the sentence."""
    return [
        Issue("unsupported_citation", f"removed the citation of {evidence[n - 1].paper.key}: {why}", v.sentence.text)
        for v in verdicts for n, why in v.rejected.items()
    ]
