"""Text to search tokens: lower-cased, accents and LaTeX commands dropped, stop words out,
numbers kept whole ("2.3", "100"), plural and verb endings reduced so "stabilize" meets
"stabilizing". No third-party imports: the filters use fold() too.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

# Recorded through the manifest's corpus hash: a change here means BM25 is rebuilt on the next ingest.
TOKENIZER = "text/v1"
# Numbers with their decimals ("2.3", "10.8") or a word (letters/digits: "wav2vec", "asr").
_TOKEN = re.compile(r"\d+(?:\.\d+)+|\w+")
_LATEX_COMMAND = re.compile(r"\\[a-zA-Z]+")
# English function words, plus the words that phrase a request rather than name its topic
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
_SUFFIXES = ("ational", "ization", "ations", "ation", "izing", "ising", "ities", "ness", "ments", "ment",
             "ings", "ing", "ized", "ised", "izes", "ises", "ize", "ise", "ity", "ies", "ied", "ed", "ly", "s")


@cache
def _stem(word: str) -> str:
    """A light suffix stripper: enough to join inflections, never below a 4-letter stem."""
    if word.isdigit() or len(word) <= 4:
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            stem = word[: -len(suffix)]
            if suffix == "s":
                if stem.endswith(("s", "u", "i")):  # "loss", "focus", "analysis"
                    return word
                if stem.endswith("e") and stem[:-1].endswith(("ss", "sh", "ch", "x", "z")):  # "classes"
                    return stem[:-1]
            return stem + ("y" if suffix in ("ies", "ied") else "")
    return word


def fold(text: str) -> str:
    """Lower-case without accents: "Żelasko" and "Zelasko" are the same word to a reader."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def tokenize(text: str) -> list[str]:
    words = _TOKEN.findall(fold(_LATEX_COMMAND.sub(" ", text)))
    return [_stem(w) for w in words if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
