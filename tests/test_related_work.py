"""`assistant related-work`: themed, cited sections on the real seed index; BibTeX that parses;
the model path through the real openai client against the loopback server."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from typing import Any

import bibtexparser
import pytest

from assistant import cli
from assistant.answer.attribution import attribution, contribution, distinct_attributions, is_background, is_finding
from assistant.answer.bibtex import escape, incomplete, to_bibtex
from assistant.answer.markers import quotable
from assistant.answer.model_drafter import parse_outline
from assistant.answer.extractive import related_work_draft
from assistant.answer.related_work import write_related_work
from assistant.answer.themes import Theme
from assistant.config import Settings, replace
from assistant.corpus import load_corpus
from assistant.retrieve import Evidence
from assistant.resources import default_seeds_dir
from assistant.text import split_sentences
from fake_openai import FakeOpenAI, Reply

TOPICS = ["pseudo-labeling for ASR", "streaming ASR", "mixture-of-experts", "federated learning",
          "speech foundation models"]
_CITE_AS = re.compile(r"^\[(\d+)\] key: \S+ .*\| cite as: (.*)$", re.MULTILINE)
_EVIDENCE = re.compile(r'<evidence n="(\d+)">\n(.*?)\n</evidence>', re.DOTALL)
KEY = "sk-test-SECRET-related-4242"


@pytest.fixture(scope="module")
def sections(seed_settings: Settings, seed_retriever) -> dict[str, Any]:
    return {topic: write_related_work(topic, seed_settings, seed_retriever) for topic in TOPICS}


@pytest.mark.parametrize("topic", TOPICS)
def test_each_topic_gets_themed_paragraphs_citing_several_papers(sections, topic) -> None:
    section = sections[topic]
    assert not section.refused
    assert 1 <= len(section.themes) <= 5
    cited = {c.key for s in section.sentences for c in s.citations}
    relevant_available = {k for t in section.themes for k in t.keys}
    assert len(cited) >= min(5, len(relevant_available))
    # Every sentence cited, every citation a reference of this section, numbering contiguous.
    assert all(s.citations for s in section.sentences)
    assert [r.n for r in section.references] == list(range(1, len(section.references) + 1))
    assert cited == {r.key for r in section.references}
    # Opening, one paragraph per theme, closing: at least the theme paragraphs are there.
    assert {s.paragraph for s in section.sentences} >= {t.paragraph for t in section.themes}


@pytest.mark.parametrize("topic", TOPICS)
def test_attributions_name_the_cited_papers_first_author_and_year(sections, topic) -> None:
    section = sections[topic]
    papers = {p.key: p for p in load_corpus(default_seeds_dir())}
    for sentence in section.sentences:
        for surname, year in re.findall(r"([A-ZŻ][\w'-]+) et al\. \((\d{4})\)", sentence.text):
            cited = [papers[c.key] for c in sentence.citations]
            assert any(p.first_author_surname == surname and str(p.year) == year for p in cited), sentence.text


def test_most_sentences_are_verified_as_supported(sections) -> None:
    sentences = [s for section in sections.values() for s in section.sentences]
    supported = sum(s.supported for s in sentences)
    assert supported / len(sentences) >= 0.9


def test_an_uncovered_topic_is_refused(seed_settings, seed_retriever) -> None:
    section = write_related_work("protein folding with graph neural networks", seed_settings, seed_retriever)
    assert section.refused and not section.sentences and not section.references


@pytest.mark.slow
def test_cli_writes_markdown_and_bibtex_of_exactly_the_cited_papers(
        isolated_env, seed_settings, tmp_path, monkeypatch, capsys) -> None:
    out, bib = tmp_path / "rw.md", tmp_path / "refs.bib"
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(seed_settings.index_dir))
    monkeypatch.setattr(sys, "argv", ["assistant", "related-work", "pseudo-labeling for ASR",
                                      "--out", str(out), "--bib", str(bib)])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 0
    markdown = out.read_text(encoding="utf-8")
    assert markdown.startswith("## Related work: pseudo-labeling for ASR")
    assert "**References**" in markdown
    # A draft to paste into a manuscript: nothing about this run (notes, outcome, backend).
    assert "**Notes**" not in markdown and "Outcome:" not in markdown and "extractive backend" not in markdown
    cited_sources = set(re.findall(r"(\d{3}\\_[0-9a-f]+\.txt#\d+)", markdown))
    library = bibtexparser.parse_string(bib.read_text(encoding="utf-8"))
    assert not library.failed_blocks
    keys = [entry.key for entry in library.entries]
    assert len(keys) == len(set(keys)) == len(cited_sources)
    marker_numbers = {int(n) for n in re.findall(r"\[(\d+)\]", markdown.split("**References**")[0])}
    assert marker_numbers == set(range(1, len(keys) + 1))
    assert "wrote" in capsys.readouterr().err
    # Entries a reference manager re-imports as these papers: no internal file names.
    exported = bib.read_text(encoding="utf-8")
    assert not re.search(r"\d{3}\\?_[0-9a-f]{8,}", exported) and "howpublished" not in exported


@pytest.mark.slow
def test_cli_json_gives_the_structure(isolated_env, seed_settings, monkeypatch, capsys) -> None:
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(seed_settings.index_dir))
    monkeypatch.setattr(sys, "argv", ["assistant", "related-work", "streaming ASR", "--json"])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["question"] == "streaming ASR" and data["themes"] and data["references"]
    assert all(s["citations"] for s in data["sentences"])
    assert {t["paragraph"] for t in data["themes"]} <= {s["paragraph"] for s in data["sentences"]}


def test_cli_refusal_writes_nothing_and_exits_non_zero(isolated_env, seed_settings, tmp_path, monkeypatch, capsys) -> None:
    out = tmp_path / "rw.md"
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(seed_settings.index_dir))
    monkeypatch.setattr(sys, "argv", ["assistant", "related-work", "protein folding", "--out", str(out)])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 1 and not out.exists()
    assert "do not cover" in capsys.readouterr().out


# -- BibTeX ------------------------------------------------------------------------------------


def test_bibtex_escapes_every_special_character_and_parses() -> None:
    import dataclasses

    paper = load_corpus(default_seeds_dir())[0]
    nasty = dataclasses.replace(paper, key="nasty2023x", title="Costs of $O(n)$ {attention} \\ & 100% #1 a_b ~ ^",
                                abstract="Unbalanced } and { braces \\end{document}")
    library = bibtexparser.parse_string(to_bibtex([nasty, paper, paper]))
    assert not library.failed_blocks and [e.key for e in library.entries] == ["nasty2023x", paper.key]
    title = library.entries[0]["title"]
    for raw in ("$", "&", "%", "#", "_"):
        assert "\\" + raw in title
    assert escape("{x}") == "\\{x\\}"


def test_bibtex_uses_eprint_for_arxiv_and_leaves_out_what_the_listing_lacks() -> None:
    corpus = load_corpus(default_seeds_dir())
    untitled = next(p for p in corpus if p.arxiv_id and not p.title)
    entry = bibtexparser.parse_string(to_bibtex([untitled])).entries[0]
    assert entry.entry_type == "misc" and entry.key == untitled.key
    assert entry["eprint"] == untitled.arxiv_id and entry["archivePrefix"] == "arXiv"
    # No invented title (a reference manager would import it as the paper's title); the abstract is there.
    assert "title" not in entry.fields_dict and entry["abstract"]
    undated = next(p for p in corpus if p.year is None)
    assert "year" not in bibtexparser.parse_string(to_bibtex([undated])).entries[0].fields_dict
    # What the entries lack is said, for the user to complete before citing.
    note = incomplete([untitled, undated])
    assert note and note.startswith("2 BibTeX entries lack") and f"{untitled.key} (title/authors" in note
    assert incomplete([p for p in corpus if p.title and p.authors and p.year is not None][:3]) is None


# -- attribution -------------------------------------------------------------------------------


def test_attribution_comes_from_the_record() -> None:
    corpus = {p.key: p for p in load_corpus(default_seeds_dir())}
    assert attribution(corpus["zhai2023stabilizing"]) == "Zhai et al. (2023)"
    assert attribution(corpus["hufeature"]) == "Hu et al."
    assert attribution(corpus["arxiv2508.19990"]) == "A 2025 study (arXiv:2508.19990)"
    assert attribution(corpus["seed004.1"]) == "One study"
    sentence, source = contribution(corpus["zhai2023stabilizing"], {"attention", "entropy"})
    assert sentence.startswith("Zhai et al. (2023) ") and source in corpus["zhai2023stabilizing"].abstract


def test_a_paper_is_introduced_by_what_it_adds_not_the_field_it_found() -> None:
    """dMel's abstract opens with "Large language models have revolutionized NLP ...": its own
    "In this paper, we introduce ..." names its paper and leans on nothing before it."""
    dmel = next(p for p in load_corpus(default_seeds_dir()) if p.key == "bai2024dmel")
    sentence, source = contribution(dmel, {"speech", "tokenization"})
    assert sentence.startswith("Bai et al. (2024) introduce a novel speech representation")
    assert not is_background(source)


@pytest.mark.parametrize("title, topic, opening", [
    # Its claim, not its opening sentence holding the topic's word ("the latency bottleneck of traditional text-to-speech ...").
    ("SpeakStream", "text-to-speech", "Bai et al. (2025) present SpeakStream, a streaming TTS system"),
    # "we offer evidence" is a claim; "The last year has seen astonishing progress in ... image generation" the field.
    ("Improving Joint Speech-Text", "multilingual speech recognition", "Peyser et al. offer evidence that joint"),
    # A claim behind two adverbs, or behind a clause of contrast before "in this work, we ...".
    ("Continuous Soft Pseudo-Labeling", "pseudo-labeling for ASR", "Likhomanenko et al. (2022) find that soft-labels"),
])
def test_a_paper_is_introduced_by_its_claim_not_by_a_sentence_holding_the_topics_words(title, topic, opening) -> None:
    paper = next(p for p in load_corpus(default_seeds_dir()) if (p.title or "").startswith(title))
    sentence, _ = contribution(paper, {w.lower() for w in re.findall(r"[A-Za-z][\w-]+", topic)})
    assert sentence.startswith(opening), sentence


def test_a_piece_of_a_numbered_list_is_no_sentence_to_attribute() -> None:
    """Kong et al. were introduced by "Results across multiple benchmarks show that: 1.", and
    next by "... less sensitive to the labeler's prompt, 3."."""
    paper = next(p for p in load_corpus(default_seeds_dir()) if (p.title or "").startswith("Large Language Model-guided"))
    pieces = [s for s in split_sentences(paper.abstract) if s.endswith(("that: 1.", "prompt, 3."))]
    assert len(pieces) == 2  # the abstract splits so
    _, source = contribution(paper, {"data", "selection", "pretraining"})
    assert source not in pieces


def test_a_bibtex_export_says_which_entries_the_library_left_incomplete(isolated_env, seed_settings, tmp_path,
                                                                        monkeypatch, capsys) -> None:
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(seed_settings.index_dir))
    bib, csl = tmp_path / "s.bib", tmp_path / "s.json"
    monkeypatch.setattr(sys, "argv", ["assistant", "related-work", "audio-visual speech recognition",
                                      "--out", str(tmp_path / "s.md"), "--bib", str(bib)])
    with pytest.raises(SystemExit) as done:
        cli.main()
    assert done.value.code == 0
    err = capsys.readouterr().err
    assert "BibTeX entr" in err and "(title/authors" in err and "complete them in your reference manager" in err
    monkeypatch.setattr(sys, "argv", ["assistant", "papers", "--csl-json", str(csl)])
    with pytest.raises(SystemExit) as done:
        cli.main()
    assert done.value.code == 0 and csl.exists()
    assert "BibTeX" not in capsys.readouterr().err  # CSL-JSON says nothing of BibTeX


@pytest.mark.parametrize("topic", TOPICS)
def test_every_paper_the_section_chose_is_cited_and_nothing_is_removed(sections, topic) -> None:
    """The writer quotes each chosen paper in words its verifier accepts: no paper is lost to
    enforcement and the reader gets no notes about removed citations (a list of the themes
    claimed of every paper what only some say; "A 2025 study (arXiv:...)" named arXiv)."""
    section = sections[topic]
    assert {c.key for s in section.sentences for c in s.citations} == {k for t in section.themes for k in t.keys}
    assert not [i for i in section.issues if i.kind.startswith("unsupported")], section.issues
    assert all(s.supported for s in section.sentences)


def test_a_section_has_no_template_openings_or_connectives(sections) -> None:
    """Sentences say who did what; nothing claims that two papers are alike."""
    text = " ".join(s.text for section in sections.values() for s in section.sentences)
    assert not re.search(r"\b(?:Similarly|In a related direction|Along the same line),", text)
    assert not re.search(r"in this collection (?:spans|centres on)", text)
    for section in sections.values():  # each theme's paragraph opens the section or follows another's
        assert sorted(t.paragraph for t in section.themes) == list(range(len(section.themes)))


def test_a_paper_without_authors_is_quoted_under_its_attribution(seed_settings, seed_retriever) -> None:
    """"A 2025 study (arXiv:2508.19990) proposes ..." is checked against that paper's record."""
    section = write_related_work("self-supervised speech recognition", seed_settings, seed_retriever)
    quoted = [s for s in section.sentences if s.text.startswith("A 2025 study (arXiv:2508.19990)")]
    assert quoted and all(s.supported for s in quoted)
    assert [c.key for c in quoted[0].citations] == ["arxiv2508.19990"]


