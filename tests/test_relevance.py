"""The relevance gate before drafting (assistant/answer/relevance.py)."""

from __future__ import annotations

from dataclasses import replace

from assistant.answer.answerer import answer_question, term_weights, whole_abstracts
from assistant.answer.relevance import (TermWeights, gate_meaning, names_missing, question_coverage, question_names,
                                        relevance_gap, specificity)
from assistant.index.embedder import remembered
from assistant.text import content_terms
from citation_helpers import ASR, SIGMOID, ZHAI, evidence, papers


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



AVSR = ("We introduce continuous pseudo-labeling for audio-visual speech recognition. It improves visual "
        "speech recognition on the LRS3 dataset from unlabeled videos.")
AFFECT = "Noise affects the accuracy of speech recognition on far-field audio."
DOTA = ("Our decoder-only model outperforms Whisper large-v3 on 7 out of 15 test sets, trained on public "
        "English ASR corpora alone.")
WER_REPORT = ("Our ASR model reaches a WER of 2.1% on LibriSpeech test-clean and 4.3% on test-other, "
              "trained on public English corpora.")


def test_a_question_in_everyday_words_finds_the_fields_words_for_them() -> None:
    """"lip reading" is what "visual speech recognition" papers do (assistant/answer/equivalents.txt);
    the field's phrase must stand as a phrase: "affects the accuracy of speech recognition" is no
    "affect recognition", the field's "emotion recognition"."""
    ev = evidence(AVSR, AFFECT, ZHAI, dense=0.3)
    weights = TermWeights.from_papers(e.paper for e in ev)
    assert relevance_gap("any work on lip reading?", ev, weights, dense_floor=0.1, coverage_floor=0.45) is None
    gap = relevance_gap("any work on emotion recognition?", ev, weights, dense_floor=0.1, coverage_floor=0.45)
    assert gap and "emotion" in gap.split("lacking")[1]


def test_a_question_naming_things_is_answered_only_by_a_paper_naming_them_all() -> None:
    """One abstract compares with Whisper large-v3, another reports LibriSpeech WERs: neither gives
    Whisper large-v3's WER on LibriSpeech, so the question is refused, saying which names are missing.
    The field's own acronyms (ASR, WER) are words, not names: a paper may leave them implied."""
    ev = evidence(DOTA, WER_REPORT, ZHAI, dense=0.4)
    weights = TermWeights.from_papers(e.paper for e in ev)
    gap = relevance_gap("What WER does Whisper large-v3 get on LibriSpeech test-clean?", ev, weights,
                        dense_floor=0.1, coverage_floor=0.45)
    assert gap and "Whisper" in gap and "large-v3" in gap
    assert relevance_gap("Which test sets does the decoder-only model beat Whisper large-v3 on?", ev, weights,
                         dense_floor=0.1, coverage_floor=0.45) is None
    assert relevance_gap("What WER does the ASR model reach on LibriSpeech test-clean?", ev, weights,
                         dense_floor=0.1, coverage_floor=0.45) is None


def test_question_names_are_coined_or_capitalised_words_past_the_first() -> None:
    assert question_names("What WER does Whisper large-v3 get on Google's LibriSpeech?") == [
        "WER", "Whisper", "large-v3", "Google", "LibriSpeech"]
    assert question_names("How do I train on 60K hours? Summarise the papers.") == []
    # An opening word that is no English word is a name too; an English one is how the question starts.
    assert question_names("Mistral 7B's accuracy on GSM8K?") == ["Mistral", "GSM8K"]  # 7B is a size
    assert question_names("Which papers discuss Conformer?") == ["Conformer"]
    # What a thing resembles describes it: the paper that answers need not name GPT or MAML.
    assert question_names("train a GPT-like model on speech tokens, or MAML-style ideas?") == []
    # A paper's coined name typed in lower case is a name when the question names that paper.
    named = [replace(item, named=True) for item in papers(**{"ContextNet: Global Context": "A CNN for ASR."})]
    assert question_names("contextnet wer on ted-lium", named) == ["ContextNet"]
    assert question_names("contextnet wer on ted-lium", [replace(named[0], named=False)]) == []
    assert names_missing(["non-IID", "Conformers", "TTS", "wav2vec-style", "large-v2"],
                         "non-i.i.d. data; a Conformer; text-to-speech; wav2vec 2.0; Whisper large-v3") == ["large-v2"]


ON_DEVICE = "Federated learning trains speech recognizers on the device, keeping the user's recordings private."
JOINT = "Joint training with supervised and unsupervised losses matches pre-training followed by fine-tuning."


def _specificity(word: str) -> float:
    (term,) = content_terms(word)
    return specificity(term)


