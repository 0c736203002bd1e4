"""A question typed in haste reads as meant: a slip one edit from the papers' word is read as
that word, with a note, instead of being refused as a topic no paper addresses."""

from __future__ import annotations

import pytest

from assistant.answer.answerer import answer_question
from assistant.answer.render import render_text
from assistant.answer.spelling import Spelling, with_apostrophes
from citation_helpers import paper

PAPERS = [
    paper("a", "Conformer models reach low error rates with pseudo-labeling.", title="Conformer"),
    paper("b", "Federated learning of conformer models on phones, emerging and matching, pose."),
    paper("c", "Pseudo-labels from a teacher tokenizer.", authors=("Tatiana Likhomanenko",)),
]


@pytest.fixture(scope="module")
def spelling() -> Spelling:
    return Spelling.from_papers(PAPERS)


@pytest.mark.parametrize("typed, read, slips", [
    ("what WER does confomer get?", "what WER does conformer get?", [("confomer", "conformer")]),  # a letter left out
    ("does EMA help psuedo-labeling", "does EMA help pseudo-labeling", [("psuedo", "pseudo")]),  # two swapped
    ("Fedrated learning", "Federated learning", [("Fedrated", "Federated")]),  # as typed, capital kept
    ("conformmer models", "conformer models", [("conformmer", "conformer")]),  # a letter added
    ("conformr vs contextnet", "conformer vs contextnet", [("conformr", "conformer")]),  # left out before the last
])
def test_a_slip_is_read_as_the_papers_word(spelling, typed: str, read: str, slips: list) -> None:
    assert spelling.corrected(typed) == (read, slips)


@pytest.mark.parametrize("question", [
    "speaker diarization",  # a word no paper uses, and none one edit away: left as it is
    "what was pruned?",  # English
    "which tokenizers?",  # the papers' word ("tokenizer") with its ending changed
    "fed learning",  # too short to tell from other words
    "Conformers and federated models",  # the papers' own words
    "model merging",  # a word of its own, not "emerging" with its first letter left out
    "continuous batching",  # nor "matching" with a letter changed
    "papers by likhomanenk",  # authors' names are not the papers' words
    "encoder prose",  # a short word with a letter more or less ("pose") is often another word
])
def test_a_word_is_left_as_typed_unless_it_is_a_slip(spelling, question: str) -> None:
    assert spelling.corrected(question) == (question, [])


def test_contractions_get_their_apostrophe() -> None:
    assert with_apostrophes("whats dMel and hows it trained") == "what's dMel and how's it trained"


def test_a_slipped_question_is_answered_and_says_how_it_was_read(seed_settings, seed_retriever) -> None:
    """"confomer" was a topic no paper addresses: the question was refused, naming the Conformer
    paper as one of the closest."""
    answer = answer_question("what WER does confomer get on librispeech", seed_settings, seed_retriever)
    assert not answer.refused
    assert "2.1%/4.3%" in answer.sentences[0].shown
    assert "read “confomer” as “conformer”" in render_text(answer)


def test_a_slip_is_read_as_meant_even_where_the_question_is_answered_as_typed(seed_settings, seed_retriever) -> None:
    """"atention entropy" was answered as "entropy", led by a diffusion paper's entropy
    regularization; read as meant, it is the attention-entropy paper's, and the note says so."""
    answer = answer_question("atention entropy", seed_settings, seed_retriever)
    assert "Stabilizing Transformer Training" in answer.references[0].title
    assert [i.detail for i in answer.issues if i.kind == "read_as"] == ["read “atention” as “attention”, the papers' word"]
