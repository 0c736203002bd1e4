"""Questions about the collection (authors, years) answered from the records, name resolution,
and retrieval that knows which paper a question names."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from assistant.answer.answerer import answer_question
from assistant.answer.attribution import is_background
from assistant.answer.collection import CollectionQuestion
from assistant.cli import cli
from assistant.config import Settings, replace
from assistant.corpus.names import names_in
from assistant.retrieve import Filters

AUTHORS = ["Tatiana Likhomanenko", "Bo Li", "Bo Chen", "Ke Hu", "Ke Huang", "Tara N. Sainath", "Tara Sainath",
           "Françoise Beaufays", "W. Ronny Huang", "Piotr Żelasko", "Yixiao Li", "Kaiming He"]


# --- name resolution ------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("What did Ke Hu work on?", ["Ke Hu"]),  # not Ke Huang
    ("what did KE HU work on", ["Ke Hu"]),
    ("papers by Francoise Beaufays", ["Françoise Beaufays"]),  # accents
    ("zelasko, piotr", ["Piotr Żelasko"]),
    ("T. Likhomanenko papers", ["Tatiana Likhomanenko"]),  # initials
    ("Li, Bo - which papers?", ["Bo Li"]),  # Last, First
    ("Hu, K.", []),  # an initial after the surname is too weak to count
    ("which papers list tara sainath as an author?", ["Tara N. Sainath", "Tara Sainath"]),  # middle initial
    ("T. N. Sainath", ["Tara N. Sainath", "Tara Sainath"]),
    ("papers by Ronny Huang", ["W. Ronny Huang"]),  # a second given name
    ("how does attention hold up in a hu?", []),
    # A surname alone, written as an author's, names the one person who has it.
    ("which papers by Likhomanenko are about pseudo-labeling?", ["Tatiana Likhomanenko"]),
    ("what did sainath work on?", ["Tara N. Sainath", "Tara Sainath"]), ("Zelasko's papers", ["Piotr Żelasko"]),
    ("papers by Li", []),  # Bo Li or ... another Li: two people
    ("what did he find about streaming?", []),  # a pronoun typed in lower case, though a He were an author
    ("is Likhomanenko on the author list of slimIPL?", []),  # not written as the author of what is asked
])
def test_names_are_resolved_in_the_forms_readers_write(text: str, expected: list[str]) -> None:
    assert names_in(text, AUTHORS) == expected


def test_author_filter_reads_names_like_a_question(seed_retriever) -> None:
    papers = seed_retriever.papers()
    by_initial = {p.key for p in papers if Filters.parse(author="T. Likhomanenko").matches(p)}
    by_full = {p.key for p in papers if Filters.parse(author="Tatiana Likhomanenko").matches(p)}
    assert len(by_initial) == 28 and by_initial == by_full
    last_first = {p.key for p in papers if Filters.parse(author="Li, Bo").matches(p)}
    assert last_first == {p.key for p in papers if "Bo Li" in p.authors}
    assert not any(Filters.parse(author="Ke Hu").matches(p) for p in papers if "Ke Hu" not in p.authors)


# --- answers from the records ---------------------------------------------------------------


def extractive(settings: Settings) -> Settings:
    return replace(settings, backend="extractive")


def test_what_did_an_author_work_on_lists_all_their_papers(seed_settings: Settings, seed_retriever) -> None:
    ke_hu = {p.key for p in seed_retriever.papers() if "Ke Hu" in p.authors}
    answer = answer_question("What did Ke Hu work on?", extractive(seed_settings), seed_retriever)
    assert len(ke_hu) == 11 and not answer.refused
    assert answer.text.startswith("11 papers in the collection list Ke Hu as an author: [1–11]\n")
    assert {r.key for r in answer.references} == ke_hu
    listed = answer.sentences[1:]
    assert len(listed) == 11 and all(len(s.citations) == 1 and s.supported for s in listed)
    for sentence, reference in zip(listed, answer.references):
        assert sentence.text.startswith(f"{reference.label} ({reference.year or 'n.d.'})")
        assert sentence.citations[0].quote in reference.abstract  # the gist is quoted from the abstract


def test_a_listed_papers_gist_says_what_it_adds_not_the_field_it_found(seed_settings: Settings, seed_retriever) -> None:
    """Omni-Router's abstract opens with "Mixture-of-experts (MoE) architectures have expanded
    from language modeling to ASR": its gist is a sentence about Omni-Router instead."""
    answer = answer_question("anything by navdeep jaitly?", extractive(seed_settings), seed_retriever)
    gists = {s.citations[0].key: s.citations[0].quote for s in answer.sentences[1:]}
    omni = next(r.key for r in answer.references if r.title.startswith("Omni-Router"))
    assert "have expanded" not in gists[omni]
    assert not [gist for gist in gists.values() if is_background(gist)]


