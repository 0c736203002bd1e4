"""Hostile and awkward input (issue 13, sections 5, 7, 8 and 9, and the Chroma and abstract bounds
of section 4): each case as a user would meet it, through the library reader, the command line,
a real loopback server, a real index and the chat driven by Pilot."""

from __future__ import annotations

import dataclasses
import http.server
import json
import logging
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from assistant.answer.bibtex import to_bibtex
from assistant.config import Settings, load_settings
from assistant.corpus import read_library
from assistant.corpus.library import MAX_ABSTRACT_CHARS
from assistant.errors import CorpusError
from assistant.index.manifest import read_manifest, write_manifest
from assistant.resources import default_seeds_dir
from assistant.tui.app import ChatApp, run_chat
from assistant.tui.session_store import SESSIONS_FILE, SessionStore
from test_config import run_cli
from test_tui import Recorder, submit

ABSTRACT = "We study attention entropy collapse in transformers and propose a spectral reparametrization."


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


def listing(*bylines: str, year: int = 2023) -> str:
    """A listing in the 000/001 layout: header, title glued to its first author, abstract."""
    return "".join(f"LGMar {n + 1}, {year}\n{byline}\n{ABSTRACT} Entry {n}.\n" for n, byline in enumerate(bylines))


def assert_one_line_error(err: str, *parts: str) -> None:
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for part in parts:
        assert part in err, err


# --- §5 corpus input ------------------------------------------------------------------------------


def test_a_paper_listed_in_two_seed_files_is_indexed_and_cited_once(tmp_path, isolated_env, monkeypatch, capsys):
    seeds = tmp_path / "seeds"
    write(seeds, "000_listing.txt", listing("Stabilizing Attention TrainingShuangfei Zhai, Tatiana Likhomanenko",
                                            "Pseudo-Labels for Speech RecognitionJacob Kahn, Ann Lee"))
    # The same paper again on an author page (no dates there) and in a copy of the first file.
    write(seeds, "002_page.txt", f"Zhai, Shuangfei\nStabilizing Attention Training\n"
                                 f"Zhai, Shuangfei, Likhomanenko, Tatiana\n{ABSTRACT} Entry 0.\n")
    shutil.copy(seeds / "000_listing.txt", seeds / "001_copy.txt")
    papers = read_library([seeds]).papers
    assert [p.title for p in papers] == ["Stabilizing Attention Training", "Pseudo-Labels for Speech Recognition"]
    assert papers[0].year == 2023 and len(papers[0].sources) == 3

    index = tmp_path / "index"
    code, _, err = run_cli(monkeypatch, capsys, "ingest", "--seeds", str(seeds), "--index", str(index))
    assert code == 0, err
    code, out, _ = run_cli(monkeypatch, capsys, "ask", "stabilizing attention training", "--index", str(index),
                           "--json")
    assert code == 0
    cited = [ref["key"] for ref in json.loads(out)["references"]]
    assert cited.count(papers[0].key) == 1 and len(cited) == len(set(cited))


def test_past_26_copies_keys_stay_printable_and_the_bibtex_export_stays_valid(tmp_path):
    import bibtexparser

    # 40 different papers that all make the key smith2023attention.
    bylines = [f"Attention Variant {n}: A StudyAdam Smith, Bea Jones" for n in range(40)]
    papers = read_library([write(tmp_path, "000_many.txt", listing(*bylines))]).papers
    keys = [p.key for p in papers]
    assert len(set(keys)) == 40
    assert all(key.isascii() and key.isprintable() and key.startswith("smith2023attention") for key in keys)
    entries = bibtexparser.parse_string(to_bibtex(papers)).entries
    assert [entry.key for entry in entries] == keys


def test_subdirectories_are_read_and_symlinks_add_no_duplicates(tmp_path):
    library = tmp_path / "library"
    write(library, "a/b/000_deep.txt", listing("Deep Folder PaperAdam Smith, Bea Jones"))
    write(library, "001_top.txt", listing("Top Folder PaperCarl Young, Dan Old"))
    (library / "a" / "again.txt").symlink_to(library / "001_top.txt")  # the same file twice
    (library / "a" / "b" / "loop").symlink_to(library, target_is_directory=True)  # a link back up
    read = read_library([library])
    assert sorted(p.title for p in read.papers) == ["Deep Folder Paper", "Top Folder Paper"]
    assert read.merged == 0  # the link was not read as a second copy


@pytest.mark.parametrize("first", ["Jürgen", "Łukasz", "Zoë", "Ólafur", "Øyvind"])
def test_an_accented_first_name_does_not_reject_a_listing(tmp_path, first):
    text = listing(f"Long Short-Term Memory Revisited{first} Schmidhuber, Sepp Hochreiter",
                   "Another PaperAdam Smith, Bea Jones")
    papers = read_library([write(tmp_path, "000_accents.txt", text)]).papers
    assert papers[0].title == "Long Short-Term Memory Revisited"
    assert papers[0].authors == (f"{first} Schmidhuber", "Sepp Hochreiter")