def test_reference_markers_in_an_abstract_do_not_become_citations() -> None:
    """Li et al.'s abstract cites its own references ("speech recognition [1]"): lifted into a
    section they would cite our evidence [1] and [2]."""
    corpus = {p.key: p for p in load_corpus(default_seeds_dir())}
    li = next(p for p in corpus.values() if (p.title or "").startswith("A Better and Faster End-to-End Model"))
    assert "[1]" in li.abstract
    sentence, _ = contribution(li, {"streaming", "asr"})
    assert "[" not in sentence


def test_a_paper_speaking_of_itself_is_introduced_by_its_contribution() -> None:
    """"This work presents cascaded encoders ..." is what the paper adds, as "we present" is."""
    corpus = load_corpus(default_seeds_dir())
    paper = next(p for p in corpus if (p.title or "").startswith("Cascaded encoders"))
    sentence, _ = contribution(paper, {"streaming", "asr"})
    assert sentence.startswith("Narayanan et al. (2020) present cascaded encoders")


def test_a_single_subject_takes_every_verb_of_its_claim_in_the_singular() -> None:
    """"We explore X and show Y" of a paper with no authors reads "One study explores X and shows Y"."""
    smop = next(p for p in load_corpus(default_seeds_dir()) if p.key == "seed004.4")
    smop = dataclasses.replace(smop, abstract="We explore three SMoP configurations and show that one of them wins.")
    sentence, _ = contribution(smop, {"mixture", "experts"})
    assert sentence == "One study explores three SMoP configurations and shows that one of them wins."
    # A verb after "that" has another subject; "code and benchmarks" is no verb.
    smop = dataclasses.replace(smop, abstract="We show that larger models converge and achieve more.")
    assert contribution(smop, {"mixture"})[0] == "One study shows that larger models converge and achieve more."
    smop = dataclasses.replace(smop, abstract="We release the dataset, code and benchmarks.")
    assert contribution(smop, {"mixture"})[0] == "One study releases the dataset, code and benchmarks."


