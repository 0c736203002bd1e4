"""The model drafter's choices: which structured-output dialect an endpoint speaks (found once,
remembered), which citation format to use, and how the evidence is fitted to the context window."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.answer.drafting import Brief
from assistant.answer.markers import SENTINEL
from assistant.answer.model_drafter import ModelDrafter, draft_from_json, fitted_evidence
from assistant.answer.relevance import TermWeights
from assistant.llm.endpoints import FILE_NAME, EndpointMemory
from assistant.llm.openai_compat import OpenAIChat, OpenAIClient
from citation_helpers import DICEHUBERT, DMEL, papers
from fake_openai import FakeOpenAI, Reply

QUESTION = "which papers stabilize attention?"


@pytest.fixture
def server():
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def brief(seed_retriever) -> Brief:
    evidence = seed_retriever.search(QUESTION, k=4)
    return Brief(QUESTION, evidence, seed_retriever.embedder.embed, TermWeights.from_papers(seed_retriever.papers()),
                 0.1, None, [])


def drafter(server: FakeOpenAI, data_dir: Path, citation_format: str = "json") -> ModelDrafter:
    client = OpenAIClient(base_url=server.base_url, api_key="", timeout=10.0, max_retries=1, retry_backoff=0.01)
    chat = OpenAIChat(client, model="test-model", temperature=0.0)
    return ModelDrafter("openai", chat, citation_format=citation_format, data_dir=data_dir)


def test_a_structured_reply_becomes_a_cited_draft() -> None:
    reply = json.dumps({"sentences": [{"text": "Entropy collapse destabilizes training.", "evidence": [2, 3]},
                                      {"text": "An uncited claim.", "evidence": []}]})
    assert draft_from_json(reply) == "Entropy collapse destabilizes training. [2][3]\nAn uncited claim."
    assert draft_from_json('{"sentences": []}') == SENTINEL
    assert draft_from_json("Plain text [1].") == "Plain text [1]."


def test_the_dialect_the_server_rejects_is_skipped_and_the_one_it_takes_remembered(
        server: FakeOpenAI, brief: Brief, tmp_path: Path) -> None:
    # llama-cpp-python's server answers 500 to json_schema and takes json_object with a schema.
    server.script(Reply.status(500), Reply.text('{"sentences": [{"text": "A claim.", "evidence": [1]}]}'))
    draft = drafter(server, tmp_path).draft_answer(brief)
    assert draft.text == "A claim. [1]" and draft.origin == "model" and draft.drafted == 1
    formats = [r.body["response_format"]["type"] for r in server.chat_requests]
    assert formats == ["json_schema", "json_object"]  # the 500 was not retried
    [record] = json.loads((tmp_path / FILE_NAME).read_text()).values()
    assert record["dialect"] == "json_object"
    drafter(server, tmp_path).draft_answer(brief)  # a new process: straight to the remembered dialect
    assert server.chat_requests[-1].body["response_format"]["type"] == "json_object"
    assert len(server.chat_requests) == 3


def test_a_server_without_structured_output_gets_markers_from_then_on(
        server: FakeOpenAI, brief: Brief, tmp_path: Path) -> None:
    server.script(Reply.status(400), Reply.status(400), Reply.text("A claim [1]."))
    assert drafter(server, tmp_path).draft_answer(brief).text == "A claim [1]."
    assert "response_format" not in server.chat_requests[-1].body
    drafter(server, tmp_path).draft_answer(brief)
    assert "response_format" not in server.chat_requests[-1].body and len(server.chat_requests) == 4


def test_auto_tries_each_format_then_keeps_the_one_whose_sentences_survive(
        server: FakeOpenAI, brief: Brief, tmp_path: Path) -> None:
    server.script(Reply.text("A claim [1]."))
    auto = drafter(server, tmp_path, "auto")
    used = []
    for survived in [0, 1, 0, 1, 0, 1, None, None]:  # json answers verify nothing, markers answers all
        draft = auto.draft_answer(brief)
        used.append("json" if "response_format" in server.chat_requests[-1].body else "markers")
        if survived is not None:
            draft.on_verified(survived)
    assert used == ["json", "markers", "json", "markers", "json", "markers", "markers", "markers"]
    memory = EndpointMemory(tmp_path, server.base_url, "test-model")
    assert memory.get("formats") == {"json": [3, 3, 0], "markers": [3, 3, 3]}


def test_evidence_is_fitted_to_the_budget_most_relevant_sentences_first(brief: Brief) -> None:
    whole = sum(len(e.text) for e in brief.evidence)
    fitted = fitted_evidence(QUESTION, brief.evidence, brief.weights, budget_tokens=150)
    assert sum(len(e.text) for e in fitted) <= 150 * 3.5 < whole
    assert [e.paper.key for e in fitted] == [e.paper.key for e in brief.evidence]  # numbering kept
    assert any("attention" in e.text.lower().split(".")[0] for e in fitted if e.text)


def test_a_line_in_the_shape_of_an_evidence_header_is_no_claim(server: FakeOpenAI, brief: Brief, tmp_path: Path) -> None:
    # SmolLM2 wrote this for "how does FastEmit get streaming ASR to emit words sooner?"; its
    # title verified against another paper that mentions cascaded encoders, and was shown.
    made_up = "Narayanan2020cascaded | Year: 2020 | Title: Cascaded Encoders for Unifying Streaming and Non-Streaming ASR"
    server.script(Reply.text(f"{made_up}\nAttention entropy collapse makes training unstable. [1]"))
    draft = drafter(server, tmp_path, citation_format="markers").draft_answer(brief)
    assert "Year:" not in draft.text and "Attention entropy collapse" in draft.text and draft.drafted == 1
    [noted] = [i for i in brief.issues if i.kind == "prompt_echo"]
    assert noted.sentence == made_up


def test_the_prompts_evidence_tags_echoed_back_are_no_claims(server: FakeOpenAI, brief: Brief, tmp_path: Path) -> None:
    # SmolLM2 wrote 19 such lines over natural.jsonl; each counted as a drafted sentence dropped.
    server.script(Reply.text('<evidence n="1">\nAttention entropy collapse makes training unstable. [1]\n</evidence>\n'
                             '<evidence n="2"> Training is stable. [2]\n<evidence n="3"'))
    draft = drafter(server, tmp_path, citation_format="markers").draft_answer(brief)
    assert "evidence" not in draft.text and draft.drafted == 2
    assert [i.kind for i in brief.issues] == ["prompt_echo"]


def test_each_evidence_sentence_is_shown_on_its_own_line_ending_with_its_number(
        server: FakeOpenAI, brief: Brief, tmp_path: Path) -> None:
    # A weak model copies well and cites badly: a sentence it copies from the prompt is cited.
    server.script(Reply.text("Attention entropy collapse makes training unstable. [1]"))
    drafter(server, tmp_path, citation_format="markers").draft_answer(brief)
    shown = server.chat_requests[0].prompt_text
    for n in range(1, len(brief.evidence) + 1):
        block = shown.split(f'<evidence n="{n}">\n', 1)[1].split("\n</evidence>", 1)[0]
        assert all(line.endswith(f" [{n}]") for line in block.splitlines())


def test_answers_show_only_the_sentences_that_share_a_term_with_the_question(brief: Brief) -> None:
    fitted = fitted_evidence(QUESTION, brief.evidence, brief.weights, budget_tokens=4000,
                             relevance_floor=brief.relevance_floor)
    whole = fitted_evidence(QUESTION, brief.evidence, brief.weights, budget_tokens=4000)
    assert all(e.text for e in fitted)  # every item keeps its best sentence
    assert sum(len(e.text) for e in fitted) < sum(len(e.text) for e in whole)


def test_a_reply_that_repeats_its_lines_counts_each_claim_once(
        server: FakeOpenAI, brief: Brief, tmp_path: Path) -> None:
    # SmolLM2 copied the evidence block three times over, each copy with other numbers.
    line = "Attention entropy collapse makes training unstable."
    server.script(Reply.text(f"{line} [1]\n{line} [2]\ndMel: Speech Tokenization Made Simple | 2024\n{line} [1]"))
    draft = drafter(server, tmp_path, citation_format="markers").draft_answer(brief)
    assert draft.text.count(line) == 1 and "| 2024" not in draft.text and draft.drafted == 1
    assert [i.kind for i in brief.issues] == ["prompt_echo", "prompt_echo"]


def test_an_answers_prompt_shows_no_text_of_a_paper_lacking_what_the_question_names() -> None:
    # SmolLM2 answered "What is dMel?" with DiceHuBERT's definition, copied from the prompt: the
    # DiceHuBERT paper is not shown (its number stays), the dMel paper is.
    evidence = papers(dmel=DMEL, dicehubert=DICEHUBERT)
    weights = TermWeights.from_papers(e.paper for e in evidence)
    fitted = fitted_evidence("What is dMel?", evidence, weights, budget_tokens=4000, relevance_floor=0.1)
    assert [e.paper.key for e in fitted] == ["dmel", "dicehubert"]
    assert "dmel" in fitted[0].text and fitted[1].text == ""
    # For related work (no floor) every paper is shown.
    assert all(e.text for e in fitted_evidence("What is dMel?", evidence, weights, budget_tokens=4000))
