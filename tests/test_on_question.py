"""Does a model's verified sentence answer the question? (assistant/answer/on_question.py)

Each case is a sentence SmolLM2-135M wrote through llama.cpp on evals/questions/natural.jsonl: a
near-copy of an evidence sentence, so its citation is supported, that answers another question.
Beside each, a sentence that does answer is kept. The abstracts are the papers' own, cut short.
"""

from __future__ import annotations

import dataclasses

from assistant.answer.on_question import QuestionFocus, kind_unanswered, off_question
from assistant.answer.relevance import TermWeights
from assistant.retrieve import Evidence
from citation_helpers import DICEHUBERT, DMEL, papers, term_embed

ZHAI = ("Training stability is of great importance to Transformers. In particular, we track the attention entropy "
        "for each attention head during the course of training, which is a proxy for model sharpness. We propose "
        "σReparam, which reparametrizes all linear layers with spectral normalization.")
SIGMOID = ("Attention is a key part of the transformer architecture. The weights are typically obtained as the "
           "softmax of dot products between keys and queries. Recent work has explored alternatives to softmax "
           "attention in transformers, such as ReLU and sigmoid activations. In this work, we revisit sigmoid "
           "attention and conduct an in-depth theoretical and empirical analysis.")
SPEAKSTREAM = ("The latency bottleneck of traditional text-to-speech (TTS) systems fundamentally hinders the "
               "potential of streaming large language models (LLMs) in conversational AI. During inference, it "
               "generates speech incrementally while absorbing streaming input text, making it particularly suitable "
               "for cascaded conversational AI agents where an LLM streams text to a TTS system.")
GRANITE = ("Granite-speech LLMs are compact and efficient speech language models specifically designed for English "
           "ASR and automatic speech translation (AST). The speech-specific components are: a conformer acoustic "
           "encoder using block attention and self-conditioning trained with connectionist temporal classification, "
           "a windowed query-transformer speech modality adapter used to do temporal downsampling of the acoustic "
           "embeddings and map them to the LLM text embedding space, and LoRA adapters to further fine-tune the text LLM.")


def why_not(question: str, evidence: list[Evidence], *sentences: tuple[str, str]) -> list[str | None]:
    weights = TermWeights.from_papers(e.paper for e in evidence)
    return off_question(question, [(text, [key]) for text, key in sentences], evidence, term_embed,
                        QuestionFocus(question, evidence, weights))


def test_another_papers_definition_does_not_answer_what_a_named_thing_is() -> None:
    # "What is dMel?" was answered with DiceHuBERT's definition, copied word for word but for "We introduce".
    evidence = papers(dmel=DMEL, dicehubert=DICEHUBERT)
    other, own = why_not("What is dMel?", evidence,
                         ("DiceHuBERT, a knowledge distillation framework for compressing HuBERT, a widely used "
                          "self-supervised learning (SSL)-based speech foundation model.", "dicehubert"),
                         ("dMel discretizes mel-filterbank channels into intensity bins.", "dmel"))
    assert other is not None and "does not name dMel" in other and "dicehubert" in other
    assert own is None


def test_a_papers_title_repeated_is_no_answer() -> None:
    # SmolLM2 answered "what's dMel?" with "dMel: Speech Tokenization Made Simple [1]": every word
    # in the cited record, and no claim at all.
    evidence = papers(dmel=DMEL, dicehubert=DICEHUBERT)
    evidence[0] = dataclasses.replace(evidence[0], paper=dataclasses.replace(
        evidence[0].paper, title="dMel: Speech Tokenization made Simple"))
    title, own = why_not("what's dMel?", evidence, ("dMel: Speech Tokenization Made Simple.", "dmel"),
                         ("dMel discretizes mel-filterbank channels into intensity bins.", "dmel"))
    assert title is not None and "repeats a paper's title" in title
    assert own is None


def test_a_sentence_of_the_named_paper_answers_without_repeating_the_name() -> None:
    # The paper it cites names dMel: "our results" there are dMel's.
    evidence = papers(dmel=DMEL, dicehubert=DICEHUBERT)
    [reason] = why_not("What is dMel?", evidence,
                       ("It discretizes mel-filterbank channels into intensity bins, a simpler representation "
                        "than existing speech tokenization methods.", "dmel"))
    assert reason is None


def test_a_true_sentence_off_the_questions_focus_does_not_answer() -> None:
    # "alternatives to standard softmax attention in transformers" answered with Zhai et al.'s
    # entropy tracking: every word the paper's, none of it an alternative to softmax.
    evidence = papers(zhai=ZHAI, sigmoid=SIGMOID)
    tracked, alternative = why_not(
        "alternatives to standard softmax attention in transformers", evidence,
        ("In particular, we track the attention entropy for each attention head during training, which is a proxy "
         "for model sharpness.", "zhai"),
        ("Sigmoid attention is an alternative to softmax attention in transformers.", "sigmoid"))
    assert tracked is not None and "key terms" in tracked and "similarity" in tracked
    assert alternative is None


