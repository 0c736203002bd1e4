"""Is there anything to answer from? The gate before drafting: when no evidence item is close
enough to the question, holds its focus (its terms rare among the papers and in English, or the
field's words for them) and names what it names, the answer is a refusal that names what the
papers do not address and the closest papers they hold."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import numpy as np

from ..corpus.paper import Paper
from ..index.embedder import MINILM_NAME, Embedder, remembered
from ..index.vocabulary import acronym_words, defined_acronyms
from ..retrieve import Evidence
from ..text import WORD, content_terms, fold, latex_to_text, printable, stem, term_words
from .attribution import attribution
from .markers import quotes

Embed = Callable[[list[str]], np.ndarray]  # texts -> unit-length rows
REFUSAL = "The indexed papers do not address this question."
# How a person phrases a question rather than what it is about ("how do people make transformer
# training not blow up?"): these words are not its focus, and abstracts rarely use them.
_PHRASING = frozenset(content_terms("""
anyone anybody someone somebody anything something people person folks tried trying try
way ways make makes making made keep keeps kept get getting gets got go goes going come comes
big bigger biggest huge little lots lot better best good bad badly far fast faster quick quickly
soon sooner hold holds need needs needed handle handles avoid avoids blow bolt onto stack top style
fix fixed date one ones don doesn didn isn aren otherwise put actually really basically kind sort stop stops
stuff thing things whole happen happens possible exist exists want know look looking seem seems
help helps deal cope enough hard easy instead once whatever anywhere available beat beats
"""))
# Terms at least this specific are the focus of a question (TermWeights.weight: rare among the
# papers and in English). Whether an acronym is the field's and where a refusal's focus phrase
# starts go by rarity among the papers alone (idf): the refusal names "brain signals such as EEG",
# not only "EEG".
_SPECIFIC = 3.0
# Rarity among the papers counts up to this idf (TermWeights.weight): a term no paper uses is
# either a topic they lack or the question's own phrasing ("objectives keep fighting each
# other", "pick the better of two chatbot answers"); the papers cannot tell which, English
# frequency can. Uncapped, such a term (idf 5.5 over 122 papers) outweighed the terms an item
# does hold (idf ~2-4), so items holding most of an everyday question's topic fell short of the
# coverage floor. At 4.25 a word no paper uses weighs as one a single paper uses (idf 4.41 over
# 122 papers). Over evals/questions (evals/fit_relevance.py --idf-cap) 4.0-4.25 make the fewest
# errors: 4.5 refuses an answerable question more, 3.75 answers a near-topic one.
_IDF_CAP = 4.25
# An item holding this share of the focus answers without any specific term: a question's rarest
# word may be how it is phrased ("how small a subset beat training on the full set").
_FOCUS_WITHOUT_SPECIFIC = 0.6
# An item this similar to the question answers it holding only this share of its focus: a
# question in everyday words ("spreading training over thousands of chips") shares few terms with
# the paper that answers it ("distributed training on accelerators") but reads like it.
# evals/fit_relevance.py scores choices by leave-one-set-out over evals/questions; over all sets
# 0.5 is best, and coverage 0.2 rather than the fitted 0.1 keeps a margin over the near-topic
# questions' items that similar (10% of the focus of "ASR for dysarthric speech" at 0.55).
_STRONG_SIMILARITY = 0.5
# A question that names a thing and asks this much more of it (the weight of its other focus
# terms) is answered only by an item holding some of the rest: a rare name outweighs the words
# asked of it ("how does MM1 do on video question answering": 63% of the focus is "MM1").
_ASKED_OF_A_NAME = 1.5
_PARTIAL_COVERAGE = 0.2
# A question word an item lacks is held when the item has a word this close to it in meaning (the
# cosine of the two words' MiniLM vectors): "photos" by "images", "flaws" by "defect", "mic" by
# "microphone" (0.73-0.83). Unrelated words of the field score 0.3-0.5 ("mic" and "assistant"
# 0.41, "contact" and "context" 0.36), loosely related ones up to ~0.7 ("emotion" and "affect"
# 0.68). Over evals/questions (evals/fit_relevance.py) 0.70 and 0.725 make the fewest errors:
# 0.675 answers a near-topic question ("emotion" held by "affect"), 0.75 refuses one more
# answerable. The lower one: the weakest words held rightly score 0.73-0.74.
_WORD_SIMILARITY = 0.70
# Words compared so: those of the items near the question's topic (_NEAR_TOPIC), each item's
# title and its abstract's rarest words among the papers (its own words, not the field's).
# Embedding a word costs ~1.3 ms on 2 cores: all the items' words (up to ~500) made a refused
# question take 100-450 ms instead of ~20; these are up to ~90, and answer one answerable
# question fewer over evals/questions than all of them (evals/README.md).
_ITEM_WORDS = 10
# A word held in another sense does not hold a question: "biasing a recognizer toward the names in
# a user's contact list" and a paper on private federated learning that mitigates "clipping bias"
# share "bias", not a subject. An item holding the question's specific terms only in sentences this
# unlike the question (MiniLM cosine) does not answer it. The sentences that hold an answerable
# question's specific terms score 0.33 and up over evals/questions; the one above 0.14 (one
# example: the floor sits midway, and leave-one-set-out cannot test it).
_SAME_SENSE = 0.25
_CLOSEST = 3  # papers a near-topic refusal names as the closest
# A refusal names papers as the closest only when they are this similar to the question: a
# near-topic question has neighbours worth naming, a far one ("how do proteins fold?") none. The
# items near the topic so are also those whose words similar_terms compares.
_NEAR_TOPIC = 0.3


@dataclass(frozen=True)
class TermWeights:
    """How rare each content term is among the indexed papers (inverse document frequency):
    the rare terms of a question are what it is about, so they weigh most in its coverage."""

    document_frequency: Mapping[str, int]
    papers: int

    @classmethod
    def from_papers(cls, papers: Iterable[Paper]) -> "TermWeights":
        frequency: dict[str, int] = {}
        count = 0
        for paper in papers:
            count += 1
            for term in _paper_terms(paper, paper.abstract):
                frequency[term] = frequency.get(term, 0) + 1
        return cls(frequency, count)

    def idf(self, term: str) -> float:
        return math.log((self.papers + 1) / (self.document_frequency.get(term, 0) + 0.5))

    def weight(self, term: str) -> float:
        """How much a question's term says about what it asks: rare among the papers and rare in
        English. "children" or "spiking" absent from a paper says it is about something else;
        "never", "check" or "produce" absent says only that the paper phrases it otherwise.
        Rarity among the papers counts up to _IDF_CAP."""
        return min(self.idf(term), _IDF_CAP) * specificity(term)


# -- how common a term is in general English -------------------------------------------------------

_ENGLISH_FREQUENCY = Path(__file__).with_name("english_frequency.txt")
# On the Zipf scale (log10 uses per billion words): a term this common in English ("never" 5.9,
# "check" 5.5) tells nothing of a question's topic; one this rare ("masculine" 3.7, "spiking"
# 2.8, any term the list lacks) tells all; in between, a share.
_COMMON_ZIPF = 6.0
_RARE_ZIPF = 4.0


@cache
def english_frequency() -> Mapping[str, float]:
    """Each content term's Zipf frequency in general English (english_frequency.txt, from wordfreq)."""
    rows = (line.split() for line in _ENGLISH_FREQUENCY.read_text(encoding="utf-8").splitlines()
            if line and not line.startswith("#"))
    return {term: float(zipf) for term, zipf in rows}


