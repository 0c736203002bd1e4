"""Export back: BibTeX and CSL-JSON a reference manager re-imports as the same papers, with the
user's keys; records without a year shown as "n.d."; a year filter says what it left out."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from pathlib import Path

import bibtexparser
import pytest

from assistant import cli
from assistant.answer.bibtex import to_bibtex
from assistant.answer.csl_json import to_csl_json
from assistant.config import Settings
from assistant.corpus import load_corpus, read_library
from assistant.corpus.paper import Paper
from assistant.resources import default_seeds_dir
from assistant.retrieve import Filters

LIBRARY = Path(__file__).parent / "fixtures" / "library"
WRITERS = {"refs.bib": to_bibtex, "refs.json": to_csl_json}


def seed_papers() -> list[Paper]:
    return load_corpus(default_seeds_dir())


def library_papers() -> list[Paper]:
    return read_library([LIBRARY]).papers


def reimported(tmp_path: Path, name: str, papers: list[Paper]) -> list[Paper]:
    path = tmp_path / name
    path.write_text(WRITERS[name](papers), encoding="utf-8")
    return read_library([path]).papers


def run_cli(monkeypatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["assistant", *args])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    return exit_.value.code


# -- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(WRITERS))
@pytest.mark.parametrize("corpus", [seed_papers, library_papers], ids=["seeds", "fixture-library"])
def test_export_reimports_as_the_same_papers_keys_and_dois(tmp_path, name, corpus) -> None:
    papers = corpus()
    back = reimported(tmp_path, name, papers)
    assert [p.key for p in back] == [p.key for p in papers]
    assert [p.title for p in back] == [p.title for p in papers]
    assert [p.doi for p in back] == [p.doi for p in papers]
    for original, again in zip(papers, back):
        assert (again.authors, again.year, again.arxiv_id, again.venue, again.abstract, again.keywords) == (
            original.authors, original.year, original.arxiv_id, original.venue, original.abstract,
            original.keywords), original.key
        # CSL-JSON has no types for theses of different degrees, nor a way to say "and others".
        if name.endswith(".bib"):
            assert (again.type, again.date, again.authors_truncated, again.category) == (
                original.type, original.date, original.authors_truncated, original.category), original.key


def test_bibtex_entries_carry_type_identifiers_venue_and_every_author() -> None:
    papers = {p.key: p for p in library_papers() + seed_papers()}
    library = bibtexparser.parse_string(to_bibtex(papers.values()))
    assert not library.failed_blocks and len(library.entries) == len(papers)
    entries = {e.key: e for e in library.entries}

    vaswani = entries["vaswaniAttentionAllYou2017"]
    assert vaswani.entry_type == "inproceedings"
    assert vaswani["booktitle"] == "Advances in Neural Information Processing Systems"
    assert vaswani["doi"] == "10.48550/arxiv.1706.03762"
    assert (vaswani["eprint"], vaswani["archivePrefix"], vaswani["primaryClass"]) == ("1706.03762", "arXiv", "cs.CL")
    hinton = entries["hinton_deep_2012"]
    assert hinton.entry_type == "article" and hinton["journal"] == "IEEE Signal Processing Magazine"
    assert hinton["url"] == "https://ieeexplore.ieee.org/document/6296526"
    assert entries["librispeechconsortiumLibriSpeechCorpusCard2015"].entry_type == "techreport"
    assert entries["zhai2023stabilizing"].entry_type == "misc"

    for key, entry in entries.items():
        paper = papers[key]
        names = entry["author"].split(" and ") if paper.authors else []
        assert len(names) == len(paper.authors) + paper.authors_truncated, key
        assert (names[-1:] == ["others"]) == paper.authors_truncated, key
        assert "howpublished" not in entry.fields_dict and "file" not in entry.fields_dict
        assert not re.search(r"\.txt|\.bib|\.ris|#\d", " ".join(str(f.value) for f in entry.fields)), key
    # Unicode as it is (biblatex and bibtexparser read it): "Piotr Żelasko" -> "Żelasko, Piotr".
    accented = next(a for p in papers.values() for a in p.authors if not a.isascii() and " " in a)
    given, family = accented.rsplit(" ", 1)
    assert any(f"{family}, {given}" in e.fields_dict["author"].value for e in entries.values() if "author" in e)


def test_bibtex_escapes_special_characters_and_reads_back_exactly(tmp_path) -> None:
    paper = dataclasses.replace(
        seed_papers()[0], key="odd:key_1", title="{Braces} & 100% #1 of a_b at ~$5, \\LaTeX^2",
        authors=("Ann van Dyk", "John Smith, Jr", "Google, Inc.", "Smith and Sons", "Plato"), authors_truncated=False,
        venue="Proc. A&B_C", keywords=("speech & audio", "50%"), doi="10.1000/a_b%2F{c}", url="https://x.org/a_b?q=1%20#frag",
    )
    text = to_bibtex([paper])
    entry = bibtexparser.parse_string(text).entries[0]
    for raw in ("\\&", "\\%", "\\#", "\\_", "\\{", "\\}", "\\$"):
        assert raw in entry["title"]
    assert entry["url"] == "https://x.org/a_b?q=1%20#frag"  # url and doi are verbatim fields
    for name in ("refs.bib", "refs.json"):
        [again] = reimported(tmp_path, name, [paper])
        assert (again.key, again.title, again.authors, again.venue, again.keywords) == (
            paper.key, paper.title, paper.authors, paper.venue, paper.keywords), name


def test_csl_json_items_map_every_field() -> None:
    items = {item["id"]: item for item in json.loads(to_csl_json(library_papers() + seed_papers()))}
    vaswani = items["vaswaniAttentionAllYou2017"]
    assert vaswani["type"] == "paper-conference" and vaswani["citation-key"] == "vaswaniAttentionAllYou2017"
    assert vaswani["container-title"] == "Advances in Neural Information Processing Systems"
    assert vaswani["DOI"] == "10.48550/arxiv.1706.03762" and vaswani["number"] == "arXiv:1706.03762"
    assert {"family": "Gomez", "given": "Aidan N."} in vaswani["author"]
    assert vaswani["issued"]["date-parts"][0][0] == 2017
    assert items["hinton_deep_2012"]["type"] == "article-journal"
    assert items["zhai2023stabilizing"]["type"] == "article"  # a preprint
    with_keywords = next(p for p in library_papers() if p.keywords)
    assert items[with_keywords.key]["keyword"] == ", ".join(with_keywords.keywords)
    undated = next(p for p in seed_papers() if p.year is None)
    assert "issued" not in items[undated.key]


# -- the commands ------------------------------------------------------------------------------


@pytest.fixture
def library_settings(tmp_path, isolated_env, monkeypatch) -> Settings:
    from assistant.index.ingest import ingest

    settings = Settings(index_dir=tmp_path / "index", seeds_dir=LIBRARY)
    ingest(settings)
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(settings.index_dir))
    return settings


def test_papers_export_imports_into_a_fresh_index_as_the_same_library(library_settings, tmp_path, monkeypatch,
                                                                      capsys) -> None:
    from assistant.index.ingest import ingest
    from assistant.retrieve import indexed_papers

    out = tmp_path / "out"
    out.mkdir()
    assert run_cli(monkeypatch, "papers", "--bib", str(out / "mine.bib"), "--csl-json", str(out / "mine.json")) == 0
    assert "wrote 12 papers" in capsys.readouterr().err
    assert not bibtexparser.parse_string((out / "mine.bib").read_text(encoding="utf-8")).failed_blocks
    original = indexed_papers(library_settings)
    for name in ("mine.bib", "mine.json"):
        folder = tmp_path / name.replace(".", "-")
        folder.mkdir()
        (folder / name).write_bytes((out / name).read_bytes())
        fresh = Settings(index_dir=tmp_path / f"index-{name}", seeds_dir=folder)
        ingest(fresh)
        again = indexed_papers(fresh)
        assert sorted((p.key, p.title, p.doi) for p in again) == sorted((p.key, p.title, p.doi) for p in original)


def test_papers_export_to_an_unwritable_path_is_one_line(library_settings, tmp_path, monkeypatch, capsys) -> None:
    assert run_cli(monkeypatch, "papers", "--bib", str(tmp_path / "missing" / "x.bib")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write") and "Traceback" not in err


# -- n.d. and the year filter ------------------------------------------------------------------


def test_undated_papers_show_nd_and_the_year_filter_counts_them(isolated_env, seed_settings, monkeypatch,
                                                                 capsys) -> None:
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(seed_settings.index_dir))
    undated = [p for p in seed_papers() if p.year is None]
    assert run_cli(monkeypatch, "papers") == 0
    listing = capsys.readouterr().out
    assert all(f"[{p.key}] (n.d.)" in listing for p in undated)

    assert run_cli(monkeypatch, "search", "speech recognition", "--year", "2020-2023") == 0
    assert f"the year filter left out {len(undated)} papers with no year" in capsys.readouterr().err
    assert run_cli(monkeypatch, "search", "speech recognition") == 0
    assert "left out" not in capsys.readouterr().err

    assert run_cli(monkeypatch, "ask", "streaming speech recognition", "--year", "2020-2023", "--json") == 0
    issues = json.loads(capsys.readouterr().out)["issues"]
    assert {"kind": "undated_left_out", "detail": f"the year filter left out {len(undated)} papers with no year "
            "(shown as n.d.)", "sentence": None} in issues


def test_the_undated_notice_counts_only_what_the_year_filter_removed() -> None:
    papers = seed_papers()
    undated = [p for p in papers if p.year is None]
    assert Filters.parse(year="2020-").undated_notice(papers).startswith(f"the year filter left out {len(undated)} ")
    assert Filters.parse(author="Likhomanenko").undated_notice(papers) is None
    assert Filters.parse(year="2020", category="NOSUCH").undated_notice(papers) is None


# -- wording -----------------------------------------------------------------------------------


def test_the_interface_speaks_of_the_library_and_keeps_the_seeds_alias(isolated_env, tmp_path, monkeypatch,
                                                                        capsys) -> None:
    assert run_cli(monkeypatch, "ingest", "--help") == 0
    text = capsys.readouterr().out
    assert "library" in text.split("Options")[0].lower()
    assert "seed" not in text.lower().replace("--seeds", "")
    assert run_cli(monkeypatch, "papers", "--help") == 0
    assert "--csl-json" in capsys.readouterr().out
    assert run_cli(monkeypatch, "ingest", "--index", str(tmp_path / "index"), "--seeds", "/no/such/folder") == 2
    assert "library path /no/such/folder does not exist" in capsys.readouterr().err
