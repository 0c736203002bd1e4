"""What kind of sentence answers a question: a definition for "what is X", a figure (counted in
the measure asked) for "how much", a method for "how does", a finding for "does X help?", else
any sentence holding its terms.
The extractive drafter ranks sentences by it, and a model's sentences are held to it
(on_question.py)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

from ..text import STOPWORDS, stem, without_versions
from .attribution import is_finding
from .relevance import focus_words


# What "what <measure> ..." asks a figure of ("what WER", "what LibriSpeech word error rate").
_MEASURES = r"(?:wer|word\s+error|accuracy|score|percentage|speed|latency|size|number|improvement)"


class Asked:
    """What kind of sentence answers a question: a definition, a figure, a method, a finding, or any."""

    DEFINITION, FIGURE, METHOD, FINDING, ANY = "definition", "figure", "method", "finding", "any"

    # "What is X", "what's X", "what does X do", and where X comes from: "which paper introduced
    # the Conformer?" is answered by the sentence that proposes it, not by its WER.
    _DEFINITION = re.compile(r"^\s*(?:what|who)(?:\s+(?:is|are|was|were)\s+|['’]s\s+)"
                             r"(?!the\s+(?:best|most|effect|impact|role|difference))"
                             r"|^\s*what\s+(?:does|do|did)\s+.+?\s+(?:stand\s+for|mean|do)\s*\??\s*$"
                             r"|^\s*(?:define|explain)\s"
                             r"|^\s*(?:which|what)\s+(?:paper|papers|work|study)\s+(?:first\s+)?"
                             r"(?:introduced?|proposed?|presented?|coined|came\s+up\s+with)\b"
                             r"|^\s*who\s+(?:first\s+)?(?:introduced|proposed|invented|came\s+up\s+with|coined)\b"
                             r"|^\s*where\s+(?:does|do|did)\s+.+?\s+come\s+from\b", re.IGNORECASE)
    _FIGURE = re.compile(r"\bhow\s+(?:much|many|fast|slow|low|high|good|well|big|large|small|little|accurate|often|long"
                         r"|badly|far|quickly)\b|\b(?:is|are|was|were|does|do|did)\b[^?]*\b(?:faster|slower|cheaper|smaller|larger"
                         r"|more\s+accurate)\s+than\b"
                         # "what LibriSpeech WER", "what's the WER for X" (not "what is WER?", a definition)
                         rf"|\bwhat\s+(?:(?!(?:is|are|was|were|does|do|did)\b)[\w-]+\s+){{0,2}}?{_MEASURES}\b"
                         rf"|\bwhat(?:['’]s|\s+(?:is|are|was|were))\s+the\s+(?:[\w-]+\s+)?{_MEASURES}\b.{{0,80}}?\s(?:of|for|on)\s"
                         r"|\bby\s+how\s+much\b"
                         r"|\bhow\s+(?:does|do|did)\s+.*\bcompare\b", re.IGNORECASE)
    # "what does the entropy collapse paper propose?" asks its proposal, a method.
    _METHOD = re.compile(r"^\s*how\s+(?:does|do|did|is|are|can|could|should|would)\b|\bhow\s+to\b"
                         r"|\bwhat\s+(?:method|technique|approach)"
                         r"|^\s*what\s+(?:does|do|did)\s+.+?\s+(?:propose|introduce|present|contribute)\s*\??\s*$",
                         re.IGNORECASE)

    # Whether something has an effect: "does combining self-training with pre-training help ASR?",
    # "do bigger speech models keep getting better?", "soft or hard labels - which works better?",
    # "is more speakers better than more hours?" (where "faster than" asks for the figure).
    # Answered by what a paper found, not by what it set out to do. "Does slimIPL use a language
    # model?" or "does the library have papers on X?" ask no finding.
    _FINDING = re.compile(r"^\s*(?:does|do|did)\b[^?]*?\b(?:help|helps|improve|improves|matter|matters|hurt|hurts"
                          r"|work|works|scale|scales|hold\s+up|holds\s+up|pay\s+off|transfer|generali[sz]e"
                          r"|beat|beats|outperform|outperforms|keep\s+getting|get\s+better|make\s+a\s+difference)\b"
                          r"|\bwhich\s+(?:one\s+)?(?:works|is|does|performs|matters|helps)\s+(?:better|best|more|most)\b"
                          r"|\bor\s+(?:just|only)\b|\b(?:is|are|was|were)\b[^?]*\b(?:better|worse)\s+than\b"
                          r"|\b(?:is|are|was|were)\b[^?]*\bas\s+good\s+as\b",
                          re.IGNORECASE)

    @classmethod
    def of(cls, question: str) -> str:
        if cls._FIGURE.search(question):
            return cls.FIGURE
        if cls._DEFINITION.search(question):
            return cls.DEFINITION
        if cls._METHOD.search(question):
            return cls.METHOD
        if cls._FINDING.search(question):
            return cls.FINDING
        return cls.ANY


_DEFINES = re.compile(r"\b(?:we\s+(?:introduce|propose|present|call|term|name|dub|design|develop|build)|is\s+(?:a|an)\b"
                      # a reported proposal: "Gulati et al. (2020) propose ...", "This paper introduces ..."
                      r"|(?:et\s+al\.(?:\s+\(\d{4}\))?|paper|work|study)\s+(?:propose|introduce|present)s?\b"
                      r"|are\s+(?:a|an)\b|called|termed|named|dubbed|refers?\s+to|stands?\s+for|consists?\s+of"
                      # "We denote the pathologically low attention entropy ... as entropy collapse"
                      r"|denote\b[^.;]{0,120}?\sas)\b"
                      # an apposition after a name: "AXLearn, a production deep learning system"
                      r"|\b(?-i:[A-Z][\w-]*[A-Z0-9][\w-]*),\s+(?:a|an)\s", re.IGNORECASE)
# A sentence naming what the one before described: "We call this model Omni-router Transformer".
_NAMES_ONLY = re.compile(r"\bwe\s+(?:call|term|name|dub)\s+(?:this|these|it|them|such)\b", re.IGNORECASE)
# After the name, what the thing is: "We call it X, a model that routes tokens ...".
_SAYS_WHAT = re.compile(r",\s+(?:a|an|which|that|where)\b", re.IGNORECASE)
_FIGURE_IN = re.compile(r"(?<![\w.])\d[\d.,]*(?:\+|%|×|x\b)?(?![\w])|\d[\d.,]*\s*(?:[kKMB]|ms|hours?)\b|\bsub-second\b"
                        r"|\b(?:two|three|four|five|six|seven|eight|nine|ten|several)\s+(?:times|million|thousand|hundred)\b")
_HOW = re.compile(r"\b(?:we\s+(?:propose|introduce|present|develop|use|apply|replace|reparametri[sz]e|combine|train|add)"
                  r"|by\s+(?:\w+ly\s+)?\w+ing|through|via|using|uses|where"  # "by directly replacing ..."
                  r"|which\s+(?:uses|applies|replaces|combines|encourages))\b",
                  re.IGNORECASE)
# The paper's own method, proposed: the answer to "how does X ..." before a sentence only saying
# how something was done or studied ("we investigate the training dynamics ... by examining ...").
_PROPOSES = re.compile(r"\bwe\s+(?:propose|introduce|present|develop|design)\b"
                       r"|(?:et\s+al\.(?:\s+\(\d{4}\))?|(?:this|our|the\s+present)\s+(?:paper|work|study))"
                       r"\s+(?:propose|introduce|present)s?\b", re.IGNORECASE)
# A sentence of the kind asked by a lesser sign (a method said only by a manner marker, a finding
# only by its figure) fits this much of one saying it outright: still of the kind (KIND_FIT), after it.
_LESSER_SIGN = 0.85
# A finding stated as one: "we find that ...", "our findings suggest ...", "results show ...".
_FOUND = re.compile(r"\b(?:we\s+(?:also\s+)?(?:find|found|observe|conclude|show|demonstrate)\s+that"
                    # "experiments across language, vision, and speech show that ..."
                    r"|(?:results?|findings|experiments|analysis|analyses|evaluations?)\b[^.;]{0,80}?"
                    r"\b(?:show|suggest|reveal|indicate|demonstrate|confirm)(?:s|ed)?"
                    r"|outperform\w*|surpass\w*|(?:is|are)\s+complementary)\b", re.IGNORECASE)
# A paper's closing verdict ("Our results demonstrate the effectiveness of X ...") names its
# subject without saying what it is or does.
_VERDICT = re.compile(r"\b(?:demonstrate|show|confirm|highlight)s?\s+the\s+(?:effectiveness|efficacy|potential|benefits?|importance)\b"
                      r"|\bpaving\s+the\s+way\b", re.IGNORECASE)


# "What LibriSpeech WER does training without word order reach?": the figure asked (before
# the verb) and what it is of (after it); "what is the WER of X" puts the figure after the verb;
# "what relative WER improvement comes from fusing X with Y" ends the figure at its measure.
_FIGURE_OF = [re.compile(pattern, re.IGNORECASE) for pattern in (
    r"^\s*what(?:['’]s|\s+(?:is|are|was|were))\s+the\s+(?P<figure>[^?]+?)\s(?:of|for)\s(?P<of>[^\n]+)",
    r"^\s*(?:what|which|how\s+(?:much|many))\b(?P<figure>.*?)\b(?:does|do|did|is|are|was|were|can|could|has|have)\b"
    r"(?P<of>[^\n]+)",
    rf"^\s*(?P<figure>what\s+(?:[\w-]+\s+){{0,2}}?{_MEASURES}(?:\s+(?:rates?|improvements?|reductions?|gains?))*)\b(?P<of>[^\n]+)")]


def figure_of(question: str) -> dict[str, str]:
    """The focus terms of what a figure question asks the figure of, those of the figure itself
    aside: {training, word, order} in "What LibriSpeech WER does training without word order
    reach?". Empty when the question asks no figure, asks two things, or is not phrased so."""
    match = _figure_match(question)
    if not match:
        return {}
    figure = focus_words(match["figure"])
    return {term: word for term, word in focus_words(match["of"]).items() if term not in figure}