def test_o_neil_is_not_split_at_the_apostrophe(tmp_path):
    text = listing("Robust Speech Recognition at ScaleO'Neil Smith, Bea Jones",
                   "Voice Activity DetectionMary D’Souza")
    first, second = read_library([write(tmp_path, "001_apostrophes.txt", text)]).papers
    assert (first.title, first.authors[0]) == ("Robust Speech Recognition at Scale", "O'Neil Smith")
    assert (second.title, second.authors) == ("Voice Activity Detection", ("Mary D’Souza",))


@pytest.mark.parametrize("breaker", ["\f", "\u2028", "\x85", "\u2029", "\v"])
def test_a_line_separator_inside_an_arxiv_block_abstract_does_not_cut_it(tmp_path, breaker):
    text = (f"First half of the abstract.{breaker}Second half of the abstract.\n\nA comment line\n"
            "arXiv:2508.19990\nCreated: 2025-08-27\n\nAnother abstract.\narXiv:2508.19991\nCreated: 2025-08-28\n")
    first, second = read_library([write(tmp_path, "003_blocks.txt", text)]).papers
    assert first.abstract == "First half of the abstract. Second half of the abstract."
    assert first.comment == "A comment line" and second.abstract == "Another abstract."


def test_a_10_mb_abstract_is_capped_with_a_warning(tmp_path, caplog):
    huge = " ".join(["attention"] * 1_100_000)  # 11 MB on one line
    path = write(tmp_path, "004_abstracts.txt", f"Abstract:{ABSTRACT}\nAbstract:{huge}\n")
    with caplog.at_level(logging.WARNING, logger="assistant.corpus"):
        papers = read_library([path]).papers
    assert papers[0].abstract == ABSTRACT
    assert 0 < len(papers[1].abstract) <= MAX_ABSTRACT_CHARS and papers[1].abstract.endswith("attention")
    assert "004_abstracts.txt#2" in caplog.text and f"only its first {MAX_ABSTRACT_CHARS:,}" in caplog.text


# --- §7 messages that name the real problem --------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_files_with_a_bom_are_read_not_called_binary(tmp_path, encoding):
    seed = default_seeds_dir() / "004_287f247ae8215fdb.txt"
    text = seed.read_text(encoding="utf-8")
    data = ("\ufeff" + text).encode(encoding) if encoding.endswith("-be") else text.encode(encoding)
    (tmp_path / "wide.txt").write_bytes(data)
    wide, utf8 = read_library([tmp_path / "wide.txt"]).papers, read_library([seed]).papers
    assert [p.abstract for p in wide] == [p.abstract for p in utf8]


def test_a_file_of_nul_bytes_is_still_called_binary(tmp_path):
    (tmp_path / "blob.txt").write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(CorpusError, match="binary"):
        read_library([tmp_path / "blob.txt"])


@pytest.mark.parametrize("args, valid", [
    (["search", "attention", "-k", "5000"], "1<=x<=1000"),
    (["search", "attention", "-k", "99999999999"], "1<=x<=1000"),
    (["search", "attention", "--per-paper", "5000"], "from 1 to 1000"),
    (["ask", "attention", "-k", "51"], "1<=x<=50"),
])
def test_an_out_of_range_k_names_the_valid_range(seed_settings, isolated_env, monkeypatch, capsys, args, valid):
    code, out, err = run_cli(monkeypatch, capsys, *args, "--index", str(seed_settings.index_dir))
    assert code == 2 and out == ""
    assert valid in err and "rebuild" not in err and "Traceback" not in err


@pytest.mark.parametrize("year", ["0000", "0999", "0000-2020"])
def test_year_0000_is_an_error_not_ignored(seed_settings, isolated_env, monkeypatch, capsys, year):
    code, out, err = run_cli(monkeypatch, capsys, "search", "attention", "--year", year,
                             "--index", str(seed_settings.index_dir))
    assert (code, out) == (2, "")
    assert_one_line_error(err, f"the year filter {year!r} is not a year or a range")


@pytest.mark.parametrize("command", [["ask"], ["related-work"]])
@pytest.mark.parametrize("question", ["?!.,;", " -- ... ", "[]"])
def test_a_question_without_words_is_a_one_line_error(seed_settings, isolated_env, monkeypatch, capsys, command,
                                                       question):
    code, out, err = run_cli(monkeypatch, capsys, *command, question, "--index", str(seed_settings.index_dir))
    assert (code, out) == (2, "")
    assert_one_line_error(err, "the question has no words")


