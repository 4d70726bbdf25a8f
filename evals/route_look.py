"""The router alone on an eval suite: with the local engine (tool mode `json`) the assistant's agents and each
agent's tool plan are the router's alone, so the suite's agent choice and tool choice can be computed from the
router's routes without a model or a database. Graded by the suite's own graders (`agent_choice`: the exact set
of agents; `tool_choice`: the share of expected tools planned, each agent's plan cut to the assistant's default
`max_steps` as the pipeline runs it). Only aggregate figures come out: overall and per language tag."""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.router import AssistantRouter, toolsets
from evals.grade import Grade
from evals.graders import agent_choice, tool_choice
from evals.suite import SUITES_DIR, Suite, load_suite
from policies.semantic import features

# The assistant's default steps per agent (agents.assistant.ask's max_steps): tools planned beyond it never run.
MAX_STEPS = 3
LANGS = ("en", "fr", "es")


def route_suite(router: AssistantRouter, suite: Suite | None = None) -> dict[str, Any]:
    """Agent choice and tool choice of the router's routes over every case of `suite` (default: `assistant`)."""
    suite = suite or load_suite(SUITES_DIR / "assistant.yaml")
    texts = [str(c.input.get("text", "")) for c in suite.cases]
    agent_p, tool_p = router.router.scores(features(texts, router.encoder.encode(texts)))
    available = toolsets()
    per_case: list[tuple[list[str], float | None, float | None]] = []
    for i, case in enumerate(suite.cases):
        route = router.router.decide(agent_p[i], tool_p[i], available)
        output = {
            "agents": route.agents,
            "tools": [t for a in route.agents for t in route.plans[a][:MAX_STEPS]],
        }
        a = agent_choice(output, case, {}, suite)
        t = tool_choice(output, case, {}, suite)
        per_case.append(
            (
                [tag for tag in case.tags if tag in LANGS],
                a.score if isinstance(a, Grade) else None,
                t.score if isinstance(t, Grade) else None,
            )
        )

    def summary(rows: list[tuple[list[str], float | None, float | None]]) -> dict[str, float]:
        agents = [a for _, a, _ in rows if a is not None]
        tools = [t for _, _, t in rows if t is not None]
        return {
            "cases": float(len(rows)),
            "agent_choice": round(float(np.mean(agents)), 4) if agents else float("nan"),
            "tool_choice": round(float(np.mean(tools)), 4) if tools else float("nan"),
        }

    out: dict[str, Any] = {"suite": suite.name, "max_steps": MAX_STEPS, "all": summary(per_case)}
    for lang in LANGS:
        rows = [r for r in per_case if lang in r[0]]
        if rows:
            out[lang] = summary(rows)
    return out
