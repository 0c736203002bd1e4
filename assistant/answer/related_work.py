"""The related-work writer: a topic in, a cited section in themed paragraphs out.

It stands on the `ask` path: the same retrieval, the same evidence numbering and the same
citation enforcement (citations.enforce) for every sentence. What it adds is breadth (more
papers, a relevance floor), themes (clustering, or the model's outline), and attribution
("Zhai et al. (2023) propose ...") taken from the records, never from a model.

    section = write_related_work("pseudo-labeling for ASR", settings, retriever)
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from typing import TYPE_CHECKING, Sequence

from ..config import Settings
from ..llm.base import Backend, ChatBackend, Message, TokenSink, open_backend
from ..resources import prompt
from ..retrieve import Evidence, Filters
from . import citations
from .answerer import Finisher, ModelRepair, VectorCache, checked_question, evidence_block, term_weights, whole_abstracts
from .attribution import attribution, contribution
from .markers import SENTINEL
from .model import AnswerSentence, Issue, RelatedWork, ThemeSection
from .relevance import TermWeights, question_coverage, relevance_gap
from .themes import Theme, group_into_themes
from .verification import Floors

if TYPE_CHECKING:
    from ..retrieve import Retriever

DEFAULT_MAX_PAPERS = 25
MIN_PAPERS = 3
# A paper joins the section when it is this close to the topic, and not far below the best:
# breadth without padding the section with papers that merely share a word.
_FLOOR_BELOW_BEST = 0.22
_NOT_COVERED = "The indexed papers do not cover this topic."
_CONNECTIVES = ("", "Similarly, ", "In a related direction, ", "Along the same line, ")


def write_related_work(
    topic: str,
    settings: Settings,
    retriever: "Retriever",
    *,
    max_papers: int = DEFAULT_MAX_PAPERS,
    filters: Filters | None = None,
    backend: Backend | None = None,
    on_token: TokenSink | None = None,
) -> RelatedWork:
    started = time.perf_counter()
    topic, issues = checked_question(topic)
    backend = backend or open_backend(settings)
    found = whole_abstracts(retriever.search(topic, k=max_papers, filters=filters, per_paper=1))
    weights = term_weights(retriever)
    papers = select_papers(topic, found, weights, settings)
    timings = {"retrieve": time.perf_counter() - started}

    finish = Finisher(RelatedWork, topic, backend, filters, timings, started)

    gap = relevance_gap(topic, found, weights, dense_floor=settings.relevance_floor,
                                  coverage_floor=settings.coverage_floor)
    if gap or not papers:
        return finish.refused(issues + [Issue("refused", gap or "no indexed paper is close enough to the topic")],
                              _NOT_COVERED)

    evidence = [dataclasses.replace(e, rank=i) for i, e in enumerate(papers, 1)]
    vectors = VectorCache(retriever.embedder.embed)
    generate_started = time.perf_counter()
    repair: ModelRepair | None = None
    if backend.name != "extractive":
        chat: ChatBackend = backend  # type: ignore[assignment]
        themes, outline_issues = _model_outline(chat, topic, evidence)
        issues += outline_issues
        if not themes:
            themes = _cluster_themes(topic, evidence, vectors)
        messages = _section_messages(topic, evidence, themes)
        draft = chat.complete(messages, stream_to=on_token)
        repair = ModelRepair(chat, messages, draft, len(evidence), issues)
    else:
        themes = _cluster_themes(topic, evidence, vectors)
        draft = extractive_draft(topic, evidence, themes)
    timings["generate"] = time.perf_counter() - generate_started

    verify_started = time.perf_counter()
    enforced = citations.enforce(
        draft, evidence, embed=vectors, repair=repair,
        floors=Floors(support=settings.support_floor, terms=settings.term_floor),
    )
    enforced_sentences = check_attributions(enforced.sentences, {e.paper.key: e.paper for e in evidence})
    timings["verify"] = time.perf_counter() - verify_started
    issues += [i for i in enforced.issues if i.kind != "unsupported"] + [
        Issue("unsupported", s.note or "not supported by the cited evidence", s.text)
        for s in enforced_sentences if not s.supported
    ]
    if enforced.refused:
        return finish.refused(issues + [Issue("refused", "no sentence of the draft survived citation enforcement")],
                              _NOT_COVERED)
    sections = [
        ThemeSection(theme.name, paragraph, tuple(evidence[m].paper.key for m in theme.members))
        for paragraph, theme in enumerate(themes, start=1)
    ]
    return finish(sentences=enforced_sentences, references=enforced.references, refused=False,
                  refusal=None, issues=issues, themes=sections)


def select_papers(topic: str, found: Sequence[Evidence], weights: TermWeights,
                  settings: Settings) -> list[Evidence]:
    """The retrieved papers on the topic, in retrieval order: close to it in meaning (above the
    floor and not far below the best match) and holding enough of its key terms, as `ask`
    requires of the evidence it answers from."""
    scores = [e.dense_score or 0.0 for e in found]
    if not scores:
        return []
    cut = max(settings.relevance_floor, max(scores) - _FLOOR_BELOW_BEST)
    return [e for e, score in zip(found, scores)
            if score >= cut and question_coverage(topic, e, weights)[0] >= settings.coverage_floor]


def _cluster_themes(topic: str, evidence: Sequence[Evidence], embed: VectorCache) -> list[Theme]:
    texts = [f"{e.paper.title or ''}. {e.paper.abstract}" for e in evidence]
    # The label and the matching chunk embed quickly and carry what the paper is about.
    vectors = embed([f"{e.paper.label}. {e.text[:400]}" for e in evidence])
    return group_into_themes(texts, [e.paper.label for e in evidence], vectors, topic)


# -- extractive drafting -----------------------------------------------------------------------


def extractive_draft(topic: str, evidence: Sequence[Evidence], themes: Sequence[Theme]) -> str:
    """Paragraphs built from the papers' own sentences and records, each sentence cited [n].

    Opening: the themes with their papers. One paragraph per theme, oldest paper first, each
    "<Authors> (<year>) <what the abstract says they do> [n]". Closing: the newest paper's
    result, as where the topic stands now.
    """
    topic_terms = {w.lower() for w in re.findall(r"[A-Za-z][\w-]+", topic)}
    used: dict[int, str] = {}
    paragraphs = [_opening(topic, themes)]
    for theme in themes:
        ordered = sorted(theme.members, key=lambda m: (evidence[m].paper.year or 9999, m))
        lines = []
        for position, member in enumerate(ordered):
            sentence, source = contribution(evidence[member].paper, topic_terms)
            used[member] = source
            lead = _CONNECTIVES[position % len(_CONNECTIVES)] if position else ""
            lines.append(f"{lead}{_lower_lead(sentence) if lead else sentence} [{member + 1}]")
        paragraphs.append(" ".join(lines))
    closing = _closing(evidence, used, topic_terms)
    if closing:
        paragraphs.append(closing)
    return "\n\n".join(paragraphs)


_OPENING_EXAMPLES = 2  # papers cited per theme in the opening sentence


def _opening(topic: str, themes: Sequence[Theme]) -> str:
    """"Work on <topic> in this collection spans <theme> [a, b]; <theme> [c, d]; and <theme> [e]."""
    parts = [f"{t.name[0].lower() + t.name[1:]} [{', '.join(str(m + 1) for m in t.members[:_OPENING_EXAMPLES])}]"
             for t in themes]
    if len(parts) == 1:
        return f"Work on {topic} in this collection centres on {parts[0]}."
    return f"Work on {topic} in this collection spans {'; '.join(parts[:-1])}; and {parts[-1]}."