def _figure_match(question: str) -> re.Match[str] | None:
    """The question read as a figure and what it is of (_FIGURE_OF), when it asks one figure."""
    parts = asked_parts(question)
    if len(parts) != 1 or parts[0].asked != Asked.FIGURE:
        return None
    return next(filter(None, (pattern.match(question) for pattern in _FIGURE_OF)), None)


def figure_asked(question: str) -> tuple[str, str] | None:
    """The figure a question asks, as it words it, after its article: ("the", "WER") for "what WER
    does Whisper get?", ("the number of", "parameters") for "how many parameters does X have?";
    None when it words none."""
    match = _figure_match(question)
    words = " ".join(re.sub(r"^\s*what\b|[^\w\s-]", " ", match["figure"], flags=re.IGNORECASE).split()) if match else ""
    if not words:
        return None
    start = question.lstrip().lower()
    return ("the number of" if start.startswith("how many") else "the amount of" if start.startswith("how much")
            else "the"), words


# A figure asked as a rate ("what WER", "what accuracy") is a percentage: "trained on 1M hours"
# gives no WER of Whisper.
_RATE = re.compile(r"\b(?:wers?|cers?|error\s+rates?|accuracy|accuracies)\b", re.IGNORECASE)
_PERCENTAGE = re.compile(r"\d\s*%|\bper\s*cent", re.IGNORECASE)


