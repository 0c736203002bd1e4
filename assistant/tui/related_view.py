"""A related-work section in the conversation: an answer whose paragraphs carry theme headings
(the RelatedWork answer names them)."""

from __future__ import annotations

from .answer_view import AnswerView


class RelatedWorkView(AnswerView):
    KIND = "Related work"
