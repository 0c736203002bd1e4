"""Citation enforcement as a whole (assistant/answer/citations.py): pure functions, no index,
no model. The parts have their own tests: test_markers, test_repair, test_verification and
test_relevance."""

from __future__ import annotations