def test_a_listed_papers_gist_is_its_claim_read_on_its_own(seed_settings: Settings, seed_retriever) -> None:
    """The deliberation paper says "In this work, we explore using transformer layers ..." (explore
    is a claim, as everywhere else); QVPO's "To overcome this, we propose ..." needs the sentence
    before it, and its "Specifically, we introduce ..." does not."""
    answer = answer_question("What did Ke Hu work on?", extractive(seed_settings), seed_retriever)
    gists = {s.citations[0].key: s.citations[0].quote for s in answer.sentences[1:]}
    titles = {r.key: r.title for r in answer.references}
    deliberation = next(k for k, t in titles.items() if t.startswith("Transformer Based Deliberation"))
    qvpo = next(k for k, t in titles.items() if "Q-weighted" in t)
    assert gists[deliberation].startswith("In this work, we explore using transformer layers")
    assert not gists[qvpo].startswith("To overcome this")
    # A purpose leaning on the sentence before is left out, the claim kept: "To overcome this, we
    # propose a novel model-free ..." is shown from its "we".
    assert gists[qvpo].startswith("we propose a novel model-free diffusion-based online RL algorithm")
    assert any(s.text.startswith("Diffusion-based Reinforcement Learning") and ": We propose a novel" in s.text
               for s in answer.sentences)
    # slimIPL's "Recent results in end-to-end ASR have demonstrated ... (seq2seq) losses" is the
    # field as the paper found it, though "seq2seq" holds a digit.
    slimipl = answer_question("what did Tatiana Likhomanenko work on?", extractive(seed_settings), seed_retriever)
    gist = next(s.citations[0].quote for s in slimipl.sentences[1:] if s.text.startswith("SlimIPL"))
    assert not gist.startswith("Recent results"), gist


def test_a_listed_papers_gist_cites_no_other_work(seed_settings: Settings, seed_retriever) -> None:
    """"A Better and Faster End-to-End Model for Streaming ASR" would be listed by "we look at ...
    an algorithm called FastEmit [3]", another paper's method; it says what it found instead."""
    answer = answer_question("which papers did Jiahui Yu write?", extractive(seed_settings), seed_retriever)
    line = next(s.text for s in answer.sentences if s.text.startswith("A Better and Faster End-to-End Model"))
    assert "[3]" not in line and "Conformer RNN-T with Cascaded Encoders" in line


def test_a_run_of_citations_is_shown_as_a_range() -> None:
    from assistant.answer.model import AnswerSentence, Citation

    cited = AnswerSentence("x", tuple(Citation(n, f"k{n}", "q") for n in (1, 3, 4, 5, 7, 8)), supported=True)
    assert cited.markers == "[1][3–5][7][8]"


def test_author_option_covers_all_the_authors_papers(seed_settings: Settings, seed_retriever) -> None:
    answer = answer_question("what did they work on?", extractive(seed_settings), seed_retriever,
                             Filters.parse(author="Ke Hu"))
    assert len(answer.references) == 11 and answer.text.startswith("11 papers")


