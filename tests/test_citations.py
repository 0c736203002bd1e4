"""Citation enforcement as a whole (assistant/answer/citations.py): pure functions, no index,
no model. The parts have their own tests: test_markers, test_repair, test_verification and
test_relevance."""

from __future__ import annotations

import re

from hypothesis import given, settings, strategies as st

from assistant.answer.citations import assemble, enforce
from assistant.answer.markers import DraftSentence
from assistant.answer.verification import verify
from assistant.retrieve import Evidence
from citation_helpers import ASR, FLOORS, PUNCT, SIGMOID, WORDS, ZHAI, evidence, term_embed



