"""Plain-text handling every layer shares: search tokens, content terms, stop words, the
sentence splitter, snippets and LaTeX-to-text for display.

Standard library only, and nothing from the rest of the package: corpus, index, retrieval and
answers all stand on it.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from functools import cache, lru_cache
from typing import Iterator, Sequence

# -- words -------------------------------------------------------------------------------------

# Recorded through the index manifest's corpus hash: a change to tokenize() (its stop words or
# stemmer included) means BM25 is rebuilt on the next ingest.
TOKENIZER = "text/v1"
# English function words, and the words that phrase a request rather than name its topic
# ("which papers did ... write about ...").
STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing done down during each few for from further
had has have having he her here hers him his how i if in into is it its itself just me more most
my no nor not now of off on once only or other our ours out over own same she should so some such
than that the their theirs them then there these they this those through to too under until up
upon very via was we were what when where which while who whom whose why will with within without
would you your
paper papers work works study studies propose proposes proposed approach method methods use uses
used using show shows shown write wrote written author authors find list give tell
""".split())
# A claim's boilerplate besides: hedges, connectives and how papers report work ("however",
# "may", "we present a novel method based on ..."). Search keeps these words: "new corpora",
# "how many languages" and "web-crawl corpus" find papers by them (dev-set recall drops without).
CLAIM_STOPWORDS = STOPWORDS | frozenset("""
able al allow allows approaches authored based coauthor coauthored collection corpus demonstrate
demonstrates describe discuss either et explain finds found get gets however indexed many may
mention might much must neither new novel per present presented presents reach reaches result
results several showed thus us various well whether writes yet
""".split())

# Numbers with their decimals ("2.3", "10.8") or a word (letters/digits: "wav2vec", "asr").
_TOKEN = re.compile(r"\d+(?:\.\d+)+|\w+")
_LATEX_COMMAND_NAME = re.compile(r"\\[a-zA-Z]+")
# A word with its inner apostrophes and hyphens ("self-attention", "model's").
WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_WORD_JOINT = re.compile(r"['’-]")
_SUFFIXES = ("ational", "ization", "ations", "ation", "izing", "ising", "ities", "ness", "ments", "ment",
             "ings", "ing", "ized", "ised", "izes", "ises", "ize", "ise", "ity", "ies", "ied", "ed", "ly", "s")
# Content terms compare a claim with its paraphrased source, so they match on a stem's first
# letters: "reparametrizes" meets "reparameterization".
_TERM_LETTERS = 6


@cache
def stem(word: str) -> str:
    """A light suffix stripper: enough to join inflections, never below a 4-letter stem."""
    if word.isdigit() or len(word) <= 4:
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            root = word[: -len(suffix)]
            if suffix == "s":
                if root.endswith(("s", "u", "i")):  # "loss", "focus", "analysis"
                    return word
                if root.endswith("e") and root[:-1].endswith(("ss", "sh", "ch", "x", "z")):  # "classes"
                    return root[:-1]
            return root + ("y" if suffix in ("ies", "ied") else "")
    return word


