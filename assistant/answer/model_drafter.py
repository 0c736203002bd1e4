"""The model drafter: a chat model writes the draft from the numbered evidence.

Two ways to cite, a setting (`citation_format`): structured output, {"sentences": [{"text": ...,
"evidence": [n, ...]}]} through `response_format`, or [n] markers in plain text. Servers speak
different dialects of structured output (`json_schema` for OpenAI, vLLM, llama-server and Ollama;
`json_object` with a `schema` for llama-cpp-python's server, which answers 500 to `json_schema`):
the first that works is remembered per endpoint, and markers are the fallback. With "auto", the
format that has kept more of this model's sentences through verification is used (each is tried
a few times first). Either way the reply becomes a draft citing [n], and the sentences it left
uncited are attributed after the fact (posthoc.py), not asked about again.

The evidence is trimmed to fit the model's context window (as the server tells it, else the
`context_tokens` setting), each item's most relevant sentences first. For related work the model
first outlines the themes (JSON), falling back to clustering when the outline is unusable.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

from ..errors import BackendError
from ..llm.base import ChatModel, Message, TokenSink
from ..llm.endpoints import EndpointMemory
from ..resources import prompt
from ..retrieve import Evidence
from ..text import content_terms, split_sentences
from .attribution import attribution
from .drafting import Brief, Draft, cluster_themes
from .markers import SENTINEL, parse_draft, without_markers
from .model import Issue
from .on_question import QuestionFocus
from .relevance import TermWeights
from .themes import Theme

FORMATS = ("json", "markers")
# Structured-output dialects, in the order they are tried; "markers" means none worked.
_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"sentences": {"type": "array", "items": {
        "type": "object",
        "properties": {"text": {"type": "string"}, "evidence": {"type": "array", "items": {"type": "integer"}}},
        "required": ["text", "evidence"], "additionalProperties": False}}},
    "required": ["sentences"], "additionalProperties": False,
}
DIALECTS: dict[str, dict[str, Any]] = {
    "json_schema": {"type": "json_schema", "json_schema": {"name": "answer", "schema": _SCHEMA, "strict": True}},
    "json_object": {"type": "json_object", "schema": _SCHEMA},
}
# A line of the reply that copies an evidence header of the prompt (prompts/evidence.txt:
# "[n] key: ... | year: ... | title: ..."), or writes one in its shape, as a weak model does
# ("Narayanan2020cascaded | Year: 2020 | Title: Cascaded Encoders ..."): a labelled header field
# after a bar, which no claim has.
# A title and year after a bar ("dMel: Speech Tokenization Made Simple | 2024") is one too.
_ECHOED_HEADER = re.compile(
    r"^[^\n]*(?:\bkey:\s*\S+\s*)?\|\s*(?:(?:key|year|title|authors|cite as):|(?:19|20)\d\d\b)[^\n]*$",
    re.MULTILINE | re.IGNORECASE)
# The prompt's evidence tags ('<evidence n="2">', '</evidence>'), also cut off before their ">".
_ECHOED_TAG = re.compile(r"</?evidence\b[^>\n]*>?", re.IGNORECASE)
_TRIALS = 3  # answers in each format before "auto" compares them
_CHARS_PER_TOKEN = 3.5  # scientific English, counted cautiously
_PROMPT_TOKENS = 350  # the instructions, the question and the evidence headers, roughly
_REPLY_TOKENS = 512  # kept free for an answer's reply


class ModelDrafter:
    def __init__(self, name: str, chat: ChatModel, *, citation_format: str = "auto", context_tokens: int = 4096,
                 data_dir: Path | None = None) -> None:
        self.name = name
        self._chat = chat
        self._format = citation_format
        self._context_tokens = context_tokens
        self._data_dir = data_dir
        self._memory: EndpointMemory | None = None

    @property
    def model(self) -> str | None:
        return self._chat.model  # known once asked, when the endpoint's only model is used

    @property
    def endpoint(self) -> str | None:
        return self._chat.base_url

    def draft_answer(self, brief: Brief) -> Draft:
        shown = self._trimmed(brief)
        memory = self._remembered()
        fmt = self._choose_format(memory)
        known = memory.get("dialect") if fmt == "json" else None
        if fmt == "json" and known != "markers":
            messages = answer_messages(brief.question, shown, structured=True)
            for dialect in ([known] if known else list(DIALECTS)):
                try:
                    reply = self._chat.complete(messages, stream_to=_sentences_of(brief.on_token),
                                                response_format=DIALECTS[dialect], retry=bool(known))
                except BackendError as exc:
                    if "HTTP" not in exc.problem or known:
                        raise  # not a refusal of the format (or one that worked before): a failure
                    continue
                memory.remember("dialect", dialect)
                return self._drafted(draft_from_json(reply), "json", brief)
        messages = answer_messages(brief.question, shown, structured=False)
        reply = self._chat.complete(messages, stream_to=brief.on_token)
        if fmt == "json" and not memory.get("dialect"):
            memory.remember("dialect", "markers")  # the server took plain text but no dialect: markers from now on
        return self._drafted(reply, "markers", brief)

    def draft_related_work(self, brief: Brief) -> Draft:
        themes = self._outline(brief)
        if not themes:
            brief.issues.append(
                Issue("outline_fallback", "the model's outline was not usable JSON; themes come from clustering"))
            themes = cluster_themes(brief)
        messages = section_messages(brief.question, self._trimmed(brief, reply_tokens=1024, answer=False),
                                    themes)
        return self._drafted(self._chat.complete(messages, stream_to=brief.on_token), None, brief, themes)

    def _drafted(self, text: str, fmt: str | None, brief: Brief, themes: list[Theme] | None = None) -> Draft:
        if getattr(self._chat, "capped", False):
            brief.issues.append(Issue("reply_capped", "the model's reply was too long and was cut"))
        echoed = _ECHOED_HEADER.findall(text) + _ECHOED_TAG.findall(text)
        if echoed:  # a weak model copies the prompt's evidence headers and tags back: they are no claims
            text = _ECHOED_TAG.sub("", _ECHOED_HEADER.sub("", text))
            brief.issues.append(Issue("prompt_echo", "removed a line of the reply that repeats an evidence "
                                                     "header of the prompt, not a claim", echoed[0].strip()))
        text, repeated = _first_of_each_line(text)
        if repeated:  # a weak model copies the evidence block over and over: one copy is the claim
            brief.issues.append(Issue("prompt_echo", f"removed {repeated} line(s) of the reply that repeat an "
                                                     "earlier line"))
        drafted = len(parse_draft(text, len(brief.evidence))[0])

        def verified(count: int) -> None:
            if fmt is not None:
                self._record(fmt, drafted, count)

        return Draft(text, themes=themes or [], origin="model", drafted=drafted, on_verified=verified)

    def _remembered(self) -> EndpointMemory:
        if self._memory is None or self._memory.model != self._chat.model:
            self._memory = EndpointMemory(self._data_dir, self._chat.base_url, self._chat.model)
        return self._memory

    def _choose_format(self, memory: EndpointMemory) -> str:
        """The setting's format; for "auto", the less tried until each has had its trials, then
        the one that kept the larger share of drafted sentences through verification."""
        if self._format != "auto":
            return self._format
        if memory.get("dialect") == "markers":
            return "markers"
        tried = {fmt: memory.get("formats", {}).get(fmt, [0, 0, 0]) for fmt in FORMATS}
        untried = [fmt for fmt in FORMATS if tried[fmt][0] < _TRIALS]
        if untried:
            return min(untried, key=lambda fmt: tried[fmt][0])
        return max(FORMATS, key=lambda fmt: (tried[fmt][2] / max(1, tried[fmt][1]), fmt == "json"))

    def _record(self, fmt: str, drafted: int, verified: int) -> None:
        """One more answer in `fmt`: [answers, sentences drafted, sentences verified]."""
        memory = self._remembered()
        formats = dict(memory.get("formats", {}))
        answers, total, kept = formats.get(fmt, [0, 0, 0])
        formats[fmt] = [answers + 1, total + drafted, kept + verified]
        memory.remember("formats", formats)

    def _trimmed(self, brief: Brief, reply_tokens: int = _REPLY_TOKENS, answer: bool = True) -> list[Evidence]:
        """The evidence as the prompt shows it, fitted to the model's context window."""
        memory = self._remembered()
        window = memory.get("context_tokens")
        if window is None:
            window = self._chat.context_window() or 0
            memory.remember("context_tokens", window)
        budget = (window or self._context_tokens) - reply_tokens - _PROMPT_TOKENS
        return fitted_evidence(brief.question, brief.evidence, brief.weights, max(budget, 200),
                               brief.relevance_floor if answer else None)

    def _outline(self, brief: Brief) -> list[Theme]:
        """Themes from the model's outline, or none when its JSON is unusable."""
        listing = "\n".join(f"[{i}] {attribution(e.paper)}: {e.paper.label}" for i, e in enumerate(brief.evidence, 1))
        reply = self._chat.complete([{"role": "user", "content": prompt("outline").format(
            topic=brief.question, papers=listing)}])
        return parse_outline(reply, len(brief.evidence))


