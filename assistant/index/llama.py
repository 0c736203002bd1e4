"""llama-index wiring for ingest: our embedder as a BaseEmbedding, and no implicit OpenAI.

Imported only by ingest (llama-index takes ~2 s to import; the query path never loads it).
"""

from __future__ import annotations

from typing import Any

from llama_index.core import Settings as LlamaSettings
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.llms import MockLLM

from .embedder import Embedder


class EmbedderAdapter(BaseEmbedding):
    """Any of our embedders behind llama-index's embedding interface."""

    _embedder: Embedder = PrivateAttr()

    def __init__(self, embedder: Embedder, **kwargs: Any) -> None:
        # Pass whole batches through: the embedder batches internally as suits its model.
        super().__init__(model_name=embedder.name, embed_batch_size=256, **kwargs)
        self._embedder = embedder

    @classmethod
    def class_name(cls) -> str:
        return "AssistantEmbedder"

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embedder.embed([query])[0].tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embedder.embed([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed(texts).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    async def _aget_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embedding(text)


def configure_llama_index(embedder: Embedder) -> EmbedderAdapter:
    """Point llama-index's global settings at our embedder and a mock LLM.

    Left at their defaults, llama-index reaches for OpenAI (a key and a package we do not use).
    """
    adapter = EmbedderAdapter(embedder)
    LlamaSettings.embed_model = adapter
    LlamaSettings.llm = MockLLM()
    return adapter
