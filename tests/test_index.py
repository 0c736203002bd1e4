"""The index layer: embedder, chunking, BM25 tokenizer, and ingest (idempotent, incremental, atomic)."""

from __future__ import annotations

import json
import os
import signal
import threading
import zlib
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant.corpus import load_corpus
from assistant.corpus.paper import Paper
from assistant.errors import AssistantError, BackendError, CorpusError, IndexStoreError
from assistant.index.embedder import MAX_CHARS, MiniLMEmbedder, RememberedVectors, get_embedder, remembered
from assistant.index.generation import all_generations
from assistant.index.ingest import ingest
from assistant.index.manifest import manifest_path, read_manifest
from assistant.index.reader import open_index
from assistant.resources import default_seeds_dir
from assistant.text import tokenize
from assistant.retrieve import open_retriever

QUERY = "which papers stabilize attention?"


def make_paper(key: str, abstract: str, **fields) -> Paper:
    values = dict(key=key, source=f"hand.txt#{key}", title=f"Title of {key}", authors=("Ada Lovelace",),
                  authors_truncated=False, year=2023, date=None, year_inferred=False, category="LG",
                  arxiv_id=None, comment=None, affiliations=(), abstract=abstract)
    values.update(fields)
    return Paper(**values)


def top_keys(settings: Settings, query: str = QUERY, k: int = 5) -> list[str]:
    return [e.paper.key for e in open_retriever(settings).search(query, k=k)]


# --- embedder -------------------------------------------------------------------------------


def test_embedder_rows_are_unit_float32_and_independent_of_batch_padding() -> None:
    embedder = get_embedder(Settings())
    alone = embedder.embed([QUERY])
    batched = embedder.embed(["a much longer neighbour sentence that forces padding " * 8, QUERY])
    assert alone.dtype == np.float32 and alone.shape == (1, embedder.dim) == (1, 384)
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    # Dynamic padding with an attention mask: a row does not depend on its batch neighbours.
    assert np.allclose(alone[0], batched[1], atol=1e-4)
    assert embedder.embed([]).shape == (0, 384)


def test_remembered_vectors_embed_each_text_once_and_forget_the_least_recently_used() -> None:
    calls: list[list[str]] = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)

    memory = RememberedVectors(embed, capacity=2)
    assert memory(["aa", "b", "aa"]).tolist() == [[2, 1], [1, 1], [2, 1]]
    memory(["aa", "ccc"])  # "aa" is used again, "ccc" is new: "b" is now the oldest and forgotten
    assert memory(["b", "aa"]).tolist() == [[1, 1], [2, 1]]
    assert calls == [["aa", "b"], ["ccc"], ["b"]]
    embedder = get_embedder(Settings())
    assert remembered(embedder) is remembered(embedder)


def test_embedder_ranks_related_text_above_unrelated() -> None:
    embedder = get_embedder(Settings())
    q, related, unrelated = embedder.embed([QUERY, "Preventing attention entropy collapse stabilizes training",
                                            "The boiling point of water at sea level"])
    assert q @ related > q @ unrelated + 0.2


def test_embedder_survives_a_100_kb_input() -> None:
    vector = get_embedder(Settings()).embed(["attention " * 10_000])
    assert vector.shape == (1, 384) and MAX_CHARS < 100_000


