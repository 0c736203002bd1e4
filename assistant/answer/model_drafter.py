"""The model drafter: a chat model writes the draft from the numbered evidence.

The prompts (prompts/) number the evidence, fence it as quoted data and ask for a [n] marker on
every sentence, or the refusal sentinel when the evidence does not answer. Unlike the extractive
drafter, a model can be asked once to repair the sentences it left uncited. For related work it
first outlines the themes (JSON), falling back to clustering when the outline is unusable.
"""

from __future__ import annotations

import json
import re
import time
from typing import Sequence

from ..errors import BackendError
from ..llm.base import ChatModel, Message
from ..resources import prompt
from ..retrieve import Evidence
from .attribution import attribution
from .drafting import Brief, Draft, cluster_themes
from .model import Issue
from .themes import Theme
from .markers import DROP, SENTINEL, without_markers
from .repair import repair_request


class ModelDrafter:
    def __init__(self, name: str, chat: ChatModel) -> None:
        self.name = name
        self._chat = chat

    @property
    def model(self) -> str | None:
        return self._chat.model  # known once asked, when the endpoint's only model is used

    @property
    def endpoint(self) -> str | None:
        return self._chat.base_url

    def draft_answer(self, brief: Brief) -> Draft:
        return self._draft(answer_messages(brief.question, brief.evidence), brief)

    def draft_related_work(self, brief: Brief) -> Draft:
        themes = self._outline(brief)
        if not themes:
            brief.issues.append(
                Issue("outline_fallback", "the model's outline was not usable JSON; themes come from clustering"))
            themes = cluster_themes(brief)
        return self._draft(section_messages(brief.question, brief.evidence, themes), brief, themes)

    def _draft(self, messages: list[Message], brief: Brief, themes: list[Theme] | None = None) -> Draft:
        text = self._chat.complete(messages, stream_to=brief.on_token)
        repair = ModelRepair(self._chat, messages, text, len(brief.evidence), brief.issues)
        return Draft(text, repair, themes or [])

    def _outline(self, brief: Brief) -> list[Theme]:
        """Themes from the model's outline, or none when its JSON is unusable."""
        listing = "\n".join(f"[{i}] {attribution(e.paper)}: {e.paper.label}" for i, e in enumerate(brief.evidence, 1))
        reply = self._chat.complete([{"role": "user", "content": prompt("outline").format(
            topic=brief.question, papers=listing)}])
        return parse_outline(reply, len(brief.evidence))


class ModelRepair:
    """Asks the model, once, to cite or drop the sentences it left uncited (citations.enforce
    calls it). If the model fails now, those sentences are dropped and the failure reported."""

    def __init__(self, chat: ChatModel, messages: list[Message], draft: str, n_sources: int,
                 issues: list[Issue]) -> None:
        self._chat, self._messages, self._draft, self._n_sources = chat, messages, draft, n_sources
        self._issues = issues
        self.seconds = 0.0

    def __call__(self, uncited: list[str]) -> str:
        started = time.perf_counter()
        try:
            return self._chat.complete(repair_messages(self._messages, self._draft, uncited, self._n_sources))
        except BackendError as exc:
            self._issues.append(Issue("repair_failed", f"could not ask the model to cite them: {exc}"))
            return ""
        finally:
            self.seconds += time.perf_counter() - started


def answer_messages(question: str, evidence: Sequence[Evidence]) -> list[Message]:
    """The system prompt, then the numbered evidence (as quoted data) and the question."""
    return [
        {"role": "system", "content": prompt("system").format(sentinel=SENTINEL)},
        {"role": "user", "content": prompt("answer").format(
            evidence=numbered_evidence(evidence), question=question, sentinel=SENTINEL)},
    ]


def section_messages(topic: str, evidence: Sequence[Evidence], themes: Sequence[Theme]) -> list[Message]:
    """The system prompt, then the numbered evidence and the section's plan, a paragraph a theme."""
    theme_lines = "\n".join(
        f"- then a paragraph on \"{t.name}\", covering papers {', '.join(f'[{m + 1}]' for m in t.members)};"
        for t in themes
    )
    return [
        {"role": "system", "content": prompt("system").format(sentinel=SENTINEL)},
        {"role": "user", "content": prompt("related_work").format(
            evidence=numbered_evidence(evidence), topic=topic, n_paragraphs=len(themes) + 2,
            theme_lines=theme_lines, sentinel=SENTINEL)},
    ]


def repair_messages(messages: list[Message], draft: str, uncited: list[str], n_sources: int) -> list[Message]:
    """The conversation so far, then the request to cite or drop each uncited sentence."""
    request = prompt("repair").format(
        sentences=repair_request(uncited), drop=DROP, n=n_sources)
    return [*messages, {"role": "assistant", "content": draft}, {"role": "user", "content": request}]


def parse_outline(reply: str, n_papers: int) -> list[Theme]:
    """Themes from an outline reply; papers it leaves out join the last theme, repeats are dropped."""
    match = re.search(r"\{.*\}", reply, re.DOTALL)
    try:
        data = json.loads(match.group(0)) if match else {}
        raw_themes = [(str(t["name"]).strip(), [int(n) for n in t["papers"]]) for t in data["themes"]]
    except (ValueError, KeyError, TypeError):
        return []
    seen: set[int] = set()
    themes = []
    for name, numbers in raw_themes:
        members = [n - 1 for n in numbers if 1 <= n <= n_papers and n - 1 not in seen]
        seen.update(members)
        if name and members:
            themes.append(Theme(name=name, members=tuple(members)))
    left_out = [i for i in range(n_papers) if i not in seen]
    if themes and left_out:
        last = themes[-1]
        themes[-1] = Theme(name=last.name, members=last.members + tuple(left_out))
    return themes[:5]


def numbered_evidence(evidence: Sequence[Evidence]) -> str:
    return "\n\n".join(evidence_block(n, e) for n, e in enumerate(evidence, 1))


def evidence_block(n: int, item: Evidence) -> str:
    paper = item.paper
    return prompt("evidence").format(
        n=n,
        key=paper.key,
        year=paper.year or "unknown",
        label=_one_line(paper.label),
        authors=_one_line(paper.authors_display()) or "unknown",
        cite_as=attribution(paper),
        text=_fenced(without_markers(item.text)),  # its own "[2]" must not be copied as a citation
    ).strip()


def _one_line(text: str) -> str:
    return _fenced(" ".join(text.split()))


def _fenced(text: str) -> str:
    """Evidence text that cannot close its own <evidence> tag and pose as instructions."""
    return text.replace("<evidence", "‹evidence").replace("</evidence", "‹/evidence").strip()
