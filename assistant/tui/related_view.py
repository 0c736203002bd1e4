"""A related-work section in the conversation: an answer whose paragraphs carry theme headings."""

from __future__ import annotations

from ..answer.model import RelatedWork
from .answer_view import AnswerView


class RelatedWorkView(AnswerView):
    KIND = "Related work"

    def headings(self, answer: RelatedWork) -> dict[int, str]:  # type: ignore[override]
        return {theme.paragraph: theme.name for theme in answer.themes}
