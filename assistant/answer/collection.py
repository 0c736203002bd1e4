"""Questions about the collection, answered from the paper records rather than from quotes.

    "What did Ke Hu work on?", "Which papers did T. Likhomanenko write?", "papers from 2021",
    "how many papers list Tara Sainath as an author?"

A question that names an author (resolved against the index's author names, see
corpus/names.py) or a year, and asks for nothing beyond who or when, is answered by listing
the papers: a count, then each paper's title, year and a one-line gist from its abstract, each
cited. `--author` is read the same way. When the question also has a topic ("which papers did
Ke Hu write on streaming?"), the author and year narrow the filters and the usual answer
pipeline answers the topic among those papers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

from ..corpus.names import name_words, names_in
from ..corpus.paper import Paper
from ..retrieve import Filters, Retriever
from ..text import STOPWORDS, fold, latex_to_text, split_sentences
from .attribution import claims, is_background, leans_back

# The one way a cited paper becomes a Reference (private to citations.py until the lead makes it public).
from .citations import _reference as reference
from .model import Answer, AnswerSentence, Citation

# Words that ask for a listing rather than name a topic: "what has X published", "anything by X".
_LISTING_WORDS = STOPWORDS | frozenset("""
published publish publications publication coauthor coauthored co authored worked working anything
everything wrote collection indexed many count number list listed listing year years since before
between recent latest name names
""".split())
# A year the question asks about, not one it mentions ("WMT 2014"): "from 2021", "since 2020",
# "between 2020 and 2022", "2021-2022".
_YEAR_PHRASE = re.compile(r"\b(?:(?P<since>since|after)|(?P<before>before)|from|in|between|during)\s+"
                          r"(?P<start>(?:19|20)\d\d)(?:\s*(?:-|–|to|and)\s*(?P<end>(?:19|20)\d\d))?\b",
                          re.IGNORECASE)
_GIST_CHARS = 320  # a longer sentence is not a one-line gist; the next candidate is taken


@dataclass(frozen=True)
class CollectionQuestion:
    filters: Filters  # the caller's filters narrowed by the authors and years the question names
    author: str | None  # the author named, as the collection most often writes the name
    lists_papers: bool  # nothing asked beyond who or when: answer by listing the papers

    @classmethod
    def read(cls, question: str, authors: list[str], filters: Filters | None) -> CollectionQuestion:
        """`authors`: the collection's author names, once per paper listing them, in corpus order;
        those whose surname the question holds are enough (Retriever.authors_in)."""
        filters = filters or Filters()
        named = names_in(question, authors)
        author = _most_written(named, authors) if named else filters.author
        words = set(re.findall(r"[^\W\d_]+", fold(question)))
        for name in named:
            given, surname = name_words(name)
            words -= {*given, surname}
        years = _YEAR_PHRASE.search(question)
        if named:
            filters = replace(filters, author=author)
        if years:
            start, end = int(years["start"]), int(years["end"] or years["start"])
            if years["since"]:
                start, end = start + (fold(years["since"]) == "after"), None
            elif years["before"]:
                start, end = None, start - 1
            filters = replace(filters, year_from=start, year_to=end)
        topic = {w for w in words if len(w) > 1} - _LISTING_WORDS
        lists = bool(filters.author or years) and not topic
        return cls(filters=filters, author=author, lists_papers=lists)


def _most_written(names: list[str], authors: list[str]) -> str:
    """Of the forms of one name the question matched, the one the most papers write."""
    counts = Counter(name for name in authors if name in names)
    return counts.most_common(1)[0][0]


def answer_from_records(question: CollectionQuestion, retriever: Retriever, text: str,
                        finish: Callable[..., Answer]) -> Answer:
    """The papers the question's filters admit, counted and listed, each with its gist, cited."""
    admitted = [p for p in retriever.papers() if question.filters.matches(p)]
    if not admitted:
        return finish(sentences=[], references=[], refused=True, issues=[],
                      refusal=f"No paper in the collection matches {_describe(question)}.")
    # Retrieval with the same filters makes the listed papers the answer's evidence (every
    # admitted paper comes back: k is their number), ordered by how well they fit the question.
    found = retriever.search(text, k=len(admitted), filters=question.filters, per_paper=1)
    by_key = {e.paper.key: e for e in found}
    ordered = sorted((by_key[p.key] for p in admitted if p.key in by_key),
                     key=lambda e: (-(e.paper.year or 0), e.rank))
    references = [reference(n, e) for n, e in enumerate(ordered, start=1)]
    count = len(ordered)
    lead = f"{count} paper{'s' if count != 1 else ''} in the collection {_lead_verb(question, count)}:"
    sentences = [AnswerSentence(text=lead, supported=True, paragraph=0, citations=tuple(
        Citation(r.n, r.key, _title_or_gist(e.paper)) for r, e in zip(references, ordered)))]
    for n, e in enumerate(ordered, start=1):
        gist = _gist(e.paper)
        line = f"{e.paper.label} ({e.paper.year_label}): {latex_to_text(gist)}" if gist else e.paper.label
        sentences.append(AnswerSentence(text=line, supported=True, paragraph=n,
                                        citations=(Citation(n, e.paper.key, gist or e.paper.label),)))
    return finish(sentences=sentences, references=references, refused=False, refusal=None, issues=[])


def _lead_verb(question: CollectionQuestion, count: int) -> str:
    filters = question.filters
    parts = []
    if question.author:
        parts.append(f"list{'s' if count == 1 else ''} {question.author} as an author")
    if filters.year_from or filters.year_to:
        parts.append(f"{'is' if count == 1 else 'are'} from {_years(filters)}")
    return " and ".join(parts)


def _describe(question: CollectionQuestion) -> str:
    parts = [f"the author {question.author}"] if question.author else []
    if question.filters.year_from or question.filters.year_to:
        parts.append(f"the years {_years(question.filters)}")
    return " and ".join(parts) or "the question"


def _years(filters: Filters) -> str:
    if filters.year_from == filters.year_to:
        return str(filters.year_from)
    if filters.year_to is None:
        return f"{filters.year_from} on"
    if filters.year_from is None:
        return f"before {filters.year_to + 1}"
    return f"{filters.year_from}-{filters.year_to}"


def _gist(paper: Paper) -> str:
    """The abstract's sentence that says what the paper does: its first contribution sentence
    ("We propose ...") of one line that reads without the one before it (not "To overcome this,
    we propose ..."), else its first one-line sentence that is not background ("MoE
    architectures have expanded ...", "Recent results in end-to-end ASR ... (seq2seq)": a digit
    inside a word is no figure); a sentence with markup left after LaTeX-to-text ("we
    propose \\pathmoe") only where no other will do."""
    lines = [s.strip() for s in split_sentences(paper.abstract) if s.strip() and len(s.strip()) <= _GIST_CHARS]
    return min(enumerate(lines), key=lambda item: ("\\" in latex_to_text(item[1]), not claims(item[1]),
                                                    is_background(item[1]), leans_back(item[1]),
                                                    item[0]),
               default=(0, ""))[1]


def _title_or_gist(paper: Paper) -> str:
    return _gist(paper) or paper.label
