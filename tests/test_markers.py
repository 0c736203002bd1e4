"""A draft's sentences and markers (assistant/answer/markers.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from assistant.answer.markers import parse_draft, parse_markers, quotable


@pytest.mark.parametrize("sentence, clean, spans", [
    ("A claim [1].", "A claim.", [(1, 1)]),
    ("A claim [1, 3].", "A claim.", [(1, 1), (3, 3)]),
    ("A claim [1][2].", "A claim.", [(1, 1), (2, 2)]),
    ("A claim [2-4].", "A claim.", [(2, 4)]),
    ("A claim [1–3].", "A claim.", [(1, 3)]),
    ("A claim [4-2].", "A claim.", [(2, 4)]),
    ("A claim. [1; 2]", "A claim.", [(1, 1), (2, 2)]),
    ("A claim [1], [2] holds.", "A claim holds.", [(1, 1), (2, 2)]),
    ("No markers [here] at all.", "No markers [here] at all.", []),
])
def test_parse_markers(sentence: str, clean: str, spans: list[tuple[int, int]]) -> None:
    assert parse_markers(sentence) == (clean, spans)


def test_parse_draft_removes_and_reports_markers_that_point_at_no_evidence() -> None:
    sentences, issues = parse_draft("First [1][9]. Second [0]. Third [2-7].", n_sources=5)
    assert [(s.text, s.cited) for s in sentences] == [("First.", (1,)), ("Second.", ()), ("Third.", (2, 3, 4, 5))]
    assert [i.kind for i in issues] == ["invalid_marker"] * 3
    assert "[9]" in issues[0].detail and "5 sources" in issues[0].detail
    assert "[2-7]" in issues[2].detail


def test_parse_draft_paragraphs_lists_and_stray_markers() -> None:
    draft = "Claim one.\n[2]\n\n- bullet claim [1]\n- another claim [3]\n\nINSUFFICIENT_EVIDENCE"
    sentences, issues = parse_draft(draft, n_sources=3)
    assert [(s.text, s.cited, s.paragraph) for s in sentences] == [
        ("Claim one.", (2,), 0), ("bullet claim", (1,), 1), ("another claim", (3,), 1)]
    assert issues == []


def test_quotable_strips_latex_and_bracketed_numbers() -> None:
    raw = r"We call it $\textit{entropy collapse}$ [12] and propose $σ$Reparam with a 3\% gain {here}."
    assert quotable(raw) == "We call it entropy collapse and propose σReparam with a 3% gain here."


@given(st.lists(st.integers(1, 50), min_size=1, max_size=5),
       st.text(alphabet=st.characters(categories=["L", "Zs"]), min_size=1, max_size=40))
def test_markers_round_trip(numbers: list[int], words: str) -> None:
    sentence = words + " " + "".join(f"[{n}]" for n in numbers) + "."
    clean, spans = parse_markers(sentence)
    assert [a for a, _ in spans] == numbers and all(a == b for a, b in spans)
    assert "[" not in clean



def test_an_abstracts_own_citations_are_not_quoted() -> None:
    """"[Gunasekar et al., 2023]" inside a quote read as one of the answer's citations."""
    assert quotable("Document selection is interpretable [Gunasekar et al., 2023] and cheap [3].") == \
        "Document selection is interpretable and cheap."
    assert quotable("Annotators agree [Gilardi et al.,2023].") == "Annotators agree."
    assert quotable("We keep [A-B] ranges and [Table, p. 3] notes.") == "We keep [A-B] ranges and [Table, p. 3] notes."