def figure_test(question: str) -> Callable[[str], bool]:
    """Whether a sentence states a figure of the kind a figure question asks: a percentage for a
    rate ("what WER"), a count in the units asked ("how many hours" -> "680,000 hours"), else any
    figure (a version is none). The question is read once, for the sentences tested after."""
    figure = figure_asked(question)
    if figure and _RATE.search(figure[1]):
        return lambda sentence: bool(_PERCENTAGE.search(sentence))
    [part] = asked_parts(question)[:1] or [None]
    units = part.units if part is not None else frozenset()

    def gives(sentence: str) -> bool:
        # "pictures" may be "18k images": only known units are all there are.
        if units and (part.units_known or _counts_in(sentence, units)):
            return _counts_in(sentence, units)
        return _kinds(sentence)[1]

    return gives


# Where a question asks a second thing: "how many languages does it cover, and which LLM ...".
_SECOND_QUESTION = re.compile(r",?\s+and\s+(?=(?:which|what|how|why|where|when|who|on\s+what|by\s+how|is|are|does|do)\b)"
                              r"|[;?]\s+", re.IGNORECASE)


# "how much audio", "how many parameters": the measure a figure must be of to answer. Audio is
# counted in hours; anything else in its own word ("how many languages" -> "... 100+ languages").
_MEASURE = re.compile(r"\bhow\s+(?:much|many)((?:\s+[^\W\d_]+){1,3})", re.IGNORECASE)
_UNITS_OF = {"audio": ("hour", "minute"), "speech": ("hour", "minute"), "data": ("hour", "minute", "token"),
             "recording": ("hour", "minute"), "param": ("param", "parameter"), "parameter": ("param", "parameter")}
