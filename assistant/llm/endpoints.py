"""What the assistant has learnt about each endpoint, remembered in the data directory.

Servers speak different dialects of structured output, and some models cite better in one
format than another; finding out costs a request (or several answers), so what was found is
kept in `endpoints.json`, one record per endpoint and model:

    {"http://127.0.0.1:8080/v1 smollm2": {"dialect": "json_object", "formats": {"json": [3, 1]}}}

A file that cannot be read or written is no error: the assistant finds out again.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

FILE_NAME = "endpoints.json"


class EndpointMemory:
    """One endpoint and model's record; `remember` writes it back at once."""

    def __init__(self, data_dir: Path | None, base_url: str, model: str | None) -> None:
        self._path = data_dir / FILE_NAME if data_dir else None
        self.model = model
        self._key = f"{base_url.rstrip('/')} {model or ''}".strip()
        self.record: dict[str, Any] = self._read().get(self._key, {})

    def get(self, name: str, default: Any = None) -> Any:
        return self.record.get(name, default)

    def remember(self, name: str, value: Any) -> None:
        self.record[name] = value
        if self._path is None:
            return
        everything = self._read()
        everything[self._key] = self.record
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=self._path.parent, delete=False, encoding="utf-8",
                                             prefix=".endpoints-") as out:
                json.dump(everything, out, indent=2)
            os.replace(out.name, self._path)
        except OSError:
            pass  # not remembered: found out again next time

    def _read(self) -> dict[str, Any]:
        if self._path is None:
            return {}
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}