def test_embedder_refuses_a_model_file_with_the_wrong_hash(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not a model")
    with pytest.raises(IndexStoreError, match="sha256"):
        MiniLMEmbedder(fake)


def test_endpoint_embedder_without_an_endpoint_is_a_clear_error() -> None:
    with pytest.raises(BackendError, match="needs an OpenAI-compatible endpoint"):
        get_embedder(Settings(embedder="nomic-embed-text"))


# --- tokenizer and chunks -------------------------------------------------------------------


def test_bm25_tokenizer_keeps_numbers_and_acronyms_and_joins_inflections() -> None:
    tokens = tokenize("Which papers reach 2.3% WER on LibriSpeech? Stabilizing \\textit{ASR} stabilize")
    assert "2.3" in tokens and "wer" in tokens and "asr" in tokens and "librispeech" in tokens
    assert "which" not in tokens and "papers" not in tokens and "textit" not in tokens
    assert tokens.count(tokenize("stabilize")[0]) == 2


def test_chunks_carry_paper_metadata_and_fit_the_model_window() -> None:
    from assistant.index.chunking import _word_piece_counter, chunk_papers, embed_text
    from assistant.resources import default_seeds_dir

    papers = load_corpus(default_seeds_dir())
    nodes = chunk_papers(papers, Settings().retrieval)
    per_paper = {p.key: [n for n in nodes if n.ref_doc_id == p.key] for p in papers}
    assert all(1 <= len(chunks) <= 3 for chunks in per_paper.values())
    first = per_paper["zhai2023stabilizing"][0]
    assert first.metadata["year"] == 2023 and first.metadata["category"] == "LG"
    assert "tatiana likhomanenko" in first.metadata["authors"]
    assert embed_text(first).startswith("Stabilizing Transformer Training by Preventing Attention Entropy Collapse. "
                                        "Shuangfei Zhai et al. 2023.")
    count = _word_piece_counter()
    assert max(len(count(embed_text(n))) for n in nodes) <= 254  # + [CLS] and [SEP] = 256


def test_the_chunk_size_setting_cuts_smaller_chunks_and_names_a_new_chunker() -> None:
    from assistant.index.chunking import _word_piece_counter, chunk_papers, chunker_label
    from assistant.resources import default_seeds_dir

    papers = load_corpus(default_seeds_dir())[:10]
    small = replace(Settings().retrieval, chunk_tokens=64, chunk_overlap=8)
    assert len(chunk_papers(papers, small)) > len(chunk_papers(papers, Settings().retrieval))
    count = _word_piece_counter()
    assert max(len(count(n.text)) for n in chunk_papers(papers, small)) <= 64
    assert chunker_label(small) != chunker_label(Settings().retrieval)


# --- ingest ---------------------------------------------------------------------------------


def test_seed_index_holds_every_paper(seed_settings: Settings) -> None:
    manifest = read_manifest(seed_settings.index_dir)
    assert manifest is not None and manifest.papers == 122 and manifest.embedder == "all-MiniLM-L6-v2"
    assert manifest.dim == 384 and manifest.store == "embedded"


@pytest.mark.slow
def test_reingest_of_an_unchanged_corpus_adds_nothing(small_settings: Settings) -> None:
    first = ingest(small_settings)
    assert (first.papers, len(first.added), first.embedded) == (30, 30, first.chunks)
    before = sorted(p.name for p in (small_settings.index_dir / "generations").iterdir())
    again = ingest(small_settings)
    assert again.up_to_date and again.embedded == 0 and again.generation == first.generation
    assert sorted(p.name for p in (small_settings.index_dir / "generations").iterdir()) == before
    assert "up to date" in again.summary()
    # The chunking process this ingest started for nothing is gone again (it costs ~1 s of CPU).
    from assistant.index import chunk_worker

    chunk_worker.stop()
    ingest(small_settings)
    assert chunk_worker.running() is None


@pytest.mark.slow
def test_changing_one_file_re_embeds_only_its_changed_papers(small_settings: Settings, small_seeds: Path) -> None:
    first = ingest(small_settings)
    listing = small_seeds / "004_287f247ae8215fdb.txt"
    text = listing.read_text(encoding="utf-8")
    old_sentence = "This paper fills this gap"
    assert text.count(old_sentence) == 1
    listing.write_text(text.replace(old_sentence, "This paper closes the gap on warmup"), encoding="utf-8")

    second = ingest(small_settings)
    changed = [p for p in load_corpus(small_seeds) if "closes the gap on warmup" in p.abstract]
    assert [p.key for p in changed] == second.changed and second.added == second.removed == []
    # Only the changed paper's chunk(s) holding the edit were embedded again; the rest reused.
    assert 1 <= second.embedded <= 2 and second.reused == second.chunks - second.embedded
    assert second.chunks == first.chunks
    # The old generation is gone; its replacement answers.
    assert [g.name for g in all_generations(small_settings.index_dir)] == [second.generation]
    hits = open_retriever(small_settings).search("closes the gap on warmup", k=1)
    assert hits[0].paper.key == changed[0].key


@pytest.mark.slow
def test_added_and_removed_files(small_settings: Settings, small_seeds: Path) -> None:
    from assistant.resources import default_seeds_dir

    ingest(small_settings)
    (small_seeds / "003_7d3a09b3ba891a63.txt").unlink()
    report = ingest(small_settings)
    assert len(report.removed) == 10 and report.embedded == 0 and report.papers == 20
    (small_seeds / "003_7d3a09b3ba891a63.txt").write_bytes((default_seeds_dir() / "003_7d3a09b3ba891a63.txt").read_bytes())
    report = ingest(small_settings)
    assert len(report.added) == 10 and report.papers == 30
    # Vectors of removed papers are not kept, so the returning papers are embedded again.
    assert report.embedded > 0


@pytest.mark.slow
def test_a_failed_ingest_leaves_the_previous_index_answering(small_settings: Settings, small_seeds: Path) -> None:
    ingest(small_settings)
    before = top_keys(small_settings, "speech translation")
    manifest_before = manifest_path(small_settings.index_dir).read_bytes()
    listing = small_seeds / "002_7714854e86322287.txt"
    listing.write_text(listing.read_text(encoding="utf-8").replace("Training", "Teaching"), encoding="utf-8")

    def interrupt_while_storing(stage: str, done: int, total: int) -> None:
        if stage == "storing":
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-write

    with pytest.raises(KeyboardInterrupt):
        ingest(small_settings, on_progress=interrupt_while_storing)
    assert manifest_path(small_settings.index_dir).read_bytes() == manifest_before
    assert len(all_generations(small_settings.index_dir)) == 1  # the half-built one was removed
    assert top_keys(small_settings, "speech translation") == before
    # A file no parser reads fails before anything is touched, too.
    (small_seeds / "zz_broken.txt").write_bytes(b"\x00\x01\x02 binary \xff\xc3")
    with pytest.raises(CorpusError, match="zz_broken.txt"):
        ingest(small_settings)
    assert manifest_path(small_settings.index_dir).read_bytes() == manifest_before
    assert top_keys(small_settings, "speech translation") == before


@pytest.mark.slow
def test_a_killed_ingest_leaves_an_orphan_that_the_next_ingest_removes(small_settings: Settings) -> None:
    from assistant.index import chroma_store as store
    from assistant.index.generation import Generation

    ingest(small_settings)
    # What a SIGKILL mid-ingest leaves: a generation directory and its collection, never swapped in.
    orphan = Generation.new(small_settings.index_dir)
    orphan.write_info("embedded", f"papers-{orphan.name}")
    client = store.client_for("embedded", small_settings.index_dir)
    store.create_collection(client, "embedded", f"papers-{orphan.name}", {"generation": orphan.name})
    assert ingest(small_settings).up_to_date
    assert not orphan.path.exists()
    assert store.open_collection(client, "embedded", f"papers-{orphan.name}") is None


@pytest.mark.slow
def test_rebuild_re_embeds_everything(small_settings: Settings) -> None:
    first = ingest(small_settings)
    rebuilt = ingest(small_settings, rebuild=True)
    assert not rebuilt.up_to_date and rebuilt.embedded == first.chunks and rebuilt.generation != first.generation


@pytest.mark.slow
def test_corrupt_manifest_is_a_clear_error_and_rebuild_recovers(small_settings: Settings) -> None:
    ingest(small_settings)
    manifest_path(small_settings.index_dir).write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexStoreError, match="corrupt.*--rebuild"):
        open_index(small_settings)
    with pytest.raises(IndexStoreError, match="corrupt"):
        ingest(small_settings)
    assert ingest(small_settings, rebuild=True).papers == 30
    assert top_keys(small_settings, "speech translation")


