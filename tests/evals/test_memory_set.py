"""The fan-memory retrieval set is well formed, and the offline embedder keeps its measured recall."""

from __future__ import annotations

from evals.memory.run import evaluate, lexical, load, minilm


def test_set_is_labelled_and_large_enough() -> None:
    memories, queries = load()
    assert len(queries) >= 100 and len(memories) >= 100
    assert len({q["id"] for q in queries}) == len(queries)
    fans = {m["fan"] for m in memories}
    assert all(q["fan"] in fans for q in queries)
    # every relevant memory belongs to the fan who wrote the message
    by_id = {m["id"]: m for m in memories}
    assert all(by_id[r]["fan"] == q["fan"] for q in queries for r in q["relevant"])


def test_offline_embedder_recall_at_5() -> None:
    got = evaluate(minilm())
    assert got["recall@5"] >= 0.8, got  # measured 0.84
    assert got["recall@5"] > 3 * evaluate(lexical())["recall@5"]  # words alone do not find these
