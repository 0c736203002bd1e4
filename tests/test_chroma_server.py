"""Server mode, really: a `chroma run` process on a free port, ingested into and searched."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.errors import IndexStoreError
from assistant.index import chroma_store as store
from assistant.index.ingest import ingest
from assistant.index.manifest import read_manifest
from assistant.index.sources import recorded, sources_of
from assistant.resources import default_seeds_dir
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
    first = ingest(settings, replace=True)  # the server's library had other sources: start over from these
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


# --- the server holds the whole library: a second machine needs only the URL -----------------


def _server_state(url: str) -> dict[str, tuple]:
    """Every collection on the server with its item count, metadata and, for libraries, the record."""
    client = store.client_for(url, Path("/nonexistent"))
    state = {}
    for collection in client.list_collections():
        got = collection.get(include=["documents"]) if collection.name.endswith("-library") else None
        state[collection.name] = (collection.count(), collection.metadata, got and got["documents"])
    return state


def _machine(args: list[str], index_dir: Path, url: str, *extra: str) -> subprocess.CompletedProcess:
    """`assistant ARGS` in a fresh process, as on another machine: its own index dir, only the URL."""
    return subprocess.run([sys.executable, "-c", "from assistant.cli import main; main()", *args,
                           "--index", str(index_dir), "--chroma-url", url, *extra],
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def machine_a(seed_settings: Settings, chroma_server: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Machine A: the seed index ingested into the server's library "lab" (its own, so the other
    tests' ingests into the default library do not touch it), no vector re-computed."""
    local = tmp_path_factory.mktemp("machine-a")
    shutil.copy(seed_settings.index_dir / "manifest.json", local / "manifest.json")
    shutil.copytree(seed_settings.index_dir / "generations", local / "generations")
    settings = replace(seed_settings, index_dir=local, chroma_url=chroma_server, library="lab")
    assert ingest(settings).embedded == 0
    return settings


def test_a_second_machine_reads_the_library_from_the_server_alone(machine_a: Settings, tmp_path: Path,
                                                                  isolated_env) -> None:
    url, machine_a_dir = machine_a.chroma_url, machine_a.index_dir
    before = _server_state(url)
    machine_a = _machine(["papers", "--json"], machine_a.index_dir, url, "--library", "lab")
    machine_b = _machine(["papers", "--json"], tmp_path / "machine-b", url, "--library", "lab")
    assert machine_a.returncode == machine_b.returncode == 0, machine_b.stderr
    assert len(json.loads(machine_b.stdout)) == 122 and json.loads(machine_b.stdout) == json.loads(machine_a.stdout)
    assert "syncing from server" in machine_b.stderr  # a progress bar while it copies
    for query in QUERIES[:2]:
        a = _machine(["search", query, "-k", "5", "--json"], machine_a_dir, url, "--library", "lab")
        b = _machine(["search", query, "-k", "5", "--json"], tmp_path / "machine-b", url, "--library", "lab")
        assert a.returncode == b.returncode == 0 and json.loads(a.stdout) == json.loads(b.stdout)
        assert len(json.loads(b.stdout)) == 5
    assert _server_state(url) == before  # machine B wrote nothing to the server


def test_an_empty_library_on_the_server_says_to_ingest_and_writes_nothing(chroma_server: str, tmp_path: Path,
                                                                          isolated_env) -> None:
    before = _server_state(chroma_server)
    proc = _machine(["search", "speech"], tmp_path / "index", chroma_server, "--library", "nobody-ingested")
    assert proc.returncode == 2 and proc.stdout == "" and proc.stderr.count("\n") == 1
    assert "holds no library 'nobody-ingested'" in proc.stderr and "assistant ingest" in proc.stderr
    assert _server_state(chroma_server) == before


def test_libraries_share_a_server_and_clients_follow_each_new_generation(machine_a: Settings, small_seeds: Path,
                                                                         tmp_path: Path) -> None:
    from assistant.retrieve import indexed_papers

    lab = machine_a
    machine_a = replace(lab, index_dir=tmp_path / "a", seeds_dir=small_seeds, library="small")
    machine_b = replace(lab, index_dir=tmp_path / "b", seeds_dir=None, library="small")
    ingest(machine_a)
    served = open_retriever(machine_b)
    assert len(served.papers()) == 30
    assert [s.path for s in sources_of(recorded(machine_b))] == [str(small_seeds)]  # B sees A's sources
    assert len(indexed_papers(replace(lab, index_dir=tmp_path / "c"))) == 122
    (small_seeds / "003_7d3a09b3ba891a63.txt").unlink()
    ingest(machine_a)
    # B's open retriever notices the server's new generation and copies it before answering.
    assert {e.paper.source.split("#")[0] for e in served.search("speech", k=20)} == {
        "002_7714854e86322287.txt", "004_287f247ae8215fdb.txt"}
    assert len(served.papers()) == 20
    names = {c.name for c in store.client_for(machine_a.chroma_url, machine_a.index_dir).list_collections()}
    assert sum(name.startswith("papers.small-g") for name in names) == 2  # chunks + records of one generation
    # B, which holds only a copy (no vectors), ingests the listing back: the server's collection grows
    # in place by those papers' chunks alone, and A follows.
    shutil.copy(default_seeds_dir() / "003_7d3a09b3ba891a63.txt", small_seeds)
    report = ingest(machine_b)  # a bare ingest re-syncs the sources the server's library record names
    assert len(report.added) == 10 and report.embedded == report.stored < report.chunks
    assert len(open_retriever(machine_a).papers()) == 30
