"""Where the data that ships with the package lives: prompts, the seed corpus, the tokenizer.

`prompts/` and `seeds/` sit at the top of the repository; the wheel carries them inside the
package (see pyproject.toml). An editable install or a source checkout reads them in place.
A user's prompts directory (the `prompts_dir` setting) replaces shipped prompts by file name;
each prompt must use exactly the placeholders the code fills in (PROMPT_FIELDS).
"""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent

# Every prompt by name (prompts/<name>.txt) and the placeholders the code formats it with.
PROMPT_FIELDS: dict[str, frozenset[str]] = {
    "answer": frozenset({"evidence", "question", "sentinel"}),
    "answer_json": frozenset({"evidence", "question"}),
    "evidence": frozenset({"n", "key", "year", "label", "authors", "cite_as", "text"}),
    "judge": frozenset({"claim", "passages"}),
    "outline": frozenset({"topic", "papers"}),
    "related_work": frozenset({"evidence", "topic", "n_paragraphs", "theme_lines", "sentinel"}),
    "system": frozenset({"sentinel"}),
}
_user_prompts: Path | None = None  # set by use_prompts


def packaged_dir(name: str) -> Path:
    """The shipped directory `name` ("prompts", "seeds"): inside the wheel, else the checkout."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the package data directory {name!r} is missing; reinstall the package")


def default_seeds_dir() -> Path:
    return packaged_dir("seeds")


def placeholders(text: str) -> set[str]:
    """The names a prompt's str.format placeholders use ("{n}" -> "n"; "{{" is a literal brace)."""
    names = set()
    for _, name, _, _ in string.Formatter().parse(text):
        if name is not None:
            names.add(name.partition(".")[0].partition("[")[0])
    return names


def check_prompts(directory: Path) -> None:
    """Raise ValueError (one line, naming the file) unless every prompt file in `directory` is a
    known prompt using exactly its placeholders. Prompts it lacks stay the shipped ones."""
    if not directory.is_dir():
        raise ValueError(f"{directory} is not a directory")
    for path in sorted(directory.glob("*.txt")):
        if path.stem not in PROMPT_FIELDS:
            raise ValueError(f"{path} is no prompt the assistant uses; prompts are "
                             + ", ".join(f"{name}.txt" for name in PROMPT_FIELDS))
        try:
            used = placeholders(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read {path}: {exc}") from None
        except ValueError as exc:  # a lone "{" or "}": write literal braces as "{{" and "}}"
            raise ValueError(f"{path} is not a valid template ({exc}); write literal braces as {{{{ and }}}}") from None
        expected = PROMPT_FIELDS[path.stem]
        extra, missing = sorted(used - expected), sorted(expected - used)
        if extra:
            raise ValueError(f"{path} uses the placeholder {{{extra[0]}}}, which the assistant does not fill in; "
                             f"it fills in {_listed(expected)}")
        if missing:
            raise ValueError(f"{path} lacks the placeholder {{{missing[0]}}}; it must use {_listed(expected)}")


def _listed(names: frozenset[str]) -> str:
    return ", ".join(f"{{{name}}}" for name in sorted(names))


def use_prompts(directory: Path | None) -> None:
    """Read prompts from `directory` (checked with check_prompts) before the shipped ones; None: shipped only."""
    global _user_prompts
    if directory is not None:
        check_prompts(directory)
    _user_prompts = directory
    prompt.cache_clear()


@cache
def prompt(name: str) -> str:
    """The text of prompts/<name>.txt: the user's prompts directory's, else the shipped one (read once)."""
    if _user_prompts is not None and (_user_prompts / f"{name}.txt").is_file():
        return (_user_prompts / f"{name}.txt").read_text(encoding="utf-8")
    return (packaged_dir("prompts") / f"{name}.txt").read_text(encoding="utf-8")
