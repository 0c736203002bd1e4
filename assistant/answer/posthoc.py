"""Post-hoc attribution: citing the sentences a model wrote without citations, when the evidence
supports them.

Small local models write fluent sentences, mostly without [n]. Each such sentence is tried
against the evidence items that share most of its key terms, with the same verifier every cited
sentence passes (numbers, key terms, similarity) under stricter floors; it is cited with the item that supports it
best, and marked as attributed, or dropped when none does. No model is asked: this is the
Repair that citations.enforce calls for a model's draft.
"""

from __future__ import annotations

from typing import Sequence

from ..retrieve import Evidence
from ..text import content_terms
from .markers import DROP, DraftSentence
from .verification import Embed, Floors, verify

# Evidence items tried per sentence: the best by shared key terms (verification embeds each).
_CANDIDATES = 3
# The model did not say where its sentence comes from, so the evidence must say it more plainly
# than for a sentence the model cited: a closer meaning, more of its terms, and a claim with
# enough terms to check ("Attention is stable." matches any paper on stable attention).
_STRICTER_SUPPORT = 0.1
_MIN_TERMS_FLOOR = 0.5
_MIN_TERMS = 3


class PostHocAttribution:
    """Answers citations.enforce's repair request for uncited sentences from the verifier, not
    a model: "k. <sentence> [n]" when evidence n supports it, "k. DROP" when none does."""

    seconds = 0.0  # no model is asked: the time counts as verification

    def __init__(self, evidence: Sequence[Evidence], embed: Embed, floors: Floors) -> None:
        self._evidence, self._embed = evidence, embed
        self._floors = Floors(support=min(1.0, floors.support + _STRICTER_SUPPORT),
                              terms=max(floors.terms, _MIN_TERMS_FLOOR))
        self.attributed: dict[str, int] = {}  # sentence -> the evidence number it was cited with

    def __call__(self, uncited: list[str]) -> str:
        lines = []
        for k, text in enumerate(uncited, 1):
            source = self.supporting_source(text)
            if source is None:
                lines.append(f"{k}. {DROP}")
            else:
                self.attributed[text] = source
                lines.append(f"{k}. {text} [{source}]")
        return "\n".join(lines)

    def supporting_source(self, sentence: str) -> int | None:
        """The evidence number that supports `sentence` best under the verifier, or None."""
        terms = content_terms(sentence)
        if len(terms) < _MIN_TERMS:
            return None
        ranked = sorted(range(1, len(self._evidence) + 1),
                        key=lambda n: -len(terms & content_terms(self._evidence[n - 1].text)))
        tries = [DraftSentence(sentence, (n,)) for n in ranked[:_CANDIDATES]]
        verdicts = verify(tries, self._evidence, self._embed, self._floors)
        # The first that passes is the one sharing most key terms.
        return next((v.sentence.cited[0] for v in verdicts if v.supported), None)