def test_papers_from_a_year_are_counted_and_listed(seed_settings: Settings, seed_retriever) -> None:
    of_2021 = {p.key for p in seed_retriever.papers() if p.year == 2021}
    answer = answer_question("papers from 2021", extractive(seed_settings), seed_retriever)
    assert answer.text.startswith(f"{len(of_2021)} papers in the collection are from 2021:")
    assert {r.key for r in answer.references} == of_2021


def test_an_author_question_with_a_topic_answers_the_topic_among_their_papers(seed_settings: Settings,
                                                                            seed_retriever) -> None:
    answer = answer_question("Which papers did Sheikh Shams Azam write on federated learning?",
                             extractive(seed_settings), seed_retriever)
    assert not answer.refused and answer.references
    assert all("Sheikh Shams Azam" in r.authors for r in answer.references)
    assert "federated" in answer.text.lower()


def test_which_papers_by_an_author_on_a_topic_lists_them_all(seed_settings: Settings, seed_retriever) -> None:
    """A listing, as for "what did X work on", of the author's papers on the topic: FastEmit's only
    sentence saying "streaming" is the field's ("Streaming ASR aims to ..."), and a quoted answer
    left the paper out; its gist is what it adds."""
    answer = answer_question("Which papers by Jiahui Yu are about streaming speech recognition?",
                             extractive(seed_settings), seed_retriever)
    assert answer.text.startswith("3 of the 5 papers in the collection that list Jiahui Yu as an author are on "
                                  "streaming speech recognition: [1–3]\n")
    titles = [r.title for r in answer.references]
    assert any(t.startswith("FastEmit") for t in titles) and any(t.startswith("Dual-mode ASR") for t in titles)
    gists = [s.citations[0].quote for s in answer.sentences[1:]]
    assert not [g for g in gists if g.startswith(("Secondly", "Streaming automatic"))], gists


def test_which_papers_by_an_author_are_not_on_a_topic_lists_the_others(seed_settings: Settings,
                                                                       seed_retriever) -> None:
    """Quoting Ke Hu's speech papers was the answer to "not about speech"."""
    answer = answer_question("Which papers by Ke Hu are not about speech?", extractive(seed_settings), seed_retriever)
    ke_hu = [p for p in seed_retriever.papers() if "Ke Hu" in p.authors]
    others = {p.key for p in ke_hu if "speech" not in f"{p.title} {p.abstract}".lower()}
    assert answer.text.startswith(f"{len(others)} of the 11 papers in the collection that list Ke Hu as an author "
                                  "are not on speech:")
    assert {r.key for r in answer.references} == others and len(others) == 3


def test_the_papers_not_on_a_topic_are_clearly_not_on_it(seed_settings: Settings, seed_retriever) -> None:
    """A paper is listed as not on speech only when it does not speak of it: none of Tatiana
    Likhomanenko's papers is in both lists, and none listed as not on speech says "speech"."""
    on = answer_question("which papers by Tatiana Likhomanenko are about speech?", extractive(seed_settings),
                         seed_retriever)
    off = answer_question("which papers by Tatiana Likhomanenko aren't about speech?", extractive(seed_settings),
                          seed_retriever)
    keys = [{r.key for r in a.references} for a in (on, off)]
    assert keys[0] and keys[1] and not keys[0] & keys[1]
    assert not [k for k in keys[1] if "speech" in f"{seed_retriever.paper(k).title} {seed_retriever.paper(k).abstract}".lower()]
    assert off.text.startswith(f"{len(keys[1])} of the 28 papers in the collection that list Tatiana Likhomanenko "
                               "as an author are not on speech:")


def test_an_acronym_topic_is_also_its_long_form(seed_settings: Settings, seed_retriever) -> None:
    """"Not about ASR" leaves out the papers that say "speech recognition" without the acronym:
    the abstracts define ASR as "automatic speech recognition"."""
    assert seed_retriever.long_forms("ASR") == {"ASR": ["automatic speech recognition"]}
    answer = answer_question("which papers from 2020 are not about ASR?", extractive(seed_settings), seed_retriever)
    assert not [r.title for r in answer.references if "speech recognition" in r.title.lower()]


