"""Repairing or dropping uncited sentences (assistant/answer/repair.py)."""

from __future__ import annotations

from assistant.answer.markers import DraftSentence
from assistant.answer.repair import apply_repair, drop_uncited


def test_apply_repair_cites_drops_and_ignores_garbage() -> None:
    sentences = [DraftSentence("Cited.", (1,)), DraftSentence("Fixable.", ()), DraftSentence("Hopeless.", ()),
                 DraftSentence("Garbled.", ())]
    reply = "1. Fixable now [2].\n2. DROP\n3) Garbled [8]."
    repaired, issues = apply_repair(sentences, reply, n_sources=3)
    assert [(s.text, s.cited) for s in repaired] == [
        ("Cited.", (1,)), ("Fixable now.", (2,)), ("Hopeless.", ()), ("Garbled.", ())]
    assert [i.kind for i in issues] == ["repaired", "invalid_marker"]
    kept, dropped = drop_uncited(repaired)
    assert [s.text for s in kept] == ["Cited.", "Fixable now."]
    assert [(i.kind, i.sentence) for i in dropped] == [("uncited_dropped", "Hopeless."), ("uncited_dropped", "Garbled.")]