def test_words_common_in_english_say_little_of_what_a_question_is_about() -> None:
    """A paper lacking "never" or "leave" only phrases the question otherwise; one lacking
    "spiking" is about something else."""
    assert _specificity("never") < 0.1 < _specificity("check") < 0.5 < _specificity("spiking") == _specificity("diarization") == 1
    ev = evidence(ON_DEVICE, ZHAI, ASR, dense=0.3)
    weights = TermWeights.from_papers(e.paper for e in ev)
    assert relevance_gap("training speech recognizers so that recordings never leave the device", ev, weights,
                         dense_floor=0.1, coverage_floor=0.45) is None
    gap = relevance_gap("training speech recognizers on the device with spiking neurons", ev, weights,
                        dense_floor=0.1, coverage_floor=0.45)
    assert gap and "spiking" in gap.split("lacking")[1]


def test_a_strongly_similar_paper_carries_a_question_it_covers_in_part_but_not_one_naming_what_it_lacks() -> None:
    """In everyday words a question shares few terms with the paper that answers it; a paper that
    reads like it answers it, unless it lacks a name the question gives. A compound matches with or
    without its hyphen ("pretraining", "pre-training")."""
    question = "learning from unlabeled and labeled audio in one go instead of pretraining and then finetuning"
    for dense, answered in ((0.3, False), (0.6, True)):
        ev = evidence(JOINT, ZHAI, ASR, dense=dense)
        weights = TermWeights.from_papers(e.paper for e in ev)
        gap = relevance_gap(question, ev, weights, dense_floor=0.1, coverage_floor=0.45)
        assert (gap is None) == answered
        assert answered or "pretraining" not in gap.split("lacking")[1]
    ev = evidence(DOTA, WER_REPORT, ZHAI, dense=0.6)
    weights = TermWeights.from_papers(e.paper for e in ev)
    gap = relevance_gap("Which test sets does the decoder-only model beat Whisper large-v2 on?", ev, weights,
                        dense_floor=0.1, coverage_floor=0.45)
    assert gap and "large-v2" in gap


def test_a_capitalised_field_word_opening_a_question_is_held_in_the_fields_words() -> None:
    """Only capitalisation makes "Finetuning" or "Lipreading" look like a name: the paper that
    writes "fine-tuning" or "lip reading" answers the question, as it does in lower case."""
    lips = "Visual speech recognition (lip reading) transcribes the speaker's lips from silent video."
    ev = evidence(JOINT, lips, dense=0.5)
    weights = TermWeights.from_papers(e.paper for e in ev)
    for question in ("Finetuning after pre-training: does joint training match it?",
                     "Lipreading from silent video: how is it done?"):
        assert relevance_gap(question, ev, weights, dense_floor=0.1, coverage_floor=0.45) is None, question
    assert "Mistral" in relevance_gap("Mistral fine-tuning after pre-training?", ev, weights,
                                      dense_floor=0.1, coverage_floor=0.45)


def test_a_question_in_other_words_is_answered_by_the_paper_saying_them(seed_settings, seed_retriever) -> None:
    """No seed abstract says "mic", "switching" or "finishes": the endpointer paper says
    "microphone", "speech" and "stops speaking". Words close in meaning to the question's hold it
    (MiniLM, word by word), so the question is answered from that paper instead of refused."""
    question = "switching off the mic once someone finishes speaking"
    ev = whole_abstracts(seed_retriever.search(question, k=seed_settings.answer.top_k))
    weights = term_weights(seed_retriever)
    floors = {"dense_floor": seed_settings.answer.relevance_floor,
              "coverage_floor": seed_settings.answer.coverage_floor}
    assert relevance_gap(question, ev, weights, **floors) is not None  # word for word, nothing holds it
    meaning = gate_meaning(seed_retriever.embedder, remembered(seed_retriever.embedder))
    assert relevance_gap(question, ev, weights, **floors, meaning=meaning) is None
    assert not answer_question(question, seed_settings, seed_retriever).refused
    # Asked with the recognizer named, the endpointer paper's own sentence leads. (Asked as above,
    # the answer quotes the turn-taking benchmark: the endpointer paper's one sentence holding
    # "speaking" is the field's, "Thus far, E2E models have not been shown ...", and is not quoted.)
    answer = answer_question("how does a streaming recognizer decide the user is done talking so it can "
                             "close the mic?", seed_settings, seed_retriever)
    assert answer.sentences[0].citations[0].key == "sainath2020streaming"
    assert "close the microphone" in answer.sentences[0].shown