def test_an_index_of_the_previous_format_asks_for_one_ingest_which_keeps_its_vectors(
        tmp_path: Path, isolated_env, monkeypatch, capsys) -> None:
    import sqlite3

    from test_config import run_cli

    settings = Settings(index_dir=tmp_path / "index")
    papers = [make_paper("gulati2020conformer", "A convolution-augmented transformer for speech recognition (ASR).",
                         title="Conformer: Convolution-augmented Transformer for Speech Recognition",
                         authors=("Anmol Gulati", "Ruoming Pang")),
              *(make_paper(f"p{i}2023x", f"Paper {i} uses a conformer for automatic speech recognition.")
                for i in range(5))]
    first = ingest(settings, papers=papers)
    # What the previous version left: a format-2 manifest, and tables without the vocabulary.
    manifest = json.loads(manifest_path(settings.index_dir).read_text(encoding="utf-8"))
    manifest_path(settings.index_dir).write_text(json.dumps(manifest | {"format": 2}), encoding="utf-8")
    with sqlite3.connect(settings.index_dir / "generations" / first.generation / "tables.sqlite3") as db:
        db.executescript("DROP TABLE names; DROP TABLE name_terms; DROP TABLE coined; DROP TABLE acronyms; "
                         "DROP TABLE authors;")
    with pytest.raises(IndexStoreError, match="older version") as raised:
        open_index(settings)
    assert "assistant ingest" in raised.value.hint
    code, out, err = run_cli(monkeypatch, capsys, "search", "conformer", "--index", str(settings.index_dir))
    assert code != 0 and out == "" and "older version" in err and err.count("\n") == 1
    updated = ingest(settings, papers=papers)
    assert not updated.up_to_date and updated.embedded == 0 and read_manifest(settings.index_dir).format == 3
    retriever = open_retriever(settings)
    assert retriever.named_papers("what is the Conformer?") == {"gulati2020conformer"}
    assert retriever.authors_in("what did Anmol Gulati write?") == ["Anmol Gulati"]
    assert ingest(settings, papers=papers).up_to_date