def fold(text: str) -> str:
    """Lower-case without accents: "Żelasko" and "Zelasko" are the same word to a reader."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def tokenize(text: str) -> list[str]:
    """Search tokens: folded, LaTeX commands and stop words out, numbers whole, words stemmed."""
    words = _TOKEN.findall(fold(_LATEX_COMMAND_NAME.sub(" ", text)))
    return [stem(w) for w in words if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def term_words(text: str) -> dict[str, str]:
    """Each content term of `text` (see content_terms) with the first word it came from."""
    return dict(_term_words(text))


def content_terms(text: str) -> set[str]:
    """Stemmed content words: what a sentence claims about, for overlap with its source."""
    return {term for term, _ in _term_words(text)}


# Answers look up the terms of the same abstracts and sentences question after question.
@lru_cache(maxsize=4096)
def _term_words(text: str) -> tuple[tuple[str, str], ...]:
    terms: dict[str, str] = {}
    for part in content_words(_NO_LONGER.sub(" ", text)):
        terms.setdefault(stem(_DIMENSIONS.get(part, part))[:_TERM_LETTERS], part)
    return tuple(terms.items())


# A comparative of a dimension is more of that dimension: "deeper vs wider" asks what "adding
# depth works better than width" answers, "longer inputs" what "sequence length" does. The
# adjective itself keeps its own sense ("deep learning", "a wide range").
_DIMENSIONS = {"deeper": "depth", "deepest": "depth", "wider": "width", "widest": "width",
               "longer": "length", "longest": "length", "broader": "breadth", "taller": "height"}
_NO_LONGER = re.compile(r"\b(?:no|any)\s+longer\b", re.IGNORECASE)  # "no longer requires": no length


def content_words(text: str) -> list[str]:
    """The content words of `text`, lower-case and in order, a compound as its parts
    ("self-attention" is "self" and "attention"), an acronym's plural as the acronym ("LLMs",
    "GPUs", "MoEs", "llms"): what content terms are stemmed from. A compound with a part too
    short to be a word on its own is also the whole, joined: "BL-JUST" is "bljust" (its parts are
    "bl" and the stop word "just"), "RNN-T" "rnn" and "rnnt", "n-gram" "gram" and "ngram"."""
    words = WORD.findall(_ACRONYM_PLURAL.sub(r"\1", text).lower())
    return [_singular_acronym(part) for word in words for part in _content_parts(word)]


def _content_parts(word: str) -> list[str]:
    """The parts of a word (split at hyphens and apostrophes) that are content words, and the
    hyphenated whole, joined, when one of its parts is too short to stand alone ("BL-JUST")."""
    kept = [part for part in _WORD_JOINT.split(word) if len(part) > 2 and _says_something(part)]
    pieces = word.split("-")
    if len(pieces) > 1 and any(len(piece) <= 2 and _says_something(piece) for piece in pieces):
        kept.append("".join(pieces))
    return kept


def _says_something(part: str) -> bool:
    return part not in CLAIM_STOPWORDS and not part.isdigit()


# An acronym's plural as written ("LLMs", "GPUs", "MoEs", "ViTs"); stem() leaves words of four
# letters alone, so "LLMs" never met "LLM". A two-letter acronym's plural stays one ("LMs" is
# "lms", as a question types it): its singular is too short to be a term.
_ACRONYM_PLURAL = re.compile(r"\b([A-Z][A-Za-z0-9]+[A-Z0-9])s\b")


def _singular_acronym(word: str) -> str:
    """A lower-case acronym's plural as the acronym: "llms", "cnns" (no English word of four
    letters ends in s after three consonants)."""
    return word[:3] if len(word) == 4 and word.endswith("s") and not set(word[:3]) & set("aeiouy") else word


# A number naming a version, not an amount: after a name, its capital inside or after the
# sentence's first word ("wav2vec 2.0", "PaLM 2", "Llama 3.1", "GPT-4", "ResNet-50"). Not a number
# with a unit or a counted noun after it ("LibriSpeech 960 hours", "Llama 3.1 8B" keeps its 8B),
# nor a metric's value ("WER 2.1", "BLEU 30.5").
_VERSION = re.compile(r"\b(?P<name>[^\W\d_]\w*)[ -]\d+(?:\.\d+)*\b"
                      r"(?!\s*(?:%|×|x\b)|[.,]\d|[\s-]*(?:hours?|h|minutes?|ms|seconds?|s|k|M|B|languages|points"
                      r"|layers|speakers|times|million|billion|percent)\b)")
_METRICS = frozenset("wer cer per ter bleu mos f1 eer auc top accuracy score rouge".split())


@lru_cache(maxsize=4096)
def without_versions(sentence: str) -> str:
    """`sentence` with the version numbers of names left out: what says a figure ("PaLM 2", "wav2vec
    2.0" say none) is read from what is left."""
    def version(match: re.Match[str]) -> str:
        name = match["name"]
        named = (any(ch.isupper() for ch in name[1:]) or any(ch.isdigit() for ch in name)
                 or name[0].isupper() and bool(sentence[:match.start()].strip()))
        return name if named and name.lower() not in _METRICS else match[0]

    return _VERSION.sub(version, sentence)


def joined(items: Sequence[str]) -> str:
    """Items as a reader lists them: "A", "A and B", "A, B and C"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# -- sentences ---------------------------------------------------------------------------------

# A citation marker: [3], [1, 3], [1;3], [2-4], [1–3]. The splitter keeps markers placed after a
# full stop with the sentence before them.
MARKER = re.compile(r"\[\s*(\d+(?:\s*[-–—]\s*\d+)?(?:\s*[,;]\s*\d+(?:\s*[-–—]\s*\d+)?)*)\s*\]")
# Terminal punctuation, closing quotes or brackets, and any markers after the full stop,
# followed by the space before the next sentence.
_BOUNDARY = re.compile(rf"[.!?]+[\"'”’)]*+(?:\s*{MARKER.pattern})*+(?=\s+\S)")
# Words that end in a full stop without ending the sentence ("et al.", "e.g.", "Fig. 2").
_ABBREVIATIONS = frozenset(
    "al eg ie cf vs etc fig figs eq eqs sec secs tab ref refs no nos vol pp ch approx resp viz "
    "incl esp dr mr mrs ms prof st jr sr inc ltd co".split()
)
_NEXT_WORD = re.compile(r"\S+")
_WORD_AT_END = re.compile(r"[^\W\d_][\w.]*$")


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, each keeping its citation markers; whitespace inside is left as
    is. Linear in the length of `text`: each boundary looks only at the words beside it."""
    return list(_sentences(text))


def first_sentence(text: str) -> str:
    """The opening sentence of `text`, without reading the rest; empty for blank text."""
    return next(_sentences(text), "")


def _sentences(text: str) -> Iterator[str]:
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if _is_sentence_end(text, match.start(), end):
            sentence = text[start:end].strip()
            if sentence:
                yield sentence
            start = end
    tail = text[start:].strip()
    if tail:
        yield tail


def _is_sentence_end(text: str, stop: int, end: int) -> bool:
    following = _NEXT_WORD.search(text, end).group()  # the boundary is followed by a word
    if following.islower() and following[:1].isalpha():  # "e.g. transformers", "et al. show"
        return False  # ("σReparam" or "iPhone" may start a sentence: not all lower case)
    if text[stop] != ".":
        return True
    # The word before the full stop: the run of word characters and dots ending there.
    start = stop
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] in "._"):
        start -= 1
    word = _WORD_AT_END.search(text, start, stop)
    if not word:
        return True
    token = word.group()
    if len(token) == 1 and token.isupper():  # an initial: "J. Smith"
        return False
    return token.replace(".", "").lower() not in _ABBREVIATIONS