def test_another_systems_components_do_not_answer_how_a_cascade_answers_quickly() -> None:
    # The voice-assistant question was answered with Granite-speech's component list, which names no TTS.
    evidence = papers(speakstream=SPEAKSTREAM, granite=GRANITE)
    question = "how can a voice assistant answer quickly when it chains speech recognition, an LLM and TTS?"
    components, streaming = why_not(
        question, evidence,
        ("The speech-specific components are: a conformer acoustic encoder using block attention and "
         "self-conditioning trained with connectionist temporal classification, and LoRA adapters to further "
         "fine-tune the text LLM.", "granite"),
        ("It generates speech incrementally while absorbing streaming input text, which suits cascaded "
         "conversational agents where an LLM streams text to a TTS system.", "speakstream"))
    assert components is not None and "TTS" in components
    assert streaming is None


def test_a_name_every_paper_holds_tells_none_apart() -> None:
    # Both papers say LLM: a sentence of either may answer a question naming it.
    evidence = papers(speakstream=SPEAKSTREAM, granite=GRANITE)
    [reason] = why_not("do speech LLMs keep their text abilities?", evidence,
                       ("Granite-speech calls the text LLM directly in text mode, preserving the text LLM "
                        "capabilities.", "granite"))
    assert reason is None


GULATI = ("Transformer and CNN based models have shown promising results in ASR. In this work, we study how to combine "
          "convolution neural networks and transformers. To this regard, we propose the convolution-augmented "
          "transformer for speech recognition, named Conformer.")
SUBSET = ("Our experiments with CTC-based Conformer models show that training on a strategically selected 5% subset "
          "can exceed the performance of models trained on the full dataset.")


ZHAI_REMEDY = ("Training stability is of great importance to Transformers. In this work, we investigate the training "
               "dynamics of Transformers by examining the evolution of the attention layers. As a remedy, we propose "
               "σReparam, where we reparametrize all linear layers with spectral normalization.")


def unasked(question: str, evidence: list[Evidence], *sentences: tuple[list[str], str]) -> str | None:
    weights = TermWeights.from_papers(e.paper for e in evidence)
    return kind_unanswered(question, [(wordings, [key]) for wordings, key in sentences], evidence,
                           QuestionFocus(question, evidence, weights))


def test_a_papers_use_of_a_thing_does_not_say_who_introduced_it() -> None:
    # SmolLM2 answered with another paper's Conformer experiment, Gulati et al.'s proposal in its evidence.
    evidence = papers(gulati=GULATI, subset=SUBSET)
    why = unasked("which paper introduced the conformer?", evidence, ([SUBSET], "subset"))
    assert why is not None and "who introduced it" in why and "gulati" in why
    assert unasked("which paper introduced the conformer?", evidence,
                   (["Gulati et al. propose the Conformer, a convolution-augmented transformer."], "gulati")) is None


def test_a_reworded_sentence_gives_what_the_sentence_it_was_checked_against_gives() -> None:
    # The model's words need not say "we propose": the quote it was verified against does.
    evidence = papers(gulati=GULATI, subset=SUBSET)
    reworded = ["The Conformer combines convolutions with transformers for speech.",
                "To this regard, we propose the convolution-augmented transformer for speech recognition, named Conformer."]
    assert unasked("which paper introduced the conformer?", evidence, (reworded, "gulati")) is None


def test_field_sentences_do_not_say_how_when_a_paper_does() -> None:
    # "how do people keep transformer training from blowing up?" was answered with two field sentences.
    evidence = papers(zhai=ZHAI_REMEDY, sigmoid=SIGMOID)
    why = unasked("how do people keep transformer training from blowing up?", evidence,
                  (["Attention is a key part of the transformer architecture."], "sigmoid"),
                  (["Training stability is of great importance to Transformers."], "zhai"))
    assert why is not None and "how it is done" in why and "zhai" in why


def test_a_question_asking_nothing_in_particular_holds_no_sentence_to_a_kind() -> None:
    evidence = papers(zhai=ZHAI, sigmoid=SIGMOID)
    assert unasked("alternatives to standard softmax attention in transformers", evidence,
                   (["Recent work has explored alternatives to softmax attention in transformers."], "sigmoid")) is None


def test_no_sentence_is_held_to_a_kind_the_evidence_does_not_give_either() -> None:
    # Nothing in the evidence says who introduced streaming TTS: the model's sentence stands or falls on its focus.
    evidence = papers(speakstream=SPEAKSTREAM)
    assert unasked("who first proposed streaming text-to-speech?", evidence,
                   (["Traditional text-to-speech systems hinder streaming LLMs in conversational AI."],
                    "speakstream")) is None
