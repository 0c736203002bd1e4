"""The user's library: BibTeX, RIS, CSL-JSON and arXiv Atom exports read as a reference manager
wrote them, duplicates merged, keys the user's own, every bad entry named by file, entry and line."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.corpus import read_library
from assistant.corpus.formats import detect_format
from assistant.errors import CorpusError
from assistant.resources import default_seeds_dir

LIBRARY = Path(__file__).parent / "fixtures" / "library"


def papers_of(*names: str, **options):
    return read_library([LIBRARY / name for name in names], **options).papers


def by_title(papers, start: str):
    return next(p for p in papers if p.title and p.title.startswith(start))


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- BibTeX -------------------------------------------------------------------------------------


def test_zotero_bibtex_decodes_latex_and_keeps_the_users_keys():
    papers = papers_of("zotero.bib")
    assert [p.key for p in papers] == ["vaswani_attention_2017", "hinton_deep_2012", "muller_robust_2021",
                                       "povey_kaldi_2011"]
    kws = by_title(papers, "Robust Keyword Spotting")
    assert kws.title == "Robust Keyword Spotting & Wake-Word Detection at 1% False Alarms"
    assert kws.authors == ("Jérôme Müller", "Lucía García", "Piotr Żelasko")
    assert "by 40% & keep recall" in kws.abstract and "using <5 MB" in kws.abstract
    assert (kws.type, kws.venue, kws.doi) == ("inproceedings", "Proc. Interspeech 2021", "10.21437/interspeech.2021-1234")
    kaldi = by_title(papers, "The Kaldi")
    assert "Lukáš Burget" in kaldi.authors and "Ondřej Glembek" in kaldi.authors and len(kaldi.authors) == 13


def test_zotero_bibtex_preprints_carry_their_arxiv_id_doi_and_keywords():
    attention = papers_of("zotero.bib")[0]
    assert attention.title == "Attention Is All You Need" and attention.type == "misc"
    assert attention.arxiv_id == "1706.03762" and attention.doi == "10.48550/arxiv.1706.03762"
    assert attention.authors[6] == "Łukasz Kaiser" and len(attention.authors) == 8
    assert attention.keywords == ("Computer Science - Computation and Language", "Computer Science - Machine Learning")
    hinton = papers_of("zotero.bib")[1]
    assert (hinton.type, hinton.venue, hinton.year) == ("article", "IEEE Signal Processing Magazine", 2012)


def test_better_bibtex_double_braces_and_eprint_fields():
    papers = papers_of("betterbibtex.bib")
    wav2vec = by_title(papers, "Wav2vec 2.0")
    assert wav2vec.title == "Wav2vec 2.0: A Framework for Self-Supervised Learning of Speech Representations"
    assert (wav2vec.arxiv_id, wav2vec.category) == ("2006.11477", "CL")
    assert wav2vec.venue == "Advances in Neural Information Processing Systems"
    bert = by_title(papers, "BERT")
    assert bert.key == "devlinBERTPretrainingDeep2019" and bert.keywords == ("language models", "pre-training")


def test_jabref_strings_crossref_comments_and_and_others():
    papers = papers_of("jabref.bib")
    assert [p.key for p in papers] == ["Zelasko2022", "Graves2013"]  # the cross-referenced volume is no paper
    zelasko = papers[0]
    assert zelasko.authors == ("Piotr Żelasko", "Siyuan Feng", "Laureano Moro-Velázquez")
    assert zelasko.authors_truncated and zelasko.authors_display() == "Piotr Żelasko et al."
    assert zelasko.year == 2022  # inherited through crossref
    assert zelasko.venue == ("Proceedings of the 23rd Annual Conference of the International Speech "
                             "Communication Association (INTERSPEECH)")
    graves = papers[1]
    assert graves.venue == "Proc. IEEE International Conference on Acoustics, Speech and Signal Processing (ICASSP)"
    assert graves.authors[1] == "Abdel-rahman Mohamed"
    assert "End-to-end training methods such as Connectionist Temporal Classification make" in graves.abstract


def test_papers_of_one_cross_referenced_volume_stay_distinct(tmp_path):
    text = ("@proceedings{vol, title = {Proc. X}, year = 2020, doi = {10.1000/vol}, url = {https://x.org/vol}}\n"
            "@inproceedings{p1, title = {First Paper}, author = {Lee, Ann}, crossref = {vol}}\n"
            "@inproceedings{p2, title = {Second Paper}, author = {Chan, Bo}, crossref = {vol}}\n")
    read = read_library([write(tmp_path, "x.bib", text)])
    assert [(p.key, p.venue, p.year, p.doi) for p in read.papers] == [("p1", "Proc. X", 2020, None),
                                                                    ("p2", "Proc. X", 2020, None)]
    assert read.merged == 0


def test_mendeley_bibtex_skips_its_banner_and_reads_arxiv_ids():
    radford, devlin = papers_of("mendeley.bib")
    assert radford.title == "Robust Speech Recognition via Large-Scale Weak Supervision"
    assert radford.arxiv_id == "2212.04356" and radford.key == "Radford2022"
    assert "80.5% (7.7% point absolute improvement)" in devlin.abstract


def test_month_macros_and_full_dates():
    text = ("@string{conf = \"Conf\"}\n@article{a1, title = {One}, author = {Lee, Ann}, year = 2020, month = mar, day = 5,\n"
            "  journal = conf # \" on \" # {Things}}\n@article{a2, title = {Two}, author = {Lee, Ann}, date = {2019-11-02}}\n")
    with tempfile.TemporaryDirectory() as folder:
        one, two = read_library([write(Path(folder), "m.bib", text)]).papers
    assert (one.date, one.venue) == ("2020-03-05", "Conf on Things")
    assert (two.year, two.date) == (2019, "2019-11-02")


# --- RIS ----------------------------------------------------------------------------------------


def test_mendeley_ris_ids_and_old_style_tags():
    devlin, amodei = papers_of("mendeley.ris")
    assert devlin.key == "Devlin2019" and devlin.doi == "10.18653/v1/n19-1423" and devlin.type == "inproceedings"
    assert devlin.venue.startswith("NAACL HLT 2019 - 2019 Conference")
    assert amodei.key == "Amodei2016"  # ID
    assert amodei.title == "Deep Speech 2: End-to-End Speech Recognition in English and Mandarin"  # T1
    assert amodei.authors == ("Dario Amodei", "Sundaram Ananthanarayanan", "Rishita Anubhai")  # A1
    assert amodei.abstract.startswith("We show that an end-to-end")  # N2
    assert (amodei.year, amodei.date, amodei.venue) == (2016, "2016-06-11", "Proceedings of Machine Learning Research")
    assert amodei.keywords == ("speech recognition", "end-to-end")


def test_zotero_ris_multiline_values_crlf_and_a_missing_year():
    hinton, wav2vec, report = papers_of("zotero.ris")
    assert hinton.abstract.endswith("fits a frame. Deep neural networks that have many hidden layers outperform GMMs "
                                    "on a variety of speech recognition benchmarks, sometimes by a large margin.")
    assert len(hinton.authors) == 11 and hinton.venue == "IEEE Signal Processing Magazine"
    assert wav2vec.title == "wav2vec 2.0: A Framework for Self-Supervised Learning of Speech Representations"
    assert (wav2vec.arxiv_id, wav2vec.date, wav2vec.type) == ("2006.11477", "2020-10-22", "misc")
    assert report.year is None and report.year_label == "n.d." and report.type == "techreport"
    assert report.authors == ("Inês Ferreira",) and report.key == "ferreiranotes"


# --- CSL-JSON -----------------------------------------------------------------------------------


def test_zotero_csl_json_urls_as_ids_are_not_citation_keys():
    attention, hinton = papers_of("zotero.json")
    assert attention.user_key is None and attention.key == "vaswani2017attention"
    assert (attention.date, attention.arxiv_id, attention.authors[6]) == ("2017-12-05", "1706.03762", "Łukasz Kaiser")
    assert (hinton.year, hinton.date, hinton.type) == (2012, None, "article")


def test_better_csl_json_keys_literal_authors_and_particles():
    radford, card = papers_of("better.json")
    assert radford.key == "radfordRobustSpeechRecognition2023" and radford.type == "inproceedings"
    assert radford.keywords == ("speech recognition", "weak supervision") and radford.arxiv_id == "2212.04356"
    assert card.authors == ("LibriSpeech Consortium", "Anneke van der Berg") and card.year == 2015


# --- arXiv Atom ---------------------------------------------------------------------------------


def test_arxiv_atom_feed_entries():
    papers = papers_of("arxiv.atom")
    assert [p.arxiv_id for p in papers] == ["1706.03762", "2006.11477", "2212.04356"]
    wav2vec = papers[1]
    assert wav2vec.title == "wav2vec 2.0: A Framework for Self-Supervised Learning of Speech Representations"
    assert (wav2vec.date, wav2vec.comment, wav2vec.category) == ("2020-06-20", "NeurIPS 2020", "CL")
    assert papers[0].affiliations == ("Google Brain",) and papers[2].doi == "10.48550/arxiv.2212.04356"
    assert papers[2].category == "AS" and papers[0].key == "vaswani2017attention"


# --- detection ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture, expected", [
    ("zotero.bib", "bibtex"), ("mendeley.ris", "ris"), ("better.json", "csl-json"), ("arxiv.atom", "arxiv-atom"),
])
def test_formats_are_detected_by_content_when_the_extension_says_nothing(fixture, expected):
    text = (LIBRARY / fixture).read_text(encoding="utf-8")
    assert detect_format(fixture, text) == expected
    assert detect_format("export.txt", text) == expected
    assert detect_format("export", text) == expected


def test_a_ris_file_saved_as_txt_is_read_as_ris(tmp_path):
    shutil.copy(LIBRARY / "mendeley.ris", tmp_path / "export.txt")
    assert [p.key for p in read_library([tmp_path / "export.txt"]).papers] == ["Devlin2019", "Amodei2016"]


# --- deduplication ------------------------------------------------------------------------------


def test_overlapping_exports_in_three_formats_deduplicate_to_the_union(tmp_path):
    for name in ("zotero.bib", "zotero.ris", "arxiv.atom"):
        shutil.copy(LIBRARY / name, tmp_path / name)
    read = read_library([tmp_path])
    titles = sorted(p.title.lower() for p in read.papers)
    assert len(read.papers) == 7 and read.merged == 3 and len(set(titles)) == 7
    attention = by_title(read.papers, "Attention Is All You Need")
    assert attention.sources == ("arxiv.atom#1", "zotero.bib#1") and attention.source == "arxiv.atom#1"
    assert attention.key == "vaswani_attention_2017"  # the user's key, from the BibTeX copy
    assert attention.doi == "10.48550/arxiv.1706.03762" and attention.comment == "15 pages, 5 figures"
    hinton = by_title(read.papers, "Deep Neural Networks for Acoustic")
    assert hinton.sources == ("zotero.bib#2", "zotero.ris#1")


def test_the_whole_fixture_library_merges_every_copy():
    read = read_library([LIBRARY])
    assert len(read.papers) == 12 and read.merged == 11
    assert len({p.key for p in read.papers}) == 12
    bert = by_title(read.papers, "BERT")
    assert set(bert.sources) == {"betterbibtex.bib#3", "mendeley.bib#2", "mendeley.ris#1"}
    assert bert.arxiv_id == "1810.04805"  # from the Mendeley copy
    radford = by_title(read.papers, "Robust Speech Recognition")
    assert len(radford.sources) == 3  # same arXiv id, though the years differ (2022 preprint, 2023 ICML)


def test_a_merged_record_keeps_the_fullest_author_list(tmp_path):
    for name in ("zotero.json", "zotero.ris"):  # the CSL copy lists 3 of Hinton's 11 authors
        shutil.copy(LIBRARY / name, tmp_path / name)
    hinton = by_title(read_library([tmp_path]).papers, "Deep Neural Networks for Acoustic")
    assert len(hinton.authors) == 11 and hinton.keywords == ("Acoustics", "Hidden Markov models", "Speech recognition")


def test_same_title_first_author_and_year_is_the_same_paper(tmp_path):
    write(tmp_path, "a.bib", "@article{x1, title = {{On} Things}, author = {M{\\\"u}ller, Jo and Lee, Ann}, year = 2020}\n")
    write(tmp_path, "b.ris", "TY  - JOUR\nTI  - On things\nAU  - Müller, J.\nPY  - 2020\nAB  - Text.\nER  - \n")
    write(tmp_path, "c.ris", "TY  - JOUR\nTI  - On things\nAU  - Müller, J.\nPY  - 2021\nER  - \n")
    read = read_library([tmp_path])
    assert read.merged == 1 and len(read.papers) == 2
    assert read.papers[0].abstract == "Text." and read.papers[0].key == "x1"


# --- keys ---------------------------------------------------------------------------------------


def test_made_keys_do_not_move_when_files_are_added(tmp_path):
    shutil.copy(LIBRARY / "zotero.ris", tmp_path / "a.ris")
    before = {p.title: p.key for p in read_library([tmp_path]).papers}
    # Another paper whose made key would be "ferreira" + "notes", and unrelated files.
    write(tmp_path, "b.ris", "TY  - RPRT\nTI  - Notes on Speech Data\nAU  - Ferreira, Inês\nER  - \n")
    shutil.copy(LIBRARY / "arxiv.atom", tmp_path / "c.atom")
    after = read_library([tmp_path]).papers
    keys = {p.title: p.key for p in after}
    assert keys["Notes on Speech Data"] != keys["Notes on Speech Corpus Licensing"]
    for title, key in before.items():  # a key either stays with its paper or names no paper at all
        assert keys[title] == key or key not in {p.key for p in after}
    assert len({p.key for p in after}) == len(after)
    assert keys == {p.title: p.key for p in read_library([tmp_path]).papers}


def test_seed_keys_are_unchanged_when_a_library_is_added():
    seeds = read_library([default_seeds_dir()]).papers
    both = read_library([default_seeds_dir(), LIBRARY]).papers
    assert [p.key for p in both[: len(seeds)]] == [p.key for p in seeds]


def test_a_user_key_used_by_two_different_papers_is_replaced_by_made_keys(tmp_path):
    write(tmp_path, "a.bib", "@article{same, title = {Alpha Paper}, author = {Lee, Ann}, year = 2020}\n")
    write(tmp_path, "b.ris", "TY  - JOUR\nID  - same\nTI  - Beta Paper\nAU  - Chan, Bo\nPY  - 2021\nER  - \n")
    assert sorted(p.key for p in read_library([tmp_path]).papers) == ["chan2021beta", "lee2020alpha"]


# --- errors, skipping, abstracts ----------------------------------------------------------------


BROKEN_BIB = """@article{ok2019,
  title = {Fine},
  author = {Lee, Ann},
  year = {2019},
}