def test_a_paper_whose_title_names_the_topic_is_listed(seed_settings: Settings, seed_retriever) -> None:
    """A short topic's meaning is far from most abstracts: "mixture of experts" left out Mobile
    V-MoEs (its title says "Sparse Mixture-of-Experts") and "Revisiting MoE and Dense ..." (its
    abstract defines "Mixture-of-Experts (MoE)"), which "MoE" listed."""
    long_form = answer_question("any work on mixture of experts?", extractive(seed_settings), seed_retriever)
    titles = {r.title for r in long_form.references}
    assert {"Mobile V-MoEs: Scaling Down Vision Transformers via Sparse Mixture-of-Experts",
            "Revisiting MoE and Dense Speed-Accuracy Comparisons for LLM Training"} <= titles
    # ChipChat says "speech recognition with mixture-of-experts": the topic whole, in one phrase.
    assert any((title or "").startswith("ChipChat") for title in titles)  # an untitled paper has None
    acronym = answer_question("any research on MoE?", extractive(seed_settings), seed_retriever)
    assert len(titles - {r.title for r in acronym.references}) <= 1  # ChipChat never writes "MoE"
    # Each listed with what it says of the topic: MM1 by its MoE variants, not its multimodal recipe.
    mm1 = next(s.shown for s in long_form.sentences if s.shown.startswith("MM1:"))
    assert "mixture-of-experts (MoE) variants" in mm1


@pytest.mark.parametrize("question, refusal", [
    ("which papers by Jiahui Yu are about federated learning?",
     "None of the 5 papers in the collection that list Jiahui Yu as an author is on federated learning."),
    ("which papers by Thibault Doutre are not about streaming?",
     "Both papers in the collection that list Thibault Doutre as an author are on streaming."),
])
def test_no_paper_of_an_author_on_a_topic_says_so(seed_settings: Settings, seed_retriever, question: str,
                                                  refusal: str) -> None:
    answer = answer_question(question, extractive(seed_settings), seed_retriever)
    assert answer.refused and answer.outcome == "not_in_papers" and answer.refusal == refusal


@pytest.mark.parametrize("question", [
    "what did Ke Hu's paper on streaming find about latency?",  # asks of a paper's content
    "which paper by Jiahui Yu reports the lowest latency on voice search?",
    "what papers did Ke Hu write on speech and what did they find?",  # a second question
    "which papers by Jiahui Yu report the lowest latency on voice search?",  # of their content
    "which papers by Tara Sainath improve on the baseline?",
    "which papers by Ke Hu are about speech but not recognition?",  # a negation of the topic's own
    "what did Ke Hu find about streaming?",  # what the papers found, not which they are
    "what has Ke Hu worked on recently?",  # no topic: Ke Hu's papers are listed
])
def test_questions_of_a_papers_content_are_not_listings(question: str) -> None:
    assert CollectionQuestion.read(question, AUTHORS + ["Jiahui Yu"], None).topic is None


@pytest.mark.parametrize("question, topic, excludes", [
    ("Which papers by Ke Hu are not about speech?", "speech", True),
    ("which papers by Ke Hu aren't about speech?", "speech", True),
    ("which papers by Ke Hu are about something other than speech?", "speech", True),
    ("papers by Tara Sainath not on streaming", "streaming", True),
    ("papers from 2021 on federated learning", "federated learning", False),
    ("what did Ke Hu publish on mixture of experts?", "mixture of experts", False),
    ("what has Ke Hu written about speech here?", "speech", False),
])
def test_a_topic_asked_for_or_left_out_is_read(question: str, topic: str, excludes: bool) -> None:
    read = CollectionQuestion.read(question, AUTHORS, None)
    assert (read.topic, read.excludes) == (topic, excludes)


