"""The seed corpus: every layout parsed exactly, every bad file a clear error naming it."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.corpus import load_corpus, parse_file
from assistant.corpus.formats.listings import parse_text, split_title_and_first_author
from assistant.errors import CorpusError
from assistant.resources import default_seeds_dir

SEEDS = default_seeds_dir()


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(SEEDS)


def by_title(corpus, title):
    return next(p for p in corpus if p.title == title)


def test_all_122_papers_are_read_with_the_right_count_per_file(corpus):
    counts = Counter(p.source.split("_")[0] for p in corpus)
    assert counts == {"000": 42, "001": 50, "002": 10, "003": 10, "004": 10}
    assert len({p.key for p in corpus}) == 122
    assert len({p.source for p in corpus}) == 122


@pytest.mark.parametrize("title", [
    "VISION Datasets: A Benchmark for Vision-based InduStrial InspectiON",
    "Closing the Gap Between Text and Speech Understanding in LLMs",
    "Scaling Up Online Speech Recognition Using ConvNets",
    "Enabling Differentially Private Federated Learning for Speech Recognition: Benchmarks, Adaptive Optimizers and Gradient Clipping",
    "ToolSandbox: A Stateful, Conversational, Interactive Evaluation Benchmark for LLM Tool Use Capabilities",
    "Importance of Smoothness Induced by Optimizers in FL4ASR: Towards Understanding Federated Learning for End-to-End ASR",
    "dMel: Speech Tokenization made Simple",
    "Mobile V-MoEs: Scaling Down Vision Transformers via Sparse Mixture-of-Experts",
    "Sentence-Select: Large-Scale Language Model Data Selection for Rare-Word Speech Recognition",
])
def test_glued_titles_come_out_exactly_as_written(corpus, title):
    assert by_title(corpus, title)


def test_listing_bylines_round_trip_to_the_file(corpus):
    """Title + authors + et al. + affiliations rebuild each listing's second line exactly."""
    for name in ("000_a4055f67f836d142.txt", "001_692d1fc5e51b27c2.txt"):
        lines = (SEEDS / name).read_text(encoding="utf-8").splitlines()
        for paper in (p for p in corpus if p.source.startswith(name)):
            ordinal = int(paper.source.split("#")[1])
            byline = ", ".join(paper.authors) + (" et al." if paper.authors_truncated else "")
            rebuilt = paper.title + byline + (" · " + ", ".join(paper.affiliations) if paper.affiliations else "")
            assert rebuilt == lines[3 * ordinal - 2]
            assert paper.abstract == lines[3 * ordinal - 1]


def test_listing_records_carry_authors_dates_and_category(corpus):
    paper = by_title(corpus, "Stabilizing Transformer Training by Preventing Attention Entropy Collapse")
    assert paper.key == "zhai2023stabilizing"
    assert paper.source == "000_a4055f67f836d142.txt#1"
    assert paper.authors == ("Shuangfei Zhai", "Tatiana Likhomanenko", "Etai Littwin")
    assert paper.authors_truncated and paper.affiliations == ("apple-ml", "meta-ai")
    assert (paper.year, paper.date, paper.category) == (2023, "2023-03-11", "LG")
    lai = by_title(corpus, "Instruction-Following Speech Recognition")
    assert lai.authors[0] == "Cheng-I Jeff Lai"


def test_a_date_without_a_year_is_inferred_as_the_listing_year_and_flagged(corpus):
    paper = by_title(corpus, "Revisiting ASR Error Correction with Specialized Models")
    assert paper.year == 2026 and paper.year_inferred and paper.date == "2026-03-16"


def test_author_page_names_are_rendered_first_last(corpus):
    paper = by_title(corpus, "Feature Norm Regularized Federated Learning: Transforming Skewed Distributions into Global Insights")
    assert paper.authors == ("Ke Hu", "WeiDong Qiu", "Peng Tang")
    assert paper.source == "002_7714854e86322287.txt#8"
    usm = by_title(corpus, "Training and Inference Efficiency of Encoder-Decoder Speech Models")
    assert usm.authors[0] == "Piotr Żelasko" and usm.key == "zelaskotraining" and usm.year is None


def test_arxiv_blocks_have_ids_dates_and_optional_comments(corpus):
    blocks = [p for p in corpus if p.source.startswith("003_")]
    assert [p.arxiv_id for p in blocks[:3]] == ["2508.19990", "2508.09228", "2505.08699"]
    assert blocks[0].title is None and blocks[0].comment is None and blocks[0].date == "2025-08-27"
    assert blocks[2].comment == "7 pages, 9 figures" and blocks[2].key == "arxiv2505.08699"
    assert blocks[0].label.startswith("Self-supervised pre-training using unlabeled data")


def test_abstract_only_papers_get_keys_from_their_source_and_a_label(corpus):
    papers = [p for p in corpus if p.source.startswith("004_")]
    assert papers[0].key == "seed004.1" and papers[0].title is None and papers[0].authors == ()
    assert papers[1].abstract.startswith("The development of speech foundation models (SFMs)")
    assert papers[1].label.endswith("...") and len(papers[1].label.split()) <= 13