class _Server:
    """A loopback TCP server on a free port, stopped at the end of the test."""

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler] | None) -> None:
        if handler is None:  # accepts connections (the kernel's backlog) and never answers
            self._socket = socket.socket()
            self._socket.bind(("127.0.0.1", 0))
            self._socket.listen(16)
            self.port = self._socket.getsockname()[1]
            self._http = None
        else:
            self._http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
            self.port = self._http.server_address[1]
            threading.Thread(target=self._http.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        else:
            self._socket.close()


class _SomeOtherApi(http.server.BaseHTTPRequestHandler):
    """Any HTTP service that is not Chroma: JSON for every path."""

    def _reply(self) -> None:
        body = json.dumps({"status": "ok", "user": "nobody"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _reply

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server(request):
    started = _Server(request.param)
    yield started
    started.close()


def _assistant(*args: str, index: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "OPENAI_"))}
    env["ASSISTANT_CONFIG"] = str(tmp_path / "no-config.toml")
    # The timeout guards the test run only: the command must end long before it on its own.
    return subprocess.run([sys.executable, "-c", "from assistant.cli import main; main()", *args,
                           "--index", str(index)], capture_output=True, text=True, env=env, timeout=120)


def _index_on(server_url: str, seed_settings: Settings, tmp_path: Path) -> Path:
    """A copy of the seed index whose manifest says its vectors are on `server_url`."""
    index = tmp_path / "index"
    shutil.copytree(seed_settings.index_dir, index, ignore=shutil.ignore_patterns("chroma"))
    manifest = read_manifest(index)
    write_manifest(index, dataclasses.replace(manifest, store=server_url))
    return index


@pytest.mark.slow
@pytest.mark.parametrize("server", [None], indirect=True)
def test_a_silent_chroma_server_fails_ingest_search_and_ask_within_seconds(server, seed_settings, tmp_path):
    index = _index_on(server.url, seed_settings, tmp_path)
    for command in (["ingest", "--seeds", str(default_seeds_dir())], ["search", "attention"], ["ask", "attention"]):
        result = _assistant(*command, "--chroma-url", server.url, index=index, tmp_path=tmp_path)
        assert result.returncode == 2 and result.stdout == "", result
        assert_one_line_error(result.stderr, f"cannot reach the Chroma server at {server.url}", "timed out")


@pytest.mark.slow
@pytest.mark.parametrize("server", [_SomeOtherApi], indirect=True)
def test_a_server_that_is_not_chroma_is_called_so(server, seed_settings, tmp_path):
    index = _index_on(server.url, seed_settings, tmp_path)
    for command in (["ingest", "--seeds", str(default_seeds_dir())], ["search", "attention"]):
        result = _assistant(*command, "--chroma-url", server.url, index=index, tmp_path=tmp_path)
        assert result.returncode == 2 and result.stdout == "", result
        assert_one_line_error(result.stderr, f"{server.url} is not a Chroma server")
        assert "UserIdentity" not in result.stderr


# --- §8 where state goes ---------------------------------------------------------------------------


def test_chat_sessions_go_to_the_data_directory_that_config_shows(tmp_path, isolated_env, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    index = tmp_path / "elsewhere" / "my-index"
    code, out, _ = run_cli(monkeypatch, capsys, "config", "--index", str(index), "--json")
    shown = json.loads(out)
    data_dir = tmp_path / "data" / "assistant"
    assert code == 0 and shown["data_dir"] == str(data_dir) and shown["index_dir"] == str(index)

    settings = load_settings({"index_dir": index})
    run_chat(settings, exit_after_first_frame=True)
    sessions = data_dir / SESSIONS_FILE
    assert sessions.exists() and not (index.parent / SESSIONS_FILE).exists()
    assert stat.S_IMODE(sessions.stat().st_mode) == 0o600

    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "chosen"))
    assert load_settings({"index_dir": index}).data_dir == tmp_path / "chosen"


def test_the_session_store_is_private_like_the_manifest(tmp_path, seed_settings):
    store = SessionStore(tmp_path / "history" / SESSIONS_FILE)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    manifest = seed_settings.index_dir / "manifest.json"
    assert stat.S_IMODE(manifest.stat().st_mode) == stat.S_IMODE(store.path.stat().st_mode)


def _fake_report(*_, **__) -> dict:
    return {"answers": {"backend": "extractive"}, "invariants_broken": []}


