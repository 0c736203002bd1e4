"""Does a model's verified sentence answer the question? A weak model copies its evidence well:
the copy passes every check of verification.py, since its paper says it, and may still answer
something else. SmolLM2 answered "What is dMel?" with DiceHuBERT's definition, and "how can a
voice assistant answer quickly when it chains ASR, an LLM and TTS?" with another paper's list of
components. The extractive drafter picks sentences by how well they answer; a model's are held
to the same question here, after verification.

A sentence answers when
- it is about what the question names: each name the question gives (relevance.question_names)
  that some but not every evidence item holds is in the sentence or in each paper it cites (a
  name every item holds, such as "ASR" or "LibriSpeech", tells no paper apart);
- and it shares the question's focus, judged against the evidence sentence that does so best:
  it holds at least half the share of the question's focus terms (weighted by how specific each
  is) that sentence holds, or reads nearly as close to the question as the closest one does;
- and, when the question asks for a kind of sentence (asked.py: a definition for "which paper
  introduced the Conformer?", a figure for "what WER", a method for "how do people keep training
  from blowing up?") that an evidence sentence is, one of the model's sentences is of that kind:
  SmolLM2 answered "which paper introduced the conformer?" with two true sentences of papers that
  use a Conformer, while Gulati et al.'s "we propose ... named Conformer" was in its evidence;
- and, when it is the model's only such sentence, or each of them is, it is more than background:
  SmolLM2 answered "is sigmoid attention faster than softmax" with the sigmoid paper's "Recent
  work has explored alternatives to softmax ...", on the question's focus and not an answer.
  Background after an answering sentence stays, as its context.

Pure functions over sentences, evidence and an embedding function: no I/O. A sentence dropped
here is reported, and when none of the model's is left the papers' own sentences answer
(answerer.draft_checked).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Sequence

from ..retrieve import Evidence
from ..text import content_terms, fold, split_sentences, term_words
from .asked import KIND_FIT, Asked, answer_fit, asked_parts, asks_a_kind
from .attribution import gives_background
from .citations import Enforced
from .drafting import Brief
from .markers import quotable, quotes
from .model import Issue
from .relevance import (Embed, TermWeights, equivalent_terms, focus_words, held_terms, names_missing,
                        question_names, text_terms, unheld_names)

# The share of the best evidence sentence's focus a sentence must hold, or of its similarity to
# the question it must reach. Measured through SmolLM2 on natural.jsonl: answering sentences hold
# 0.8-1.0 of the best share or read 0.84-1.4 times as close; those that answer something else
# hold 0.05-0.3 and read 0.3-0.8 times as close (the conformer-encoder list for the voice
# assistant question: 0.2 and 0.80).
_FOCUS_SHARE = 0.5
_CLOSENESS = 0.85
# Evidence sentences compared by embedding to the question: the best by focus terms. The closest
# in meaning is among them (the focus terms are what the question is about), and embedding every
# sentence of every abstract would cost more than the rest of verification.
_REFERENCE_SENTENCES = 8
_KIND_NAMES = {Asked.DEFINITION: "what it is or who introduced it", Asked.FIGURE: "for a figure",
               Asked.METHOD: "how it is done", Asked.FINDING: "what was found"}
_BACKGROUND_ONLY = ("gives only background (the field as its paper found it), not an answer, "
                    "and no other sentence of the model's answers the question")


def answering_only(enforced: Enforced, brief: Brief) -> Enforced:
    """The enforced draft without the model's supported sentences that do not answer the
    question, each reported (kind "off_question_dropped") with why. Without all of them when
    each one left only gives the field's background ("Recent work has explored alternatives to
    softmax ...", kind "background_dropped": background may lead into an answer, but is none), or
    else when none is the kind of sentence the question asks for and an evidence sentence is.
    The papers' own sentences then answer instead."""
    checked = [s for s in enforced.sentences if s.supported and s.origin in ("model", "attributed")]
    cited = [(s.text, [c.key for c in s.citations]) for s in checked]
    focus = QuestionFocus(brief.question, brief.evidence, brief.weights)
    off = off_question(brief.question, cited, brief.evidence, brief.embed, focus)
    kept = [i for i, why in enumerate(off) if not why]
    if kept and all(gives_background(checked[i]) for i in kept):
        off = [why or _BACKGROUND_ONLY for why in off]
    elif kept:
        # A sentence verified against a definition (a figure, a method) gives it, however worded.
        unasked = kind_unanswered(brief.question, [([checked[i].text, *(c.quote for c in checked[i].citations)],
                                                    cited[i][1]) for i in kept], brief.evidence, focus)
        off = [why or unasked for why in off]
    removed = [s for s, why in zip(checked, off) if why]
    dropped = [Issue("background_dropped" if why == _BACKGROUND_ONLY else "off_question_dropped",
                     f"removed a sentence that {why}", s.text) for s, why in zip(checked, off) if why]
    if not dropped:
        return enforced
    gone = {id(s) for s in removed}
    return replace(enforced, sentences=[s for s in enforced.sentences if id(s) not in gone],
                   issues=enforced.issues + dropped)