def test_keys_are_stable_across_loads():
    assert [p.key for p in load_corpus(SEEDS)] == [p.key for p in load_corpus(SEEDS)]


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"   \n\n", "is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    (b"Abstract:caf\xe9 au lait\n", "not UTF-8"),
    (b"Dear diary, today I parsed nothing.\nNothing at all.\n", "no known seed layout"),
    (b"LGMar 11, 2023Code\nA TitleAnn Lee, Bo Chan\n", "cut short"),
    (b"LGMar 11, 2023Code\nA TitleAnn Lee\nAbstract text.\nnot a header\n", "expected a header"),
    (b"Hu, Ke\nA Title\nHu, Ke, Qiu\nAn abstract.\n", "Last, First"),
    (b"An abstract.\n\narXiv:2508.19990\n\nAnother abstract.\n", "expected 'Created:"),
    (b"An abstract.\n\narXiv:2508.19990\nCreated: 2025-08-27\n\nA cut abstract.\n", "cut short"),
    (b"Abstract:One.\nTwo without the prefix\n", "expected 'Abstract:"),
])
def test_bad_files_are_one_clear_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad_listing.txt"
    path.write_bytes(content)
    with pytest.raises(CorpusError) as error:
        parse_file(path)
    text = str(error.value)
    assert "bad_listing.txt" in text and message in text and "\n" not in text


def test_one_bad_file_in_a_directory_fails_the_load_naming_it(tmp_path):
    for seed in SEEDS.iterdir():
        (tmp_path / seed.name).write_bytes(seed.read_bytes())
    (tmp_path / "zz_broken.txt").write_bytes(b"\x00\x01\x02")
    with pytest.raises(CorpusError, match="zz_broken.txt"):
        load_corpus(tmp_path)


def test_a_missing_seeds_directory_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus(tmp_path / "nowhere")


# --- property-based: generated listings parse back to what was written -----------------------

_word = st.sampled_from([
    "Learning", "Speech", "Recognition", "Transformers", "for", "of", "the", "via", "ASR", "LLMs", "MoE",
    "Self-Attention", "Mixture-of-Experts", "ConvNets", "InduStrial", "InspectiON", "wav2vec", "2.0",
    "Data", "Scaling", "End-to-End", "Pre-Training", "made", "Simple", "V-MoEs", "FL4ASR", "dMel", "DiOpt",
])
_title = st.lists(_word, min_size=1, max_size=9).map(" ".join).flatmap(
    lambda t: st.sampled_from([t, f"{t}: A Study", f"{t}, Models and Benchmarks", f"Which {t}?"]))
_first = st.from_regex(r"[A-Z][a-z]{2,8}", fullmatch=True) | st.sampled_from(["W.", "Cheng-I", "Jean-Paul"])
_middle = st.sampled_from(["", " N.", " Jeff", " He"])
_surname = st.from_regex(r"[A-Z][a-z]{2,10}", fullmatch=True)
_author = st.builds(lambda f, m, s: f"{f}{m} {s}", _first, _middle, _surname)
_abstract = st.from_regex(r"[A-Z][a-z]{3,9}( [a-z]{2,9}){4,30}\.", fullmatch=True)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(title=_title, authors=st.lists(_author, min_size=1, max_size=5), truncated=st.booleans(),
       affiliations=st.lists(st.sampled_from(["apple-ml", "meta-ai", "mit"]), max_size=2, unique=True),
       abstract=_abstract, year=st.integers(2000, 2030) | st.none())
def test_listing_entries_parse_back_exactly(title, authors, truncated, affiliations, abstract, year):
    header = "LGMar 9" + (f", {year}" if year else "") + "Code"
    byline = title + ", ".join(authors) + (" et al." if truncated else "")
    if affiliations:
        byline += " · " + ", ".join(affiliations)
    text = "\n".join(["CLJan 2, 2020", "Anchor PaperAnn Lee", "Anchor abstract.", header, byline, abstract]) + "\n"
    paper = parse_text("gen.txt", text)[1]
    assert paper.title == title
    assert paper.authors == authors
    assert paper.authors_truncated == truncated
    assert paper.affiliations == affiliations
    assert paper.abstract == abstract
    assert paper.year == (year or 2021) and paper.year_inferred == (year is None)


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(entries=st.lists(st.tuples(_title, st.lists(st.tuples(_surname, _first), min_size=1, max_size=6), _abstract),
                        min_size=1, max_size=6))
def test_author_page_entries_parse_back_exactly(entries):
    lines = ["Hu, Ke"]
    for title, names, abstract in entries:
        lines += [title, ", ".join(f"{last}, {first}" for last, first in names), abstract]
    papers = parse_text("page.txt", "\n".join(lines))
    assert [(p.title, p.authors, p.abstract) for p in papers] == [
        (t, [f"{first} {last}" for last, first in names], a) for t, names, a in entries
    ]
    assert [p.source for p in papers] == [f"page.txt#{i}" for i in range(1, len(entries) + 1)]