def _first_of_each_line(text: str) -> tuple[str, int]:
    """The reply without the lines that repeat an earlier one (markers aside), and how many."""
    seen: set[str] = set()
    kept = []
    for line in text.splitlines():
        words = " ".join(without_markers(line).split()).lower()
        if words and words in seen:
            continue
        seen.add(words)
        kept.append(line)
    return "\n".join(kept), len(text.splitlines()) - len(kept)


def fitted_evidence(question: str, evidence: Sequence[Evidence], weights: TermWeights,
                    budget_tokens: int, relevance_floor: float | None = None) -> list[Evidence]:
    """Each item with its sentences most relevant to the question first, one a line, cut to fit
    `budget_tokens` in all: every item's best sentence before any item's second. An item with
    no room left shows no text (its number stays, so citations keep pointing at it).

    For an answer (`relevance_floor` given) the model is shown less: no text of an item less
    similar to the question than the floor (unless none is) or lacking a name the question gives
    that another item holds, and of the others only the sentences that share a term with the
    question. A weak model paraphrases whatever it is shown, and off-topic sentences are what it
    turns into claims the papers do not make, or true ones that answer something else (DiceHuBERT's
    definition for "What is dMel?"), which on_question.py would drop."""
    wanted = content_terms(question)
    focus = QuestionFocus(question, evidence, weights) if relevance_floor is not None else None
    answering = [relevance_floor is None or item.named or (item.dense_score or 0.0) >= relevance_floor
                 for item in evidence]
    if focus is not None:
        answering = [shown and not focus.unnamed(item.paper.key) for shown, item in zip(answering, evidence)]
    if not any(answering):
        answering = [True] * len(evidence)  # the gate let the question through: show what there is
    ranked: list[list[tuple[float, str]]] = []
    for item, shown in zip(evidence, answering):
        if not shown:
            ranked.append([])
            continue
        # A paper the question names is what each of its sentences is about ("our model achieves
        # 2.1%" in the Conformer paper answers "what WER does Conformer reach?").
        named = content_terms(item.paper.title or "") if item.named else set()
        sentences = split_sentences(item.text) or [item.text]
        score = [sum(weights.idf(t) for t in wanted & (content_terms(s) | named)) for s in sentences]
        ranked.append(sorted(zip(score, sentences), key=lambda pair: -pair[0]))
    chosen: list[list[str]] = [[] for _ in evidence]
    left = budget_tokens * _CHARS_PER_TOKEN
    for depth in range(max((len(r) for r in ranked), default=0)):
        for i, sentences in enumerate(ranked):
            if depth >= len(sentences) or (relevance_floor is not None and depth and not sentences[depth][0]):
                continue
            sentence = sentences[depth][1]
            if len(sentence) <= left:
                chosen[i].append(sentence)
                left -= len(sentence) + 1
    return [replace(item, text="\n".join(picked)) for item, picked in zip(evidence, chosen)]