def specificity(term: str) -> float:
    """1 for a term rare in English, 0 for one of its commonest, linear in Zipf frequency between."""
    zipf = english_frequency().get(term, 0.0)
    return min(1.0, max(0.0, (_COMMON_ZIPF - zipf) / (_COMMON_ZIPF - _RARE_ZIPF)))


def _paper_terms(paper: Paper, text: str) -> set[str]:
    return content_terms(paper_as_read(paper, text))


def paper_as_read(paper: Paper, text: str) -> str:
    """`text` of `paper` with its title and authors, as a reader sees them (LaTeX rendered)."""
    return _as_read(" ".join([text, paper.title or "", " ".join(paper.authors)]))


@lru_cache(maxsize=1024)  # the same abstracts are judged question after question
def _as_read(text: str) -> str:
    # printable(): an index written before ingest stripped control sequences still reads
    # "\x1b[31mnoisy" as "noisy". latex_to_text(): the text as a reader sees it, so that
    # "$σ$Reparam" holds the "σReparam" a question names.
    return printable(latex_to_text(text))


# -- the field's words for what a question asks in everyday ones ---------------------------------

_EQUIVALENTS = Path(__file__).with_name("equivalents.txt")


@cache
def equivalent_phrases() -> tuple[tuple[tuple[str, ...], ...], ...]:
    """Groups of phrases that name the same thing (equivalents.txt), each phrase as the run of
    its content terms: "lip reading" and "visual speech recognition", "chained" and "cascaded"."""
    groups = []
    for line in _EQUIVALENTS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            groups.append(tuple(run for run in map(_term_run, line.split(";")) if run))
    return tuple(groups)


def equivalent_terms(question: str, text: str) -> set[str]:
    """The question's terms a text holds in other words: those of each phrase of the question
    whose equivalent (a phrase of the same group) the text says. A phrase is said when its terms
    stand together, so "affects recognition" is no "affect recognition"."""
    asked_terms = set(focus_words(question))
    held: set[str] = set()
    question_run: tuple[str, ...] | None = None
    text_run: tuple[str, ...] | None = None
    for group in equivalent_phrases():
        if not any(set(phrase) <= asked_terms for phrase in group):
            continue  # the cheap test first: most questions ask in no phrase of the list
        question_run = question_run or _term_run(question)
        asked = [phrase for phrase in group if _says(question_run, phrase)]
        if asked:
            text_run = text_run or _term_run(text)
            if any(_says(text_run, phrase) for phrase in group):
                held.update(*asked)
    return held


