"""The Answer: one object that Markdown, plain text, JSON and the chat UI all render.

Citation numbers `n` are 1-based positions in `Answer.references` (not in the evidence list):
the renderer shows `[n]` and the reference list numbers papers the same way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class Citation:
    n: int  # 1-based index into Answer.references
    key: str  # the cited paper's citation key
    quote: str  # the single evidence sentence that best supports the sentence


@dataclass(frozen=True)
class AnswerSentence:
    # The sentence without its markers: what verification checked against the evidence, or, for a
    # model's rewording shown in quotation marks, the evidence sentence it was checked against.
    text: str
    citations: tuple[Citation, ...]
    supported: bool  # passed verification against the cited text
    note: str | None = None  # why it is flagged, when it is not supported
    paragraph: int = 0  # sentences sharing a number render as one paragraph
    # "model" (written and cited by the model), "attributed" (written by the model, cited after
    # generation by the verifier) or "extractive" (the paper's own sentence)
    origin: str = "extractive"
    # The attribution shown before the text so that it reads on its own: "Zhai et al. (2023)
    # propose" before "σReparam, ...", or "Zhai et al. (2023):" before a quoted "We ...".
    lead: str = ""

    @property
    def shown(self) -> str:
        """The sentence as a reader sees it: its lead, then its text (quoted after a colon)."""
        if not self.lead:
            return self.text
        return f"{self.lead} \u201c{self.text}\u201d" if self.lead.endswith(":") else f"{self.lead} {self.text}"

    @property
    def markers(self) -> str:
        """The sentence's citation markers as shown after it: "[1][3]", a run of three or more
        as a range ("11 papers list Ke Hu as an author: [1–11]")."""
        runs: list[list[int]] = []
        for n in (c.n for c in self.citations):
            if runs and n == runs[-1][-1] + 1:
                runs[-1].append(n)
            else:
                runs.append([n])
        return "".join(f"[{run[0]}–{run[-1]}]" if len(run) >= 3 else "".join(f"[{n}]" for n in run) for run in runs)


@dataclass(frozen=True)
class Paragraph:
    sentences: tuple[AnswerSentence, ...]
    heading: str | None = None  # a related-work theme's name; answers have none


@dataclass(frozen=True)
class Reference:
    n: int
    key: str
    title: str | None
    label: str  # title, or the abstract's opening words where there is no title
    authors: tuple[str, ...]
    authors_truncated: bool
    year: int | None
    source: str
    arxiv_id: str | None = None
    authors_display: str = ""  # "A, B and C" or "A et al.", as Paper.authors_display gives it
    abstract: str | None = None  # the whole abstract, for showing the cited text in context


@dataclass(frozen=True)
class Issue:
    """Something enforcement removed or flagged, with the reason, for the user to see."""

    # "invalid_marker" | "unsupported_citation" | "uncited_dropped" | "repaired" | "repair_failed" | "unsupported"
    # | "refused" | "truncated_input" | "read_as" | "undated_left_out" | "attributed" | "unsupported_dropped" | "fallback"
    # | "declined" | "reply_capped" | "prompt_echo" | "off_question_dropped" | "background_dropped"
    kind: str
    detail: str
    sentence: str | None = None


@dataclass
class Answer:
    question: str
    sentences: list[AnswerSentence]
    references: list[Reference]
    refused: bool
    backend: str  # "extractive" | "openai"
    model: str | None  # the model name, or None for the extractive backend
    endpoint: str | None = None  # the base URL the model was reached at (never the key)
    issues: list[Issue] = field(default_factory=list)
    refusal: str | None = None  # the plain statement shown when refused
    timings: dict[str, float] = field(default_factory=dict)  # seconds: retrieve, generate, verify, total
    filters: dict[str, Any] = field(default_factory=dict)
    # "answered" (by the drafter the backend names), "extractive_fallback" (from the papers' own
    # sentences, because none of the model's could be verified), "not_in_papers" (the relevance
    # gate found nothing to answer from), "declined" (the model said the evidence does not answer)
    outcome: str = "answered"
    drafted: int = 0  # sentences the model drafted, before enforcement (0 when no model wrote)

    def headings(self) -> dict[int, str]:
        """Headings above paragraphs, by paragraph number: none for an answer."""
        return {}

    def paragraphs(self) -> list[Paragraph]:
        """The sentences grouped by their paragraph number, in order, with their headings."""
        grouped: dict[int, list[AnswerSentence]] = {}
        for s in self.sentences:
            grouped.setdefault(s.paragraph, []).append(s)
        headings = self.headings()
        return [Paragraph(tuple(group), headings.get(n)) for n, group in sorted(grouped.items())]

    def render_body(self, sentence: Callable[[AnswerSentence], str],
                    heading: Callable[[str], str] = lambda name: "",
                    refusal: Callable[[str], str] = lambda statement: statement) -> str:
        """The body every view shows: the refusal statement when refused, else the paragraphs
        separated by blank lines, each its heading followed by its sentences. The callables say
        how a sentence, a heading and the refusal look in the view."""
        if self.refused:
            return refusal(self.refusal or "")
        return "\n\n".join((heading(p.heading) if p.heading is not None else "") + " ".join(map(sentence, p.sentences))
                           for p in self.paragraphs())

    @property
    def text(self) -> str:
        """The answer as prose with [n] markers; the refusal statement when refused."""
        return self.render_body(lambda s: f"{s.shown} {s.markers}{'' if s.supported else ' (unsupported)'}".strip())

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["text"] = self.text
        return data


@dataclass(frozen=True)
class ThemeSection:
    name: str
    paragraph: int  # the paragraph number holding this theme's text
    keys: tuple[str, ...]  # the papers grouped under the theme


@dataclass
class RelatedWork(Answer):
    """A related-work section: an Answer whose paragraphs are one per theme, then a closing;
    `question` holds the topic."""

    themes: list[ThemeSection] = field(default_factory=list)

    def headings(self) -> dict[int, str]:
        """Each theme's name above its paragraph."""
        return {t.paragraph: t.name for t in self.themes}

    @property
    def topic(self) -> str:
        return self.question


def _known(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k in cls.__dataclass_fields__}


def answer_from_dict(data: Mapping[str, Any]) -> Answer:
    """The inverse of to_dict() (derived keys such as `text` are ignored): a RelatedWork when the
    data has themes, else an Answer."""
    sentences = [
        AnswerSentence(text=s["text"], citations=tuple(Citation(**c) for c in s["citations"]),
                       supported=s["supported"], note=s.get("note"), paragraph=s.get("paragraph", 0),
                       origin=s.get("origin", "extractive"), lead=s.get("lead", ""))
        for s in data["sentences"]
    ]
    references = [Reference(**{**_known(Reference, r), "authors": tuple(r["authors"])}) for r in data["references"]]
    issues = [Issue(**_known(Issue, i)) for i in data.get("issues", [])]
    rest = _known(Answer, data) | {"sentences": sentences, "references": references, "issues": issues}
    rest.setdefault("outcome", "not_in_papers" if data.get("refused") else "answered")
    if "themes" not in data:
        return Answer(**rest)
    themes = [ThemeSection(t["name"], t["paragraph"], tuple(t["keys"])) for t in data["themes"]]
    return RelatedWork(**rest, themes=themes)
