"""How a related-work sentence names a paper and says what it does, from the record alone.

Years and first authors always come from the Paper record; the "what they do" part is a
sentence of the paper's own abstract, turned from "we propose X" into "<Authors> (<year>)
propose X" so a paragraph reads as prose rather than a list of quotes.
"""

from __future__ import annotations

import re

from ..corpus.paper import Paper
from ..text import split_sentences

_WE_CLAUSE = re.compile(
    r"^(?:(?:in|here,? in) this (?:paper|work|study|letter|article),?\s*|here,?\s*|to (?:this end|address (?:this|these)[^,]*),?\s*"
    r"|finally,?\s*|specifically,?\s*|in particular,?\s*|additionally,?\s*|moreover,?\s*)?"
    r"we\s+(?P<verb>[a-z]+)\b(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_CONTRIBUTION_VERBS = (
    "propose", "present", "introduce", "develop", "design", "build", "study", "investigate", "show",
    "demonstrate", "find", "explore", "describe", "analyze", "analyse", "evaluate", "release", "train",
    "revisit", "examine", "formulate", "focus", "take", "leverage", "apply", "compare", "report",
)


_ANAPHORA = re.compile(r"\b(?:this|these|those|such|it|they|above)\b", re.IGNORECASE)
_FIRST_PERSON = re.compile(r"\b(?:we|our|us)\b", re.IGNORECASE)
_DISCOURSE_MARKER = re.compile(
    r"^(?:however|moreover|furthermore|additionally|in addition|in particular|specifically|finally|thus|hence"
    r"|therefore|instead|indeed|notably|importantly|to this end|to address this(?: [a-z]+)?),\s*",
    re.IGNORECASE,
)


def attribution(paper: Paper) -> str:
    """"Zhai et al. (2023)", "Hu, Qiu and Tang", "A 2025 study (arXiv:2508.19990)", "One study"."""
    if paper.authors:
        surnames = [a.split()[-1] for a in paper.authors]
        if len(surnames) > 2 or paper.authors_truncated:
            who = f"{surnames[0]} et al."
        else:
            who = " and ".join(surnames)
        return f"{who} ({paper.year})" if paper.year else who
    if paper.arxiv_id:
        return f"A {paper.year} study (arXiv:{paper.arxiv_id})" if paper.year else f"A study (arXiv:{paper.arxiv_id})"
    return "One study"


def is_plural(paper: Paper) -> bool:
    return len(paper.authors) > 1 or paper.authors_truncated


def _third_person(verb: str) -> str:
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ies"
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    return verb + "s"


def contribution(paper: Paper, topic_terms: set[str], exclude: str | None = None) -> tuple[str, str]:
    """("<attribution> <verb> ...", the abstract sentence it was built from).

    Prefers "we <verb> ..." sentences that share the most words with the topic; falls back to
    "<attribution> report that <sentence>". `exclude` skips a sentence already used.
    """
    candidates = []
    for position, sentence in enumerate(split_sentences(paper.abstract)):
        if sentence == exclude:
            continue
        overlap = len(topic_terms & {w.lower() for w in re.findall(r"[A-Za-z][\w-]+", sentence)})
        match = _WE_CLAUSE.match(sentence)
        is_claim = bool(match and match["verb"].lower() in _CONTRIBUTION_VERBS)
        # "we show how to do this" leans on the sentence before it: a poor sentence to lift out.
        leans = bool(_ANAPHORA.search(" ".join(sentence.split()[:10]))) or (
            not is_claim and bool(_FIRST_PERSON.search(sentence)))
        candidates.append((leans, not is_claim, -overlap, position, sentence, match))
    if not candidates:
        raise ValueError(f"{paper.key} has no abstract sentence left to attribute")
    *_, sentence, match = min(candidates, key=lambda c: c[:4])
    subject = attribution(paper)
    if match and match["verb"].lower() in _CONTRIBUTION_VERBS:
        verb = match["verb"].lower()
        verb = verb if is_plural(paper) else _third_person(verb)
        return _end(f"{subject} {verb}{match['rest']}"), sentence
    report = "report" if is_plural(paper) else "reports"
    sentence = _DISCOURSE_MARKER.sub("", sentence)
    opening = sentence if sentence[:2].isupper() else sentence[0].lower() + sentence[1:]
    return _end(f"{subject} {report} that {opening}"), sentence


def _end(text: str) -> str:
    """A sentence ending in exactly one full stop (a question stays a question)."""
    text = text.rstrip()
    return text if text.endswith(("?", "!")) else text.rstrip(".") + "."
