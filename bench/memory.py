"""Creator-wide memory search at scale: HNSW with pgvector's iterative scan against exact search, on the same
rows and the same queries, in a throwaway embedded PostgreSQL.

    python -m bench.memory [--memories 1000000] [--creators 100] [--queries 200] [--ef-search 40]

Vectors are synthetic but shaped like sentence embeddings (384-d, unit length, clustered around 2,000 topics:
each memory is cos ~0.7 from its topic), so neighbourhoods are meaningful, unlike uniform noise. Each query
is filtered to one creator (1 % of the rows), the case where a plain HNSW scan returns too few rows.
Prints one JSON line: recall@10 of HNSW against exact, p50/p99 latency of both, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

from bench.scratch_db import scratch_database

TOPICS = 2000
NOISE = 1.0 / np.sqrt(384)  # per-dimension sigma: the noise vector has norm ~1, so cos(memory, topic) ~ 0.7


def _unit(v: np.ndarray) -> np.ndarray:
    out: np.ndarray = (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)
    return out


def load(
    url: str, memories: int, creators: int, rng: np.random.Generator
) -> tuple[list[str], np.ndarray, float]:
    topics = _unit(rng.standard_normal((TOPICS, 384)))
    creator_ids = [str(uuid.uuid4()) for _ in range(creators)]
    fans_per_creator = 100
    with psycopg.connect(url, autocommit=True) as conn:
        register_vector(conn)
        conn.execute("DROP INDEX IF EXISTS fan_memories_embedding_hnsw")
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
        conn.execute(
            "CREATE INDEX fan_memories_embedding_hnsw ON fan_memories USING hnsw (embedding vector_cosine_ops)"
        )
        build_s = time.perf_counter() - start
    return creator_ids, topics, build_s


async def measure(
    url: str, creator_ids: list[str], topics: np.ndarray, queries: int, ef: int, seed: int
) -> dict[str, float]:
    from psycopg import AsyncConnection
    from psycopg.rows import dict_row

    from memory.store import search_creator

    rng = np.random.default_rng(seed)
    recalls, t_exact, t_ann = [], [], []
    async with await AsyncConnection.connect(url, row_factory=dict_row, autocommit=True) as conn:
        for i in range(queries + 10):
            cid = creator_ids[int(rng.integers(0, len(creator_ids)))]
            q = _unit(
                topics[int(rng.integers(0, TOPICS))] + NOISE * rng.standard_normal(384).astype(np.float32)
            )
            s = time.perf_counter()
            exact = await search_creator(conn, cid, q, k=10, exact=True)
            e = time.perf_counter() - s
            s = time.perf_counter()
            ann = await search_creator(conn, cid, q, k=10, exact=False, ef_search=ef)
            a = time.perf_counter() - s
            if i < 10:
                continue  # warm-up: caches and plans
            truth = {r["id"] for r in exact}
            recalls.append(len(truth & {r["id"] for r in ann}) / max(len(truth), 1))
            t_exact.append(e * 1000)
            t_ann.append(a * 1000)

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
        default="40",
        help="hnsw.ef_search; a comma-separated list measures each on the same load",
    )
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    with scratch_database("hz-bench-mem-") as url:
        start = time.perf_counter()
        creator_ids, topics, build_s = load(
            url, args.memories, args.creators, np.random.default_rng(args.seed)
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