def test_words_close_to_minor_ones_do_not_carry_a_near_topic_question(seed_settings, seed_retriever) -> None:
    """"three" and "second" are said in other words by papers on synthesis and recognition, but no
    paper does voice cloning: the question is still refused, naming what the papers do not address."""
    answer = answer_question("voice cloning from a three-second recording", seed_settings, seed_retriever)
    assert answer.refused and not answer.sentences
    assert answer.refusal.startswith("The indexed papers do not address voice cloning")


def test_stop_says_how_a_question_is_phrased(seed_settings, seed_retriever) -> None:
    """"How do people stop X from blowing up?" asks about X, as "avoid" or "keep" would: the
    stabilising paper answers it (it was refused for lacking "stop")."""
    answer = answer_question("how do people stop transformer training from blowing up?", seed_settings, seed_retriever)
    assert not answer.refused
    assert "zhai2023stabilizing" in {r.key for r in answer.references}


def test_everyday_words_no_paper_uses_do_not_outweigh_the_topic_a_paper_holds(seed_settings, seed_retriever) -> None:
    """No seed abstract says "fighting", "pulling" or "opposite": they phrase the question. The
    paper on conflicting gradients of multiple objectives holds its topic and answers it. A word
    no paper uses weighs as one a single paper uses (_IDF_CAP), so the phrasing no longer
    outweighs the topic; a rare topic word the papers lack ("speculative") still refuses."""
    weights = term_weights(seed_retriever)
    assert weights.weight("fight") == TermWeights({"fight": 1}, weights.papers).weight("fight")
    answer = answer_question("my training objectives keep fighting each other (gradients pulling in opposite "
                             "directions) - how do people deal with that?", seed_settings, seed_retriever)
    assert not answer.refused
    assert "arxiv2508.09228" in {r.key for r in answer.references}
    refused = answer_question("speeding up LLM text generation with speculative decoding and a small draft model",
                              seed_settings, seed_retriever)
    assert refused.refused and refused.refusal.startswith("The indexed papers do not address")


def test_a_question_in_the_singular_meets_an_abstract_in_the_plural(seed_settings, seed_retriever) -> None:
    """"custom gpu/tpu kernels for faster attention": FlashSigmoid's kernel speed-up "on H100 GPUs"
    answers it (it was refused for lacking "gpu", "tpu" and "custom")."""
    answer = answer_question("custom gpu/tpu kernels for faster attention", seed_settings, seed_retriever)
    assert not answer.refused
    assert "FLASHSIGMOID" in answer.sentences[0].shown


def test_a_compound_topic_is_said_as_one_thing_or_in_the_fields_words() -> None:
    from assistant.answer.relevance import says_compounds

    def says(topic: str, abstract: str) -> bool:
        [item] = papers(p=abstract)
        return says_compounds(topic, item)

    apart = "We adapt a text LLM to speech inputs and keep its text abilities."
    assert not says("text-to-speech", apart)
    assert not says("text to speech", apart)  # the compound written with spaces
    assert says("text to speech", "A streaming text-to-speech system.")
    assert says("text-to-speech", "A streaming text to speech system.")
    assert says("text-to-speech", "We improve speech synthesis for long inputs.")  # equivalents.txt
    assert says("pseudo-labeling for ASR", "We study pseudo-labels for recognition.")
    assert says("on-device speech recognition", "Speech recognition on edge devices.")  # one content word
    assert says("speech recognition", apart)  # no compound: the usual coverage decides
    assert says("RNN-T decoding", "We speed up RNN training.")  # one word and a letter: "RNN" alone
    assert says("robustness to noise", "We study noise robustness.")  # "to" joins media only


def test_a_word_cut_short_is_held_by_the_word_it_shortens() -> None:
    """"conv and attention" asks what "convolution" says; a common word ("mode") is its own word,
    and a long word stemmed short ("downsizing" -> "downs") is no word cut short."""
    from assistant.answer.relevance import _shortened
    from assistant.text import content_terms

    held = content_terms("convolution augmented transformers model downstream tasks")
    assert _shortened("how do they combine conv and attention?", held) == {"conv"}
    assert not _shortened("which mode works?", held)
    assert not _shortened("downsizing a model", held)


def test_an_acronym_typed_in_lower_case_plural_is_the_papers(seed_settings, seed_retriever) -> None:
    """"do character lms work as well as word lms" was refused for lacking "lms"; Likhomanenko et
    al. say "character-based language models (LM) can perform as well as word-based LMs"."""
    answer = answer_question("do character lms work as well as word lms", seed_settings, seed_retriever)
    assert not answer.refused
    assert answer.references[0].title == "Who Needs Words? Lexicon-Free Speech Recognition"