def test_unwritable_index_dir_is_a_clear_error(tmp_path: Path, small_seeds: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    settings = Settings(index_dir=blocker / "index", seeds_dir=small_seeds)
    with pytest.raises(IndexStoreError, match="cannot write the index directory.*--index"):
        ingest(settings)


def test_an_index_refuses_another_embedder(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "index")
    ingest(settings, papers=[make_paper("a2023x", "Attention entropy collapse."), make_paper("b2023y", "Speech.")])
    other = replace(settings, embedder="nomic-embed-text", base_url="http://127.0.0.1:9/v1")
    with pytest.raises(IndexStoreError, match="built with the embedder 'all-MiniLM-L6-v2'.*--rebuild"):
        open_index(other)
    with pytest.raises(IndexStoreError, match="--rebuild"):
        ingest(other, papers=[make_paper("a2023x", "Attention.")])


def test_hand_made_papers_and_duplicate_keys(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "index")
    with pytest.raises(CorpusError, match="share the citation key"):
        ingest(settings, papers=[make_paper("same", "One."), make_paper("same", "Two.")])
    assert read_manifest(settings.index_dir) is None


@pytest.mark.slow
def test_a_chunking_process_that_dies_fails_the_ingest_and_the_next_one_works(tmp_path: Path) -> None:
    from assistant.index import chunk_worker

    settings = Settings(index_dir=tmp_path / "index")
    papers = [make_paper(f"p{i}2023x", f"Paper {i} studies attention entropy.") for i in range(70)]
    ingest(settings, papers=papers[:10])
    before = read_manifest(settings.index_dir)

    def killed_after_the_first_batch(stage: str, done: int, total: int) -> None:
        if stage == "chunking":
            os.kill(chunk_worker.worker().pid, signal.SIGKILL)  # as the OOM killer would, between two batches

    with pytest.raises(IndexStoreError, match=r"the chunking process was killed \(signal 9\)"):
        ingest(settings, papers=papers, on_progress=killed_after_the_first_batch)
    assert read_manifest(settings.index_dir) == before  # the previous index still answers
    assert ingest(settings, papers=papers).chunked == 60  # a new chunking process serves the next ingest


@pytest.mark.slow
def test_an_interrupted_chunking_request_never_answers_the_next_one() -> None:
    from assistant.index import chunk_worker

    worker = chunk_worker.worker()
    papers = [make_paper("old2023x", "An old paper."), make_paper("new2024z", "A new paper.")]
    real_recv = worker._replies.recv

    def interrupted() -> None:
        worker._replies.recv = real_recv
        raise KeyboardInterrupt  # Ctrl-C after the request went out, before its reply came back

    worker._replies.recv = interrupted
    with pytest.raises(KeyboardInterrupt):
        worker.chunk(papers[:1], Settings().retrieval)
    assert [c.paper_key for c in chunk_worker.worker().chunk(papers[1:], Settings().retrieval)] == ["new2024z"]


@pytest.mark.slow
def test_a_chunker_that_cannot_load_says_so_and_how_to_fix_it(tmp_path: Path, monkeypatch) -> None:
    from assistant.index import chunk_worker

    broken = tmp_path / "broken" / "llama_index"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('a half-installed llama-index')\n")
    monkeypatch.setenv("PYTHONPATH", str(broken.parent))
    chunk_worker.stop()
    with pytest.raises(IndexStoreError, match="cannot load llama-index's sentence splitter.*half-installed.*pip install"):
        ingest(Settings(index_dir=tmp_path / "index"), papers=[make_paper("p2023x", "Attention entropy.")])
    assert chunk_worker.running() is None  # the failed ingest stopped the process it started


@pytest.mark.slow
def test_ingest_chunks_with_its_own_code_whatever_folder_it_runs_in(tmp_path: Path, monkeypatch) -> None:
    from assistant.index import chunk_worker

    # A project of the user's with an `assistant` package of its own, as the working directory.
    impostor = tmp_path / "project" / "assistant" / "index"
    impostor.mkdir(parents=True)
    for package in (impostor.parent, impostor):
        (package / "__init__.py").write_text("")
    (impostor / "chunk_worker.py").write_text("raise SystemExit(3)\n")
    monkeypatch.chdir(tmp_path / "project")
    chunk_worker.stop()
    report = ingest(Settings(index_dir=tmp_path / "index"), papers=[make_paper("p2023x", "Attention entropy.")])
    assert report.chunked == 1 and report.chunks == 1


@pytest.mark.slow
def test_first_search_on_an_empty_index_ingests_the_seeds(small_settings: Settings) -> None:
    stages: list[str] = []
    retriever = open_retriever(small_settings, on_progress=lambda stage, done, total: stages.append(stage))
    assert {"chunking", "embedding", "storing"} <= set(stages)
    assert len(retriever.papers()) == 30


@pytest.mark.slow
def test_a_missing_collection_is_a_clear_error(small_settings: Settings) -> None:
    from assistant.index import chroma_store as store

    ingest(small_settings)
    manifest = read_manifest(small_settings.index_dir)
    store.delete_collection(store.client_for("embedded", small_settings.index_dir), manifest.collection)
    with pytest.raises(IndexStoreError, match="missing.*--rebuild"):
        open_index(small_settings)
    # A plain ingest notices and rewrites the store from the kept vectors, embedding nothing.
    report = ingest(small_settings)
    assert not report.up_to_date and report.embedded == 0
    assert top_keys(small_settings, "speech translation")


# --- an OpenAI-compatible embeddings endpoint -------------------------------------------------


class _HashingEmbeddings(BaseHTTPRequestHandler):
    """/v1/embeddings with bag-of-words vectors: a real HTTP endpoint, no model. Words are bucketed by
    CRC-32, not hash(), which is salted per process: a salt that put "speech" in a bucket with the
    other paper's words made that paper the dense winner (a CI failure one run in many)."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        data = []
        for i, text in enumerate(body["input"]):
            vector = np.zeros(64)
            for word in text.lower().split():
                vector[zlib.crc32(word.encode()) % 64] += 1.0
            data.append({"object": "embedding", "index": i, "embedding": vector.tolist()})
        payload = json.dumps({"object": "list", "data": data, "model": body["model"],
                              "usage": {"prompt_tokens": 0, "total_tokens": 0}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def embeddings_endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HashingEmbeddings)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_endpoint_embedder_builds_an_index_and_rebuild_switches_back(tmp_path: Path, embeddings_endpoint: str) -> None:
    papers = [make_paper("a2023x", "attention entropy collapse in transformers"),
              make_paper("b2023y", "speech recognition with unlabeled audio")]
    settings = Settings(index_dir=tmp_path / "index", embedder="hash-embed", base_url=embeddings_endpoint)
    report = ingest(settings, papers=papers)
    assert read_manifest(settings.index_dir).embedder == "hash-embed" and read_manifest(settings.index_dir).dim == 64
    assert report.embedded == 2
    assert open_retriever(settings).search("speech recognition", k=1)[0].paper.key == "b2023y"
    minilm = replace(settings, embedder="minilm")
    with pytest.raises(IndexStoreError, match="hash-embed"):
        open_index(minilm)
    assert ingest(minilm, papers=papers, rebuild=True).embedded == 2
    assert read_manifest(settings.index_dir).embedder == "all-MiniLM-L6-v2"


def test_endpoint_down_is_a_backend_error(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "index", embedder="hash-embed", base_url="http://127.0.0.1:9/v1",
                        max_retries=0, timeout=2)
    with pytest.raises(AssistantError, match="embeddings endpoint"):
        ingest(settings, papers=[make_paper("a2023x", "text")])
    assert read_manifest(settings.index_dir) is None


@pytest.mark.slow
def test_an_open_retriever_follows_an_ingest_that_replaced_its_generation(small_settings: Settings,
                                                                          small_seeds: Path) -> None:
    ingest(small_settings)
    retriever = open_retriever(small_settings)
    assert retriever.search("speech translation", k=3)
    (small_seeds / "003_7d3a09b3ba891a63.txt").unlink()
    ingest(small_settings)  # deletes the generation the retriever read, collection and all
    results = retriever.search("speech translation", k=30)
    assert len(retriever.papers()) == 20
    assert all(not e.paper.source.startswith("003_") for e in results)


# --- growing in place, resuming, disk ----------------------------------------------------------


def _vector_segments(index_dir: Path) -> list[Path]:
    """The HNSW directories of the embedded Chroma store."""
    return [p for p in (index_dir / "chroma").iterdir() if p.is_dir()]


def test_adding_one_paper_stores_only_its_chunks(tmp_path: Path) -> None:
    from assistant.index import chroma_store as store

    settings = Settings(index_dir=tmp_path / "index")
    papers = [make_paper(f"p{i}2023x", f"Paper {i} studies attention entropy in layer {i}.") for i in range(40)]
    first = ingest(settings, papers=papers)
    added = make_paper("new2024z", "A new paper on speech recognition with unlabeled audio.")
    second = ingest(settings, papers=[*papers, added])
    assert second.added == ["new2024z"] and second.embedded == second.stored == 1 and second.chunks == 41
    # The collection grew in place and carries the new generation's name; nothing else is left.
    client = store.client_for("embedded", settings.index_dir)
    assert {c.name for c in client.list_collections()} == {f"papers-{second.generation}"}
    assert store.open_collection(client, "embedded", f"papers-{second.generation}").count() == 41
    assert top_keys(settings, "speech recognition with unlabeled audio", k=1) == ["new2024z"]
    # Changing and removing papers drops their old chunks from the collection after the swap.
    third = ingest(settings, papers=[make_paper("p02023x", "Rewritten: curriculum learning for speech."),
                                     *papers[2:], added])
    assert third.changed == ["p02023x"] and third.removed == ["p12023x"] and third.stored == 1
    assert store.open_collection(client, "embedded", f"papers-{third.generation}").count() == 40
    assert top_keys(settings, "curriculum learning for speech", k=1) == ["p02023x"]
    assert len(_vector_segments(settings.index_dir)) == 1 and first.generation != third.generation


@pytest.mark.slow
def test_an_incremental_add_searches_exactly_like_a_full_build(small_settings: Settings, small_seeds: Path,
                                                               tmp_path: Path) -> None:
    later = small_seeds / "004_287f247ae8215fdb.txt"
    aside = later.rename(tmp_path / later.name)
    ingest(small_settings)
    aside.rename(later)
    grown = ingest(small_settings)
    assert grown.added and not grown.changed and grown.stored < grown.chunks  # grown in place, not rebuilt
    full_settings = Settings(index_dir=tmp_path / "full", seeds_dir=small_seeds)
    full = ingest(full_settings)
    assert (full.papers, full.chunks) == (grown.papers, grown.chunks)

    # Every chunk a dense candidate: hybrid scores scale dense similarity by the weakest candidate's,
    # and an approximate (HNSW) search asked for every chunk may leave some out, depending on how
    # its graph was built; asked for all of them, the reader ranks every stored vector exactly.
    exhaustive = replace(small_settings.retrieval, depth=2 * full.chunks)
    incremental = open_retriever(replace(small_settings, retrieval=exhaustive))
    rebuilt = open_retriever(replace(full_settings, retrieval=exhaustive))
    for query in (QUERY, "speech recognition with unlabeled audio", "warmup learning rate schedule", "Likhomanenko"):
        for search in ("search", "dense_search", "bm25_search"):
            got = getattr(incremental, search)(query, k=8)
            want = getattr(rebuilt, search)(query, k=8)
            assert [e.chunk_id for e in got] == [e.chunk_id for e in want], (search, query)
            for a, b in zip(got, want):
                assert a.score == pytest.approx(b.score, abs=1e-5) and a.bm25_score == pytest.approx(b.bm25_score)


def test_bm25_scores_equal_those_of_bm25s_own_build() -> None:
    import bm25s

    from assistant.index.bm25 import Bm25Index

    documents = [tokenize(f"{p.title or ''}\n{p.abstract}") for p in load_corpus(default_seeds_dir())] + [[]]
    ours = Bm25Index.build(iter(documents))
    vocabulary: dict[str, int] = {}
    ids = [[vocabulary.setdefault(t, len(vocabulary)) for t in doc or ["<empty>"]] for doc in documents]
    model = bm25s.BM25()
    model.index((ids, vocabulary), show_progress=False)
    theirs = Bm25Index(model)
    for query in (QUERY, "speech recognition with unlabeled audio", "2.3% WER LibriSpeech", "nothing-indexed-here"):
        assert np.allclose(ours.scores(query), theirs.scores(query), rtol=1e-6, atol=1e-7)
        assert ours.full_match(query) == pytest.approx(theirs.full_match(query))


def test_adding_one_paper_chunks_embeds_and_stores_only_that_paper(tmp_path: Path, monkeypatch) -> None:
    from assistant.index import chroma_store as store
    from assistant.index.generation import Generation

    papers = [make_paper(f"p{i}2023x", f"Paper {i} studies attention entropy. It has a second sentence {i}.")
              for i in range(70)]  # more than one batch of papers
    settings = Settings(index_dir=tmp_path / "index")
    ingest(settings, papers=papers)
    stored: list[str] = []
    real_add = store.add
    monkeypatch.setattr(store, "add", lambda collection, label, ids, *rest: stored.extend(ids) or
                        real_add(collection, label, ids, *rest))
    added = make_paper("new2024z", "A new paper on speech recognition with unlabeled audio.")
    grown = papers[:35] + [added] + papers[35:]
    report = ingest(settings, papers=grown)
    assert report.added == ["new2024z"] and report.chunked == 1 and report.embedded == 1
    assert [store_id.split(":")[0] for store_id in stored] == ["new2024z"]
    # The copied rows make the same index as a fresh ingest of the grown library, in the same order.
    fresh = Settings(index_dir=tmp_path / "fresh")
    monkeypatch.undo()
    ingest(fresh, papers=grown)
    incremental, rebuilt = read_manifest(settings.index_dir), read_manifest(fresh.index_dir)
    assert incremental.chunks == rebuilt.chunks == 71
    assert Generation(settings.index_dir, incremental.generation).chunk_index() == \
        Generation(fresh.index_dir, rebuilt.generation).chunk_index()
    assert top_keys(settings, "speech recognition with unlabeled audio", k=1) == ["new2024z"]
    assert top_keys(settings, "attention entropy second sentence 52", k=1) == ["p522023x"]


@pytest.mark.slow
def test_replaced_collections_leave_no_hnsw_directory_behind(small_settings: Settings) -> None:
    for _ in range(3):
        ingest(small_settings, rebuild=True)
    assert len(_vector_segments(small_settings.index_dir)) == 1


@pytest.mark.slow
def test_an_interrupted_ingest_resumes_without_embedding_again(small_settings: Settings) -> None:
    def interrupt_after_embedding(stage: str, done: int, total: int) -> None:
        if stage == "storing":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest(small_settings, on_progress=interrupt_after_embedding)
    assert read_manifest(small_settings.index_dir) is None
    resumed = ingest(small_settings)
    assert resumed.papers == 30 and resumed.embedded == 0 and resumed.stored == resumed.chunks
    # Once a generation holds the vectors, the resume cache is gone: a rebuild embeds again.
    assert ingest(small_settings, rebuild=True).embedded == resumed.chunks


@pytest.mark.slow
def test_ingest_reports_progress_per_batch_of_papers(small_settings: Settings) -> None:
    seen: list[tuple[str, int, int]] = []
    ingest(small_settings, on_progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert {total for _, _, total in seen} == {30}
    assert [done for stage, done, _ in seen if stage == "storing"][-1] == 30
