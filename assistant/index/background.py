"""A value built on a daemon thread, so a slow load (the ONNX session) overlaps other start-up work."""

from __future__ import annotations

import threading
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class Background(Generic[T]):
    def __init__(self, build: Callable[[], T], name: str = "background-load") -> None:
        self._result: T | None = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._result = build()
            except BaseException as exc:  # re-raised in the caller's thread by get()
                self._error = exc

        # A daemon thread: a process that exits early (an error) does not wait for the load.
        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()

    def get(self) -> T:
        """The value, once built; the build's exception if it failed."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]
