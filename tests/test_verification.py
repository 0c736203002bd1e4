"""Checking a cited sentence against what it cites (assistant/answer/verification.py)."""

from __future__ import annotations

import pytest

from assistant.answer.markers import DraftSentence
from assistant.answer.verification import numbers_in, verify
from citation_helpers import FLOORS, SIGMOID, ZHAI, evidence, term_embed


@pytest.mark.parametrize("text, expected", [
    ("3x faster", {3.0}),
    ("3× faster", {3.0}),
    ("three times faster", {3.0}),
    ("a threefold gain", {3.0}),
    ("2.3% WER", {2.3}),
    ("10,000 hours and 10k hours", {10000.0}),
    ("a 7B model", {7e9}),
    ("1.5 million hours", {1.5e6}),
    ("twenty-five languages", {25.0}),
    ("wav2vec 2.0 and GPT-4", {2.0, 4.0}),
    ("2.30 and 2.3", {2.3}),
])
def test_numbers_in_normalises(text: str, expected: set[float]) -> None:
    assert numbers_in(text) == expected


def test_numbers_in_claims_ignore_weak_number_words() -> None:
    assert numbers_in("one of the best models", claims=True) == set()
    assert numbers_in("one of the best models") == {1.0}


def test_verify_passes_a_faithful_sentence_and_quotes_its_source() -> None:
    ev = evidence(ZHAI, SIGMOID)
    sentences = [DraftSentence("σReparam prevents entropy collapse in the attention layers.", (1,))]
    [verdict] = verify(sentences, ev, term_embed, FLOORS)
    assert verdict.supported and verdict.note is None
    assert verdict.quotes == {1: "σReparam prevents entropy collapse in the attention layers and reaches 3x faster convergence."}


def test_verify_accepts_a_number_written_differently() -> None:
    ev = evidence(ZHAI)
    [verdict] = verify([DraftSentence("σReparam converges three times faster.", (1,))], ev, term_embed, FLOORS)
    assert verdict.supported, verdict.note


def test_verify_flags_a_number_not_in_the_cited_evidence() -> None:
    ev = evidence(ZHAI, SIGMOID)
    [verdict] = verify([DraftSentence("σReparam prevents entropy collapse with 45% fewer steps.", (1,))],
                       ev, term_embed, FLOORS)
    assert not verdict.supported
    assert "45" in verdict.note


def test_verify_flags_a_claim_its_citation_does_not_make() -> None:
    ev = evidence(ZHAI, SIGMOID)
    [verdict] = verify([DraftSentence("FLASHSIGMOID speeds up inference kernels on H100 GPUs.", (1,))],
                       ev, term_embed, FLOORS)
    assert not verdict.supported
    assert "key terms" in verdict.note and "similarity" in verdict.note

