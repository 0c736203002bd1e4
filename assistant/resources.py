"""Where the data that ships with the package lives: prompts, the seed corpus, the tokenizer.

`prompts/` and `seeds/` sit at the top of the repository; the wheel carries them inside the
package (see pyproject.toml). An editable install or a source checkout reads them in place.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def packaged_dir(name: str) -> Path:
    """The shipped directory `name` ("prompts", "seeds"): inside the wheel, else the checkout."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the package data directory {name!r} is missing; reinstall the package")


def default_seeds_dir() -> Path:
    return packaged_dir("seeds")


@cache
def prompt(name: str) -> str:
    """The text of prompts/<name>.txt (read once per process)."""
    return (packaged_dir("prompts") / f"{name}.txt").read_text(encoding="utf-8")
