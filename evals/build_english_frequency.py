"""Write assistant/answer/english_frequency.txt: how common each content term is in general English.

    pip install wordfreq==3.1.1   # only to rebuild the file; the assistant reads the file alone
    .venv/bin/python evals/build_english_frequency.py

The relevance gate (assistant/answer/relevance.py) weighs a question's missing terms by how
rare they are in English: "never", "check", "produce" say how a question is phrased, "spiking",
"diarization" what it is about. A term's frequency is the sum over the English words that give
it (see assistant.text.term_words), on the Zipf scale (log10 of uses per billion words). Only
terms at or above ZIPF_FLOOR are written: rarer ones count as fully specific.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

from wordfreq import iter_wordlist, word_frequency

from assistant.text import term_words

OUT = Path(__file__).resolve().parents[1] / "assistant" / "answer" / "english_frequency.txt"
ZIPF_FLOOR = 4.0
HEADER = """\
# How common each content term (assistant.text.term_words) is in general English: "term zipf",
# zipf = log10 of uses per billion words, summed over the words giving the term; terms below {floor}
# are left out (rare). Written by evals/build_english_frequency.py from wordfreq 3.1.1's "large"
# English list. Derived from wordfreq data (c) Robyn Speer and contributors, licensed CC BY-SA 4.0
# (https://creativecommons.org/licenses/by-sa/4.0/); this file is under the same licence.
"""


def main() -> None:
    frequency: Counter[str] = Counter()
    for word in iter_wordlist("en", wordlist="large"):
        f = word_frequency(word, "en", wordlist="large")
        if f < 10 ** (ZIPF_FLOOR - 9) / 100:  # words this rare add nothing that reaches the floor
            break
        for term in term_words(word):
            frequency[term] += f
    rows = sorted((t, math.log10(f) + 9) for t, f in frequency.items()
                  if t.isalpha() and math.log10(f) + 9 >= ZIPF_FLOOR)
    OUT.write_text(HEADER.format(floor=ZIPF_FLOOR) + "".join(f"{t} {z:.1f}\n" for t, z in rows), encoding="utf-8")
    print(f"{len(rows)} terms -> {OUT}")


if __name__ == "__main__":
    main()
