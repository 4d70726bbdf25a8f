"""LLM cost per draft: prompt and completion tokens (as the endpoint reports them) and drafts/s, over the reply
cases of the drafting eval suite, with the configured LLM (the embedded local model by default); against a bare
chat completion of one short message on the same endpoint in the same run.

    python -m bench.llm_cost [--rounds 1]

Each draft goes through the DM agent as in production: tools over Postgres (a scratch database with the suite's
fixtures), the per-call JSON schema, validation and bounded retries; tokens of retries are counted.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

from bench.stack import emit


async def _drafts(rounds: int) -> dict[str, Any]:
    from langchain_core.callbacks import get_usage_metadata_callback
    from langchain_core.messages import HumanMessage

    from agents import llm
    from agents.dm import draft_reply
    from core import db
    from core.settings import get_settings
    from evals.runner import scratch_database
    from evals.suite import SUITES_DIR, load_suite
    from evals.targets import write_fixture

    settings = get_settings()
    assert settings.database_url
    suite = load_suite(SUITES_DIR / "drafting.yaml")
    cases = [
        c
        for c in suite.cases
        if c.expect.get("route") == "reply" and c.input.get("events", [{}])[0].get("text")
    ]
    model = llm.chat_model()
    per_draft: list[dict[str, float]] = []
    failures = 0
    async with scratch_database(settings.database_url, "llmcost") as url:
        await db.open_pool(url, 4)
        try:
            fixtures = [(c, await write_fixture(c)) for c in cases]
            for _ in range(rounds):
                for case, fx in fixtures:
                    text = str(case.input["events"][0]["text"])
                    with get_usage_metadata_callback() as cb:
                        start = time.perf_counter()
                        result = await draft_reply(
                            model,
                            fx.creator_id,
                            fx.fan_id,
                            fan_text=text,
                            reason="the fan sent a message",
                            attempts=settings.llm_attempts,
                        )
                        elapsed = time.perf_counter() - start
                    usage = next(iter(cb.usage_metadata.values()), None) if cb.usage_metadata else None
                    failures += result.failure is not None
                    per_draft.append(
                        {
                            "seconds": elapsed,
                            "prompt": float(usage["input_tokens"]) if usage else float("nan"),
                            "completion": float(usage["output_tokens"]) if usage else float("nan"),
                            "attempts": float(result.attempts),
                        }
                    )
        finally:
            await db.close_pool()
        bare: list[dict[str, float]] = []
        for _ in range(len(per_draft)):
            with get_usage_metadata_callback() as cb:
                start = time.perf_counter()
                await model.ainvoke([HumanMessage("Say hello to a fan in one short sentence.")])
                elapsed = time.perf_counter() - start
            usage = next(iter(cb.usage_metadata.values()), None) if cb.usage_metadata else None
            bare.append(
                {
                    "seconds": elapsed,
                    "prompt": float(usage["input_tokens"]) if usage else float("nan"),
                    "completion": float(usage["output_tokens"]) if usage else float("nan"),
                }
            )

    def agg(rows: list[dict[str, float]]) -> dict[str, float]:
        secs = sum(r["seconds"] for r in rows)
        return {
            "n": len(rows),
            "per_s": round(len(rows) / secs, 3),
            "prompt_tokens_mean": round(statistics.fmean(r["prompt"] for r in rows), 1),
            "prompt_tokens_max": max(r["prompt"] for r in rows),
            "completion_tokens_mean": round(statistics.fmean(r["completion"] for r in rows), 1),
            "seconds_p50": round(statistics.median(r["seconds"] for r in rows), 2),
        }

    figure = {
        **agg(per_draft),
        "failed_drafts": failures,
        "attempts_mean": round(statistics.fmean(r["attempts"] for r in per_draft), 2),
    }
    baseline = agg(bare)
    return {
        "figure": figure,
        "baseline": baseline,
        "ratio": {
            "drafts_per_s_vs_bare_completions": round(figure["per_s"] / baseline["per_s"], 3),
            "prompt_tokens_vs_target_1200": round(figure["prompt_tokens_max"] / 1200, 2),
        },
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="huntaze bench llm-cost", description=__doc__)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args(argv)

    from core.settings import read_settings
    from devstack.runtime import apply_settings
    from devstack.services import embedded_services

    with embedded_services(read_settings(), need_temporal=False) as svc:
        apply_settings(svc.settings)
        res = asyncio.run(_drafts(args.rounds))
        model = svc.settings.llm_model
    f, b = res["figure"], res["baseline"]
    print(
        f"{model}: {f['per_s']} drafts/s, prompt {f['prompt_tokens_mean']} tokens (max {f['prompt_tokens_max']}),"
        f" completion {f['completion_tokens_mean']}; bare completion {b['per_s']}/s"
    )
    emit("llm-cost", f, b, res["ratio"], model=model, targets={"prompt_tokens_max": "<= 1200"})


if __name__ == "__main__":
    main()
