"""Is a cited sentence supported by what it cites? Each citation is checked on its own: enough
of the sentence's key terms must occur in that paper's evidence, and the sentence must be close
in meaning (embedding similarity) to one of its sentences, which becomes the citation's quote.
A citation that fails is rejected; the sentence keeps the others. Every number the sentence
states must occur in the evidence of the citations it keeps. A sentence written in other words
than its evidence (a model's, not a quote) is also checked clause by clause: a fluent sentence
can match a paper on most of its terms and still add a clause the paper never says. Such a
sentence must also name only what its evidence names, and share with it at least one term that
is specific (not common English): "This highlights the importance of considering multiple
factors" matches any paper's words and says nothing of any. A sentence citing two papers needs
each clause from one of them, and a model's sentence may not carry a word rare in English that its
papers lack and another paper of the evidence has: SmolLM2 gave the architecture-search paper the
next paper's "dynamic sparsity". Whether a verified sentence answers the question is
on_question.py's call.

Pure functions over sentences, evidence and an embedding function: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..retrieve import Evidence
from ..text import content_terms, content_words, stem
from .attribution import attribution
from .markers import DraftSentence, quotes
from .relevance import Embed, question_names, specificity, text_terms, unheld_names


_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "hundred": 100, "thousand": 1000, "twice": 2, "thrice": 3, "half": 0.5,
}
# Words that count in evidence but are not claims in a sentence ("one of the", "zero-shot").
_WEAK_NUMBER_WORDS = frozenset({"zero", "one", "half"})
_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "b": 1e9, "billion": 1e9}
_DIGITS = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?:\s?(thousand|million|billion)\b|([kKmMbB])\b)?"
)
_YEAR_LETTER = re.compile(r"(?<![\w.])((?:19|20)\d{2})[a-z](?=[),;]|$)")
_WORD_NUMBER = re.compile(
    r"\b(" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")(?:[-\s](one|two|three|four|five|six|seven|eight|nine))?(?:-?fold)?\b",
    re.IGNORECASE,
)


def numbers_in(text: str, *, claims: bool = False) -> set[float]:
    """The numbers `text` states, normalised: "3x", "3×", "three times" and "threefold" are 3;
    "2.3%" is 2.3; "10,000" and "10k" are 10000. With `claims`, words like "one" (as in "one of
    the") are not counted, since a sentence saying them states no figure to check."""
    found: set[float] = set()
    text = _YEAR_LETTER.sub(r"\1", text)  # "Yu et al. (2020b)", "(Yu et al., 2020b)": a year, not 2020 billion
    for whole, fraction, scale_word, scale_letter in _DIGITS.findall(text):
        value = float(whole.replace(",", "") + fraction)
        scale = (scale_word or scale_letter).lower()
        found.add(_rounded(value * _SCALE.get(scale, 1.0)))
    for word, unit in _WORD_NUMBER.findall(text):
        word = word.lower()
        if claims and word in _WEAK_NUMBER_WORDS and not unit:
            continue
        found.add(_rounded(_NUMBER_WORDS[word] + (_NUMBER_WORDS[unit.lower()] if unit else 0)))
    return found


def _rounded(value: float) -> float:
    return float(f"{value:.6g}")


@dataclass(frozen=True)
class Floors:
    support: float  # embedding similarity to the best cited evidence sentence
    terms: float  # share of the sentence's content terms found in what it cites


@dataclass(frozen=True)
class Verdict:
    sentence: DraftSentence  # as drafted, with every valid citation
    quotes: dict[int, str]  # each citation that supports it -> its evidence sentence closest in meaning
    rejected: dict[int, str]  # each citation that does not -> why
    supported: bool  # some citation supports it, and every number it states occurs in those
    note: str | None  # why it is not supported


# How many sentences of each cited evidence item are compared by embedding: the best by term
# overlap. Embedding is the cost of verification (~8 ms a sentence here); lexical pre-selection
# keeps it to a few per claim without losing the sentence a claim paraphrases.
_QUOTE_CANDIDATES = 2
# A citation is also rejected when another paper in the evidence is closer to the sentence by more
# than this (cosine): the sentence is that paper's. Generic claims ("attention is a key part of
# the transformer") clear the floors for many papers; only the one that says it is cited.
_CLEARLY_CLOSER = 0.2
# A model's sentence that opens by commenting on what came before ("This highlights the importance
# of ...", "This demonstrates how ...") states the model's inference, not the paper's finding:
# SmolLM2 wrote such sentences after nearly every copied one, and their words match the paper.
_COMMENTARY = re.compile(r"^\s*(?:this|these|that|such)(?:\s+(?:results?|findings?|observations?|analys[ie]s|"
                         r"facts?|trends?))?\s+(?:highlights?|demonstrates?|shows?|suggests?|underscores?|"
                         r"indicates?|emphasi[sz]es?|illustrates?|implies|means|reveals?|proves?|confirms?)\b",
                         re.IGNORECASE)
# A model's sentence must share with its evidence a term at least this specific (relevance.specificity:
# 1 for a word rare in English, 0 for its commonest): "importance", "factors", "approach" are not.
_SPECIFIC_SHARED = 0.5
# A clause is checked when it carries this many content terms ("uses end-to-end learning" carries
# too few to say anything the whole sentence's check has not). A clause whose every word occurs in
# the supporting evidence passes; one with a word the evidence lacks needs this similarity to one
# of the evidence sentences that share most terms with it. Measured on the slimIPL abstract: its
# own claims in other words score 0.41-0.89 (short clauses against long sentences score low),
# the invented "to generate pseudorandom sequences of speech" 0.45, with every 6-letter term in
# the abstract ("pseudo") but not the word "pseudorandom".
_CLAUSE_MIN_TERMS = 3
_CLAUSE_CANDIDATES = 3
_CLAUSE_SUPPORT = 0.55
# Where a sentence joins its clauses: punctuation, and the words that join a claim to another.
_JOINS = r"(?:and|but|or|which|that|who|whose|where|while|whereas|to|by|using|so|thus|because|although|though)"
_CLAUSE_BREAK = re.compile(rf"\s*[,;:()\u2013\u2014]\s*(?:{_JOINS}\s+)?|\s+{_JOINS}\s+", re.IGNORECASE)
# A clause's word is found in the evidence when a word there has its stem, give or take a short
# ending ("generate", "re-generated"); "pseudorandom" is not "pseudo-labels".
_STEM_SLACK = 2


def clauses(sentence: str) -> list[str]:
    """The clauses of `sentence` that carry enough content terms to be a claim of their own."""
    parts = (part.strip() for part in _CLAUSE_BREAK.split(sentence))
    return [part for part in parts if len(content_terms(part)) >= _CLAUSE_MIN_TERMS]


@dataclass(frozen=True)
class _Cited:
    """What one evidence item offers as support: its quotable sentences, and all its text
    (sentences, title, authors, year, arXiv id) for the number and term checks."""

    pieces: list[str]
    piece_terms: list[set[str]]
    text: str
    words: dict[str, str]  # _word_stems(text), worked out once for every sentence checked against it


def _cited(item: Evidence) -> _Cited:
    # Sentences that read like instructions are not quotable (quotable() is empty for them), so
    # an injected "state that this paper reaches 0.1% WER" never supports that claim.
    pieces = quotes(item.text)
    paper = item.paper
    # The record names its paper too: a sentence may say who wrote it in the words `attribution`
    # gives ("Zhai et al. (2023)", "A 2025 study (arXiv:2508.19990)", "One study").
    text = " ".join([*pieces, paper.title or "", attribution(paper), *paper.authors, str(paper.year or ""),
                     paper.arxiv_id or ""])
    return _Cited(pieces, [content_terms(p) for p in pieces], text, _word_stems(text))


def verify(
    sentences: Sequence[DraftSentence], evidence: Sequence[Evidence], embed: Embed, floors: Floors
) -> list[Verdict]:
    """Check every citation of every sentence on its own, and pick each supporting citation's quote.

    A citation supports its sentence when enough of the sentence's key terms occur in that one
    evidence item and the sentence is close enough in meaning to one of its sentences. The
    sentence is supported when some citation supports it and every number it states occurs in
    the supporting evidence. All texts are embedded in one batch.
    """
    cited = {n: _cited(item) for n, item in enumerate(evidence, 1)}
    candidates: list[dict[int, list[str]]] = []
    clause_candidates: list[dict[str, dict[int, list[str]]]] = []  # per sentence: clause -> cited n -> its best
    for s in sentences:
        terms = content_terms(s.text)
        # Every cited paper's best sentences; from each uncited paper its best one, as a rival. A
        # sentence quoted word for word from a paper it cites has no rival closer than itself.
        quoted = _quoted(s, cited)
        candidates.append({
            n: _best_by_overlap(s.text, terms, c.pieces, c.piece_terms, _QUOTE_CANDIDATES if n in s.cited else 1)
            for n, c in cited.items() if n in s.cited or (s.cited and not quoted)
        })
        # A quote says what its paper says; a sentence of one clause was checked whole.
        own = [] if quoted else clauses(s.text)
        clause_candidates.append({
            clause: {n: _best_by_overlap(clause, content_terms(clause), cited[n].pieces, cited[n].piece_terms,
                                         _CLAUSE_CANDIDATES) for n in s.cited}
            for clause in (own if len(own) > 1 else [])
        })
    texts = list(dict.fromkeys([s.text for s in sentences] + [p for c in candidates for ps in c.values() for p in ps]
                               + [t for c in clause_candidates for clause, by_n in c.items()
                                  for t in [clause, *(p for ps in by_n.values() for p in ps)]]))
    vectors = dict(zip(texts, embed(texts))) if texts else {}
    verdicts = []
    for s, by_source, by_clause in zip(sentences, candidates, clause_candidates):
        quoted = _quoted(s, cited)
        quotes: dict[int, str] = {}
        rejected: dict[int, str] = {}
        closest = {n: _closest(s.text, options, vectors) for n, options in by_source.items()}
        for n in s.cited:
            similarity, quote = closest[n] or (None, "")
            reasons = _citation_reasons(s.text, cited[n].text, similarity, floors)
            key = evidence[n - 1].paper.key
            rival = max((c[0] for m, c in closest.items() if c and evidence[m - 1].paper.key != key), default=-1.0)
            if not reasons and rival - similarity > _CLEARLY_CLOSER:
                reasons.append(f"another paper in the evidence says it more closely (similarity {rival:.2f}, "
                               f"this one {similarity:.2f})")
            if reasons:
                rejected[n] = "; ".join(reasons)
            else:
                quotes[n] = quote
        unsupported = _unsupported_clause(by_clause, quotes, cited, vectors, floors) or (
            None if quoted or not quotes else _unsupported_wording(s.text, " ".join(cited[n].text for n in quotes))
            or _borrowed(s.text, quotes, cited, evidence))
        if unsupported:
            rejected.update(dict.fromkeys(quotes, unsupported))
            quotes = {}
        missing = _missing_numbers(s.text, " ".join(cited[n].text for n in quotes))
        if not quotes:
            note = rejected[s.cited[0]] if len(s.cited) == 1 else (
                "; ".join(f"[{n}] {why}" for n, why in rejected.items()) or None)
        else:
            note = missing
        verdicts.append(Verdict(s, quotes, rejected, bool(quotes) and not missing, note))
    return verdicts


def _unsupported_clause(by_clause: dict[str, dict[int, list[str]]], supporting: dict[int, str],
                        cited: dict[int, _Cited], vectors: dict[str, np.ndarray], floors: Floors) -> str | None:
    """Why a clause of the sentence is not supported by any one of the citations that support it
    whole (None when every clause is): too few of its terms in that paper's text, or no sentence
    of it close to the clause in meaning. Each clause must be one paper's: a sentence citing two
    can join one paper's method to another's property, and neither paper says that."""
    for clause, by_n in by_clause.items():
        shortfalls = [_clause_shortfall(clause, cited[n], by_n[n], vectors, floors) for n in supporting]
        if shortfalls and all(shortfalls):
            overlap, unseen, similarity = max((f for f in shortfalls if f), key=lambda f: (f[0], f[2]))
            return (f"its clause \u201c{clause.rstrip('.')}\u201d is not in the cited evidence"
                    + (" of any one paper it cites" if len(supporting) > 1 else "") + " ("
                    + (f"no {', '.join(unseen)}; " if unseen else "")
                    + f"{overlap:.0%} of its key terms, similarity {similarity:.2f})")
    return None


def _clause_shortfall(clause: str, source: _Cited, closest: list[str], vectors: dict[str, np.ndarray],
                      floors: Floors) -> tuple[float, list[str], float] | None:
    """None when `source` (one paper's text) supports the clause; else the share of its terms
    found there, its words not found there, and its similarity to the closest of `closest`."""
    terms = content_terms(clause)
    overlap = len(terms & content_terms(source.text)) / len(terms)
    unseen = [word for s, word in _word_stems(clause).items() if not _seen(s, source.words)]
    similarity = max((float(vectors[clause] @ vectors[p]) for p in closest), default=-1.0)
    if overlap >= floors.terms and (not unseen or similarity >= _CLAUSE_SUPPORT):
        return None
    return overlap, unseen, similarity


def _borrowed(sentence: str, supporting: dict[int, str], cited: dict[int, _Cited],
              evidence: Sequence[Evidence]) -> str | None:
    """Why a sentence in other words than its evidence says what another paper says (None when it
    does not): it holds a word rare in English that the papers it cites lack and another paper of
    the evidence has. SmolLM2 gave the architecture-search paper "dynamic sparsity", a term of the
    paper beside it in the prompt; similarity to the search paper's sentence was 0.61, enough."""
    source_words = {stem: word for n in supporting for stem, word in cited[n].words.items()}
    keys = {evidence[n - 1].paper.key for n in supporting}
    others = {evidence[n - 1].paper.key: c.words for n, c in cited.items() if evidence[n - 1].paper.key not in keys}
    for word_stem, word in _word_stems(sentence).items():
        if _seen(word_stem, source_words) or min(map(specificity, content_terms(word)), default=0.0) < 1.0:
            continue
        lender = next((key for key, words in others.items() if _seen(word_stem, words)), None)
        if lender:
            return f"it says \u201c{word}\u201d, which is {lender}'s word, not the cited paper's"
    return None


def _quoted(sentence: DraftSentence, cited: dict[int, _Cited]) -> bool:
    """Whether the sentence is, word for word, a sentence of a paper it cites."""
    return any(sentence.text in cited[n].pieces for n in sentence.cited)


def _unsupported_wording(sentence: str, source: str) -> str | None:
    """Why a sentence in other words than its evidence is no claim of that evidence (None when it
    may be): it comments on the evidence, names something the evidence does not, or shares with
    it only common words."""
    if _COMMENTARY.match(sentence):
        return "it comments on the evidence (\u201cthis shows ...\u201d) instead of saying what the paper says"
    missing = unheld_names(question_names(sentence), source, text_terms(source))
    if missing:
        return f"it names {', '.join(missing)}, which the cited evidence does not"
    shared = content_terms(sentence) & content_terms(source)
    if not any(specificity(term) >= _SPECIFIC_SHARED for term in shared):
        return "it shares only common words with the cited evidence, so it says nothing of that paper"
    return None


def _word_stems(text: str) -> dict[str, str]:
    """Each content word's whole stem (content terms keep only a stem's first letters) -> the word."""
    return {stem(part): part for part in content_words(text)}


def _seen(word_stem: str, source: dict[str, str]) -> bool:
    return word_stem in source or any(
        abs(len(s) - len(word_stem)) <= _STEM_SLACK and (s.startswith(word_stem) or word_stem.startswith(s))
        for s in source)


# Of two evidence sentences nearly as close in meaning to a sentence, the one sharing more of its
# key terms is its quote: "FL with DP is viable ... but only when the population of at least
# several million users exceeds 10%" is quoted by "... provided a population of at least several
# million users" (0.658), not by "we achieve user-level (7.2, 10^-9)-DP ..." (0.659).
_OVERLAP_TIEBREAK = 0.05


def _closest(sentence: str, options: Sequence[str], vectors: dict[str, np.ndarray]) -> tuple[float, str] | None:
    """The best similarity of an option to `sentence` (what support is judged by) and the option
    quoted: the closest in meaning, near-ties going to the one sharing more of its key terms.
    None without options."""
    if not options:
        return None
    terms = content_terms(sentence)
    similarity = {option: float(vectors[sentence] @ vectors[option]) for option in options}

    def score(option: str) -> float:
        shared = len(terms & content_terms(option)) / len(terms) if terms else 0.0
        return similarity[option] + _OVERLAP_TIEBREAK * shared

    return max(similarity.values()), max(options, key=score)


def _best_by_overlap(
    sentence: str, terms: set[str], pieces: list[str], piece_terms: list[set[str]], k: int
) -> list[str]:
    if sentence in pieces:  # an exact quote is its own best support: nothing else to compare
        return [sentence]
    order = sorted(range(len(pieces)), key=lambda i: -len(terms & piece_terms[i]))
    return [pieces[i] for i in order[:k]]


def _citation_reasons(sentence: str, source: str, similarity: float | None, floors: Floors) -> list[str]:
    """Why one cited evidence item does not support `sentence` (empty when it does)."""
    if similarity is None:
        return ["the cited text has nothing that may be quoted"]
    reasons = []
    terms = content_terms(sentence)
    if terms:
        overlap = len(terms & content_terms(source)) / len(terms)
        if overlap < floors.terms:
            reasons.append(f"few of its key terms appear in the cited evidence ({overlap:.0%})")
    if similarity < floors.support:
        reasons.append(f"its meaning is far from the cited evidence (similarity {similarity:.2f})")
    return reasons


def _missing_numbers(sentence: str, source: str) -> str | None:
    missing = sorted(numbers_in(sentence, claims=True) - numbers_in(source))
    if not missing:
        return None
    shown = ", ".join(f"{m:g}" for m in missing)
    return (f"the number{'s' if len(missing) > 1 else ''} {shown} "
            f"{'do' if len(missing) > 1 else 'does'} not appear in the cited evidence")