@pytest.mark.parametrize("question, topic", [
    ("list the papers on text-to-speech", "text-to-speech"),
    ("what papers cover federated learning?", "federated learning"),
    ("which papers are about speech tokenization?", "speech tokenization"),
    ("are there any papers on mixture of experts?", "mixture of experts"),
    ("papers that discuss pseudo-labeling", "pseudo-labeling"),
    # Asking what has been done on a topic asks for all of its papers, not the best few sentences.
    ("what's been done on pseudo-labeling for speech recognition", "pseudo-labeling for speech recognition"),
    ("any work on lip reading?", "lip reading"),
    ("is there any research on federated learning here?", "federated learning"),
    ("what has been done on pseudo-labeling?", "pseudo-labeling"),
    ("what's out there on federated learning?", "federated learning"), ("anything on text-to-speech?", "text-to-speech"),
    # Something done to a topic, or asked of it, is a question answered from the sentences.
    ("what's been done on reducing latency in streaming ASR?", None),
    ("what's been done on the effect of label noise on pseudo-labeling?", None),
    ("which papers are not about speech?", None),  # asks of no author's or year's papers: a question
    ("which papers report results on LibriSpeech?", None), ("which papers use sigmoid attention?", None),
    # What follows "on" asks something of the papers: a question, not a topic to list.
    ("Which papers on LibriSpeech get below 2% WER?", None),
    ("what papers on streaming ASR use a cascaded encoder?", None),
])
def test_the_papers_on_a_topic_are_asked_for_in_many_words(question: str, topic: str | None) -> None:
    read = CollectionQuestion.read(question, AUTHORS, None)
    assert (read.topic, read.with_authors, read.narrowed) == (topic, False, False)


def test_an_ing_topic_the_papers_name_is_listed_and_what_is_done_to_it_answered(seed_settings: Settings,
                                                                                seed_retriever) -> None:
    """"any work on streaming ASR?" read as something done ("streaming" opens it), quoted four
    papers; the papers say "streaming ASR", a thing. Listed, a paper saying "streaming" and
    "speech" but no speech recognition (SpeakStream, streaming TTS) is not on it."""
    papers = seed_retriever.papers()
    assert CollectionQuestion.read("any work on streaming ASR?", AUTHORS, None, papers).topic == "streaming ASR"
    assert CollectionQuestion.read("what's been done on reducing latency in streaming ASR?", AUTHORS, None,
                                   papers).topic is None
    answer = answer_question("any work on streaming ASR?", extractive(seed_settings), seed_retriever)
    titles = [r.title or "" for r in answer.references]
    assert len(titles) >= 8 and answer.sentences[0].text.startswith(f"{len(titles)} papers in the collection")
    assert any(t.startswith("FastEmit") for t in titles) and not any(t.startswith("SpeakStream") for t in titles)


def test_a_topic_narrowed_to_a_field_lists_only_papers_saying_both(seed_settings: Settings, seed_retriever) -> None:
    """"papers on mixture of experts for asr" listed the Apple report, MM1 and an LLM expert-pruning
    study, none of which says ASR; "papers on llms for speech recognition" listed the Conformer
    paper, Kaizen and IPL, whose "language model" is no large language model."""
    answer = answer_question("papers on mixture of experts for asr", extractive(seed_settings), seed_retriever)
    titles = [r.title or "" for r in answer.references]
    assert any(t.startswith("Omni-Router") for t in titles)
    assert not any(t.startswith(("Apple Intelligence", "MM1", "Finding Fantastic Experts")) for t in titles)
    answer = answer_question("papers on llms for speech recognition", extractive(seed_settings), seed_retriever)
    titles = [r.title or "" for r in answer.references]
    assert any(t.startswith("VoiceTextBlender") for t in titles)
    assert not any(t.startswith(("Conformer", "Kaizen", "Iterative Pseudo-Labeling")) for t in titles)