def draft_from_json(reply: str) -> str:
    """A structured reply as a draft citing [n], one sentence a line; an empty list is the
    refusal sentinel. A reply that is not the expected JSON is read as a plain-text draft."""
    match = re.search(r"\{.*\}", reply, re.DOTALL)
    try:
        items = json.loads(match.group(0))["sentences"] if match else None
    except (ValueError, KeyError, TypeError):
        items = None
    if not isinstance(items, list):
        return reply
    lines = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            continue
        numbers = item.get("evidence") if isinstance(item.get("evidence"), list) else []
        markers = "".join(f"[{n}]" for n in numbers if isinstance(n, int) and not isinstance(n, bool))
        lines.append(f"{' '.join(item['text'].split())} {markers}".strip())
    return "\n".join(lines) if lines else SENTINEL


_JSON_SENTENCE = re.compile(r'"text"\s*:\s*"((?:[^"\\]|\\.)*)"\s*,\s*"evidence"\s*:\s*\[([^\]]*)\]')


def _sentences_of(on_token: TokenSink | None) -> TokenSink | None:
    """A sink for a structured reply's tokens that shows each sentence (with its markers) once
    it is complete, not the JSON around it; a reply that is not JSON is shown as it comes."""
    if on_token is None:
        return None
    buffer: list[str] = []
    shown = 0

    def sink(token: str) -> None:
        nonlocal shown
        buffer.append(token)
        text = "".join(buffer)
        if not text.lstrip().startswith("{"):
            if text.strip():
                on_token(text[shown:])
                shown = len(text)
            return
        for match in _JSON_SENTENCE.finditer(text, shown):
            try:
                sentence = json.loads(f'"{match.group(1)}"')
            except ValueError:
                sentence = match.group(1)
            numbers = re.findall(r"\d+", match.group(2))
            on_token(f"{sentence} {''.join(f'[{n}]' for n in numbers)}\n")
            shown = match.end()

    return sink


