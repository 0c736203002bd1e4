"""Server mode, really: a `chroma run` process on a free port, ingested into and searched."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.errors import IndexStoreError
from assistant.index import chroma_store as store
from assistant.index.ingest import ingest
from assistant.index.manifest import read_manifest
from assistant.retrieve import Filters, open_retriever
from fake_openai import free_port
from servers import ChromaServer

pytestmark = [pytest.mark.server, pytest.mark.slow]

QUERIES = ["which papers stabilize attention?", "semi-supervised speech recognition with unlabeled audio",
           "speech translation", "federated learning with non-IID client data"]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory):
    """A real Chroma server in a temporary directory; stopped by its PID."""
    with ChromaServer(tmp_path_factory.mktemp("chroma-server") / "db") as server:
        yield server.url


@pytest.fixture(scope="module")
def server_settings(seed_settings: Settings, chroma_server: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The seed index moved into the server: every chunk written there, no vector re-computed.

    The index dir (manifest, papers, BM25, kept vectors) is a copy of the session's embedded
    index; ingest with --chroma-url writes the whole corpus into the server from it.
    """
    local = tmp_path_factory.mktemp("server-index")
    shutil.copy(seed_settings.index_dir / "manifest.json", local / "manifest.json")
    shutil.copytree(seed_settings.index_dir / "generations", local / "generations")
    settings = replace(seed_settings, index_dir=local, chroma_url=chroma_server)
    with pytest.raises(IndexStoreError, match="lives in the embedded Chroma store.*assistant ingest"):
        open_retriever(settings)
    report = ingest(settings)
    assert report.papers == 122 and report.embedded == 0 and report.reused == report.chunks
    return settings


def test_server_search_matches_the_embedded_store(server_settings: Settings, seed_retriever) -> None:
    assert read_manifest(server_settings.index_dir).store == server_settings.chroma_url
    served = open_retriever(server_settings)
    for query in QUERIES:
        assert [e.chunk_id for e in served.search(query, k=5)] == [e.chunk_id for e in seed_retriever.search(query, k=5)]
        assert [round(e.dense_score, 4) for e in served.search(query, k=5)] == \
               [round(e.dense_score, 4) for e in seed_retriever.search(query, k=5)]
    filters = Filters.parse(year="2023", author="likhomanenko")
    assert [e.chunk_id for e in served.search("speech", k=5, filters=filters)] == \
           [e.chunk_id for e in seed_retriever.search("speech", k=5, filters=filters)]


def test_server_reingest_is_idempotent(server_settings: Settings) -> None:
    assert ingest(server_settings).up_to_date


def test_server_ingest_from_scratch_of_a_changed_corpus(server_settings: Settings, small_seeds: Path,
                                                       tmp_path: Path) -> None:
    settings = replace(server_settings, index_dir=tmp_path / "index", seeds_dir=small_seeds)
    first = ingest(settings)
    assert first.embedded == first.chunks and first.papers == 30
    (small_seeds / "003_7d3a09b3ba891a63.txt").unlink()
    second = ingest(settings)
    assert len(second.removed) == 10 and second.embedded == 0
    # The replaced generation's collection is deleted from the server, not left behind.
    names = {c.name for c in store.client_for(settings.chroma_url, settings.index_dir).list_collections()}
    assert f"papers-{second.generation}" in names and f"papers-{first.generation}" not in names
    assert {e.paper.source.split("#")[0] for e in open_retriever(settings).search("speech", k=20)} == {
        "002_7714854e86322287.txt", "004_287f247ae8215fdb.txt"}


def test_a_server_that_is_down_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "index", chroma_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(IndexStoreError, match="cannot reach the Chroma server.*chroma run"):
        ingest(settings, papers=[])