def test_the_papers_on_a_topic_are_listed_from_the_whole_library(seed_settings: Settings, seed_retriever) -> None:
    """"what papers cover federated learning?" quoted MMAU ("It evaluates models across five
    domains ...": it covers them) and left out the differentially private FL paper."""
    answer = answer_question("what papers cover federated learning?", extractive(seed_settings), seed_retriever)
    lead = answer.sentences[0].text
    assert lead == f"{len(answer.references)} papers in the collection are on federated learning:"
    titles = [r.title or "" for r in answer.references]
    assert any(t.startswith("Enabling Differentially Private Federated Learning") for t in titles)
    assert not [t for t in titles if t.startswith("MMAU")]
    assert all(r.authors[0] not in line.text for line, r in zip(answer.sentences[1:], answer.references) if r.authors)


def test_a_compound_topic_lists_the_papers_that_say_it_not_its_words_apart(seed_settings: Settings,
                                                                          seed_retriever) -> None:
    """"text-to-speech" listed 26 papers, speech models that read text among them."""
    answer = answer_question("list the papers on text-to-speech", extractive(seed_settings), seed_retriever)
    titles = [r.title or "" for r in answer.references]
    assert any(t.startswith("SpeakStream") for t in titles) and any(t.startswith("Visatronic") for t in titles)
    assert not [t for t in titles if t.startswith(("VoiceTextBlender", "Google USM"))], titles


def test_papers_of_a_year_on_a_topic_are_measured_against_the_whole_library(seed_settings: Settings,
                                                                             seed_retriever) -> None:
    """MM1 and the MoE comparison say "tokens", and are the 2024 papers nearest to speech
    tokenization; far below dMel, they are not on it."""
    answer = answer_question("papers from 2024 on speech tokenization", extractive(seed_settings), seed_retriever)
    titles = [r.title for r in answer.references]
    assert any(t.startswith("dMel") for t in titles)
    assert not [t for t in titles if t.startswith(("MM1", "Revisiting MoE"))], titles


def test_papers_on_either_of_two_topics_are_listed(seed_settings: Settings, seed_retriever) -> None:
    answer = answer_question("Which of Ronan Collobert's papers are about pseudo-labeling or self-training?",
                             extractive(seed_settings), seed_retriever)
    titles = {r.title for r in answer.references}
    assert "AV-CPL: Continuous Pseudo-Labeling for Audio-Visual Speech Recognition" in titles
    assert all("Ronan Collobert" in r.authors for r in answer.references)


@pytest.mark.parametrize("question, topic", [
    ("who works on streaming speech recognition here?", "streaming speech recognition"),
    ("which authors have written about pseudo-labeling?", "pseudo-labeling"),
    ("who are the main researchers on mixture of experts?", "mixture of experts"),
    ("who has worked on federated learning in my library?", "federated learning"),
    ("who's working on MoE in my corpus?", "MoE"),
    ("who has worked on speech recognition before 2020?", "speech recognition"),  # the years filter
    ("who proposed slimIPL?", None), ("What did Ke Hu work on?", None),
])
def test_who_works_on_a_topic_is_read_for_its_topic(question: str, topic: str | None) -> None:
    assert CollectionQuestion.read(question, AUTHORS, None).topic == topic


def test_who_works_on_a_topic_lists_its_papers_and_the_authors_on_several(seed_settings: Settings,
                                                                          seed_retriever) -> None:
    answer = answer_question("who has worked on federated learning?", extractive(seed_settings), seed_retriever)
    assert not answer.refused
    lead = answer.sentences[0].text
    assert lead.startswith(f"{len(answer.references)} papers in the collection are on federated learning; ")
    assert "Sheikh Shams Azam (2 papers)" in lead  # on two of the listed papers
    assert "(1 papers)" not in lead
    for line, reference in zip(answer.sentences[1:], answer.references):
        assert (reference.authors[0] if reference.authors else "authors unknown") in line.text  # its authors
    papers = [seed_retriever.paper(r.key) for r in answer.references]
    assert all("federated" in f"{p.title} {p.abstract}".lower() for p in papers)