def _term_run(text: str) -> tuple[str, ...]:
    """The content terms of `text` in their order, repeats kept."""
    return tuple(term for word in _NAME_WORD.findall(text) for term in term_words(word))


def _says(run: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    return any(run[i:i + len(phrase)] == phrase for i in range(len(run) - len(phrase) + 1))


# -- what a question names ----------------------------------------------------------------------

# A word with its inner hyphens, apostrophes and dots ("large-v3", "w2v-BERT", "non-i.i.d").
_NAME_WORD = re.compile(r"[^\W_]+(?:[-'’.][^\W_]+)*")
_POSSESSIVE = re.compile(r"['’]s$")
# "a GPT-like model", "MAML-style ideas": what a thing resembles, which the paper need not name.
_LIKENESS = re.compile(r"-(?:like|style|esque|inspired)$", re.IGNORECASE)
_ACRONYM = re.compile(r"[A-Z]{2,6}s?")


def question_names(question: str, evidence: Sequence[Evidence] = ()) -> list[str]:
    """The things a question names: words carrying a digit or an inner capital ("large-v3",
    "LibriSpeech", "dMel", "USM"), capitalised words that do not open a sentence ("Whisper",
    "Kaizen"), and capitalised words that do but are no English word ("Mistral 7B's accuracy").
    Quantities ("60K", "90th") are figures, and likenesses ("GPT-like") descriptions, not names.
    A paper's coined name typed in lower case ("contextnet wer on ted-lium") is a name too, when
    the question names that evidence's paper (Evidence.named)."""
    names, typed = [], set()
    for match in _NAME_WORD.finditer(question):
        word = _name_word(match.group())
        if not word:
            continue
        typed.add(fold(word))
        opens_sentence = not question[:match.start()].strip() or question[:match.start()].rstrip()[-1] in ".?!:"
        if _coined(word) or (word[0].isupper() and (not opens_sentence or not _english_word(word))):
            names.append(word)
    typed -= {fold(name) for name in names}
    titles = [_name_word(word) for item in evidence if item.named for word in _NAME_WORD.findall(item.paper.title or "")]
    names += [word for word in titles if word and _coined(word) and fold(word) in typed]
    return list(dict.fromkeys(names))


def _name_word(word: str) -> str:
    """The word as a possible name (without a possessive), or "" for a quantity, a likeness, or a letter."""
    word = _POSSESSIVE.sub("", word)
    return "" if len(word) < 2 or word[0].isdigit() or _LIKENESS.search(word) else word


def _coined(word: str) -> bool:
    return any(ch.isdigit() for ch in word) or any(ch.isupper() for ch in word[1:])


def _english_word(word: str) -> bool:
    """Whether general English uses the word (english_frequency.txt lists every term it uses often)."""
    terms = term_words(word)
    return not terms or any(term in english_frequency() for term in terms)


def names_missing(names: Sequence[str], text: str) -> list[str]:
    """The names a text does not hold: compared folded, without hyphens and dots ("non-IID" is
    "non-i.i.d."), a plural as its singular ("Conformers"), an acronym also by the initials of
    the words it stands for ("TTS": "text-to-speech", see _expansions), and a hyphenated name by
    its coined parts ("wav2vec-style" by "wav2vec")."""
    if not names:
        return []
    folded = fold(text)
    words = [_POSSESSIVE.sub("", w) for w in _NAME_WORD.findall(folded)]  # "Canary-1B's encoder" holds Canary-1B
    forms = {_squeeze(w) for w in words} | {_squeeze(p) for w in words for p in w.split("-")}
    expansions = _expansions(folded)
    return [name for name in names if not _holds_name(name, forms, expansions)]


_HYPHENATED = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)+")


def _expansions(folded: str) -> str:
    """The initials of the (folded) text's word groups that may spell out an acronym,
    "|"-separated: a hyphenated compound ("text-to-speech": tts) and a run of words that each
    carry a content term ("large language model": llm). A function word breaks a run: initials
    of any words in a row would hold MOS by "modeling of speech"."""
    runs, run = [], []
    for word in re.findall(r"[^\W\d_]+", folded):
        if content_terms(word):
            run.append(word[0])
        elif run:
            runs.append("".join(run))
            run = []
    runs.append("".join(run))
    compounds = ["".join(part[0] for part in group.split("-")) for group in _HYPHENATED.findall(folded)]
    return "|".join(compounds + runs)


def unheld_names(names: Sequence[str], text: str, held: set[str]) -> list[str]:
    """names_missing, except that a plain capitalised word ("Lipreading", "Finetuning") is held
    when the text holds its terms as `held` finds them (the field's phrase, a joined compound):
    only capitalisation made it a name."""
    return [name for name in names_missing(names, text)
            if not (name[1:].islower() and name.isalpha() and set(term_words(name)) <= held)]