def snippet(text: str, query: str, width: int = 240) -> str:
    """The sentence of `text` sharing the most search terms with `query`, cut to `width` characters
    and with its LaTeX rendered as text."""
    terms = set(tokenize(query))
    sentences = split_sentences(text) or [text]
    best = max(sentences, key=lambda sentence: len(terms & set(tokenize(sentence))))
    return textwrap.shorten(latex_to_text(best), width=width, placeholder=" ...")


# -- LaTeX -------------------------------------------------------------------------------------

# Markup whose argument is the text to show: "\textit{entropy collapse}" is "entropy collapse".
_LATEX_ARGUMENT = re.compile(
    r"\\(?:textit|textbf|textrm|texttt|textsc|textsf|text|emph|mathrm|mathbf|mathit|mathsf|mathtt|url)"
    r"\{([^{}]*)\}"
)
_LATEX_MATH_SHIFT = re.compile(r"(?<!\\)\$|\\[()]")
_LATEX_ESCAPE = re.compile(r"\\([%&#_$])")
_LATEX_BRACE = re.compile(r"(?<!\\)[{}]")
# Symbols a reader knows by their sign; arrows are often glued to the next word ("\rightarrowimage").
_LATEX_SYMBOLS = {
    "times": "×", "cdot": "·", "approx": "≈", "sim": "~", "pm": "±", "leq": "≤", "geq": "≥", "le": "≤",
    "ge": "≥", "neq": "≠", "infty": "∞", "sigma": "σ", "alpha": "α", "beta": "β", "gamma": "γ",
    "lambda": "λ", "mu": "μ", "tau": "τ", "epsilon": "ε", "rightarrow": "→", "leftarrow": "←",
}
_LATEX_SYMBOL = re.compile(r"\\(rightarrow|leftarrow|(?:" + "|".join(sorted(_LATEX_SYMBOLS, key=len, reverse=True))
                           + r")(?![a-zA-Z]))")
_LATEX_OTHER_COMMAND = re.compile(r"\\([a-zA-Z]+)")
_LATEX_TIE = re.compile(r"(?<=\S)~(?=\S)")  # "wav2vec~2.0": a space that does not break
_LATEX_QUOTES = (("``", "\u201c"), ("''", "\u201d"), ("`", "\u2018"))


def latex_to_text(text: str) -> str:
    """Listing text as a reader should see it: "$\\textit{x}$" is "x", "\\url{u}" is "u",
    "3\\%" is "3%", "6\\times" is "6×", "wav2vec~2.0" is "wav2vec 2.0", ``x'' is “x”, and
    grouping braces go.
    A command with no known meaning shows as its name ("\\pathmoe" is "pathmoe")."""
    previous = None
    while previous != text:  # nested markup, innermost first: "\textbf{\emph{x}}"
        previous, text = text, _LATEX_ARGUMENT.sub(r"\1", text)
    text = _LATEX_MATH_SHIFT.sub("", _LATEX_SYMBOL.sub(lambda m: _LATEX_SYMBOLS[m.group(1)], text))
    text = _LATEX_ESCAPE.sub(r"\1", _LATEX_OTHER_COMMAND.sub(r"\1", _LATEX_TIE.sub(" ", text)))
    for written, shown in _LATEX_QUOTES:
        text = text.replace(written, shown)
    return _LATEX_BRACE.sub("", text)


# -- terminal safety ---------------------------------------------------------------------------

# What a terminal would act on rather than show: escape sequences whole (CSI "ESC[31m", OSC
# "ESC]0;title BEL", their 8-bit forms "\x9b..." and "\x9d...", other two-byte ESC commands),
# then any other C0/C1 control character, DEL, and the bidirectional overrides that reorder what
# is shown. Tab and newline are layout, not commands, and stay.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"  # CSI: parameters, intermediates, final byte
    # OSC, DCS, SOS, PM, APC up to their terminator; unterminated, only the introducer goes
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]{0,2048}(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[ -/]*[0-~]?"  # any other ESC command (and an unterminated string's introducer)
)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAK = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")


def printable(text: str) -> str:
    """`text` as a terminal may show it: escape sequences and control characters removed, the
    text around them kept ("\\x1b[31mred\\x1b[0m" is "red"). Line breaks of any kind become
    "\\n"; tabs stay. Used at ingest and again at every output (CLI, chat, exports)."""
    return CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", _LINE_BREAK.sub("\n", text)))
