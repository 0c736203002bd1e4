"""Chat history: sessions and their turns in one SQLite file under the data directory.

A turn is what the user asked (a question, a search, a related-work topic) and what came back,
as JSON (`Answer.to_dict()` for an answer). Nothing from Settings is ever written here, so an
API key cannot end up on disk through the history.

The schema is versioned: `MIGRATIONS[i]` takes a database from version i to i + 1, and opening a
store applies whatever migrations it is missing, inside one transaction each.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from ..errors import AssistantError

SESSIONS_FILE = "sessions.sqlite3"
_TITLE_CHARS = 80

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE turns (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        prompt TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX turns_by_session ON turns(session_id, id);
    """,
)


class HistoryError(AssistantError):
    """The session history cannot be read or written."""


@dataclass(frozen=True)
class StoredTurn:
    """A turn as the history keeps it (the chat shows it as a conversation `Turn` widget)."""

    kind: str  # "answer" | "search" | "related"
    prompt: str  # the question, query or topic as the user typed it
    payload: Any  # JSON-able result: Answer.to_dict(), a list of Evidence.to_dict(), ...


@dataclass(frozen=True)
class SessionSummary:
    id: str
    title: str
    created_at: float
    updated_at: float
    turns: int


def new_session_id() -> str:
    return uuid.uuid4().hex[:8]


class SessionStore:
    """Sessions on disk. Each call opens its own connection, so any thread may use the store."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Private like the manifest: questions and answers are the user's own. SQLite gives its
            # journal files the database's mode.
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            with self._connect() as db:
                self._migrate(db)
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(f"cannot open the chat history {path} ({exc})",
                               "check the data directory's permissions or move the file away") from None

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> "SessionStore":
        return cls(data_dir / SESSIONS_FILE)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection that commits on success, rolls back on error, and is always closed."""
        db = sqlite3.connect(self.path, timeout=5.0)
        try:
            db.execute("PRAGMA foreign_keys = ON")
            with db:
                yield db
        finally:
            db.close()

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = db.execute("SELECT version FROM schema_version").fetchone()
        version = row[0] if row else 0
        if version > len(MIGRATIONS):
            raise sqlite3.DatabaseError(f"schema version {version} is newer than this assistant knows")
        for target, script in enumerate(MIGRATIONS[version:], start=version + 1):
            db.executescript(f"BEGIN; {script}; DELETE FROM schema_version; "
                             f"INSERT INTO schema_version VALUES ({target}); COMMIT;")

    def schema_version(self) -> int:
        with self._connect() as db:
            return db.execute("SELECT version FROM schema_version").fetchone()[0]

    def _write(self, sql: str, params: tuple) -> None:
        try:
            with self._connect() as db:
                db.execute(sql, params)
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot write the chat history {self.path} ({exc})",
                               "check free disk space and the file's permissions") from None

    def has_session(self, session_id: str) -> bool:
        with self._connect() as db:
            return db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is not None

    def add_turn(self, session_id: str, turn: StoredTurn) -> None:
        """Append a turn; the session is created on its first turn and titled by it."""
        now = time.time()
        title = " ".join(turn.prompt.split())[:_TITLE_CHARS]
        try:
            with self._connect() as db:
                db.execute("INSERT OR IGNORE INTO sessions (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
                           (session_id, title, now, now))
                db.execute("UPDATE sessions SET updated_at = ?, title = CASE WHEN title = '' THEN ? ELSE title END "
                           "WHERE id = ?", (now, title, session_id))
                db.execute("INSERT INTO turns (session_id, kind, prompt, payload, created_at) VALUES (?, ?, ?, ?, ?)",
                           (session_id, turn.kind, turn.prompt, json.dumps(turn.payload, ensure_ascii=False), now))
        except sqlite3.Error as exc:
            raise HistoryError(f"cannot write the chat history {self.path} ({exc})",
                               "check free disk space and the file's permissions") from None

    def turns(self, session_id: str) -> list[StoredTurn]:
        with self._connect() as db:
            rows = db.execute("SELECT kind, prompt, payload FROM turns WHERE session_id = ? ORDER BY id",
                              (session_id,)).fetchall()
        return [StoredTurn(kind, prompt, json.loads(payload)) for kind, prompt, payload in rows]

    def sessions(self) -> list[SessionSummary]:
        """Sessions with at least one turn, the most recently used first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT s.id, s.title, s.created_at, s.updated_at, COUNT(t.id) FROM sessions s "
                "JOIN turns t ON t.session_id = s.id GROUP BY s.id ORDER BY s.updated_at DESC, MAX(t.id) DESC"
            ).fetchall()
        return [SessionSummary(*row) for row in rows]

    def latest_session(self) -> str | None:
        sessions = self.sessions()
        return sessions[0].id if sessions else None

    def delete_session(self, session_id: str) -> None:
        self._write("DELETE FROM sessions WHERE id = ?", (session_id,))