# A count of parameters written as one token: "3B", "1.5B" (not "12M", which may count hours).
_BILLIONS = re.compile(r"\d+(?:\.\d+)?b")
_COMPARATIVES = frozenset("""faster slower better worse more less fewer larger smaller bigger lower higher cheaper
longer shorter""".split())
_NUMBER_WORDS = frozenset("""two three four five six seven eight nine ten eleven twelve fifteen twenty thirty fifty
hundred hundreds thousand thousands million millions billion billions dozen dozens several""".split())
# Words after a number before its unit: "12 million (M) hours", "60K hours of English".
_UNIT_REACH = 3


@dataclass(frozen=True)
class Part:
    """One thing a question asks: the kind of sentence that answers it, its focus terms, and for
    a figure, the units it is counted in (empty: any figure) and whether those are all there are
    (audio is counted in hours; "pictures" may be "18k images")."""

    asked: str
    subject: frozenset[str]
    units: frozenset[str] = frozenset()
    units_known: bool = False


def asked_parts(question: str) -> list[Part]:
    """What each part of the question asks for, its focus terms, and the units of its figure."""
    parts = [p for p in _SECOND_QUESTION.split(question) if p.strip()] or [question]
    return [Part(asked, frozenset(focus_words(p)), *(_units(p) if asked == Asked.FIGURE else (frozenset(), False)))
            for p in parts for asked in [Asked.of(p)]]


def _units(question: str) -> tuple[frozenset[str], bool]:
    """The stems a figure answering `question` is counted in ("how much audio" -> hours), none
    when it asks "how much faster" or "how many does"; and whether they are the measure's only
    units (else the measure's own word, which a paper may put otherwise)."""
    measure = _MEASURE.search(question)
    words = measure.group(1).lower().split() if measure else []
    if not words or words[0] in STOPWORDS or words[0] in _COMPARATIVES:
        return frozenset(), False
    # "how much training data": the measure is the noun a known unit counts, else the last word
    # before the verb or preposition ("how many european languages does ..." counts languages,
    # "how many language pairs do ..." pairs, "how many hours of audio" hours).
    head = list(itertools.takewhile(lambda w: w not in STOPWORDS, words))[-1]
    term = next((stem(w) for w in words if stem(w) in _UNITS_OF), stem(head))
    return frozenset(map(stem, _UNITS_OF.get(term, (term,)))), term in _UNITS_OF


# The answer_fit of a sentence of the kind asked: a definition, a figure in the measure asked, a
# method or a finding, naming the question's subject (1.0; any other sentence 0.7 or less). Compared only
# when every part asks a kind (asks_a_kind): a part asking nothing in particular fits up to 1.0.
KIND_FIT = 0.9


def asks_a_kind(parts: Sequence[Part]) -> bool:
    """Whether every part of the question asks for a kind of sentence (a definition, a figure, a
    method, a finding): a part asking nothing in particular is fitted by any sentence holding its terms."""
    return all(part.asked != Asked.ANY for part in parts)


def answer_fit(parts: Sequence[Part], sentence: str, terms: frozenset[str]) -> float:
    """How much `sentence` (its content terms `terms`) is the kind of sentence some part of the
    question asks for (0..1)."""
    return max(_fit(part, sentence, terms) for part in parts)


def _fit(part: Part, sentence: str, terms: frozenset[str]) -> float:
    """A definition that names the subject, a figure (of the measure asked), a method, a finding,
    or else the part's terms; a closing verdict answers none."""
    subject = part.subject
    names_subject = bool(subject & terms) if subject else True
    defines, figure, how, verdict = _kinds(sentence)
    if part.asked == Asked.DEFINITION:
        # "We call this model Omni-router Transformer" names it; what "this model" is, it leaves
        # to the sentence before.
        fit = (0.6 * (defines and not names_only(sentence)) + 0.4) * names_subject
    elif part.asked == Asked.FIGURE:
        # "five language pairs" counts what was asked; "1/7-th the size of Whisper's set" is no
        # amount of audio; "18k images" may be the pictures asked for.
        if part.units and _counts_in(sentence, part.units):
            amount = 1.0
        else:
            amount = 0.0 if part.units_known else figure * (0.5 if part.units else 1.0)
        fit = 0.7 * amount + 0.3 * names_subject
    elif part.asked == Asked.METHOD:
        fit = (0.6 * how + 0.4) * names_subject
    elif part.asked == Asked.FINDING:
        # A result said as a finding, before a result given only by its figure (still of the kind
        # asked); a figure describing a thing ("It contains over 60K hours of audio") finds nothing.
        found = 1.0 if _FOUND.search(sentence) else _LESSER_SIGN if figure and is_finding(sentence) else 0.0
        fit = (0.6 * found + 0.4) * names_subject
    else:  # asked for nothing in particular: the sentence that holds that part's terms
        fit = 0.3 + 0.7 * (len(subject & terms) / len(subject) if subject else 0.3)
    return fit * (0.3 if verdict else 1.0)