def text_terms(text: str) -> set[str]:
    """The text's content terms, with its hyphenated compounds also as one word."""
    return content_terms(text) | _compounds_joined(text)


def _holds_name(name: str, forms: set[str], initials: str) -> bool:
    for variant in dict.fromkeys([name, name[:-1] if name.endswith("s") and len(name) > 3 else name]):
        if _squeeze(fold(variant)) in forms:
            return True
        if _ACRONYM.fullmatch(variant) and variant.isupper() and variant.lower() in initials:
            return True
    pieces = name.split("-")
    coined = [p for p in pieces if len(p) > 1 and any(ch.isdigit() or ch.isupper() for ch in p)]
    return 0 < len(coined) < len(pieces) and all(_holds_name(p, forms, initials) for p in coined)


def _field_acronym(name: str, weights: TermWeights) -> bool:
    """An acronym the papers use throughout (ASR, LLM, WER) is the field's word, not a name: an
    abstract may write it out or leave it implied. A rare one (USM, EEG, RLHF) names a thing."""
    return bool(_ACRONYM.fullmatch(name)) and all(weights.idf(t) < _SPECIFIC for t in term_words(name))


def _squeeze(word: str) -> str:
    return re.sub(r"[-'’.]", "", word)


def held_terms(question: str, item: Evidence) -> set[str]:
    """The content terms of the item's text, title and authors, with the question's terms it
    holds in other words: the field's phrase for the question's (equivalents.txt) or a name the
    question gives written another way ("non-IID" as "non-i.i.d."), or a compound written with
    or without its hyphen ("pretraining" as "pre-training", "fine-tuning" as "finetuning")."""
    text = paper_as_read(item.paper, item.text)
    held = text_terms(text) | equivalent_terms(question, text)
    for compound in _HYPHENATED.findall(question):
        if content_terms(compound.replace("-", "")) <= held:
            held |= content_terms(compound)
    names = question_names(question)
    for name in set(names) - set(names_missing(names, text)):
        held.update(term_words(name))
    held.update(_shortened(question, held))
    return held


# A question term this short and rare in English is a word cut short ("conv", "param", "eval").
_SHORT_FORM = range(4, 6)


def _shortened(question: str, held: set[str]) -> set[str]:
    """The question's terms that are short forms of terms the item holds: "conv and attention"
    asks what "convolution" says; a common word ("mode", "base") is a word of its own."""
    return {term for term, word in focus_words(question).items()  # as written: "downsizing" stems to "downs"
            if term not in held and len(word) in _SHORT_FORM and english_frequency().get(term, 0.0) < _RARE_ZIPF
            and any(len(other) > len(term) and other.startswith(term) for other in held)}


def _compounds_joined(text: str) -> set[str]:
    """The terms of the text's hyphenated compounds written as one word ("pre-training": "pretraining")."""
    return content_terms(" ".join(word.replace("-", "") for word in _HYPHENATED.findall(text)))


def focus_words(question: str) -> dict[str, str]:
    """The question's content terms without the words that phrase it (see term_words)."""
    return {t: w for t, w in term_words(question).items() if t not in _PHRASING}


def question_coverage(question: str, item: Evidence, weights: TermWeights,
                      wanted: Mapping[str, str] | None = None) -> tuple[float, list[str]]:
    """The share of the question's focus terms (or of `wanted`, some of them) found in the
    item's text, title or authors, weighted by how specific each is (TermWeights.weight), and
    the question's words it lacks (most specific first)."""
    return _coverage(focus_words(question) if wanted is None else wanted, held_terms(question, item), weights)


def _coverage(wanted: Mapping[str, str], found: set[str], weights: TermWeights) -> tuple[float, list[str]]:
    """question_coverage of the focus terms `wanted` (term -> word) given the terms an item holds."""
    if not wanted:
        return 1.0, []
    weight = {term: weights.weight(term) for term in wanted}
    missing = sorted((t for t in wanted if t not in found), key=lambda t: -weight[t])
    total = sum(weight.values())
    return 1.0 - sum(weight[t] for t in missing) / total if total > 0 else 1.0, [wanted[t] for t in missing]