def test_two_papers_that_would_read_alike_get_letters() -> None:
    corpus = load_corpus(default_seeds_dir())
    yu = [p for p in corpus if attribution(p) == "Yu et al. (2020)"]
    assert len(yu) >= 2
    named = distinct_attributions(yu + [p for p in corpus if p.key == "zhai2023stabilizing"])
    assert [named[p.key] for p in yu[:2]] == ["Yu et al. (2020a)", "Yu et al. (2020b)"]
    assert named["zhai2023stabilizing"] == "Zhai et al. (2023)"
    # Past z, or with no year to letter, a paper keeps its plain attribution.
    many = [dataclasses.replace(yu[0], key=f"yu{i}") for i in range(28)]
    assert distinct_attributions(many)["yu27"] == "Yu et al. (2020)"


def test_a_sentence_of_the_paper_about_itself_is_its_claim_whatever_the_verb() -> None:
    """"This paper focuses on X" reads "Zhai et al. (2023) focus on X", never "... note that this
    paper focuses", where "this paper" would read as the reader's own; "is organized" claims nothing."""
    zhai = next(p for p in load_corpus(default_seeds_dir()) if p.key == "zhai2023stabilizing")
    focused = dataclasses.replace(zhai, abstract="This paper focuses on attention entropy collapse.")
    assert contribution(focused, {"attention"})[0] == "Zhai et al. (2023) focus on attention entropy collapse."


