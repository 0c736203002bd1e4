"""LaTeX in BibTeX fields -> Unicode text, through pylatexenc.

pylatexenc takes ~4 ms for an abstract and ~0.2 ms for a name, so a 10,000-entry library
would spend a minute in it. Only the LaTeX spans of a field (a macro with its braced
arguments, a brace group holding a macro) go through it, each distinct span once; the rest
of the field only loses its grouping braces.
"""

from __future__ import annotations

import re
from functools import lru_cache

_MACRO_SPAN = re.compile(
    r"\{[^{}\\]*\\[^{}]*\}"  # a group holding a macro: {\"u}, {\.Z}, {\aa}, {\em word}
    r"|\\[a-zA-Z]+\*?(?:(?:\s*\{[^{}]*\})+|[ \t]*)"  # \textit{word}, \url{...}, \o (a space ends it)
    r"|\\[^a-zA-Z\s](?:\{[^{}]*\}|\\[a-zA-Z]+[ \t]*|[a-zA-Z])?"  # \"u, \'{e}, \"\i, \&, \%
    r"|\\"  # a lone backslash at the end
)
_MATH = re.compile(r"(?<!\\)\$(?:[^$\\]|\\.)*\$")  # $...$, where an escaped \$ is a dollar sign


@lru_cache(maxsize=1)
def _converter():
    from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

    # Zotero writes "<" and ">" as {\textless} and {\textgreater}, which pylatexenc does not know;
    # pylatexenc makes \textasciicircum a modifier letter (U+02C6) rather than "^".
    context = get_default_latex_context_db()
    context.add_context_category("zotero", prepend=True,
                                 macros=[MacroTextSpec("textless", "<"), MacroTextSpec("textgreater", ">"),
                                         MacroTextSpec("textasciicircum", "^")])
    return LatexNodes2Text(math_mode="verbatim", latex_context=context)


@lru_cache(maxsize=65536)
def _span_to_text(span: str) -> str:
    return _converter().latex_to_text(span)


def _ungroup(text: str) -> str:
    return text.replace("{", "").replace("}", "").replace("~", " ")


def _decode_outside_math(text: str) -> str:
    """Grouping braces and ties go; what a macro decodes to (\\{, \\textasciitilde) stays."""
    if "\\" not in text:
        return _ungroup(text)
    pieces, last = [], 0
    for span in _MACRO_SPAN.finditer(text):
        pieces += [_ungroup(text[last:span.start()]), _span_to_text(span.group(0))]
        last = span.end()
    return "".join(pieces) + _ungroup(text[last:])


def latex_to_text(value: str) -> str:
    """`{\\"u}ber {ASR} \\& 50\\%` -> `über ASR & 50%`, whitespace collapsed; $math$ kept as written."""
    if "$" not in value:
        decoded = _decode_outside_math(value)
    else:
        pieces, last = [], 0
        for math in _MATH.finditer(value):
            pieces += [_decode_outside_math(value[last:math.start()]), math.group(0)]
            last = math.end()
        decoded = "".join(pieces) + _decode_outside_math(value[last:])
    return " ".join(decoded.split())


def verbatim(value: str) -> str:
    """A URL, DOI or identifier: grouping braces and escapes (`\\_`, `\\%`, `\\&`, `\\#`) removed."""
    return re.sub(r"\\([_%&#$~])", r"\1", value.replace("{", "").replace("}", "")).strip()
