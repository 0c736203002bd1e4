"""Hybrid retrieval over the seed index: ranking, filters, per-paper diversity, the CLI."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from click.testing import CliRunner

from assistant.answer.answerer import answer_question
from assistant.cli import cli
from assistant.config import Settings
from assistant.corpus.paper import Paper
from assistant.errors import InputError
from assistant.index.chunking import paper_header
from assistant.index.vocabulary import Vocabulary
from assistant.retrieve import Acronyms, Filters, PaperNames

STABILIZING = "Stabilizing Transformer Training by Preventing Attention Entropy Collapse"
SIGMOID = "Theory, Analysis, and Best Practices for Sigmoid Self-Attention"


# --- Filters.parse --------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("2021", (2021, 2021)), ("2020-2023", (2020, 2023)), ("2020-", (2020, None)), ("-2023", (None, 2023)),
    (" 2020 - 2023 ", (2020, 2023)), ("", (None, None)), (None, (None, None)),
])
def test_year_forms(text: str | None, expected: tuple[int | None, int | None]) -> None:
    filters = Filters.parse(year=text)
    assert (filters.year_from, filters.year_to) == expected


@pytest.mark.parametrize("text", ["20x", "2023-2020", "-", "2020-2021-2022", "21", "2020..2023"])
def test_bad_years_are_input_errors(text: str) -> None:
    with pytest.raises(InputError) as caught:
        Filters.parse(year=text)
    assert "\n" not in str(caught.value) and "2020-2023" in str(caught.value)


def test_author_and_category_are_normalised() -> None:
    filters = Filters.parse(author="  Likhomanenko ", category=" cl")
    assert (filters.author, filters.category) == ("Likhomanenko", "CL")
    assert Filters.parse(author=" ", category="").is_empty()


# --- ranking --------------------------------------------------------------------------------


def test_which_papers_stabilize_attention(seed_retriever) -> None:
    titles = [e.paper.title for e in seed_retriever.search("which papers stabilize attention?", k=5)]
    assert STABILIZING in titles and SIGMOID in titles


def test_every_result_carries_both_scores_and_ranks(seed_retriever) -> None:
    results = seed_retriever.search("semi-supervised speech recognition with unlabeled audio", k=10)
    assert [e.rank for e in results] == list(range(1, 11))
    assert all(-1.0 <= e.dense_score <= 1.0 and e.bm25_score is not None for e in results)
    assert [e.score for e in results] == sorted((e.score for e in results), reverse=True)
    # Cosine similarity is exact, whichever ranker found the chunk.
    embedder = seed_retriever.embedder
    query = embedder.embed(["semi-supervised speech recognition with unlabeled audio"])[0]
    for e in results[:3]:
        embedded = f"{paper_header(e.paper)}\n\n{e.text}"
        assert e.dense_score == pytest.approx(float(embedder.embed([embedded])[0] @ query), abs=2e-3)


def test_bm25_only_hits_still_get_a_dense_score(seed_retriever) -> None:
    results = seed_retriever.bm25_search("LibriSpeech WER 2.3", k=10)
    assert results and all(e.dense_score is not None for e in results)


def test_a_fact_question_finds_its_paper(seed_retriever) -> None:
    results = seed_retriever.search("What LibriSpeech WER does training without word order reach?", k=5)
    assert "000_a4055f67f836d142.txt#30" in [e.paper.source for e in results]


def test_lip_reading_finds_the_audio_visual_papers(seed_retriever) -> None:
    # No abstract says "lip"; BM25's best match is on "reading" ("reading these from memory"),
    # which must not outweigh the dense match on audio-visual speech recognition.
    sources = [e.paper.source for e in seed_retriever.search("any work on lip reading?", k=10)]
    assert {"000_a4055f67f836d142.txt#15", "004_287f247ae8215fdb.txt#4"} <= set(sources)


def test_a_long_form_finds_the_paper_that_writes_the_acronym(seed_retriever) -> None:
    # The joint STT/TTS paper says "speech synthesis (TTS)", never "text-to-speech".
    sources = [e.paper.source for e in seed_retriever.search("text-to-speech papers", k=5)]
    assert "003_7d3a09b3ba891a63.txt#5" in sources


def test_a_paraphrase_finds_the_papers_its_clear_matches_resemble(seed_retriever) -> None:
    # The on-device paper says "a second-pass Listen, Attend, Spell (LAS) rescorer" in an abstract
    # about latency: dense alone ranks it far down; the feedback from the two deliberation and
    # parallel-rescoring papers the question clearly matches brings it in.
    question = "how do two-pass ASR systems rescore first-pass hypotheses with a second-pass model?"
    sources = [e.paper.source for e in seed_retriever.search(question, k=10)]
    assert {"001_692d1fc5e51b27c2.txt#36", "001_692d1fc5e51b27c2.txt#44", "001_692d1fc5e51b27c2.txt#50"} <= set(sources)


def test_text_to_speech_finds_the_video_to_speech_paper(seed_retriever) -> None:
    sources = [e.paper.source for e in seed_retriever.search("text-to-speech papers", k=10)]
    assert "000_a4055f67f836d142.txt#22" in sources  # Visatronic: "speech synthesis" from video and text


def test_feedback_off_leaves_the_dense_query_alone(seed_retriever) -> None:
    settings = seed_retriever.settings
    seed_retriever.settings = replace(settings, retrieval=replace(settings.retrieval, feedback_weight=0.0))
    try:
        question = "how do two-pass ASR systems rescore first-pass hypotheses with a second-pass model?"
        without = [e.paper.source for e in seed_retriever.search(question, k=10)]
    finally:
        seed_retriever.settings = settings
    assert "001_692d1fc5e51b27c2.txt#50" not in without


def _paper(abstract: str) -> Paper:
    return Paper(key="k", source="s#1", title=None, authors=(), authors_truncated=False, year=None, date=None,
                 year_inferred=False, category=None, arxiv_id=None, comment=None, affiliations=(), abstract=abstract)


def test_acronyms_come_from_the_abstracts_definitions() -> None:
    acronyms = Acronyms(Vocabulary.of([_paper("Streaming text-to-speech (TTS) for large language models (LLMs). "
                                "It reaches 5% in the distant supervision setting (WER).")]))
    assert acronyms.expand("Text to speech with a Large Language Model") == \
        "Text to speech with a Large Language Model TTS"
    assert acronyms.expand("large language models") == "large language models LLMs"
    assert acronyms.expand("supervision setting") == "supervision setting"  # "(WER)" is no definition of it
    # Every letter an initial, where the capitals alone are not: "Mixture-of-Experts (MoE)".
    acronyms = Acronyms(Vocabulary.of([_paper("Sparse Mixture-of-Experts (MoE) models scale.")]))
    assert acronyms.expand("mixture of experts") == "mixture of experts MoE"


def test_the_paper_called_by_words_of_its_title_is_named(seed_settings, seed_retriever) -> None:
    """"what wer does the word-order paper get" cited NeKo, w2v-BERT, Libri-Light and FastEmit,
    never Pratap et al.; "the speech paper" names no one paper."""
    titles = {seed_retriever.paper(k).title for k in seed_retriever.named_papers("what wer does the word-order paper get")}
    assert titles == {"Word Order Does Not Matter For Speech Recognition"}
    assert not seed_retriever.named_papers("what does the speech recognition paper say?")  # many titles hold it
    answer = answer_question("what wer does the word-order paper get", seed_settings, seed_retriever)
    assert "2.3%/4.6%" in answer.sentences[0].text


def test_a_question_holding_a_short_title_names_its_paper(seed_retriever) -> None:
    """"Word Order Does Not Matter For Speech Recognition" is what "does word order matter for
    asr?" asks about ("asr" says "speech recognition"); the answer led with Granite-speech's
    "orders of magnitude more proprietary data" and quoted the paper last, for its aim."""
    assert {seed_retriever.paper(k).title for k in seed_retriever.named_papers("does word order matter for asr")} == \
        {"Word Order Does Not Matter For Speech Recognition"}
    assert not seed_retriever.named_papers("does word order matter?")  # a title's words, not all of them
    # A question on the title's topic is not about the one paper: IPL alone answered the survey.
    assert not seed_retriever.named_papers("survey iterative pseudo-labeling methods for speech recognition")
    assert not seed_retriever.named_papers("which papers study instruction following for speech recognition?")
    names = PaperNames(Vocabulary.of([replace(_paper("x"), title=title, key=title) for title in (
        "Scaling Up Online Speech Recognition Using ConvNets and Other Things Besides",  # too long a title
        "Speech Recognition")]))  # too short: a phrase, not a name
    assert not names.named_in("scaling up online speech recognition using convnets and other things besides")


def test_at_most_one_chunk_per_paper_unless_asked(seed_retriever) -> None:
    one = seed_retriever.search("speech recognition", k=20)
    assert len({e.paper.key for e in one}) == len(one) == 20
    two = seed_retriever.search("speech recognition", k=30, per_paper=2)
    counts = {}
    for e in two:
        counts[e.paper.key] = counts.get(e.paper.key, 0) + 1
    assert max(counts.values()) == 2 and len({e.chunk_id for e in two}) == len(two)


def test_dense_and_bm25_rankers_alone(seed_retriever) -> None:
    dense = seed_retriever.dense_search("vision transformers", k=5)
    sparse = seed_retriever.bm25_search("vision transformers", k=5)
    assert [e.score for e in dense] == [e.dense_score for e in dense]
    assert [e.score for e in sparse] == [e.bm25_score for e in sparse]
    assert len({e.paper.key for e in dense}) == 5


def test_year_filter(seed_retriever) -> None:
    results = seed_retriever.search("speech recognition", k=200, filters=Filters.parse(year="2021-2022"))
    assert results and all(2021 <= e.paper.year <= 2022 for e in results)
    # Every paper of those years is reachable (dense ranking has no score cut-off).
    assert {e.paper.key for e in results} == {p.key for p in seed_retriever.papers() if p.year in (2021, 2022)}


def test_open_ended_year_filter_excludes_papers_without_a_year(seed_retriever) -> None:
    results = seed_retriever.search("speech", k=200, filters=Filters.parse(year="2024-"))
    assert results and all(e.paper.year is not None and e.paper.year >= 2024 for e in results)


def test_author_filter_is_a_case_insensitive_substring(seed_retriever) -> None:
    results = seed_retriever.search("positional embeddings", k=50, filters=Filters.parse(author="LIKHOMAN"))
    expected = {p.key for p in seed_retriever.papers() if any("likhoman" in a.lower() for a in p.authors)}
    assert {e.paper.key for e in results} <= expected and len(results) == min(50, len(expected))
    assert results[0].paper.key == "likhomanenko2021cape"


def test_category_filter(seed_retriever) -> None:
    results = seed_retriever.search("language models", k=10, filters=Filters.parse(category="cl"))
    assert results and all(e.paper.category == "CL" for e in results)


def test_combined_filters_apply_to_both_rankers(seed_retriever) -> None:
    filters = Filters.parse(year="2023", author="collobert")
    for search in (seed_retriever.search, seed_retriever.dense_search, seed_retriever.bm25_search):
        results = search("speech recognition", k=20, filters=filters)
        assert all(e.paper.year == 2023 and any("collobert" in a.lower() for a in e.paper.authors) for e in results)


def test_a_filter_nothing_passes_gives_no_results(seed_retriever) -> None:
    assert seed_retriever.search("speech", filters=Filters.parse(author="nobody-at-all")) == []
    assert seed_retriever.search("speech", filters=Filters.parse(year="1990")) == []


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_blank_queries_are_input_errors(seed_retriever, query: str) -> None:
    with pytest.raises(InputError, match="empty"):
        seed_retriever.search(query)


def test_bad_k_is_an_input_error(seed_retriever) -> None:
    with pytest.raises(InputError):
        seed_retriever.search("speech", k=0)


def test_a_100_kb_query_does_not_crash(seed_retriever) -> None:
    query = "attention entropy collapse " * 4000
    assert len(query) > 100_000
    results = seed_retriever.search(query, k=3)
    assert results[0].paper.title == STABILIZING


def test_query_with_no_indexed_word_still_ranks_densely(seed_retriever) -> None:
    assert seed_retriever.bm25_search("zzzqqq xxyyzz", k=5) == []
    assert len(seed_retriever.search("zzzqqq xxyyzz", k=5)) == 5


def test_evidence_to_dict_has_the_promised_fields(seed_retriever) -> None:
    data = seed_retriever.search("speech translation", k=1)[0].to_dict()
    assert {"key", "source", "title", "authors", "year", "score", "snippet"} <= set(data)


# --- CLI ------------------------------------------------------------------------------------


def run_cli(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_search_cli_json(seed_settings: Settings, isolated_env) -> None:
    code, out, _ = run_cli(["search", "which papers stabilize attention?", "--index", str(seed_settings.index_dir),
                            "-k", "5", "--json"])
    assert code == 0
    results = json.loads(out)
    assert len(results) == 5 and STABILIZING in [r["title"] for r in results]
    assert {"key", "source", "title", "authors", "year", "score", "snippet"} <= set(results[0])


def test_search_cli_plain_text_with_filters(seed_settings: Settings, isolated_env) -> None:
    code, out, _ = run_cli(["search", "speech", "--index", str(seed_settings.index_dir), "-k", "3",
                            "--year", "2022", "--author", "collobert"])
    assert code == 0
    lines = [line for line in out.splitlines() if line[:1].isdigit()]
    assert len(lines) == 3 and all("(2022)" in line for line in lines)


def test_search_cli_bad_year_is_one_line(seed_settings: Settings, isolated_env) -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "from assistant.cli import main; main()", "search", "x",
                           "--index", str(seed_settings.index_dir), "--year", "20x"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: the year filter '20x'")


def test_papers_cli_json(seed_settings: Settings, isolated_env) -> None:
    code, out, _ = run_cli(["papers", "--index", str(seed_settings.index_dir), "--json"])
    papers = json.loads(out)
    assert code == 0 and len(papers) == 122
    assert {"key", "source", "title", "authors", "year", "abstract"} <= set(papers[0])
    assert len({p["key"] for p in papers}) == 122


@pytest.mark.slow
def test_ingest_cli_is_idempotent(small_settings: Settings, isolated_env) -> None:
    args = ["ingest", "--index", str(small_settings.index_dir), "--seeds", str(small_settings.seeds_dir)]
    code, out, _ = run_cli(args)
    assert code == 0 and "indexed 30 papers" in out
    code, out, _ = run_cli(args)
    assert code == 0 and "up to date" in out


def test_author_filter_ignores_accents(seed_retriever) -> None:
    by_plain = {e.paper.key for e in seed_retriever.search("speech", k=50, filters=Filters.parse(author="zelasko"))}
    by_accent = {e.paper.key for e in seed_retriever.search("speech", k=50, filters=Filters.parse(author="Żelasko"))}
    assert by_plain == by_accent
    assert any("Żelasko" in name for key in by_plain for name in seed_retriever.paper(key).authors)


def test_bm25_top_n_equals_a_stable_sort_of_all_scores() -> None:
    """The partial selection must return exactly what sorting every score would, ties included."""
    import numpy as np

    from assistant.index.reader import top_positive

    rng = np.random.default_rng(7)
    for _ in range(200):
        scores = rng.choice([0.0, 0.5, 1.0, 1.5, 2.0, 3.25], size=int(rng.integers(1, 80)))
        n = int(rng.integers(1, 30))
        expected = [i for i in np.argsort(-scores, kind="stable")[:n] if scores[i] > 0]
        assert top_positive(scores, n).tolist() == expected