@pytest.mark.slow
@settings(max_examples=100, deadline=None)
@given(entries=st.lists(st.tuples(_abstract, st.sampled_from([None, "5 pages, 3 figures", "Accepted at ICASSP 2024"]),
                                  st.from_regex(r"2[0-5][01][0-9]\.[0-9]{5}", fullmatch=True)), min_size=1, max_size=6))
def test_arxiv_blocks_parse_back_exactly(entries):
    blocks = []
    for abstract, comment, arxiv_id in entries:
        blocks.append("\n\n".join(filter(None, [abstract, comment, f"arXiv:{arxiv_id}\nCreated: 2024-01-13"])))
    papers = parse_text("blocks.txt", "\n\n".join(blocks) + "\n")
    assert [(p.abstract, p.comment, p.arxiv_id, p.year) for p in papers] == [(a, c, i, 2024) for a, c, i in entries]


@pytest.mark.slow
@given(abstracts=st.lists(_abstract, min_size=1, max_size=8))
def test_abstract_lines_parse_back_exactly(abstracts):
    papers = parse_text("abs.txt", "\n".join(f"Abstract:{a}" for a in abstracts))
    assert [p.abstract for p in papers] == abstracts


@given(text=st.text(max_size=300))
def test_arbitrary_text_never_crashes_the_parsers(text):
    try:
        parse_text("any.txt", text)
    except CorpusError as error:
        assert "any.txt" in str(error)


def test_the_seam_finder_needs_a_name_after_the_title():
    assert split_title_and_first_author("Libri-Light: A Benchmark for ASR with Limited or No SupervisionJacob Kahn") == (
        "Libri-Light: A Benchmark for ASR with Limited or No Supervision", "Jacob Kahn")
    assert split_title_and_first_author("a title with no name at all") is None


# --- the parse cache ------------------------------------------------------------------------


def test_an_unchanged_file_is_read_from_the_parse_cache_and_a_changed_one_parsed_again(tmp_path, monkeypatch) -> None:
    import os
    import shutil

    from assistant.corpus import ParseCache, library, read_library

    folder = tmp_path / "library"
    folder.mkdir()
    for name in ("002_7714854e86322287.txt", "003_7d3a09b3ba891a63.txt"):
        shutil.copy(default_seeds_dir() / name, folder / name)
    parsed: list[str] = []
    real_parse = library.parse_text
    monkeypatch.setattr(library, "parse_text", lambda name, text: parsed.append(name) or real_parse(name, text))
    cache = ParseCache(tmp_path / "parsed.sqlite3")

    first = read_library([folder], parse_cache=cache)
    assert len(parsed) == 2
    again = read_library([folder], parse_cache=ParseCache(cache.path))
    assert len(parsed) == 2 and again.papers == first.papers == read_library([folder]).papers
    parsed.clear()

    # Same size, same mtime, other bytes: still seen to change (the key is the content).
    listing = folder / "003_7d3a09b3ba891a63.txt"
    before = listing.stat()
    text = listing.read_text(encoding="utf-8")
    word = next(w for w in text.split() if len(w) > 6 and w.isalpha() and w.islower())
    listing.write_text(text.replace(word, word[::-1], 1), encoding="utf-8")
    os.utime(listing, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert listing.stat().st_size == before.st_size
    changed = read_library([folder], parse_cache=ParseCache(cache.path))
    assert parsed == ["003_7d3a09b3ba891a63.txt"]
    assert any(word[::-1] in p.abstract or word[::-1] in (p.title or "") for p in changed.papers)
    parsed.clear()

    # The same bytes under another name are parsed again: sources name the file.
    listing.rename(folder / "005_renamed.txt")
    renamed = read_library([folder], parse_cache=ParseCache(cache.path))
    assert parsed == ["005_renamed.txt"] and any(p.source.startswith("005_renamed.txt#") for p in renamed.papers)
    parsed.clear()

    # Another version of the parsing code never reads an older parse.
    monkeypatch.setattr(library, "_parser_version", lambda: "another version")
    read_library([folder], parse_cache=ParseCache(cache.path))
    assert len(parsed) == 2


def test_an_unusable_parse_cache_is_only_a_miss(tmp_path) -> None:
    from assistant.corpus import ParseCache, read_library

    import sqlite3

    broken = tmp_path / "parsed.sqlite3"
    broken.write_bytes(b"not a database")
    folder = default_seeds_dir()
    assert read_library([folder], parse_cache=ParseCache(broken)).papers == read_library([folder]).papers
    # A damaged row is a miss too.
    damaged = ParseCache(tmp_path / "damaged.sqlite3")
    read_library([folder], parse_cache=damaged)
    with sqlite3.connect(damaged.path) as db:
        db.execute("UPDATE files SET parsed = '{\"papers\": [{\"unknown\": 1}]}'")
    assert read_library([folder], parse_cache=ParseCache(damaged.path)).papers == read_library([folder]).papers