def test_a_paper_with_nothing_to_quote_is_left_out_of_its_section() -> None:
    """A listing with a title only has no sentence to attribute: its theme is left out, not a crash."""
    zhai = next(p for p in load_corpus(default_seeds_dir()) if p.key == "zhai2023stabilizing")
    bare = dataclasses.replace(zhai, key="bare", abstract="")
    evidence = [Evidence(paper=p, text=p.abstract, score=1.0, rank=n, chunk_id=p.key)
                for n, p in enumerate([zhai, bare], start=1)]
    text, themes = related_work_draft("attention", evidence, [Theme("Entropy", (0,)), Theme("Bare", (1,))])
    assert [t.name for t in themes] == ["Entropy"]
    assert "[1]" in text and "[2]" not in text


def test_a_section_closes_on_a_result_or_not_at_all(sections) -> None:
    """"Most recently, ..." says where the topic stands: the newest paper's result, never the
    field as it found it, nor a second description of a paper its theme already introduced."""
    closings = [s for section in sections.values() for s in section.sentences if s.text.startswith("Most recently")]
    assert closings  # "mixture-of-experts": "Gu et al. (2026) report that experiments on 0.9B and 16B ..."
    for closing in closings:
        assert all(not is_background(c.quote) and is_finding(c.quote) for c in closing.citations), closing.text


