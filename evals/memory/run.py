"""Fan-memory retrieval set: which embedder finds the memory a fan's message is about.

150 memories of 25 fans (facts, preferences, boundaries, life events) and 125 fan messages, each labelled with
the memories that help answer it. Messages are written to mean the memory without repeating its words
("the pup knocked my coffee over" -> "has a golden retriever named Max"), since that is how fans talk.

Two measures: recall@5 over the whole pool of 150 memories (hard: it separates embedders) and recall@1 within
the fan's own memories (what the DM agent's per-fan recall does in production).

    python -m evals.memory.run [--candidates minilm,llamacpp,lexical]
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

HERE = Path(__file__).parent
EmbedFn = Callable[[list[str]], npt.NDArray[np.float32]]


def load() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    def read(name: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in (HERE / name).read_text().splitlines() if line.strip()]

    memories, queries = read("memories.jsonl"), read("queries.jsonl")
    ids = {m["id"] for m in memories}
    for q in queries:
        missing = set(q["relevant"]) - ids
        if missing or not q["relevant"]:
            raise ValueError(f"query {q['id']}: unknown relevant ids {missing or '(none)'}")
    return memories, queries


def evaluate(embed: EmbedFn, k: int = 5) -> dict[str, float]:
    memories, queries = load()
    m_vec = _unit(embed([m["text"] for m in memories]))
    q_vec = _unit(embed([q["text"] for q in queries]))
    sims = q_vec @ m_vec.T
    mem_ids = np.array([m["id"] for m in memories])
    mem_fan = np.array([m["fan"] for m in memories])
    recall_k, rr, fan_top1 = [], [], []
    for i, q in enumerate(queries):
        rel = set(q["relevant"])
        order = mem_ids[np.argsort(-sims[i], kind="stable")]
        recall_k.append(len(rel & set(order[:k])) / len(rel))
        rank = next(j for j, mid in enumerate(order) if mid in rel)
        rr.append(1.0 / (rank + 1))
        own = sims[i].copy()
        own[mem_fan != q["fan"]] = -np.inf
        fan_top1.append(float(mem_ids[int(np.argmax(own))] in rel))
    return {
        f"recall@{k}": round(float(np.mean(recall_k)), 3),
        "mrr": round(float(np.mean(rr)), 3),
        "per_fan_recall@1": round(float(np.mean(fan_top1)), 3),
        "queries": len(queries),
        "memories": len(memories),
    }


def _unit(v: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    v = np.asarray(v, dtype=np.float32)
    out: npt.NDArray[np.float32] = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    return out


def lexical() -> EmbedFn:
    """A floor without any model: TF-IDF over lower-cased words, fitted on the texts of each call pair."""
    memories, queries = load()
    corpus = [m["text"] for m in memories] + [q["text"] for q in queries]
    tokens = [re.findall(r"[a-z0-9']+", t.lower()) for t in corpus]
    vocab = {w: i for i, w in enumerate(sorted({w for ts in tokens for w in ts}))}
    df = np.zeros(len(vocab))
    for ts in tokens:
        for w in set(ts):
            df[vocab[w]] += 1
    idf = np.log((1 + len(corpus)) / (1 + df)) + 1

    def embed(texts: list[str]) -> npt.NDArray[np.float32]:
        out = np.zeros((len(texts), len(vocab)), dtype=np.float32)
        for r, t in enumerate(texts):
            for w in re.findall(r"[a-z0-9']+", t.lower()):
                if w in vocab:
                    out[r, vocab[w]] += idf[vocab[w]]
        return out

    return embed


def minilm() -> EmbedFn:
    from core.settings import Settings
    from memory.embed import MiniLMEmbedder, ensure_minilm

    return MiniLMEmbedder(ensure_minilm(Settings())).embed


def llamacpp() -> EmbedFn:
    """The chat engine's GGUF (SmolLM2-135M) in llama.cpp embedding mode, mean pooling, over HTTP."""
    import httpx
    import xllamacpp

    from core.settings import Settings
    from devstack.services import ensure_model

    params = xllamacpp.CommonParams()
    params.model.path = str(ensure_model(Settings()))
    params.n_ctx = 2048
    params.port = 0
    params.hostnames = ["127.0.0.1"]
    params.embedding = True
    params.pooling_type = xllamacpp.llama_pooling_type.LLAMA_POOLING_TYPE_MEAN
    server = xllamacpp.Server(params)

    def embed(texts: list[str]) -> npt.NDArray[np.float32]:
        r = httpx.post(
            f"{server.listening_address}/v1/embeddings", json={"input": texts, "model": "local"}, timeout=300
        )
        r.raise_for_status()
        data = sorted(r.json()["data"], key=lambda d: d["index"])
        embed.server = server  # type: ignore[attr-defined]  # keep the server alive with the function
        return np.array([d["embedding"] for d in data], dtype=np.float32)

    return embed


CANDIDATES: dict[str, Callable[[], EmbedFn]] = {"minilm": minilm, "llamacpp": llamacpp, "lexical": lexical}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--candidates", default="minilm,llamacpp,lexical")
    args = ap.parse_args()
    for name in args.candidates.split(","):
        print(json.dumps({"embedder": name, **evaluate(CANDIDATES[name]())}), flush=True)


if __name__ == "__main__":
    main()
