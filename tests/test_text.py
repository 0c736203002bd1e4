"""The text toolkit (assistant/text.py): sentences, terms, tokens, snippets and LaTeX."""

from __future__ import annotations

import pytest
from hypothesis import given

from assistant.corpus.paper import Paper
from assistant.text import (
    content_terms,
    first_sentence,
    latex_to_text,
    snippet,
    split_sentences,
    stem,
    tokenize,
    without_versions,
)
from citation_helpers import TEXT

# -- sentences ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("One claim. Another claim.", ["One claim.", "Another claim."]),
    ("Zhai et al. propose a fix. It works.", ["Zhai et al. propose a fix.", "It works."]),
    ("Methods, e.g. BERT, help. See Fig. 2 for details. Then i.e. this.",
     ["Methods, e.g. BERT, help.", "See Fig. 2 for details.", "Then i.e. this."]),
    ("WER drops to 2.3 on test. It is 4.5 vs. 6.1 elsewhere.", ["WER drops to 2.3 on test.", "It is 4.5 vs. 6.1 elsewhere."]),
    ("J. Smith showed it. Really? Yes!", ["J. Smith showed it.", "Really?", "Yes!"]),
    ("A claim [1]. A second one. [2] A third [3][4].", ["A claim [1].", "A second one. [2]", "A third [3][4]."]),
    ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
    ("No final stop here", ["No final stop here"]),
    ("", []),
])
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("Gains, e.g. 2.1% on test, hold. They do.", ["Gains, e.g. 2.1% on test, hold.", "They do."]),
    ("As Zhai et al. (2023) show, it helps. Next.", ["As Zhai et al. (2023) show, it helps.", "Next."]),
    ("Results are in Fig. 2 and Tab. 3. Then more.", ["Results are in Fig. 2 and Tab. 3.", "Then more."]),
    ("WER fell 2.1%. It rose 0.5% after.", ["WER fell 2.1%.", "It rose 0.5% after."]),
    ("Scaled to 1.5B parameters. Done.", ["Scaled to 1.5B parameters.", "Done."]),
])
def test_split_sentences_keeps_abbreviations_and_decimals_inside(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@given(TEXT)
def test_splitting_loses_nothing_and_is_stable(text: str) -> None:
    sentences = split_sentences(text)
    assert "".join("".join(s.split()) for s in sentences) == "".join(text.split())
    for s in sentences:
        assert split_sentences(s) == [s]



def test_first_sentence_reads_like_the_splitter() -> None:
    text = "Zhai et al. propose a fix, e.g. for Fig. 2. It works."
    assert first_sentence(text) == split_sentences(text)[0] == "Zhai et al. propose a fix, e.g. for Fig. 2."
    assert first_sentence("  ") == ""


@pytest.mark.timeout(60)
def test_splitting_is_linear_in_the_text_length() -> None:
    """2 MB of abbreviation-dense text: minutes when each boundary rescans the text, well under
    a second when it looks only at its neighbours."""
    unit = "Zhai et al. report e.g. 2.1% gains in Fig. 2 of their study [3]. We propose Xnet. "
    text = unit * (2_000_000 // len(unit))
    sentences = split_sentences(text)
    assert len(sentences) == 2 * (2_000_000 // len(unit))
    assert sentences[0] == "Zhai et al. report e.g. 2.1% gains in Fig. 2 of their study [3]."


@pytest.mark.timeout(60)
def test_one_long_sentence_splits_in_linear_time() -> None:
    """No boundary at all, or boundaries that are all abbreviations, must not rescan either."""
    assert split_sentences("word " * 400_000) == [("word " * 400_000).strip()]
    text = "see Fig. e.g. al. " * 100_000
    assert split_sentences(text) == [text.strip()]


def test_content_terms_meet_across_word_forms() -> None:
    assert content_terms("stabilizing") == content_terms("stabilization") == content_terms("stabilize")
    assert content_terms("self-attention") == {"self", "attent"}
    assert content_terms("We propose a new method [3].") == set()


def test_an_acronym_and_its_plural_are_one_term() -> None:
    """"custom GPU kernels" is what a paper reporting a speed-up "on H100 GPUs" is about; a
    four-letter plural was never stemmed, so "GPUs" and "LLMs" met nothing asked in the singular."""
    assert content_terms("LLMs on GPUs with MoEs and ViTs") == content_terms("an LLM on a GPU with an MoE and a ViT")
    assert content_terms("llms and cnns") == content_terms("llm and cnn")
    assert content_terms("plus bus Transformers") == {"plus", "bus", "transf"}  # words, not acronyms
    # A two-letter acronym's plural is a term as typed either way: "do character lms work as well
    # as word lms" was refused, the abstract saying "word-based LMs" held no "lms".
    assert content_terms("word-based LMs") == content_terms("word lms") == {"word", "lms"}


def test_a_comparative_of_a_dimension_is_that_dimension() -> None:
    """"deeper vs wider" asks what "adding depth works better than width" answers; "deep
    learning" and "a wide range" keep their own sense."""
    assert content_terms("deeper or wider networks") == content_terms("depth or width of networks")
    assert content_terms("longer sequences") == content_terms("sequence length")
    assert not content_terms("deep learning over a wide range") & content_terms("depth and width")
    assert "length" not in content_terms("no longer requires labels")


def test_a_compound_with_a_part_too_short_for_a_word_is_also_one_term() -> None:
    """"What is BL-JUST?" had no content term at all ("bl" is short, "just" a stop word)."""
    assert content_terms("BL-JUST") == {"bljust"}
    assert content_terms("RNN-T models") == {"rnn", "rnnt", "model"}
    assert content_terms("text-to-speech, end-to-end, model's") == {"text", "speech", "end", "model"}


def test_one_stemmer_serves_search_tokens_and_content_terms() -> None:
    assert stem("stabilizing") == stem("stabilize") == stem("stabilization") == "stabil"
    assert stem("classes") == "class" and stem("loss") == "loss" and stem("studies") == "study"
    assert tokenize("Stabilizing the Transformers") == ["stabil", "transformer"]
    assert content_terms("reparametrizes") == {stem("reparametrizes")[:6]}


def test_stop_words_are_out_of_tokens_and_terms() -> None:
    assert tokenize("Which papers propose a method?") == []
    assert content_terms("However, et al. may propose a novel method.") == set()
    assert tokenize("a new web corpus") == ["new", "web", "corpus"]  # search finds papers by these


def test_tokens_fold_accents_and_keep_numbers_whole() -> None:
    assert tokenize("Żelasko reports 2.3 WER on wav2vec") == ["zelasko", "report", "2.3", "wer", "wav2vec"]


def test_snippet_is_the_sentence_sharing_most_query_terms() -> None:
    text = "Transformers are popular. Zhai et al. stabilize attention with σReparam. Other work exists."
    assert snippet(text, "stabilizing attention") == "Zhai et al. stabilize attention with σReparam."
    assert snippet("word " * 100, "word", width=40).endswith(" ...")


@pytest.mark.parametrize("latex, text", [
    (r"$\textit{entropy collapse}$", "entropy collapse"),
    (r"see \url{https://github.com/x/y} for code", "see https://github.com/x/y for code"),
    (r"{to competitive performance}", "to competitive performance"),
    (r"\textbf{\emph{nested}} markup", "nested markup"),
    (r"a 3\% gain and a $5 \$ fee", "a 3% gain and a 5 $ fee"),
    ("plain text, 17% faster", "plain text, 17% faster"),
])
def test_latex_to_text(latex: str, text: str) -> None:
    assert latex_to_text(latex) == text


def test_an_untitled_paper_is_labelled_by_its_whole_first_sentence() -> None:
    abstract = "Zhai et al. found e.g. short labels. Another sentence follows."
    untitled = Paper(key="k", source="s#1", title=None, authors=(), authors_truncated=False, year=None,
                     date=None, year_inferred=False, category=None, arxiv_id=None, comment=None,
                     affiliations=(), abstract=abstract)
    assert untitled.label == "Zhai et al. found e.g. short labels."


@pytest.mark.parametrize("sentence, left", [
    ("We pre-train with wav2vec 2.0 and compare.", "We pre-train with wav2vec and compare."),
    ("It combines USM and the PaLM 2 language model.", "It combines USM and the PaLM language model."),
    ("Results on GPT-4 and ResNet-50 hold.", "Results on GPT and ResNet hold."),
    ("We fine-tune Llama 3.1 8B on it.", "We fine-tune Llama 8B on it."),  # the count of parameters stays
    ("Over 60K hours of audio.", "Over 60K hours of audio."),
    ("Our 3B model reaches 2.1% WER.", "Our 3B model reaches 2.1% WER."),
    ("It improves Whisper 5% on the test set.", "It improves Whisper 5% on the test set."),  # a share, not a version
    # A metric's value, an amount in its unit, a count, a range: figures all.
    ("It achieves WER 2.1 and BLEU 30.5.", "It achieves WER 2.1 and BLEU 30.5."),
    ("We fine-tune on LibriSpeech 960 hours.", "We fine-tune on LibriSpeech 960 hours."),
    ("We use the Librispeech 100-hour dataset.", "We use the Librispeech 100-hour dataset."),
    ("It covers Common Voice 15 languages.", "It covers Common Voice 15 languages."),
    ("It cuts 150-300 ms of latency.", "It cuts 150-300 ms of latency."),
])
def test_version_numbers_are_no_figures(sentence: str, left: str) -> None:
    assert without_versions(sentence) == left


@pytest.mark.timeout(60)
def test_reading_versions_is_linear() -> None:
    """A name before every number was read again from the sentence's start: 35 s on 100 KB, hours on 1 MB."""
    assert without_versions("Zz Xx 1 " * 125_000) == "Zz Xx " * 125_000