def relevance_gap(question: str, evidence: Sequence[Evidence], weights: TermWeights, *,
                  dense_floor: float, coverage_floor: float, meaning: Meaning | None = None) -> str | None:
    """Why no evidence item is relevant enough to answer from, or None when one is.

    An item is relevant when it resembles the question (dense similarity >= dense_floor), holds
    most of the question's focus terms, weighted by how specific each is (rare among the papers
    and in English: TermWeights.weight), in its text, title or authors, or the field's words for
    them (coverage >= coverage_floor), holds at least one of its specific terms, when it has any,
    unless it holds most of the focus without them, and holds every name the question gives (see
    question_names). A strongly similar item (_STRONG_SIMILARITY) needs only part of the focus
    (_PARTIAL_COVERAGE), and still every name: a question in everyday words reads like the paper
    that answers it without sharing its terms.
    With `meaning` (the shipped embedder's vectors, see gate_meaning), an item holding the
    specific terms in another sense does not count (in_sense); and when no item is relevant so,
    the items near the question's topic also hold the focus words they say in other words
    ("spotting objects or flaws in photos": "defect", "images"), and are judged again.
    Similarity alone does not separate: an out-of-corpus question sharing the corpus's
    vocabulary ("attention" in psychology, "graph neural networks for speech recognition")
    scores as high as a terse in-corpus one; the rare terms it lacks tell them apart. Names tell
    apart a question about one thing the papers only mention: "What WER does Whisper large-v3 get
    on LibriSpeech?" when one paper compares with Whisper large-v3 and others report LibriSpeech
    WERs, but none gives the two together.
    """
    if not evidence:
        return "no indexed paper matches the question and filters"
    held = {id(item): held_terms(question, item) for item in evidence}  # once per item: it reads the whole text
    gap = _gap(question, evidence, weights, held, held, dense_floor, coverage_floor, meaning)
    if gap is None or meaning is None:
        return gap
    covered = dict(held)
    for key, terms in similar_terms(question, evidence, held, weights, meaning.words).items():
        covered[key] = held[key] | terms
    return _gap(question, evidence, weights, covered, held, dense_floor, coverage_floor, meaning)


def _gap(question: str, evidence: Sequence[Evidence], weights: TermWeights, covered: Mapping[int, set[str]],
         held: Mapping[int, set[str]], dense_floor: float, coverage_floor: float,
         meaning: Meaning | None) -> str | None:
    """relevance_gap given each item's focus terms it covers (by id) and those it holds as written
    (`held`: a name is held only so, and a specific term is checked for its sense, see in_sense)."""
    focus = focus_words(question)
    specific = {t for t in focus if weights.weight(t) >= _SPECIFIC}
    names = [name for name in question_names(question, evidence) if not _field_acronym(name, weights)]
    ranked = sorted(((*_coverage(focus, covered[id(item)], weights), _dense(item), item) for item in evidence),
                    key=lambda row: (-row[0], -row[2]))
    named_terms = {term for name in names for term in term_words(name)}
    asked_of_names = {t: w for t, w in focus.items() if t not in named_terms}  # what the question asks of them
    asks_more = named_terms and sum(weights.weight(t) for t in asked_of_names) >= _ASKED_OF_A_NAME
    unnamed: list[tuple[Evidence, list[str]]] = []  # relevant items but for a name they lack
    unasked: list[Evidence] = []  # relevant items holding the names and nothing asked of them
    for coverage, missing, dense, item in ranked:
        holds_focus = (not specific or coverage >= _FOCUS_WITHOUT_SPECIFIC or bool(specific & covered[id(item)]))
        carried = dense >= _STRONG_SIMILARITY and coverage >= _PARTIAL_COVERAGE
        if carried or (dense >= dense_floor and coverage >= coverage_floor and holds_focus
                       and (meaning is None
                            or in_sense(question, item, specific & held[id(item)], meaning.sentences))):
            lacking = unheld_names(names, paper_as_read(item.paper, item.text), held[id(item)])
            if lacking:
                unnamed.append((item, lacking))
            elif asks_more and not asked_of_names.keys() & covered[id(item)]:
                unasked.append(item)  # "MM1 on video question answering": MM1's paper says nothing of video
            else:
                return None
    if unnamed:
        item, lacking = unnamed[0]
        return (f"no indexed paper names all of {', '.join(names)}; the closest, {item.paper.key}, "
                f"does not name {', '.join(lacking)}")
    if unasked:
        return (f"no indexed paper says what the question asks of {', '.join(names)}; the closest, "
                f"{unasked[0].paper.key}, holds none of {', '.join(sorted(asked_of_names.values()))}")
    coverage, missing, dense, item = ranked[0]
    if dense >= dense_floor and coverage >= coverage_floor:  # close, but not on the question's focus
        return (f"no indexed paper addresses the question's specific terms ({', '.join(sorted(focus[t] for t in specific))}); "
                f"the closest, {item.paper.key}, has similarity {dense:.2f} and {coverage:.0%} of its key terms"
                + (f" but lacks {', '.join(missing[:5])}" if missing else ""))
    return (f"no indexed paper is close enough to the question; the closest, {item.paper.key}, has "
            f"similarity {dense:.2f} (floor {dense_floor:.2f}) and {coverage:.0%} of its key terms "
            f"(floor {coverage_floor:.0%})" + (f", lacking {', '.join(missing[:5])}" if missing else ""))


# A paper is on a topic when it is this close to it, and not far below the best match: breadth
# (a related-work section, "who works on X") without the papers that merely share a word.
_FLOOR_BELOW_BEST = 0.22
_NEARLY_ALL = 0.8  # share of the topic's key terms that lets a paper in without its rarest one
TOPIC_PAPERS = 25  # papers read for a topic's breadth, before the bar


