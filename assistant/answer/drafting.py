"""The one drafting interface: a question (or topic) and numbered evidence in, a draft citing the
evidence as [n] out.

Two drafters implement it and are chosen by name from the backend registry (backends.py):
ExtractiveDrafter quotes the evidence (extractive.py); ModelDrafter asks a chat model
(model_drafter.py). The answerer and the related-work writer hold a Drafter and never ask which
kind it is: every draft passes the same citation enforcement (citations.enforce), and a draft
that can be repaired brings its own repair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Protocol, Sequence

from .themes import Theme, group_into_themes
from .relevance import Embed, TermWeights

if TYPE_CHECKING:
    from ..llm.base import TokenSink
    from ..retrieve import Evidence
    from .model import Issue



@dataclass(frozen=True)
class Brief:
    """What a drafter is given: the question and its evidence, and what it may draw on."""

    question: str  # the question, or the related-work topic
    evidence: Sequence[Evidence]  # cited as [1], [2], ... in this order
    embed: Embed  # the answer's embedding function (each text embedded once per answer)
    weights: TermWeights  # the rarity of terms across the indexed papers
    relevance_floor: float  # evidence less similar than this to the question answers nothing
    on_token: TokenSink | None  # a model's tokens as they arrive
    issues: list[Issue]  # where the drafter reports what it had to work around


class Repair(Protocol):
    """Asked once by citations.enforce to cite or drop the sentences a draft left uncited."""

    seconds: float  # time spent asking a model: it counts as generation, not verification

    def __call__(self, uncited: list[str]) -> str: ...


@dataclass
class Draft:
    text: str  # sentences citing the evidence as [n], paragraphs separated by blank lines
    repair: Repair | None = None  # None: uncited sentences are attributed (a model's) or dropped
    themes: list[Theme] = field(default_factory=list)  # related work: one paragraph per theme, in order
    origin: str = "extractive"  # where its sentences come from: "model" | "extractive"
    drafted: int = 0  # a model's sentences, before enforcement
    on_verified: Callable[[int], None] | None = None  # told how many of them were verified


class Drafter(Protocol):
    name: str  # the backend's name in the registry, reported by every answer

    @property
    def model(self) -> str | None: ...  # the model's name; None when no model is involved

    @property
    def endpoint(self) -> str | None: ...  # the model's endpoint; None when there is none

    def draft_answer(self, brief: Brief) -> Draft:
        """A short answer to `brief.question`. Raises BackendError when the model fails."""
        ...

    def draft_related_work(self, brief: Brief) -> Draft:
        """A related-work section on the topic `brief.question`, in themed paragraphs (`themes`):
        one paragraph per theme, then a closing one."""
        ...


def cluster_themes(brief: Brief) -> list[Theme]:
    """The evidence grouped into named themes by its embeddings."""
    evidence = brief.evidence
    texts = [f"{e.paper.title or ''}. {e.paper.abstract}" for e in evidence]
    # The label and the matching chunk embed quickly and carry what the paper is about.
    vectors = brief.embed([f"{e.paper.label}. {e.text[:400]}" for e in evidence])
    return group_into_themes(texts, [e.paper.label for e in evidence], vectors, brief.question)
