"""Checking a cited sentence against what it cites (assistant/answer/verification.py)."""

from __future__ import annotations

import dataclasses

import pytest

from assistant.answer.markers import DraftSentence
from assistant.answer.posthoc import PostHocAttribution
from assistant.answer.relevance import names_missing
from assistant.answer.verification import clauses, numbers_in, verify
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
    ("Yu et al. (2020b) report a 7b model", {2020.0, 7e9}),  # a year's letter is no billion
    ("as (Yu et al., 2020b) report", {2020.0}),
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



SLIMIPL = ("We improve upon the IPL algorithm: we propose to iteratively re-generate transcriptions with hard "
           "labels, that is, without a language model. We call this approach Language-Model-Free IPL (slimIPL). "
           "Recent results in end-to-end automatic speech recognition have demonstrated the efficacy of "
           "pseudo-labeling for models trained with Sequence-to-Sequence losses.")


def test_a_model_sentence_with_a_clause_its_paper_never_says_is_unsupported() -> None:
    """SmolLM2 wrote this of slimIPL: most of its terms are the abstract's, its last clause is
    invented ("pseudorandom" shares its first letters with "pseudo-labeling", nothing more).
    Cited or attributed after the fact, it is not shown, and the report names the clause."""
    ev = evidence(SLIMIPL, ZHAI)
    invented = ("SlimIPL is a language-model-free pseudo-labeling algorithm that uses end-to-end learning to "
                "generate pseudorandom sequences of speech.")
    [verdict] = verify([DraftSentence(invented, (1,))], ev, term_embed, FLOORS)
    assert not verdict.supported and not verdict.quotes
    assert "pseudorandom sequences of speech" in verdict.note and "no pseudorandom" in verdict.note
    faithful = ("SlimIPL is a language-model-free pseudo-labeling algorithm that re-generates transcriptions "
                "with hard labels, without a language model.")
    [verdict] = verify([DraftSentence(faithful, (1,))], ev, term_embed, FLOORS)
    assert verdict.supported
    assert PostHocAttribution(ev, term_embed, FLOORS).supporting_source(invented) is None


def test_clauses_split_where_a_sentence_joins_claims() -> None:
    assert clauses("SlimIPL is a pseudo-labeling algorithm that uses end-to-end learning to generate "
                   "pseudorandom sequences of speech, and it needs fewer computational resources.") == [
        "SlimIPL is a pseudo-labeling algorithm", "generate pseudorandom sequences of speech",
        "it needs fewer computational resources."]


def test_a_model_sentence_naming_what_its_evidence_does_not_is_unsupported() -> None:
    # SmolLM2 wrote "such as Lambda-L2" where the paper names no such thing; every other word matched.
    ev = evidence(ZHAI)
    [verdict] = verify([DraftSentence("σReparam prevents entropy collapse in the attention layers with Lambda-L2.",
                                      (1,))], ev, term_embed, FLOORS)
    assert not verdict.supported and "Lambda-L2" in verdict.note


def test_a_name_followed_by_its_possessive_holds_the_name() -> None:
    assert names_missing(["Canary-1B", "GPT"], "extended with Canary-1B's speech encoder and GPT’s") == []
    assert names_missing(["Canary-1B"], "extended with Canary's speech encoder") == ["Canary-1B"]


def test_a_model_sentence_sharing_only_common_words_with_its_evidence_is_unsupported() -> None:
    # "This highlights the importance of ..." matches any paper's words and says nothing of this one.
    ev = evidence(ZHAI)
    [verdict] = verify([DraftSentence("Training is of great importance.", (1,))], ev, term_embed, FLOORS)
    assert not verdict.supported and "common words" in verdict.note
    # The same words quoted from the paper are its own sentence: a quote is checked as a quote.
    [quote] = verify([DraftSentence("Training stability is of great importance to Transformers.", (1,))],
                     ev, term_embed, FLOORS)
    assert quote.supported, quote.note


@pytest.mark.parametrize("sentence", [
    "This highlights the importance of reparametrizing linear layers with spectral normalization.",
    "These results demonstrate how σReparam prevents entropy collapse in the attention layers.",
])
def test_a_model_sentence_commenting_on_the_evidence_is_unsupported(sentence: str) -> None:
    # Its words are the paper's; the inference ("the importance of", "demonstrate how") is the model's.
    [verdict] = verify([DraftSentence(sentence, (1,))], evidence(ZHAI), term_embed, FLOORS)
    assert not verdict.supported and "comments on the evidence" in verdict.note


SEARCH = ("Neural Architecture Search (NAS), together with model scaling, has shown remarkable progress in designing "
          "high accuracy and fast convolutional architecture families. In this paper, we search for fast and accurate "
          "CNN model families for efficient inference on DC accelerators.")
SPARSITY = ("In automatic speech recognition (ASR), model pruning is a widely adopted technique that reduces model size "
            "and latency. In this paper, we present Dynamic Sparsity Neural Networks (DSNN) that, once trained, can "
            "instantly switch to any predefined sparsity configuration at run-time.")


def test_a_model_sentence_borrowing_another_papers_term_is_unsupported() -> None:
    # SmolLM2 gave the architecture-search paper the next paper's "dynamic sparsity" (n25 of
    # natural.jsonl); its similarity to the search paper's sentence (0.61) cleared every floor.
    ev = evidence(SEARCH, SPARSITY)
    mixed = "A new search for efficient convolutional architecture families based on sparsity."
    [verdict] = verify([DraftSentence(mixed, (1,))], ev, term_embed, FLOORS)
    assert not verdict.supported and "sparsity" in verdict.note and "p2" in verdict.note
    [own] = verify([DraftSentence("They search for fast and accurate CNN model families for efficient inference.",
                                  (1,))], ev, term_embed, FLOORS)
    assert own.supported, own.note


def test_a_sentence_citing_two_papers_needs_each_clause_from_one_of_them() -> None:
    # Every word of the last clause is in one paper or the other; neither says it.
    ev = evidence(SEARCH, SPARSITY)
    each = "Architecture search designs fast convolutional families, and pruning reduces model size and latency"
    [verdict] = verify([DraftSentence(f"{each}.", (1, 2))], ev, term_embed, FLOORS)
    assert verdict.supported and set(verdict.quotes) == {1, 2}, verdict.note
    [verdict] = verify([DraftSentence(f"{each}, and sparsity networks switch on efficient DC accelerators.", (1, 2))],
                       ev, term_embed, FLOORS)
    assert not verdict.supported and not verdict.quotes
    assert "sparsity networks switch on efficient DC accelerators" in verdict.note
    assert "any one paper it cites" in verdict.note


def test_of_two_quotes_nearly_as_close_the_one_sharing_more_terms_is_shown(seed_retriever) -> None:
    """SmolLM2's "FL with DP is viable for ASR, but only when the population of at least several
    million users exceeds 10% ..." was shown as the DP paper's "we achieve user-level (7.2,
    10^-9)-DP ..." (similarity 0.659 against 0.658), no answer to "how many users"."""
    [paper] = [e for e in seed_retriever.search("differentially private federated learning speech recognition", k=5,
                                                per_paper=1)
               if (e.paper.title or "").startswith("Enabling Differentially Private")]
    item = dataclasses.replace(paper, text=paper.paper.abstract)
    sentence = ("Our paper shows that FL with DP is viable for ASR, but only when the population of at least several "
                "million users exceeds 10% of the total number.")
    [verdict] = verify([DraftSentence(sentence, (1,))], [item], seed_retriever.embedder.embed, FLOORS)
    assert verdict.quotes[1].startswith("Consistent with these theoretical insights")