def on_topic(topic: str, item: Evidence, weights: TermWeights, *, dense_floor: float, coverage_floor: float) -> bool:
    """Whether a paper is on the topic: close to it in meaning (dense_floor), holding enough of
    its key terms, as `ask` requires of the evidence it answers from, holding its most specific
    term unless it holds nearly all ("pseudo-labeling for ASR" leaves out an ASR paper that never
    mentions pseudo-labels), and saying each of its compounds (says_compounds)."""
    focus = focus_words(topic)
    coverage, missing = question_coverage(topic, item, weights)
    rarest = max(focus, key=weights.idf) if focus else None
    holds_rarest = rarest is None or focus[rarest] not in missing or coverage >= _NEARLY_ALL
    close = (item.dense_score or 0.0) >= dense_floor or _title_names(focus, item.paper) or _says_whole(topic, item)
    return close and coverage >= coverage_floor and holds_rarest and says_compounds(topic, item)


def _says_whole(topic: str, item: Evidence) -> bool:
    """Whether the item says the topic of two content words or more as one phrase, hyphens or
    spaces aside ("mixture-of-experts" in ChipChat's "speech recognition with mixture-of-experts"):
    it is on the topic however far a short topic's meaning is from the rest of its abstract."""
    if sum(bool(content_terms(word)) for word in _NAME_WORD.findall(topic)) < 2:
        return False
    return _says_phrase(topic, paper_as_read(item.paper, item.text))


def holds_every_word(phrase: str, item: Evidence, acronym: str = "") -> bool:
    """Whether the item holds every content word of `phrase` (anywhere), or the acronym `phrase`
    stands for: a paper on mixture of experts that never says ASR is not on "mixture of experts for ASR"."""
    held = held_terms(phrase, item)
    return bool(content_terms(acronym) & held) or content_terms(phrase) <= held


def said_whole(phrase: str, papers: Iterable[Paper]) -> bool:
    """Whether some paper says `phrase` as one phrase (hyphens or spaces aside, its last word in
    any form): "streaming ASR" is a thing the papers name, "reducing latency in streaming ASR" is
    not; "large language model" is said by no paper saying "large" here and "language model" there."""
    return any(_says_phrase(phrase, paper_as_read(paper, paper.abstract or "")) for paper in papers)


def _says_phrase(phrase: str, text: str) -> bool:
    return bool(_compound("-".join(_NAME_WORD.findall(phrase))).search(text))


def _title_names(focus: Mapping[str, str], paper: Paper) -> bool:
    """Whether a paper's title names the topic whose focus terms are `focus`: holds each of them
    ("Sparse Mixture-of-Experts"), or the acronym its abstract defines for them ("Revisiting MoE
    and ..." after "Mixture-of-Experts (MoE)"). Such a paper is on the topic however far a short
    topic's meaning is from its abstract's: "mixture of experts" left out both of these."""
    title = paper.title or ""
    if not focus or not title:
        return False
    if focus.keys() <= content_terms(title):
        return True
    written = acronym_words(title)
    return any(content_terms(long_form) == focus.keys() and (acronym in written or f"{acronym}s" in written)
               for long_form, acronym in defined_acronyms(paper.abstract))


def says_compounds(topic: str, item: Evidence) -> bool:
    """Whether the item says each hyphenated compound of the topic as one thing, hyphens or
    spaces aside, or the field's phrase for it (equivalents.txt): a paper on "text-to-speech"
    writes "text-to-speech" (and defines "TTS" so) or "speech synthesis". A speech model that
    reads "text" and "speech" apart is not on it: "list the papers on text-to-speech" listed 26
    papers, VoiceTextBlender and Granite-speech among them, where 8 say it."""
    compounds = _compounds(topic)
    if not compounds:
        return True
    text = paper_as_read(item.paper, item.text)
    field = equivalent_terms(topic, text)
    return all(_compound(word).search(text) or content_terms(word) <= field for word in compounds)


# Between two media a "to" makes one thing ("speech to text"); "robustness to noise" is two.
_MEDIA = r"(?:text|speech|audio|image|video|sequence|end|voice)"
_A_TO_B = re.compile(rf"\b{_MEDIA} to {_MEDIA}\b", re.IGNORECASE)


@lru_cache(maxsize=256)  # a topic is read once, not once for each paper judged on it
def _compounds(topic: str) -> tuple[str, ...]:
    """The topic's compounds of two content words or more: "on-device" is "device" however
    written, "RNN-T" "RNN". "Text to speech" is the compound "text-to-speech" with spaces."""
    written = [*_NAME_WORD.findall(topic), *(m.replace(" ", "-") for m in _A_TO_B.findall(topic))]
    return tuple(word for word in written if sum(bool(content_terms(part)) for part in word.split("-")) > 1
                 and not any(ch.isdigit() for ch in word) and not _LIKENESS.search(word))


