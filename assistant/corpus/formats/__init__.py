"""The formats a library can come in, one module each, and detection: by extension, then content.

Export formats (BibTeX, RIS, CSL-JSON, arXiv Atom) are told by their extension or, for other
names (.txt, none), by how the text starts; anything else is read as one of the seed listing
layouts, whose detection names the file when nothing matches.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from ...errors import CorpusError
from . import arxiv_atom, bibtex, csl_json, listings, ris
from .parsed import Parsed, Problem

__all__ = ["FORMATS", "Parsed", "Problem", "decode", "detect_format", "parse_text"]

# In the order content detection tries them; listings are the fallback.
FORMATS = {"bibtex": bibtex, "ris": ris, "csl-json": csl_json, "arxiv-atom": arxiv_atom}


def decode(name: str, data: bytes) -> str:
    """Bytes of a library file as text, or a CorpusError saying why they are not usable."""
    if not data.strip():
        raise CorpusError(f"{name}: the file is empty", "remove it or add paper entries")
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):  # before UTF-16: its LE BOM starts the same
        return _decode_unicode(name, data, "utf-32")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_unicode(name, data, "utf-16")
    if b"\x00" in data[:8192]:
        raise CorpusError(f"{name}: this is a binary file, not a text listing or library export",
                          "remove it from the folder")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CorpusError(f"{name} line {line}: not UTF-8 text (byte {exc.start})",
                          "re-save the file as UTF-8") from None


def _decode_unicode(name: str, data: bytes, encoding: str) -> str:
    """Text with a UTF-16 or UTF-32 byte order mark (Windows' "Unicode" exports)."""
    try:
        return data.decode(encoding)  # the BOM tells the byte order and is dropped
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{name}: not valid {encoding.upper()} text (byte {exc.start})",
                          "re-save the file as UTF-8") from None


def detect_format(name: str, text: str) -> str:
    """"bibtex", "ris", "csl-json", "arxiv-atom" or "listing" (one of the seed layouts)."""
    suffix = Path(name).suffix.lower()
    for format_name, module in FORMATS.items():
        if suffix in module.EXTENSIONS:
            return format_name
    for format_name, module in FORMATS.items():
        if module.looks_like(text):
            return format_name
    return "listing"


def parse_text(name: str, text: str) -> Parsed:
    """Every entry of one file, and the entries it could not use; a CorpusError when the file as a
    whole is unusable (no format matches, a listing breaks, no entries at all)."""
    format_name = detect_format(name, text)
    parsed = FORMATS[format_name].parse(name, text) if format_name in FORMATS else listings.parse(name, text)
    if not parsed.papers and not parsed.problems:
        raise CorpusError(f"{name}: no paper entries found ({format_name})", "check the file's format")
    # An entry with neither title nor abstract has nothing to index or to show.
    empty = [p for p in parsed.papers if not p.title and not p.abstract]
    problems = parsed.problems + [
        Problem(name, "no title and no abstract", line=p.line,
                entry=p.user_key or p.arxiv_id or "#" + p.source.rsplit("#", 1)[-1])
        for p in empty
    ]
    return Parsed([p for p in parsed.papers if p.title or p.abstract], sorted(problems, key=lambda p: p.line or 0),
                  format_name)
