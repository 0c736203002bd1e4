"""Shared by the citation tests: a bag-of-terms embedder, papers, evidence and draft texts.

Embeddings here come from a bag-of-terms hashing embedder, so similarity means shared terms:
enough to exercise the similarity floor and quote selection without loading a model.
"""

from __future__ import annotations

import hashlib

import numpy as np
from hypothesis import strategies as st

from assistant.answer.verification import Floors
from assistant.corpus.paper import Paper
from assistant.retrieve import Evidence
from assistant.text import content_terms

FLOORS = Floors(support=0.35, terms=0.4)


def term_embed(texts: list[str]) -> np.ndarray:
    """Unit vectors of hashed content terms: cosine = shared-term similarity."""
    rows = np.zeros((len(texts), 512), dtype=np.float32)
    for row, text in zip(rows, texts):
        for term in content_terms(text) or {"<empty>"}:
            row[int(hashlib.md5(term.encode()).hexdigest(), 16) % 512] += 1.0
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def paper(key: str, abstract: str, title: str | None = None, year: int | None = 2023,
          authors: tuple[str, ...] = ("Ada Lovelace",)) -> Paper:
    return Paper(key=key, source=f"test.txt#{key}", title=title, authors=authors, authors_truncated=False,
                 year=year, date=None, year_inferred=False, category="LG", arxiv_id=None, comment=None,
                 affiliations=(), abstract=abstract)


def evidence(*abstracts: str, dense: float = 0.5) -> list[Evidence]:
    return [Evidence(paper=paper(f"p{i}", text, title=f"Paper {i}"), text=text, score=1.0 / i, rank=i,
                     chunk_id=f"p{i}:0", dense_score=dense)
            for i, text in enumerate(abstracts, 1)]


def papers(**abstracts: str) -> list[Evidence]:
    """Evidence of papers keyed (and titled) by the keyword names, ranked in order."""
    return [Evidence(paper=paper(key, text, title=key), text=text, score=1.0 / i, rank=i, chunk_id=f"{key}:0",
                     dense_score=0.5)
            for i, (key, text) in enumerate(abstracts.items(), 1)]


# Two abstracts of the seed papers, cut short: SmolLM2 answered "What is dMel?" with DiceHuBERT's definition.
DMEL = ("In this work, we introduce a novel speech representation (dmel) that discretizes mel-filterbank channels "
        "into intensity bins, creating a simpler yet more effective representation compared to existing speech "
        "tokenization methods. Our results demonstrate the effectiveness of dmel in achieving high performance on "
        "both speech synthesis and recognition tasks within a unified framework.")
DICEHUBERT = ("We introduce DiceHuBERT, a knowledge distillation framework for compressing HuBERT, a widely used "
              "self-supervised learning (SSL)-based speech foundation model. Experimental results on SUPERB show "
              "that DiceHuBERT consistently outperforms existing distillation methods.")
ZHAI = ("Training stability is of great importance to Transformers. We propose σReparam, which "
        "reparametrizes all linear layers with spectral normalization. σReparam prevents entropy "
        "collapse in the attention layers and reaches 3x faster convergence.")
SIGMOID = ("We revisit sigmoid attention. FLASHSIGMOID yields a 17% inference kernel speed-up over "
           "FLASHATTENTION2 on H100 GPUs.")
ASR = ("Our system achieves 2.3%/4.6% on test-clean/test-other subsets of LibriSpeech. The acoustic "
       "model is trained without word order.")

WORDS = st.sampled_from(["model", "e.g.", "et", "al.", "Fig.", "2.3", "3x", "WER", "we", "The", "attention",
                         "J.", "vs.", "[1]", "[2-3]", "[1, 9]", "(see", "it)", "speech", "i.e.", "42%"])
PUNCT = st.sampled_from([".", "!", "?", ";", ",", ""])
TEXT = st.lists(st.tuples(WORDS, PUNCT), max_size=40).map(lambda parts: " ".join(w + p for w, p in parts))