@cache
def _compound(word: str) -> re.Pattern[str]:
    """"text-to-speech" as written in a text: "text-to-speech", "text to speech"; "pre-training"
    also as "pretraining"; its last word in any form ("pseudo-labels", "pseudo-labeling")."""
    *pieces, last = word.lower().split("-")
    return re.compile(r"\b" + r"[\s-]*".join([*map(re.escape, pieces), re.escape(stem(last)) + r"\w*"]),
                      re.IGNORECASE)


def papers_on_topic(topic: str, found: Sequence[Evidence], weights: TermWeights, *,
                    relevance_floor: float, coverage_floor: float) -> list[Evidence]:
    """The retrieved papers on the topic (on_topic), in retrieval order, none far below the best match."""
    cut = topic_floor(found, relevance_floor)
    return [e for e in found if on_topic(topic, e, weights, dense_floor=cut, coverage_floor=coverage_floor)]


def topic_floor(found: Sequence[Evidence], relevance_floor: float) -> float:
    """The similarity a paper needs to be on a topic: not far below the best match `found`."""
    return max([relevance_floor] + [(e.dense_score or 0.0) - _FLOOR_BELOW_BEST for e in found])


# -- what words mean: a question's words said otherwise, or held in another sense ----------------

def in_sense(question: str, item: Evidence, terms: set[str], embed: Embed) -> bool:
    """Whether the item says the question's `terms` in the question's sense: a sentence of its
    text holding one of them resembles the question (_SAME_SENSE), or none holds them (its title,
    its authors or the field's phrase for them do); a term it writes as a name (capitalised
    inside a sentence: "we present Granary, a large-scale collection ...") has one sense:
    "how many hours is granary" read 0.16 from that sentence, and was refused as a question the
    papers do not address. Sentences are embedded as the extractive drafter quotes them, so that
    its answer reuses their vectors."""
    quoted = quotes(item.text)
    terms = terms - {term for quote in quoted for term in _names_written(quote)}
    sentences = [quote for quote in quoted if content_terms(quote) & terms]
    if not sentences:
        return True
    vectors = embed([question, *sentences])
    return float((vectors[1:] @ vectors[0]).max()) >= _SAME_SENSE


def _names_written(sentence: str) -> set[str]:
    """The content terms of the words a sentence capitalises past its first word ("Granary",
    not "Multi-task" opening it)."""
    return {term for word in WORD.findall(sentence)[1:] if word[0].isupper() for term in term_words(word)}


@dataclass(frozen=True)
class Meaning:
    """The vectors the gate compares meanings with: of single words (similar_terms) and of the
    question and evidence sentences (in_sense)."""

    words: Embed
    sentences: Embed


def gate_meaning(embedder: Embedder, sentences: Embed) -> Meaning | None:
    """The gate's vectors when `embedder` is the shipped MiniLM, whose cosines _WORD_SIMILARITY
    and _SAME_SENSE describe (None for another embedder: the gate then reads words as written).
    `sentences` should be the answer's own embed function, so that its drafter reuses the
    vectors; words have a process-wide memory of their own (_WORDS_REMEMBERED): a refusal
    compares up to ~90 words, which would push the answers' sentences out of theirs."""
    if embedder.name != MINILM_NAME:
        return None
    return Meaning(remembered(embedder, "words", _WORDS_REMEMBERED), sentences)


# Words an answering process keeps vectors of (~1.5 KB each): more than all of evals/questions
# bring to the gate (~1,600; the seed abstracts hold ~3,300 distinct words).
_WORDS_REMEMBERED = 8192


def similar_terms(question: str, evidence: Sequence[Evidence], held: Mapping[int, set[str]],
                  weights: TermWeights, embed: Embed) -> dict[int, set[str]]:
    """For each of the items near the question's topic (_NEAR_TOPIC), the focus terms it lacks
    (not in `held`) but says in a word close in meaning (_WORD_SIMILARITY): "photos" by
    "images", "mic" by "microphone"; by item id. Words are compared alone, each embedded once
    (all in one call); an item's words are its title's and its text's rarest among the papers
    (_ITEM_WORDS), not its authors'."""
    focus = focus_words(question)
    nearest = [item for item in evidence if _dense(item) >= _NEAR_TOPIC]
    lacked = {id(item): [t for t in focus if t not in held[id(item)] and weights.weight(t) > 0] for item in nearest}
    words = {id(item): _item_words(item, weights) for item in nearest if lacked[id(item)]}
    if not words:
        return {}
    asked = sorted({focus[t] for item in nearest for t in lacked[id(item)]})
    every = list(dict.fromkeys(asked + [w for ws in words.values() for w in ws]))
    vector = dict(zip(every, embed(every)))
    similar: dict[int, set[str]] = {}
    for key, said in words.items():
        closeness = np.stack([vector[w] for w in said]) @ np.stack([vector[focus[t]] for t in lacked[key]]).T
        similar[key] = {t for t, best in zip(lacked[key], closeness.max(axis=0)) if best >= _WORD_SIMILARITY}
    return similar


