"""Support judges for ALCE citation scores: does a set of cited abstracts support a statement?

- OfflineJudge: the same verifier that checks answers (numbers, key terms, embedding
  similarity); no model, the default.
- ModelJudge: asks the configured endpoint (an NLI-style yes/no prompt, prompts/judge.txt);
  stronger on paraphrase and contradiction, and independent of the verifier it evaluates.
"""

from __future__ import annotations

from typing import Protocol, Sequence

from ..answer.answerer import VectorCache
from ..answer.markers import DraftSentence
from ..answer.verification import Floors, verify
from ..llm.base import ChatModel
from ..resources import prompt
from ..retrieve import Evidence


class SupportJudge(Protocol):
    name: str

    def supports(self, statement: str, passages: Sequence[Evidence]) -> bool: ...


class OfflineJudge:
    name = "offline verifier"

    def __init__(self, embed: VectorCache, floors: Floors) -> None:
        self._embed = embed
        self._floors = floors

    def supports(self, statement: str, passages: Sequence[Evidence]) -> bool:
        sentence = DraftSentence(statement, tuple(range(1, len(passages) + 1)))
        return verify([sentence], passages, self._embed, self._floors)[0].supported


class ModelJudge:
    def __init__(self, backend: ChatModel) -> None:
        self._backend = backend
        self.name = f"model {backend.model}"
        self._verdicts: dict[tuple[str, tuple[str, ...]], bool] = {}

    def supports(self, statement: str, passages: Sequence[Evidence]) -> bool:
        key = (statement, tuple(p.paper.key for p in passages))
        if key not in self._verdicts:
            premise = "\n\n".join(f"[{p.paper.key}] {p.text}" for p in passages)
            reply = self._backend.complete([{"role": "user", "content": prompt("judge").format(
                passages=premise, claim=statement)}])
            self._verdicts[key] = reply.strip().lower().startswith("yes")
        return self._verdicts[key]
