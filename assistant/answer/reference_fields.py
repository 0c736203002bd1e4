"""What the BibTeX and CSL-JSON exports both need from a Paper: names split the way reference
managers store them, and the full arXiv class of a subject code."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SUFFIXES = re.compile(r"^(jr|sr|[ivx]+)\.?$", re.IGNORECASE)
_PARTICLE = re.compile(r"^[a-z]")  # "van", "de", "von", "d'": lower-case words before the family name

# arXiv archives whose subject codes can be told from the code alone (listings give only the code).
_CS = {"AI", "AR", "CC", "CE", "CG", "CL", "CR", "CV", "CY", "DB", "DC", "DL", "DM", "DS", "ET", "FL", "GL", "GR",
       "GT", "HC", "IR", "IT", "LG", "LO", "MA", "MM", "MS", "NA", "NE", "NI", "OH", "OS", "PF", "PL", "RO", "SC",
       "SD", "SE", "SI"}
_ARCHIVE_OF = {code: "cs" for code in _CS} | {"AS": "eess", "IV": "eess", "SP": "eess", "SY": "eess", "ML": "stat"}


@dataclass(frozen=True)
class Name:
    """One author as a reference manager keeps it; `literal` for a name not to be split."""

    given: str = ""
    particle: str = ""  # "van" in "Ann van Dyk"
    family: str = ""
    suffix: str = ""  # "Jr"
    literal: str = ""


def split_name(name: str) -> Name:
    """"First von Last" or "First von Last, Jr" (how Paper.authors holds names) -> its parts.

    A one-word name, or one with a comma that is not before a suffix ("Google, Inc."), stays whole.
    """
    words, _, suffix = name.partition(",")
    suffix = suffix.strip()
    parts = words.split()
    if (suffix and not _SUFFIXES.match(suffix)) or len(parts) < 2:
        return Name(literal=" ".join(name.split()))
    given, rest = [parts[0]], parts[1:]
    while len(rest) > 1 and not _PARTICLE.match(rest[0]):
        given.append(rest.pop(0))
    particle = []
    while len(rest) > 1 and _PARTICLE.match(rest[0]):
        particle.append(rest.pop(0))
    return Name(given=" ".join(given), particle=" ".join(particle), family=" ".join(rest), suffix=suffix)


def primary_class(category: str | None) -> str | None:
    """"CL" -> "cs.CL", "AS" -> "eess.AS", "HEP-EX" -> "hep-ex"; None when the archive is unknown."""
    if not category:
        return None
    code = category.strip()
    if "-" in code or "." in code:  # already an archive ("hep-ex") or a full class ("cs.CL")
        return code.lower() if "." not in code else code
    archive = _ARCHIVE_OF.get(code.upper())
    return f"{archive}.{code.upper()}" if archive else None


def arxiv_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"