def answer_messages(question: str, evidence: Sequence[Evidence], structured: bool = False) -> list[Message]:
    """The system prompt, then the numbered evidence (as quoted data) and the question."""
    return [
        {"role": "system", "content": prompt("system").format(sentinel=SENTINEL)},
        {"role": "user", "content": prompt("answer_json" if structured else "answer").format(
            evidence=numbered_evidence(evidence), question=question, sentinel=SENTINEL)},
    ]


def section_messages(topic: str, evidence: Sequence[Evidence], themes: Sequence[Theme]) -> list[Message]:
    """The system prompt, then the numbered evidence and the section's plan, a paragraph a theme."""
    theme_lines = "\n".join(
        f"- {'then ' if i else 'first, '}a paragraph on \"{t.name}\", covering papers "
        f"{', '.join(f'[{m + 1}]' for m in t.members)};"
        for i, t in enumerate(themes)
    )
    return [
        {"role": "system", "content": prompt("system").format(sentinel=SENTINEL)},
        {"role": "user", "content": prompt("related_work").format(
            evidence=numbered_evidence(evidence), topic=topic, n_paragraphs=len(themes) + 1,
            theme_lines=theme_lines, sentinel=SENTINEL)},
    ]


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
    """The evidence blocks, numbered from 1; items trimmed to nothing are left out."""
    return "\n\n".join(evidence_block(n, e) for n, e in enumerate(evidence, 1) if e.text.strip())


def evidence_block(n: int, item: Evidence) -> str:
    paper = item.paper
    return prompt("evidence").format(
        n=n,
        key=paper.key,
        year=paper.year or "unknown",
        label=_one_line(paper.label),
        authors=_one_line(paper.authors_display()) or "unknown",
        cite_as=attribution(paper),
        text=evidence_lines(n, item.text),
    ).strip()


def evidence_lines(n: int, text: str) -> str:
    """The item's sentences, one a line, each ending with the item's marker: a sentence copied
    from the prompt arrives cited (a weak model copies well and cites badly). The text's own
    bracketed numbers are removed first, so that its "[2]" cannot come back as a citation."""
    lines = [line for line in text.splitlines() if line.strip()] if "\n" in text else split_sentences(text)
    return "\n".join(f"{_fenced(without_markers(line))} [{n}]" for line in lines or [text])


def _one_line(text: str) -> str:
    return _fenced(" ".join(text.split()))


def _fenced(text: str) -> str:
    """Evidence text that cannot close its own <evidence> tag and pose as instructions."""
    return text.replace("<evidence", "‹evidence").replace("</evidence", "‹/evidence").strip()