def test_the_authors_on_several_papers_are_people_not_initials() -> None:
    """"Tara Sainath" is "Tara N. Sainath", and "T. Likhomanenko" the one Tatiana Likhomanenko;
    Yanghao Li and Yixiao Li are two people, though both are "Y. Li"."""
    from assistant.answer.collection import _repeated_authors
    from assistant.retrieve import Evidence
    from citation_helpers import paper

    listed = [("Tara N. Sainath", "Yanghao Li", "Tatiana Likhomanenko"), ("Tara Sainath", "Yixiao Li"),
              ("T. Likhomanenko", "Yanghao Li")]
    found = [Evidence(paper=paper(f"p{i}", "text", authors=names), text="text", score=1.0, rank=i, chunk_id=f"p{i}:0")
             for i, names in enumerate(listed, 1)]
    assert _repeated_authors(found) == [("Yanghao Li", 2), ("Tatiana Likhomanenko", 2), ("Tara N. Sainath", 2)]


def test_a_listing_keeps_the_notices_of_its_filters(seed_settings: Settings, seed_retriever) -> None:
    """Undated papers left out by a year filter are said, in a listing as in any answer."""
    answer = answer_question("who works on streaming speech recognition?", extractive(seed_settings), seed_retriever,
                             Filters.parse(year="2020-"))
    assert not answer.refused and any("no year" in issue.detail for issue in answer.issues)


def test_who_works_on_an_absent_topic_is_refused(seed_settings: Settings, seed_retriever) -> None:
    answer = answer_question("who works on graph neural networks for speech recognition?",
                             extractive(seed_settings), seed_retriever)
    assert answer.refused and not answer.sentences
    assert answer.refusal.startswith("The indexed papers do not address graph neural networks")


# --- retrieval knows the paper a question names ----------------------------------------------


def test_a_paper_named_in_the_question_ranks_first_in_search(seed_settings: Settings, isolated_env) -> None:
    result = CliRunner().invoke(cli, ["search", "What word error rate does Conformer reach on LibriSpeech?",
                                      "--index", str(seed_settings.index_dir), "-k", "5", "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0
    assert json.loads(result.stdout)[0]["title"].startswith("Conformer: Convolution-augmented Transformer")


@pytest.mark.parametrize("question, key_start", [
    ("What is dMel?", "bai2024dmel"), ("What is Google's USM?", "zhanggoogle"),
    ("how little labeled audio does slimIPL need?", "likhomanenko2020slimipl"),
    ("how good is ContextNet on librispeech?", "han2020contextnet"),
])
def test_papers_named_by_their_coined_names_rank_first(seed_retriever, question: str, key_start: str) -> None:
    assert seed_retriever.search(question, k=3)[0].paper.key == key_start


def test_a_surname_several_people_share_is_asked_back(seed_settings: Settings, seed_retriever) -> None:
    """"which papers by Bai are about speech synthesis" was answered by quoting papers of any
    author (one with no authors at all): the library has three people named Bai."""
    answer = answer_question("which papers by Bai are about speech synthesis", extractive(seed_settings), seed_retriever)
    assert answer.refused and not answer.references
    assert answer.refusal.startswith("Several authors in the collection are named Bai: Richard He Bai (")
    assert answer.refusal.endswith("e.g. “papers by Richard He Bai”.")


def test_a_listed_papers_gist_is_no_piece_of_a_list(seed_settings: Settings, seed_retriever) -> None:
    """Kong et al.'s gist read "Results across multiple benchmarks show that: 1."."""
    answer = answer_question("what did Ruoming Pang work on?", extractive(seed_settings), seed_retriever)
    [line] = [s.text for s in answer.sentences if s.text.startswith("Large Language Model-guided Document Selection")]
    assert not line.endswith(("that: 1.", ", 3."))