def test_eval_writes_results_to_the_data_directory_or_out_never_the_committed_file(tmp_path, isolated_env,
                                                                                     monkeypatch, capsys):
    from assistant.evaluation import run
    from assistant.resources import packaged_dir

    committed = packaged_dir("evals") / "results" / "eval-extractive.json"
    before = committed.read_bytes() if committed.exists() else None
    monkeypatch.setattr(run, "run_evaluation", _fake_report)
    monkeypatch.setattr(run, "format_report", lambda report: "report")
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    code, out, _ = run_cli(monkeypatch, capsys, "eval", "--no-cold-start")
    assert code == 0 and f"results written to {tmp_path / 'data' / 'eval-extractive.json'}" in out
    assert json.loads((tmp_path / "data" / "eval-extractive.json").read_text()) == _fake_report()
    code, out, _ = run_cli(monkeypatch, capsys, "eval", "--no-cold-start", "--out", str(tmp_path / "mine.json"))
    assert code == 0 and (tmp_path / "mine.json").exists()
    assert (committed.read_bytes() if committed.exists() else None) == before


# --- §9 the chat ---------------------------------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def chat(seed_settings: Settings, seed_retriever, tmp_path: Path):
    copied: list[str] = []

    def make() -> ChatApp:
        settings = dataclasses.replace(seed_settings, backend="extractive", data_dir=tmp_path)
        app = ChatApp(settings, SessionStore(tmp_path / SESSIONS_FILE), "input001", retriever=seed_retriever)
        app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
        app.copied = copied  # type: ignore[attr-defined]
        return app

    return make


@pytest.mark.anyio
async def test_papers_are_sorted_newest_first_and_filtered_by_a_word(chat):
    from assistant.tui.results import PapersView

    app = chat()
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "/papers")
        listed = app.query(PapersView).last().papers
        assert len(listed) == 122
        order = [(p.year is None, -(p.year or 0), p.label.casefold()) for p in listed]
        assert order == sorted(order) and listed[0].year == max(p.year or 0 for p in listed)
        await submit(pilot, "/papers ATTENTION")
        view = app.query(PapersView).last()
        assert 0 < len(view.papers) < 122
        assert all("attention" in " ".join((p.label, *p.authors, p.key)).lower() for p in view.papers)
        assert f"{len(view.papers)} of 122" in str(view.query_one(".turn-caption").render())
        await submit(pilot, "/papers no-such-word-anywhere")
        assert app.query(PapersView).last().papers == []


@pytest.mark.anyio
async def test_number_keys_show_that_source_from_the_sources_panel(chat):
    from assistant.tui.answer_view import AnswerView

    app = chat()
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "which papers stabilize attention?")
        references = app.query_one(AnswerView).answer.references
        assert len(references) >= 2
        await pilot.press("ctrl+o")
        for ref in reversed(references[:9]):
            await pilot.press(str(ref.n))
            await pilot.pause()
            assert app.sources_panel.selected_key == ref.key
        app.query_one("#question").focus()
        await pilot.press("1")  # typed into the question, not a source switch
        assert app.query_one("#question").value == "1" and app.sources_panel.selected_key == references[0].key


@pytest.mark.anyio
async def test_copy_command_copies_the_answer_with_its_references_as_markdown(chat):
    from assistant.answer.render import render_markdown
    from assistant.tui.answer_view import AnswerView

    app = chat()
    async with app.run_test(size=(120, 40)) as pilot:
        await submit(pilot, "/copy")
        assert app.copied == []
        await submit(pilot, "which papers stabilize attention?")
        await submit(pilot, "/copy")
        answer = app.query_one(AnswerView).answer
    assert app.copied == [render_markdown(answer)]
    assert "**References**" in app.copied[0] and "[1]" in app.copied[0]


@pytest.mark.anyio
async def test_a_question_without_words_is_refused_in_the_chat(chat):
    app = chat()
    async with app.run_test(size=(120, 40)) as pilot:
        notes = Recorder(app)
        await submit(pilot, "?!.,;")
        assert "the question has no words" in notes.errors()[-1]
        await submit(pilot, "/related ?!")
        assert "the question has no words" in notes.errors()[-1]


@pytest.mark.anyio
async def test_the_export_notification_is_shown_whole(chat, tmp_path):
    from textual.widgets._toast import Toast, ToastRack

    app = chat()
    out = tmp_path / "a rather long folder name for the exports" / "of this week" / "review-session.md"
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await submit(pilot, "which papers stabilize attention?")
        await submit(pilot, f"/export {out}")
        await pilot.pause()
        toasts = [t for holder in app.screen.get_child_by_type(ToastRack).children for t in holder.query(Toast)]
        [toast] = [t for t in toasts if "review-session" in str(t.render())]
        shown = str(toast.render())
        assert "review-session.md and review-session.bib" in shown and str(out.parent) in shown
        screen = app.screen.region
        assert screen.contains_region(toast.region)
        # Every line of the message fits: nothing is cut at the bottom of the toast.
        assert toast.virtual_size.height <= toast.region.height
    assert out.exists() and out.with_suffix(".bib").exists()