def _closing(evidence: Sequence[Evidence], used: dict[int, str], topic_terms: set[str]) -> str | None:
    dated = [i for i, e in enumerate(evidence) if e.paper.year]
    if len(dated) < 2:
        return None
    newest = max(dated, key=lambda i: (evidence[i].paper.year, -i))
    try:
        sentence, _ = contribution(evidence[newest].paper, topic_terms, exclude=used.get(newest))
    except ValueError:
        return None
    return f"Most recently, {_lower_lead(sentence)} [{newest + 1}]"


def _lower_lead(sentence: str) -> str:
    """Lower-case a sentence's first letter after a connective, unless it starts a name ("One study")."""
    return sentence[0].lower() + sentence[1:] if sentence.startswith(("One study", "A ")) else sentence


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


# -- with a model ------------------------------------------------------------------------------


def _model_outline(backend: ChatBackend, topic: str, evidence: Sequence[Evidence]) -> tuple[list[Theme], list[Issue]]:
    """Themes from the model's outline, or none (with an issue) when its JSON is unusable."""
    listing = "\n".join(f"[{i}] {attribution(e.paper)}: {e.paper.label}" for i, e in enumerate(evidence, 1))
    reply = backend.complete([{"role": "user", "content": prompt("outline").format(topic=topic, papers=listing)}])
    themes = parse_outline(reply, len(evidence))
    if not themes:
        return [], [Issue("outline_fallback", "the model's outline was not usable JSON; themes come from clustering")]
    return themes, []


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


def _section_messages(topic: str, evidence: Sequence[Evidence], themes: Sequence[Theme]) -> list[Message]:
    numbered = "\n\n".join(evidence_block(n, e) for n, e in enumerate(evidence, 1))
    theme_lines = "\n".join(
        f"- then a paragraph on \"{t.name}\", covering papers {', '.join(f'[{m + 1}]' for m in t.members)};"
        for t in themes
    )
    return [
        {"role": "system", "content": prompt("system").format(sentinel=SENTINEL)},
        {"role": "user", "content": prompt("related_work").format(
            evidence=numbered, topic=topic, n_paragraphs=len(themes) + 2, theme_lines=theme_lines,
            sentinel=SENTINEL)},
    ]
