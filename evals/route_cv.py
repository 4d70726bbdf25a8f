"""K-fold cross-validation of the assistant's router over its training and dev rows together (folds by row,
shuffled once with a fixed seed): the fitted router's settings (C, thresholds) scored out of fold, and the
settings that cross-validation would choose from the router's grids (thresholds chosen as the fitting chooses
them on dev). `huntaze assistant route --cv` prints both, so a change to the router is judged on train+dev only,
never on the sealed suite."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agents.router import (
    C_GRID,
    DEV_FILE,
    AssistantRouter,
    Example,
    Router,
    choose_thresholds,
    fan_tools,
    fit_classifiers,
    read_examples,
    read_training,
    tool_choice,
    toolsets,
)
from agents.toolkits import AGENTS
from policies.semantic import features

FOLDS = 5


def _fit_router(
    x_all: Any,
    rows: Sequence[Example],
    idx: np.ndarray,
    agent_labels: list[str],
    tool_labels: list[str],
    needs_fan: list[str],
    c: float,
    key: str,
) -> Router:
    """The classifiers fitted on the rows `idx` of `x_all` with regularisation `c`; thresholds still at 0.5."""
    return fit_classifiers(x_all[idx], [rows[i] for i in idx], agent_labels, tool_labels, needs_fan, c, key)


def folds_of(n: int, k: int = FOLDS) -> np.ndarray:
    """Each row's fold: rows shuffled once with a fixed seed, then dealt round."""
    fold = np.empty(n, dtype=int)
    fold[np.random.default_rng(0).permutation(n)] = np.arange(n) % k
    return fold


def out_of_fold(
    x_all: Any,
    rows: Sequence[Example],
    agent_labels: list[str],
    tool_labels: list[str],
    needs_fan: list[str],
    c: float,
    k: int = FOLDS,
) -> tuple[Router, np.ndarray, np.ndarray]:
    """Every row's agent and tool probabilities from the classifiers fitted without its fold, and one of those
    routers (its labels, ranks and fan tools serve to decide on the probabilities)."""
    fold = folds_of(len(rows), k)
    agent_p = np.zeros((len(rows), len(agent_labels)))
    tool_p = np.zeros((len(rows), len(tool_labels)))
    carrier: Router | None = None
    for f in range(k):
        held = np.flatnonzero(fold == f)
        carrier = _fit_router(
            x_all, rows, np.flatnonzero(fold != f), agent_labels, tool_labels, needs_fan, c, ""
        )
        agent_p[held], tool_p[held] = carrier.scores(x_all[held])
    assert carrier is not None
    return carrier, agent_p, tool_p


def figures_of(
    router: Router,
    agent_p: np.ndarray,
    tool_p: np.ndarray,
    rows: Sequence[Example],
    available: Mapping[str, Sequence[str]],
    at: float,
    tt: float,
) -> dict[str, float]:
    """Agent choice, tool choice, rows with every expected tool and extra tools per row of these settings on
    these probabilities, overall and per language."""
    agent_ok, tool_score, extra = [], [], []
    for i, r in enumerate(rows):
        route = router.decide(agent_p[i], tool_p[i], available, at, tt)
        called = [t for a in route.agents for t in route.plans[a]]
        agent_ok.append(set(route.agents) == set(r.agents))
        tool_score.append(tool_choice(r.tools, called))
        extra.append(len(set(called) - set(r.tools)))
    out = {
        "rows": float(len(rows)),
        "agent_choice": float(np.mean(agent_ok)),
        "tool_choice": float(np.mean(tool_score)),
        "tool_exact": float(np.mean([s == 1.0 for s in tool_score])),
        "extra_tools": float(np.mean(extra)),
    }
    for lang in sorted({r.lang for r in rows if r.lang}):
        sel = [i for i, r in enumerate(rows) if r.lang == lang]
        out |= {
            f"{lang}_rows": float(len(sel)),
            f"{lang}_agent_choice": float(np.mean([agent_ok[i] for i in sel])),
            f"{lang}_tool_choice": float(np.mean([tool_score[i] for i in sel])),
        }
    return out


def choose(
    router: Router,
    agent_p: np.ndarray,
    tool_p: np.ndarray,
    rows: Sequence[Example],
    available: Mapping[str, Sequence[str]],
) -> tuple[float, float, float]:
    """The thresholds as the fitting chooses them on dev (`agents.router.choose_thresholds`), on these
    probabilities; returns them and the tool objective."""
    return choose_thresholds(lambda i, at, tt: router.decide(agent_p[i], tool_p[i], available, at, tt), rows)


def cross_validate(router: AssistantRouter, data_dir: Path | None = None, k: int = FOLDS) -> dict[str, Any]:
    """The fitted router's settings and the best settings of the grids, both scored by k-fold cross-validation
    over train and dev together."""
    from agents.router import DATA_DIR

    d = data_dir or DATA_DIR
    rows = [*read_training(d), *read_examples(d / DEV_FILE)]
    counts: dict[str, int] = {}
    for r in rows:
        for t in set(r.tools):
            counts[t] = counts.get(t, 0) + 1
    agent_labels: list[str] = list(AGENTS)
    tool_labels = sorted(t for t, n in counts.items() if n < len(rows))
    x_all = features([r.text for r in rows], router.encoder.encode([r.text for r in rows]))
    available = toolsets()
    needs_fan = fan_tools()
    fitted = router.router
    out: dict[str, Any] = {"folds": k, "rows": len(rows)}
    best: tuple[tuple[float, float], dict[str, Any]] | None = None
    for c in C_GRID:
        carrier, agent_p, tool_p = out_of_fold(x_all, rows, agent_labels, tool_labels, needs_fan, c, k)
        if c == fitted.c:
            out["fitted"] = {
                "c": c,
                "agent_threshold": fitted.agent_threshold,
                "tool_threshold": fitted.tool_threshold,
                **_rounded(
                    figures_of(
                        carrier,
                        agent_p,
                        tool_p,
                        rows,
                        available,
                        fitted.agent_threshold,
                        fitted.tool_threshold,
                    )
                ),
            }
        at, tt, objective = choose(carrier, agent_p, tool_p, rows, available)
        figures = figures_of(carrier, agent_p, tool_p, rows, available, at, tt)
        choice = {
            "c": c,
            "agent_threshold": at,
            "tool_threshold": tt,
            **_rounded(figures),
        }
        if best is None or (figures["agent_choice"], objective) > best[0]:
            best = ((figures["agent_choice"], objective), choice)
    assert best is not None
    out["chosen"] = best[1]
    return out


def _rounded(figures: Mapping[str, float]) -> dict[str, float]:
    return {key: round(v, 4) for key, v in figures.items()}
