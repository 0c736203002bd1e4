"""The library and its sources: `assistant ingest PATH...`, re-sync, `sources`, --remove, --replace,
--skip-invalid, --require-abstract, no silent revert to the sample papers, and keys that stay.

Every test ingests a real index in its own tmp dir; the corpora are a handful of papers (the
fixture exports), cheap to embed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.corpus import read_library
from assistant.index.ingest import ingest
from assistant.index.reader import open_papers
from test_config import run_cli

LIBRARY = Path(__file__).parent / "fixtures" / "library"


def copy(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(LIBRARY / name, folder / name)
    return folder


def ris(title: str, author: str = "Smith, John", year: int = 2020, abstract: str = "We study speech.") -> str:
    lines = ["TY  - JOUR", f"AU  - {author}", f"TI  - {title}", f"PY  - {year}"]
    return "\n".join(lines + ([f"AB  - {abstract}"] if abstract else []) + ["ER  - ", ""])


def keys(settings: Settings) -> dict[str, str]:
    """Title -> key of the indexed papers."""
    return {p.title: p.key for p in open_papers(settings).papers()}


@pytest.fixture
def index(tmp_path: Path, isolated_env, monkeypatch) -> Path:
    """An empty index directory, named to every CLI run by the environment."""
    path = tmp_path / "index"
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(path))
    return path


def test_ingest_takes_files_and_folders_in_mixed_formats_and_lists_them_as_sources(tmp_path, index, monkeypatch,
                                                                                   capsys) -> None:
    folder = copy(tmp_path / "exports", "mendeley.ris", "arxiv.atom")
    code, out, err = run_cli(monkeypatch, capsys, "ingest", str(LIBRARY / "jabref.bib"), str(folder))
    assert code == 0, err
    assert "indexed 7 papers" in out and "library: 2 sources" in out and "papers/s" in out

    code, out, _ = run_cli(monkeypatch, capsys, "sources", "--json")
    assert code == 0
    listed = json.loads(out)
    assert [(s["path"], s["formats"], s["files"], s["papers"]) for s in listed] == [
        (str(LIBRARY / "jabref.bib"), ["bibtex"], 1, 2), (str(folder), ["arxiv-atom", "ris"], 2, 5)]
    assert all(s["ingested"] for s in listed)
    code, out, _ = run_cli(monkeypatch, capsys, "sources")
    assert code == 0 and str(folder) in out and "arxiv-atom, ris" in out


def test_overlapping_exports_in_three_formats_are_one_record_each_with_the_merges_counted(tmp_path, index) -> None:
    folder = copy(tmp_path / "zotero", "zotero.bib", "zotero.ris", "zotero.json")
    alone = {name: read_library([LIBRARY / name]).papers for name in ("zotero.bib", "zotero.ris", "zotero.json")}
    report = ingest(Settings(index_dir=index), [folder])
    papers = open_papers(Settings(index_dir=index)).papers()
    union = {p.title.lower() for found in alone.values() for p in found}
    assert sorted(p.title.lower() for p in papers) == sorted(union)
    assert report.merged == sum(map(len, alone.values())) - len(union) > 0
    assert f"{report.merged} duplicates merged" in report.summary()
    both = [p for p in papers if len(p.sources) > 1]
    assert both and all({s.rpartition("#")[0] for s in p.sources} > {p.source.rpartition("#")[0]} for p in both)


def test_a_bare_ingest_re_syncs_added_changed_and_removed_files(tmp_path, index) -> None:
    folder = copy(tmp_path / "exports", "jabref.bib")
    settings = Settings(index_dir=index)
    assert ingest(settings, [folder]).papers == 2

    (folder / "mine.ris").write_text(ris("Curriculum learning for speech"), encoding="utf-8")
    report = ingest(settings)
    assert (report.papers, len(report.added), report.removed) == (3, 1, [])

    (folder / "mine.ris").write_text(ris("Curriculum learning for speech", abstract="Rewritten abstract."),
                                     encoding="utf-8")
    report = ingest(settings)
    assert (report.papers, report.added, report.changed) == (3, [], [keys(settings)["Curriculum learning for speech"]])

    (folder / "jabref.bib").unlink()
    report = ingest(settings)
    assert (report.papers, len(report.removed)) == (1, 2)
    assert ingest(settings).up_to_date


def test_a_bare_ingest_never_reverts_to_the_sample_papers(tmp_path, index, monkeypatch, capsys) -> None:
    folder = copy(tmp_path / "exports", "jabref.bib", "mendeley.ris")
    code, out, err = run_cli(monkeypatch, capsys, "ingest", "--seeds", str(folder))
    assert code == 0 and "indexed 4 papers" in out, err
    code, out, err = run_cli(monkeypatch, capsys, "ingest")
    assert code == 0 and "index up to date: 4 papers" in out, err
    assert "removed" not in out

    # Other commands never ingest an index that has sources, even when a source changed.
    (folder / "jabref.bib").unlink()
    code, out, _ = run_cli(monkeypatch, capsys, "papers", "--json")
    assert code == 0 and len(json.loads(out)) == 4


def test_an_index_without_sources_holds_the_samples_until_given_a_library(tmp_path, index, monkeypatch,
                                                                         capsys) -> None:
    samples = copy(tmp_path / "samples", "mendeley.ris")
    monkeypatch.setattr("assistant.index.ingest.default_seeds_dir", lambda: samples)
    code, out, _ = run_cli(monkeypatch, capsys, "sources")
    assert code == 0 and "nothing indexed yet" in out
    code, out, _ = run_cli(monkeypatch, capsys, "ingest")
    assert code == 0 and "indexed 2 papers" in out and "the sample papers" in out
    code, out, _ = run_cli(monkeypatch, capsys, "sources")
    assert "no sources: the index holds the 2 sample papers" in out

    # A library given replaces the samples (they were never a source of it).
    code, out, err = run_cli(monkeypatch, capsys, "ingest", str(LIBRARY / "jabref.bib"))
    assert code == 0 and "indexed 2 papers" in out and "2 added" in out and "2 removed" in out, err
    code, out, _ = run_cli(monkeypatch, capsys, "ingest")
    assert "index up to date: 2 papers" in out


def test_paths_are_added_to_the_sources_removed_with_remove_and_replaced_with_replace(tmp_path, index, monkeypatch,
                                                                                     capsys) -> None:
    jabref, ris_file, atom = (str(LIBRARY / name) for name in ("jabref.bib", "mendeley.ris", "arxiv.atom"))
    assert run_cli(monkeypatch, capsys, "ingest", jabref)[0] == 0
    code, out, _ = run_cli(monkeypatch, capsys, "ingest", ris_file)
    assert code == 0 and "indexed 4 papers" in out and "2 added" in out

    code, out, _ = run_cli(monkeypatch, capsys, "ingest", "--remove", jabref)
    assert code == 0 and "indexed 2 papers" in out and "2 removed" in out
    assert [s["path"] for s in json.loads(run_cli(monkeypatch, capsys, "sources", "--json")[1])] == [ris_file]

    code, _, err = run_cli(monkeypatch, capsys, "ingest", "--remove", jabref)
    assert code == 2 and f"{jabref} is not a source of this library" in err and len(err.splitlines()) == 1
    code, _, err = run_cli(monkeypatch, capsys, "ingest", "--remove", ris_file)
    assert code == 2 and "without sources" in err

    code, out, _ = run_cli(monkeypatch, capsys, "ingest", "--replace", atom)
    assert code == 0 and "indexed 3 papers" in out
    assert [s["path"] for s in json.loads(run_cli(monkeypatch, capsys, "sources", "--json")[1])] == [atom]


def test_a_bad_file_fails_the_ingest_atomically_unless_skip_invalid(tmp_path, index, monkeypatch, capsys) -> None:
    folder = copy(tmp_path / "exports", "jabref.bib")
    assert run_cli(monkeypatch, capsys, "ingest", str(folder))[0] == 0
    (folder / "broken.bib").write_text("@article{smith2020,\n  title = {Unclosed,\n", encoding="utf-8")
    (folder / "mine.ris").write_text(ris("Curriculum learning for speech"), encoding="utf-8")

    code, out, err = run_cli(monkeypatch, capsys, "ingest")
    assert code == 2 and out == "" and err.startswith("error: broken.bib") and len(err.splitlines()) == 1
    code, out, _ = run_cli(monkeypatch, capsys, "papers", "--json")  # the previous index still answers
    assert code == 0 and len(json.loads(out)) == 2

    code, out, err = run_cli(monkeypatch, capsys, "ingest", "--skip-invalid")
    assert code == 0 and "indexed 3 papers" in out and "1 skipped" in out
    assert [line for line in err.splitlines() if line.startswith("skipped: ")] == [
        line for line in err.splitlines() if "broken.bib" in line] != []


def test_entries_without_an_abstract_are_indexed_by_title_unless_required(tmp_path, index) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "mine.ris").write_text(ris("Curriculum learning for speech") + ris("A title alone", abstract=""),
                                     encoding="utf-8")
    report = ingest(Settings(index_dir=index), [folder])
    assert (report.papers, report.without_abstract) == (2, 1)
    assert "1 without an abstract" in report.summary()

    report = ingest(Settings(index_dir=index), require_abstract=True)
    assert (report.papers, report.without_abstract, len(report.removed)) == (1, 0, 1)
    assert len(report.skipped) == 1 and "no abstract" in report.skipped[0] and "mine.ris" in report.skipped[0]


def test_keys_stay_when_a_file_with_a_colliding_paper_is_added(tmp_path, index) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a.ris").write_text(ris("Deep learning for speech") + ris("Streaming recognition", author="Lee, Ann"),
                                  encoding="utf-8")
    settings = Settings(index_dir=index)
    ingest(settings, [folder])
    before = keys(settings)
    assert before["Deep learning for speech"] == "smith2020deep"

    # A newcomer whose made key would be the same: without memory both would take a suffix.
    (folder / "b.ris").write_text(ris("Deep nets for speech", abstract="Another paper."), encoding="utf-8")
    ingest(settings)
    after = keys(settings)
    assert {title: after[title] for title in before} == before
    assert after["Deep nets for speech"].startswith("smith2020deep-")
    assert read_library([folder]).papers[0].key != "smith2020deep"  # what a fresh read would have made


def test_the_same_listing_under_one_name_in_two_folders_gets_distinct_keys(tmp_path, small_seeds) -> None:
    copy_of = tmp_path / "copy"
    copy_of.mkdir()
    shutil.copy(small_seeds / "004_287f247ae8215fdb.txt", copy_of)
    papers = read_library([small_seeds, copy_of]).papers
    assert len({p.key for p in papers}) == len(papers)