def off_question(question: str, sentences: Sequence[tuple[str, Sequence[str]]], evidence: Sequence[Evidence],
                 embed: Embed, focus: QuestionFocus) -> list[str | None]:
    """For each (sentence, the keys of the papers it cites), why it does not answer `question`,
    or None when it does."""
    if not sentences:
        return []
    labels = {item.paper.key: item.paper.label for item in evidence}
    share = {p: focus.share(p, [item.paper.key]) for item in evidence for p in quotes(item.text)}
    reference = sorted(share, key=lambda p: -share[p])[:_REFERENCE_SENTENCES]
    vectors = embed([question, *reference, *(text for text, _ in sentences)])
    closest = max((float(v @ vectors[0]) for v in vectors[1:len(reference) + 1]), default=0.0)
    best_share = max(share.values(), default=0.0)
    titles = {_bare(item.paper.title) for item in evidence if item.paper.title}
    reasons: list[str | None] = []
    for (text, cited), vector in zip(sentences, vectors[len(reference) + 1:]):
        if _bare(text) in titles:  # "dMel: Speech Tokenization Made Simple [1]" for "what's dMel?"
            reasons.append("does not answer the question: it repeats a paper's title, which claims nothing")
            continue
        unnamed = [(name, key) for key in cited for name in focus.unnamed(key) if names_missing([name], text)]
        if unnamed:
            name, key = unnamed[0]
            reasons.append(f"does not answer the question: it says what \u201c{labels[key]}\u201d says, "
                           f"and that paper does not name {name}")
            continue
        similarity, held = float(vector @ vectors[0]), focus.share(text, cited)
        if held < _FOCUS_SHARE * best_share and similarity < _CLOSENESS * closest:
            reasons.append(f"does not answer the question: it holds {held:.0%} of the question's key terms "
                           f"(an evidence sentence holds {best_share:.0%}) and is further from it in meaning "
                           f"(similarity {similarity:.2f}, the closest evidence sentence {closest:.2f})")
        else:
            reasons.append(None)
    return reasons


def kind_unanswered(question: str, sentences: Sequence[tuple[Sequence[str], Sequence[str]]],
                    evidence: Sequence[Evidence], focus: QuestionFocus) -> str | None:
    """Why none of the sentences answers `question`, when it asks for a kind of sentence (each of
    its parts does) that none of them is and an evidence sentence is; else None. Each sentence
    is given as (its wordings, the keys of the papers it cites), and is of the kind when one of
    its wordings is: the model's, or an evidence sentence it was verified against. A sentence
    names what its cited papers name ("It reaches 2.1%" in the Conformer paper is about the
    Conformer)."""
    parts = asked_parts(question)
    if not asks_a_kind(parts):
        return None

    def of_kind(text: str, keys: Sequence[str]) -> bool:
        return answer_fit(parts, text, frozenset(content_terms(text)) | focus.named_terms(keys)) >= KIND_FIT

    if any(of_kind(text, keys) for wordings, keys in sentences for text in wordings):
        return None
    for item in evidence:
        if any(of_kind(quotable(s), [item.paper.key]) for s in split_sentences(item.text)):
            return (f"does not answer the question: the question asks {_KIND_NAMES[parts[0].asked]}, which "
                    f"\u201c{item.paper.label}\u201d says and none of the model's sentences does")
    return None


def _bare(text: str) -> str:
    """Text compared as words only: folded, punctuation and spacing aside."""
    return " ".join(re.findall(r"\w+", fold(text)))


class QuestionFocus:
    """What a question is about, as the papers of its evidence hold it: the names it gives, and
    its focus terms weighted by how specific each is (TermWeights.weight)."""

    def __init__(self, question: str, evidence: Sequence[Evidence], weights: TermWeights) -> None:
        self._question = question
        focus = focus_words(question)
        weight = {term: weights.weight(term) for term in focus}
        total = sum(weight.values())
        self._weight = {term: w / total for term, w in weight.items()} if total else {}
        names = question_names(question, evidence)
        self._lacking: dict[str, set[str]] = {name: set() for name in names}  # name -> papers without it
        for item in evidence if names else []:
            text = " ".join([item.text, item.paper.title or "", *item.paper.authors])
            for name in unheld_names(names, text, held_terms(question, item)):
                self._lacking[name].add(item.paper.key)
        self._papers = len({item.paper.key for item in evidence})

    def unnamed(self, key: str) -> list[str]:
        """The names of the question that paper `key` lacks and another paper of the evidence
        holds (a name every paper holds, or none, tells no paper apart)."""
        return [name for name, keys in self._lacking.items() if key in keys and len(keys) < self._papers]

    def share(self, text: str, keys: Sequence[str] = ()) -> float:
        """The share of the question's focus that `text` holds, in its words or the field's words
        for them, counting the names every paper in `keys` holds: what its papers name, it is
        about ("our results" in the dMel paper are dMel's)."""
        if not self._weight:
            return 1.0
        held = text_terms(text) | equivalent_terms(self._question, text) | self.named_terms(keys)
        return sum(w for term, w in self._weight.items() if term in held)

    def named_terms(self, keys: Sequence[str]) -> set[str]:
        """The terms of the question's names that every paper in `keys` holds."""
        return {term for name, lacking in self._lacking.items() if keys and not lacking & set(keys)
                for term in term_words(name)}