@lru_cache(maxsize=4096)
def _counts_in(sentence: str, units: frozenset[str]) -> bool:
    """Whether a number in `sentence` is followed, within _UNIT_REACH words, by one of `units`
    ("3B" counts parameters by itself). A number after a name is a version ("PaLM 2 language
    model"), not a count; a capital opening the sentence is no name ("Over 60K hours")."""
    written = [w for w in (w.rstrip(".") for w in re.findall(r"[\w.+%]+", sentence)) if w]  # "languages." too
    words = [stem(w.lower()) for w in written]

    def version(i: int) -> bool:
        before = written[i - 1] if i else ""
        return bool(before) and (i > 1 and before[0].isupper() or any(c.isupper() for c in before[1:]))

    return any(("param" in units and _BILLIONS.fullmatch(w))
               or ((w[0].isdigit() or w in _NUMBER_WORDS) and not version(i) and units & set(words[i + 1:i + 1 + _UNIT_REACH]))
               for i, w in enumerate(words))


# A question asking only what a thing is or how it works: "what is LoRA?", "how does FastEmit work?".
_BARE_SUBJECT = re.compile(r"^\s*(?:what(?:['’]s|\s+is|\s+are)|how\s+(?:does|do))\s+(?:the\s+|an?\s+)?"
                           r"(?P<subject>[\w-]+(?:\s[\w-]+){0,2}?)(?:\s+work)?\s*\??\s*$", re.IGNORECASE)


def bare_subject(question: str) -> str | None:
    """What a question asks only what it is or how it works ("LoRA" in "what is LoRA?"), else None."""
    match = _BARE_SUBJECT.match(question)
    return match["subject"] if match else None


@lru_cache(maxsize=256)
def _saying_what(subject: str) -> re.Pattern[str]:
    name = re.escape(subject)
    aside = r"(?:\s*\([^()]{0,60}\))?"  # "LoRA (low-rank adaptation)"
    return re.compile(rf"\b(?:propose|introduce|present|call|term|name|dub|design|develop|build|describe)[sd]?\s+"
                      rf"(?:[\w-]+\s+){{0,3}}?{name}\b|\b(?:called|termed|named|dubbed)\s+{name}\b"
                      rf"|\b{name}\b{aside},?\s+(?:is|are|was|refers\s+to|stands\s+for|consists\s+of)\s"
                      rf"|\b{name}\b{aside},\s+(?:a|an)\s", re.IGNORECASE)


def says_what(subject: str, sentence: str) -> bool:
    """Whether `sentence` says what `subject` is: proposes or names it ("we propose slimIPL",
    "called FastEmit"), or says it "is a" thing ("USM, a single large model ..."). "A novel SFT
    approach on the low-rank adaptation (LoRA) of the LLM backbone" only uses LoRA."""
    return bool(_saying_what(subject).search(sentence))


def names_only(sentence: str) -> bool:
    """Whether a sentence only names what the one before described ("We call this model
    Omni-router Transformer"): no definition, and no answer read alone. "We call it X, a model
    that routes tokens ..." goes on to say what X is."""
    return bool(_NAMES_ONLY.search(sentence)) and not _SAYS_WHAT.search(sentence)


@lru_cache(maxsize=4096)  # the same sentences are scored question after question
def _kinds(sentence: str) -> tuple[bool, bool, float, bool]:
    """Whether `sentence` defines, states a figure, how much it says how (a proposal 1, a manner
    marker alone _LESSER_SIGN, else 0), and whether it is a closing verdict."""
    how = 1.0 if _PROPOSES.search(sentence) else _LESSER_SIGN if _HOW.search(sentence) else 0.0
    return (bool(_DEFINES.search(sentence)), bool(_FIGURE_IN.search(without_versions(sentence))), how,
            bool(_VERDICT.search(sentence)))
