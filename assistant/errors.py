"""The one error type users see: a single line saying what went wrong and what to do.

Every layer raises a subclass of AssistantError for a problem the user can act on; the CLI and
the chat UI print `str(error)` and never a traceback.
"""

from __future__ import annotations


class AssistantError(Exception):
    """A failure the user can fix. `str()` is one line: the problem, then what to try."""

    def __init__(self, problem: str, hint: str | None = None) -> None:
        self.problem = problem
        self.hint = hint
        super().__init__(f"{problem}; {hint}" if hint else problem)


class CorpusError(AssistantError):
    """A library file that cannot be read or parsed."""


class IndexStoreError(AssistantError):
    """The index (Chroma or BM25) cannot be opened, built or queried."""


class BackendError(AssistantError):
    """The answer or embedding endpoint failed (down, slow, refused, garbage)."""


class InputError(AssistantError):
    """A question, filter or option the assistant cannot use as given."""
