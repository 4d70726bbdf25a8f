"""Creator-wide memory search at scale: HNSW with pgvector's iterative scan against exact search, on the same
rows and the same queries, in a throwaway embedded PostgreSQL.

    python -m bench.memory [--memories 1000000] [--creators 100] [--queries 200] [--ef-search 40,100]
                           [--shape nested|flat]

Vectors are synthetic but shaped like sentence embeddings (384-d, unit length), in one of two shapes:

- `nested` (default): 50 themes, 40 topics in each (2,000 topics, each cos ~0.7 from its theme), each memory
  cos ~0.7 from its topic. Memories about the same thing are close, about the same kind of thing (pets,
  work, gym) less close, about unrelated things orthogonal: similarity falls off by degrees, as between real
  sentences.
- `flat`: 2,000 unrelated topics, each memory cos ~0.7 from its topic. A creator has ~5 memories per topic,
  so a query's neighbours beyond those 5 are near-ties in noise (cos ~0 +- 0.05), which no graph can rank.

Each query is filtered to one creator (1 % of the rows), the case where a plain HNSW scan returns too few
rows. Prints one JSON line per ef_search: recall@10 of HNSW against exact, p50/p99 latency of both, the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

from bench.scratch_db import scratch_database

TOPICS = 2000
THEMES = 50
NOISE = 1.0 / np.sqrt(384)  # per-dimension sigma: the noise vector has norm ~1, so cos(memory, topic) ~ 0.7


def _unit(v: np.ndarray) -> np.ndarray:
    out: np.ndarray = (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)
    return out


def topic_centres(shape: str, rng: np.random.Generator) -> np.ndarray:
    if shape == "flat":
        return _unit(rng.standard_normal((TOPICS, 384)))
    if shape == "nested":
        themes = _unit(rng.standard_normal((THEMES, 384)))
        theme_of = np.arange(TOPICS) % THEMES
        return _unit(themes[theme_of] + NOISE * rng.standard_normal((TOPICS, 384)))
    raise ValueError(f"unknown shape {shape!r}: 'nested' or 'flat'")


def _first(cur: psycopg.Cursor[Any]) -> str:
    row = cur.fetchone()
    assert row is not None
    return str(row[0])


def load(
    url: str, memories: int, creators: int, rng: np.random.Generator, shape: str = "nested"
) -> tuple[list[str], np.ndarray, float]:
    topics = topic_centres(shape, rng)
    creator_ids = [str(uuid.uuid4()) for _ in range(creators)]
    fans_per_creator = 100
    with psycopg.connect(url, autocommit=True) as conn:
        register_vector(conn)
        # the product's own index (migration 0014), rebuilt after the load as one build, not a million inserts
        # (its definition on the partitioned table reads "ON ONLY", which would build no partition's graph)
        index_sql = _first(
            conn.execute("SELECT pg_get_indexdef('fan_memories_embedding_hnsw'::regclass)")
        ).replace(" ON ONLY ", " ON ")
        conn.execute("DROP INDEX fan_memories_embedding_hnsw")
        with conn.cursor() as cur:
            for i, cid in enumerate(creator_ids):
                cur.execute(
                    "INSERT INTO creators (id, handle, display_name) VALUES (%s, %s, %s)",
                    [cid, f"c{i}", f"C{i}"],
                )
                cur.execute(
                    "INSERT INTO fans (creator_id, platform_fan_id) SELECT %s, 'f' || g FROM generate_series(1, %s) g",
                    [cid, fans_per_creator],
                )
            fan_rows = cur.execute("SELECT creator_id::text, id FROM fans").fetchall()
        fans_by_creator: dict[str, list[uuid.UUID]] = {}
        for c, f in fan_rows:
            fans_by_creator.setdefault(c, []).append(f)
        per_creator = memories // creators
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY fan_memories (creator_id, fan_id, kind, text, importance, embedding, embedding_model)"
                " FROM STDIN WITH (FORMAT BINARY)"
            ) as copy,
        ):
            copy.set_types(["uuid", "uuid", "text", "text", "float4", "vector", "text"])
            for cid in creator_ids:
                topic = rng.integers(0, TOPICS, per_creator)
                vecs = _unit(
                    topics[topic] + NOISE * rng.standard_normal((per_creator, 384)).astype(np.float32)
                )
                fans = fans_by_creator[cid]
                for j in range(per_creator):
                    copy.write_row(
                        [
                            uuid.UUID(cid),
                            fans[j % len(fans)],
                            "fact",
                            f"topic {topic[j]}",
                            0.5,
                            vecs[j],
                            "bench",
                        ]
                    )
        conn.execute("ANALYZE fan_memories")
        conn.execute("SET maintenance_work_mem = '2GB'")
        conn.execute("SET max_parallel_maintenance_workers = 2")
        start = time.perf_counter()
        conn.execute(index_sql)
        build_s = time.perf_counter() - start
        graphs, partitions = (
            _first(conn.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = %s::regclass", [name]))
            for name in ("fan_memories_embedding_hnsw", "fan_memories")
        )
        if graphs != partitions:
            raise RuntimeError(f"{graphs} HNSW graphs built for {partitions} partitions")
    return creator_ids, topics, build_s


async def measure(
    url: str, creator_ids: list[str], topics: np.ndarray, queries: int, ef: int, seed: int
) -> dict[str, float]:
    """The same queries through each method in turn, each method's pass run twice and the second timed: a
    method is measured in its own steady state (its pages cached as far as they fit), not with the other
    method's pages evicting its own between queries."""
    from psycopg import AsyncConnection
    from psycopg.rows import dict_row

    from memory.store import search_creator

    rng = np.random.default_rng(seed)
    cases = [
        (
            creator_ids[int(rng.integers(0, len(creator_ids)))],
            _unit(topics[int(rng.integers(0, TOPICS))] + NOISE * rng.standard_normal(384).astype(np.float32)),
        )
        for _ in range(queries)
    ]

    async def run(exact: bool) -> tuple[list[set[str]], list[float]]:
        async with await AsyncConnection.connect(url, row_factory=dict_row, autocommit=True) as conn:
            found: list[set[str]] = []
            times: list[float] = []
            for _pass in ("warm-up", "timed"):  # only the second pass is kept
                found, times = [], []
                for cid, q in cases:
                    s = time.perf_counter()
                    rows = await search_creator(conn, cid, q, k=10, exact=exact, ef_search=ef)
                    times.append((time.perf_counter() - s) * 1000)
                    found.append({r["id"] for r in rows})
            return found, times

    truth, t_exact = await run(exact=True)
    found, t_ann = await run(exact=False)
    recalls = [len(t & f) / max(len(t), 1) for t, f in zip(truth, found, strict=True)]

    def p(values: list[float], q: float) -> float:
        return float(np.percentile(values, q))

    return {
        "recall@10": round(statistics.mean(recalls), 4),
        "exact_p50_ms": round(p(t_exact, 50), 2),
        "exact_p99_ms": round(p(t_exact, 99), 2),
        "hnsw_p50_ms": round(p(t_ann, 50), 2),
        "hnsw_p99_ms": round(p(t_ann, 99), 2),
        "latency_ratio_p50": round(p(t_ann, 50) / p(t_exact, 50), 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--memories", type=int, default=1_000_000)
    ap.add_argument("--creators", type=int, default=100)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument(
        "--ef-search",
        default="40,100",
        help="hnsw.ef_search; a comma-separated list measures each on the same load",
    )
    ap.add_argument("--shape", choices=["nested", "flat"], default="nested", help="how the vectors cluster")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    with scratch_database("hz-bench-mem-") as url:
        start = time.perf_counter()
        creator_ids, topics, build_s = load(
            url, args.memories, args.creators, np.random.default_rng(args.seed), args.shape
        )
        load_s = time.perf_counter() - start
        for ef in [int(v) for v in str(args.ef_search).split(",")]:
            result = asyncio.run(measure(url, creator_ids, topics, args.queries, ef, args.seed + 1))
            print(
                json.dumps(
                    {
                        "bench": "memory",
                        "memories": args.memories,
                        "creators": args.creators,
                        "queries": args.queries,
                        "shape": args.shape,
                        "ef_search": ef,
                        "load_s": round(load_s, 1),
                        "hnsw_build_s": round(build_s, 1),
                        **result,
                        "targets": "recall@10 >= 0.95 of exact at <= 1/10 of exact latency (1M memories,"
                        " 100 creators)",
                    }
                )
            )


if __name__ == "__main__":
    main()