def _item_words(item: Evidence, weights: TermWeights) -> list[str]:
    """A word for each content term of the item's title and each of its text's _ITEM_WORDS terms
    rarest among the papers: what the paper is about, in its own words."""
    said = term_words(printable(item.text))
    rarest = sorted(said, key=lambda t: (-weights.idf(t), t))[:_ITEM_WORDS]
    return sorted(set(term_words(printable(item.paper.title or "")).values()) | {said[t] for t in rarest})


def _dense(item: Evidence) -> float:
    return item.dense_score if item.dense_score is not None and not math.isnan(item.dense_score) else -1.0


def refusal_statement(question: str, evidence: Sequence[Evidence], weights: TermWeights) -> str:
    """"The indexed papers do not address <the question's focus>; the closest are <papers>."

    The focus is the question from its first specific term on, up to its first clause break
    ("How do I do speaker diarization, i.e. ..." -> "speaker diarization"). The closest papers
    are those similar to the question and holding some of its focus terms, best covered first;
    none are named when there are none.
    """
    focus = _focus_phrase(question, weights)
    statement = f"The indexed papers do not address {focus}" if focus else REFUSAL.rstrip(".")
    closest: list[Evidence] = []
    for coverage, _, _, item in sorted(((*question_coverage(question, e, weights), _dense(e), e) for e in evidence),
                                       key=lambda row: (-row[0], -row[2])):
        if coverage > 0 and _dense(item) >= _NEAR_TOPIC and item.paper.key not in {c.paper.key for c in closest}:
            closest.append(item)
    if not closest:
        return statement + "."
    names = [f"{_mid_sentence(attribution(e.paper))}, \u201c{e.paper.label}\u201d" for e in closest[:_CLOSEST]]
    listed = names[0] if len(names) == 1 else "; ".join(names[:-1]) + "; and " + names[-1]
    return f"{statement}; the closest {'is' if len(names) == 1 else 'are'} {listed}."


def _mid_sentence(subject: str) -> str:
    """An attribution inside a list: "a 2024 study (arXiv:...)", "one study"; names stay as they are."""
    return subject[0].lower() + subject[1:] if subject.startswith(("A ", "One study")) else subject


def _focus_phrase(question: str, weights: TermWeights) -> str:
    """The question's first clause from the run of focus words holding its first specific term."""
    clause = re.split(r",|;|\bi\.e\.|\be\.g\.|\?|\(", question)[0]
    focus = focus_words(clause)
    if not focus:
        return ""
    threshold = min(_SPECIFIC, max(weights.idf(t) for t in focus))
    words = list(WORD.finditer(clause))
    is_focus = [any(t in focus for t in term_words(w.group())) for w in words]
    for i, word in enumerate(words):
        if any(t in focus and weights.idf(t) >= threshold for t in term_words(word.group())):
            while i > 0 and is_focus[i - 1]:
                i -= 1
            if i > 0 and words[i - 1].group().lower() in ("the", "a", "an"):  # "the boiling point of ..."
                i -= 1
            phrase, doing_on = _HOW_IT_DOES.subn("", clause[words[i].start():])
            phrase = phrase.strip().rstrip(".!")
            # "how many GPUs does pathways use" has no noun phrase to name, nor "how does whisper
            # deal with hallucinations" (its subject after "does", a verb after it): the question is quoted.
            before = clause[:words[i].start()]
            if _ASKS_HOW_TO.match(before) and not _INNER_VERB.search(phrase):
                return f"how to {phrase}"  # "how do I reset the teacher ...": "how to reset the teacher ..."
            asks_of_subject = not doing_on and _ASKS_OF_SUBJECT.match(before)
            return f"\u201c{clause.strip()}\u201d" if asks_of_subject or _INNER_VERB.search(phrase) else phrase
    return ""


# An auxiliary inside the focus phrase makes it a clause ("GPUs does pathways use"), no topic.
_INNER_VERB = re.compile(r"\s(?:does|do|did|is|are|was|were|has|have|had|can|could|will|would|should)\s",
                         re.IGNORECASE)


# A question asking how the asker does something, up to the verb: "how do I ", "how can we ".
_ASKS_HOW_TO = re.compile(r"^\s*how\s+(?:do|can|should|could|would|might)\s+(?:i|we|you|one)\s+$", re.IGNORECASE)
# A question asking what its subject does, up to the subject: "how does ", "what WER does " (not
# "How do I do ", whose subject is the asker).
_ASKS_OF_SUBJECT = re.compile(r"^\s*(?:how|what|which|why|where|when)(?:\s+(?!(?:does|do|did|i|we|you)\b)\S+){0,2}"
                              r"\s+(?:does|do|did|can|could|will|would|should)\s+$", re.IGNORECASE)


# "how does MM1 do on video QA" is about "MM1 on video QA".
_HOW_IT_DOES = re.compile(r"\b(?:do|does|did|perform|performs|fare|fares)\s+(?=(?:on|at|in)\b)", re.IGNORECASE)