def test_outline_parsing_keeps_valid_numbers_and_places_left_out_papers() -> None:
    themes = parse_outline('Sure! {"themes": [{"name": "A", "papers": [1, 2, 9]}, {"name": "B", "papers": [2, 3]}]}', 4)
    assert [(t.name, t.members) for t in themes] == [("A", (0, 1)), ("B", (2, 3))]
    assert parse_outline("no json here", 4) == []
    assert parse_outline('{"themes": "oops"}', 4) == []


# -- with a model through the openai client ---------------------------------------------------


def _section_draft(body: dict[str, Any]) -> str:
    """A model's section: per paragraph, papers introduced by their cite-as name, quoting their
    abstract's first sentence past the background (a section of background alone falls back);
    plus one sentence attributing a paper to an invented author."""
    prompt = body["messages"][-1]["content"]
    cite_as = {int(n): name for n, name in _CITE_AS.findall(prompt)}
    texts = {int(n): t for n, t in _EVIDENCE.findall(prompt)}

    def first_finding(text: str) -> str:
        sentences = [quotable(s) for s in split_sentences(text)]
        return next((s for s in sentences if not is_background(s)), sentences[0])

    lines = []
    for n in sorted(texts)[:4]:
        lines.append(f"{first_finding(texts[n])} [{n}]")
    opening = " ".join(lines[:2])
    first = first_finding(texts[1])
    invented = f"Smith et al. report that {first[0].lower()}{first[1:]} [1]"
    body_paragraph = " ".join(lines[2:] + [invented])
    return f"{opening}\n\n{body_paragraph}\n\n{lines[0]} [99]"


def test_model_outline_and_section_pass_the_same_enforcement(seed_settings, seed_retriever) -> None:
    with FakeOpenAI() as server:
        server.script(Reply.text('{"themes": [{"name": "Continuous pseudo-labeling", "papers": [1, 2, 3]},'
                                 ' {"name": "Multilingual and cross-lingual", "papers": [4, 5]}]}'),
                      Reply.text(_section_draft))
        settings = replace(seed_settings, backend="openai", base_url=server.base_url, model="test-model",
                           max_retries=0, timeout=5.0)
        section = write_related_work("pseudo-labeling for ASR", settings, seed_retriever)
        assert len(server.chat_requests) == 2
        outline_prompt = server.chat_requests[0].body["messages"][-1]["content"]
        assert "Group the papers into 2 to 5 themes" in outline_prompt
    assert section.backend == "openai" and section.model == "test-model"
    assert [t.name for t in section.themes][:2] == ["Continuous pseudo-labeling", "Multilingual and cross-lingual"]
    invented = next(s for s in section.sentences if s.text.startswith("Smith et al."))
    assert not invented.supported and invented.note.endswith("names Smith et al., who wrote none of the papers it cites")
    assert any(i.kind == "invalid_marker" for i in section.issues)  # the [99] beyond the evidence
    assert sum(s.supported for s in section.sentences) >= 4


def test_unusable_outline_falls_back_to_clustering(seed_settings, seed_retriever) -> None:
    with FakeOpenAI() as server:
        server.script(Reply.text("I cannot produce JSON today."), Reply.text(_section_draft))
        settings = replace(seed_settings, backend="openai", base_url=server.base_url, model="test-model",
                           max_retries=0, timeout=5.0)
        section = write_related_work("streaming ASR", settings, seed_retriever)
    assert any(i.kind == "outline_fallback" for i in section.issues)
    assert section.themes and not section.refused


def test_a_stored_section_renders_as_it_did_with_its_theme_headings(sections) -> None:
    """Chat history and export rebuild sections from JSON: nothing may be lost on the way."""
    from assistant.answer.model import RelatedWork, answer_from_dict
    from assistant.answer.render import render_markdown

    section = sections["streaming ASR"]
    rebuilt = answer_from_dict(json.loads(json.dumps(section.to_dict())))
    assert isinstance(rebuilt, RelatedWork)
    assert render_markdown(rebuilt) == render_markdown(section)
    assert f"**{section.themes[0].name}.**" in render_markdown(rebuilt)
