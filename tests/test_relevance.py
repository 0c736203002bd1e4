"""The relevance gate before drafting (assistant/answer/relevance.py)."""

from __future__ import annotations

from assistant.answer.relevance import TermWeights, question_coverage, relevance_gap
from citation_helpers import ASR, SIGMOID, ZHAI, evidence


def test_relevance_gap_needs_similarity_and_the_rare_terms() -> None:
    ev = evidence(ZHAI, SIGMOID, ASR, dense=0.4)
    weights = TermWeights.from_papers(e.paper for e in ev)
    assert relevance_gap("How does σReparam prevent entropy collapse?", ev, weights,
                         dense_floor=0.1, coverage_floor=0.45) is None
    gap = relevance_gap("Which paper introduced the Mamba entropy model?", ev, weights,
                        dense_floor=0.1, coverage_floor=0.45)
    assert gap and "mamba" in gap.split("lacking")[1]
    low = evidence(ZHAI, dense=0.05)
    assert "similarity 0.05" in relevance_gap("σReparam entropy collapse", low, weights, dense_floor=0.1,
                                              coverage_floor=0.45)
    assert relevance_gap("anything", [], weights, dense_floor=0.1, coverage_floor=0.45)


def test_question_coverage_weighs_rare_terms_most() -> None:
    ev = evidence(ZHAI, SIGMOID, ASR)
    weights = TermWeights.from_papers(e.paper for e in ev)
    assert weights.idf("mamba") > weights.idf("attent")
    coverage, missing = question_coverage("attention in mamba", ev[0], weights)
    assert missing == ["mamba"] and coverage < 0.5

