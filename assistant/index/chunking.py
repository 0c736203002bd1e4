"""Papers -> sentence-aware chunks (llama-index TextNodes) carrying the paper's metadata.

Chunk sizes (the retrieval.chunk_tokens and chunk_overlap settings) are counted in the embedding
model's own word pieces so that a chunk plus its title fits the model's 256-token window.
Run in ingest's chunking process (chunk_worker.py): llama-index is slow to import, so it loads
there while ingest opens the store, and the query path never loads it.
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import TYPE_CHECKING

from .embedder import TOKENIZER_PATH

if TYPE_CHECKING:
    from llama_index.core.schema import TextNode

    from ..config import RetrievalSettings
    from ..corpus.paper import Paper

# The only metadata the embedder and an LLM see (the paper header); the rest is for filtering and display.
EMBEDDED_METADATA = ("header",)
_HEADER_AUTHORS = 3  # more names than this read as "First et al.": names past the third rarely decide a match


def chunker_label(retrieval: RetrievalSettings) -> str:
    """Recorded in the manifest: a different chunker (or chunk header) means different chunks,
    so a full re-chunk and re-embed."""
    return f"sentence-splitter/{retrieval.chunk_tokens}/{retrieval.chunk_overlap}/v2-header"


def paper_header(paper: Paper) -> str:
    """"Title. Authors. Year. Venue." above each chunk for the embedder, so that a question
    naming the paper, its authors or its year meets every chunk of it."""
    parts = (paper.title, paper.authors_display(_HEADER_AUTHORS), paper.year, paper.venue)
    return " ".join(f"{str(part).rstrip('.')}." for part in parts if part)


def paper_metadata(paper: Paper) -> dict[str, str | int]:
    """Flat Chroma metadata for every chunk of `paper` (no None values: Chroma rejects them)."""
    metadata: dict[str, str | int] = {
        "paper_key": paper.key,
        "source": paper.source,
        # Lower-case and ";"-joined so that an author filter is a plain substring test.
        "authors": "; ".join(paper.authors).lower(),
    }
    if paper.title:
        metadata["title"] = paper.title
    if paper.year is not None:
        metadata["year"] = paper.year
    if paper.category:
        metadata["category"] = paper.category.upper()
    if header := paper_header(paper):
        metadata["header"] = header
    return metadata


def chunk_id(paper_key: str, ordinal: int) -> str:
    return f"{paper_key}:{ordinal}"


def embed_text(node: TextNode) -> str:
    """What the embedder sees for a chunk: its paper header, then the chunk."""
    from llama_index.core.schema import MetadataMode

    return node.get_content(metadata_mode=MetadataMode.EMBED)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def _word_piece_counter():
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
    tokenizer.no_truncation()  # the splitter must see true lengths to cut long text
    tokenizer.no_padding()
    return lambda text: tokenizer.encode(text, add_special_tokens=False).ids


def load_splitter() -> None:
    """Import llama-index and load the splitter's tokenizers (nltk's punkt, the word pieces): what
    a first chunk_papers call would otherwise wait for (~1.1 s)."""
    from llama_index.core.node_parser.text.utils import split_by_sentence_tokenizer

    split_by_sentence_tokenizer()("One sentence. Another one.")
    _word_piece_counter()


def chunk_papers(papers: list[Paper], retrieval: RetrievalSettings) -> list[TextNode]:
    """Every paper's abstract split at sentence boundaries, in paper order."""
    from llama_index.core import Document
    from llama_index.core.node_parser import SentenceSplitter

    splitter = SentenceSplitter(
        chunk_size=retrieval.chunk_tokens,
        chunk_overlap=retrieval.chunk_overlap,
        tokenizer=_word_piece_counter(),
        include_prev_next_rel=False,
        id_func=lambda i, doc: chunk_id(doc.doc_id, i),
    )
    documents = []
    for paper in papers:
        metadata = paper_metadata(paper)
        hidden = [k for k in metadata if k not in EMBEDDED_METADATA]
        documents.append(Document(
            text=paper.abstract, doc_id=paper.key, metadata=metadata, metadata_template="{value}",
            excluded_embed_metadata_keys=hidden, excluded_llm_metadata_keys=hidden,
        ))
    return splitter.get_nodes_from_documents(documents)