@inproceedings{smith2020,
  title = {Unbalanced {braces,
  author = {Smith, John},
  year = {2020}
}

@article{after2021,
  title = {Also fine},
  year = {2021}
}
"""


def test_a_broken_entry_names_file_entry_and_line(tmp_path):
    with pytest.raises(CorpusError) as error:
        read_library([write(tmp_path, "library.bib", BROKEN_BIB)])
    assert str(error.value).startswith("library.bib: entry 'smith2020' at line 7: unbalanced braces")
    assert "\n" not in str(error.value)


def test_skip_invalid_reads_the_rest_and_lists_what_it_skipped(tmp_path):
    read = read_library([write(tmp_path, "library.bib", BROKEN_BIB)], skip_invalid=True)
    assert [p.key for p in read.papers] == ["ok2019", "after2021"]
    assert [str(s) for s in read.skipped] == ["library.bib: entry 'smith2020' at line 7: unbalanced braces"]


@pytest.mark.parametrize("name, text, message", [
    ("dup.bib", "@article{a, title={One}}\n@article{a, title={Two}}\n", "dup.bib: entry 'a' at line 2: the key is already used at line 1"),
    ("empty.bib", "@article{nothing, year = {2020}}\n", "empty.bib: entry 'nothing' at line 1: no title and no abstract"),
    ("cut.ris", "TY  - JOUR\nTI  - One\nER  - \nTY  - JOUR\nTI  - Cut\n", "cut.ris line 4: entry has no 'ER  -' line"),
    ("bad.json", '[{"id": "a", "title": "One"},\n {"id": "b" "title": "Two"}]', "bad.json line 2: not valid JSON"),
    ("list.json", '{"title": "not a list"}', "list.json: not CSL-JSON"),
    ("items.json", '[{"id": "a", "title": "One"}, 42]', "items.json: entry '#2': not a CSL item"),
    ("feed.atom", "<feed xmlns='http://www.w3.org/2005/Atom'><entry></feed>", "feed.atom line 1: not well-formed XML"),
])
def test_bad_entries_in_every_format_are_named(tmp_path, name, text, message):
    with pytest.raises(CorpusError) as error:
        read_library([write(tmp_path, name, text)])
    assert str(error.value).startswith(message)


def test_skip_invalid_leaves_out_unreadable_files_and_says_which(tmp_path):
    shutil.copy(LIBRARY / "mendeley.ris", tmp_path / "good.ris")
    (tmp_path / "scan.pdf").write_bytes(b"%PDF-1.5\x00\x00binary")
    with pytest.raises(CorpusError, match="scan.pdf"):
        read_library([tmp_path])
    read = read_library([tmp_path], skip_invalid=True)
    assert len(read.papers) == 2 and len(read.errors) == 1 and read.errors[0].startswith("scan.pdf: ")


def test_entries_without_an_abstract_are_kept_and_counted_unless_required():
    read = read_library([LIBRARY / "zotero.bib"])
    assert len(read.papers) == 4 and read.without_abstract == 1
    assert by_title(read.papers, "The Kaldi").abstract == ""
    strict = read_library([LIBRARY / "zotero.bib"], require_abstract=True)
    assert len(strict.papers) == 3 and strict.without_abstract == 0
    assert [str(s) for s in strict.skipped] == ["zotero.bib: entry 'povey_kaldi_2011' at line 50: no abstract"]


# --- paths --------------------------------------------------------------------------------------


def test_folders_are_read_recursively_without_hidden_files(tmp_path):
    (tmp_path / "zotero" / "deep").mkdir(parents=True)
    (tmp_path / ".trash").mkdir()
    shutil.copy(LIBRARY / "mendeley.ris", tmp_path / "zotero" / "deep" / "m.ris")
    shutil.copy(LIBRARY / "arxiv.atom", tmp_path / ".trash" / "old.atom")
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    papers = read_library([tmp_path]).papers
    assert [p.source for p in papers] == ["zotero/deep/m.ris#1", "zotero/deep/m.ris#2"]


def test_symlinks_are_followed_once_and_loops_do_not_hang(tmp_path):
    (tmp_path / "lib").mkdir()
    shutil.copy(LIBRARY / "mendeley.ris", tmp_path / "lib" / "m.ris")
    os.symlink(tmp_path / "lib", tmp_path / "lib" / "loop")  # lib/loop -> lib
    os.symlink(tmp_path / "lib" / "m.ris", tmp_path / "lib" / "again.ris")
    read = read_library([tmp_path / "lib"])
    assert len(read.papers) == 2 and read.merged == 0


def test_a_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        read_library([tmp_path / "nowhere.bib"])


# --- property-based: mutated exports never crash the readers ------------------------------------

_SPECIAL = [b"{", b"}", b"\\", b'"', b"@", b"#", b",", b"=", b"\n", b"TY  - ", b"ER  - ", b"<", b">", b"[", b"]",
            b"\\\"", b"and others", b"\xc3", b"\x00", b"month = jan", b"crossref = {x}", b"&amp;", b"\r\n"]


# An edit: what to do, where (a fraction of the file's bytes or lines), how much, what to insert.
_edit = st.tuples(st.sampled_from(["cut", "insert", "drop_line", "repeat_line", "truncate"]), st.floats(0, 1),
                  st.integers(1, 40), st.sampled_from(_SPECIAL) | st.binary(min_size=1, max_size=5))


def _mutate(data: bytes, edits: list[tuple[str, float, int, bytes]]) -> bytes:
    for action, where, size, insert in edits:
        at = int(where * len(data))
        lines = data.split(b"\n")
        line = min(int(where * len(lines)), len(lines) - 1)
        if action == "cut":
            data = data[:at] + data[at + size:]
        elif action == "insert":
            data = data[:at] + insert + data[at:]
        elif action == "drop_line":
            data = b"\n".join(lines[:line] + lines[line + 1:])
        elif action == "repeat_line":
            data = b"\n".join(lines[: line + 1] + lines[line:])
        else:
            data = data[:at]
    return data


def _check_never_crashes(name: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        for skip_invalid in (False, True):
            try:
                read = read_library([path], skip_invalid=skip_invalid)
            except CorpusError as error:
                assert name in str(error) and "\n" not in str(error)
                continue
            assert all(str(s).startswith(name) for s in read.skipped)
            assert all(name in e for e in read.errors)
            assert len({p.key for p in read.papers}) == len(read.papers)


@pytest.mark.slow
@pytest.mark.parametrize("fixture", sorted(LIBRARY.iterdir()) + sorted(default_seeds_dir().glob("*.txt")),
                         ids=lambda path: path.name)
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(_edit, min_size=1, max_size=8))
def test_mutated_exports_are_read_or_named_never_a_traceback(fixture, edits):
    _check_never_crashes(fixture.name, _mutate(fixture.read_bytes(), edits))
