"""K-fold cross-validation of the assistant's router over every labelled row (the train files and dev; folds by
row, shuffled once with a fixed seed): the fitted router's settings (C, thresholds) scored out of fold, and the
settings that cross-validation would choose from the C grid (thresholds chosen as the fitting chooses them).
`huntaze assistant route --cv` prints both, so a change to the router is judged on the routing data only,
never on the sealed suite."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agents.router import (
    C_GRID,
    FOLDS,
    AssistantRouter,
    Example,
    Router,
    choose_thresholds,
    fan_tools,
    figures_of,
    folds_of,
    labels_of,
    out_of_fold,
    read_labelled,
    toolsets,
)
from policies.semantic import features

__all__ = ["FOLDS", "choose", "cross_validate", "folds_of"]


def choose(
    router: Router,
    agent_p: np.ndarray,
    tool_p: np.ndarray,
    rows: Sequence[Example],
    available: Mapping[str, Sequence[str]],
) -> tuple[float, float, float]:
    """The thresholds as the fitting chooses them (`agents.router.choose_thresholds`), on these probabilities;
    returns them and the tool objective."""
    return choose_thresholds(lambda i, at, tt: router.decide(agent_p[i], tool_p[i], available, at, tt), rows)


def cross_validate(router: AssistantRouter, data_dir: Path | None = None, k: int = FOLDS) -> dict[str, Any]:
    """The fitted router's settings and the best settings of the grids, both scored by k-fold cross-validation
    over every labelled row."""
    from agents.router import DATA_DIR

    rows = read_labelled(data_dir or DATA_DIR)
    agent_labels, tool_labels = labels_of(rows)
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
