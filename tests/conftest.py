"""Shared fixtures: the shipped seeds indexed once per test session, and small corpora to change.

`seed_settings` points at a built index of the shipped seeds (read it, do not ingest into it);
`seed_retriever` is a Retriever over it. It is the one ingest the fast tier (`-m "not slow"`) pays
for: tests that ingest again or start servers, tmux or snapshots are marked `slow`. Tests that ingest use `small_seeds` (three of the five
listings, 30 papers) in their own index directory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.resources import default_seeds_dir



def pytest_configure(config: pytest.Config) -> None:
    """The suite never writes to the user's data directory (chat sessions, endpoints.json,
    chat.log): this process and every CLI it starts get a data home of their own."""
    os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="assistant-tests-data-")


# 30 papers over the three layouts with the shortest files: cheap to embed again and again.
SMALL_SEED_FILES = ("002_7714854e86322287.txt", "003_7d3a09b3ba891a63.txt", "004_287f247ae8215fdb.txt")


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose index_dir holds an index of the shipped seeds, built once per session."""
    from assistant.index.ingest import ingest

    settings = Settings(index_dir=tmp_path_factory.mktemp("seed-index"), seeds_dir=default_seeds_dir())
    ingest(settings)
    return settings


@pytest.fixture(scope="session")
def seed_retriever(seed_settings: Settings):
    from assistant.retrieve import open_retriever

    return open_retriever(seed_settings)


@pytest.fixture
def small_seeds(tmp_path: Path) -> Path:
    """A writable copy of three seed listings (30 papers)."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for name in SMALL_SEED_FILES:
        shutil.copy(default_seeds_dir() / name, seeds / name)
    return seeds


@pytest.fixture
def small_settings(tmp_path: Path, small_seeds: Path) -> Settings:
    """Settings for a fresh, empty index of `small_seeds` in this test's tmp dir."""
    return Settings(index_dir=tmp_path / "index", seeds_dir=small_seeds)


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No user config file or ASSISTANT_*/OPENAI_* variables leak into load_settings."""
    import os

    for name in list(os.environ):
        if name.startswith(("ASSISTANT_", "OPENAI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ASSISTANT_CONFIG", str(tmp_path / "no-config.toml"))
