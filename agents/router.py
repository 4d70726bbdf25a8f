"""The assistant's semantic router: which agents answer a creator's request, in which order, and which tools each
agent calls, in which order, decided by classifiers over what the request means.

The small local model chooses no better than the first option its grammar offers (measured on the `assistant`
suite: agent choice 0.15, tool choice 0.00), so with the local engine (tool mode `json`) the choice is the
router's and the model only fills the chosen tool's arguments. Native tool calling keeps the model's own choice.

The classifiers are the policy engine's kind (`policies.semantic`): one logistic regression per label over
character n-grams, negation-marked words and the offline MiniLM sentence embedding of the request. One model
per agent (multi-label: a request may need two or three in turn) and one per tool label. They are fitted on
`evals/assistant/route_train.jsonl` and `route_train_fr.jsonl` (French and Spanish first); the regularisation and the two thresholds (agents, tools) are chosen on
`route_dev.jsonl`. The order of agents and of tools is the order the training rows give them (the mean relative
position of each label). A label whose tool does not exist (yet) is learned and skipped when planning. The fitted
router is kept in the model cache under a hash of the data and the feature code, like the policy classifiers.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agents.toolkits import AGENTS, tools_for
from core.modelcache import load_or_fit
from core.settings import Settings, get_settings
from policies.semantic import FEATURE_CODE, Encoder, features

DATA_DIR = Path(__file__).resolve().parent.parent / "evals" / "assistant"
# The training rows are all these files' together.
TRAIN_FILES = ("route_train.jsonl", "route_train_fr.jsonl")
DEV_FILE = "route_dev.jsonl"
# Bump when the fitting changes: the cached router is rebuilt.
ROUTER_VERSION = "1"
MAX_AGENTS = 3
# What the dev split chooses from.
C_GRID = (16.0, 64.0, 256.0)
THRESHOLD_GRID = tuple(round(t, 2) for t in np.arange(0.1, 0.91, 0.05))
# Tool thresholds are scored as the suite's tool choice (share of expected tools called) less this per tool
# called beyond the expected ones: a plan should not call every tool to be sure of the right one.
EXTRA_TOOL_COST = 0.05
NO_CREATOR = "00000000-0000-0000-0000-000000000000"


class RouterUnavailable(RuntimeError):
    """The routing data is missing or cannot be fitted."""


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    agents: tuple[str, ...]
    tools: tuple[str, ...]  # where a row lists alternatives for one step, the first
    lang: str = ""  # the first tag


def read_examples(path: Path) -> list[Example]:
    """The labelled requests of one split: `{"id", "input": {"text"}, "expect": {"agents", "tools"}}` per line."""
    if not path.is_file():
        raise RouterUnavailable(f"no routing data at {path}")
    out = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            try:
                expect = row["expect"]
                tools = [t[0] if isinstance(t, list) else t for t in expect.get("tools") or []]
                tags = row.get("tags") or [""]
                out.append(
                    Example(
                        str(row.get("id", n)),
                        str(row["input"]["text"]),
                        tuple(expect["agents"]),
                        tuple(tools),
                        str(tags[0]),
                    )
                )
            except (KeyError, TypeError, IndexError) as exc:
                raise RouterUnavailable(f"{path}:{n}: not a routing example ({exc!r})") from exc
    return out


def read_training(data_dir: Path = DATA_DIR) -> list[Example]:
    """Every training row: the files of TRAIN_FILES in turn."""
    return [r for name in TRAIN_FILES for r in read_examples(data_dir / name)]


def toolsets() -> dict[str, list[str]]:
    """Each agent's tools as they exist now (names only; no creator's data is read)."""
    return {a: [t.name for t in tools_for(a, NO_CREATOR)] for a in AGENTS}


@dataclass(frozen=True)
class Route:
    """The router's decision for one request: the agents in order and each one's tool plan in order, with the
    scores behind them."""

    agents: list[str]
    plans: dict[str, list[str]]
    agent_scores: dict[str, float]
    tool_scores: dict[str, float]


def _ranks(label_lists: Sequence[Sequence[str]]) -> dict[str, float]:
    """Each label's mean relative position (0 first, 1 last) in the lists with two or more labels."""
    pos: dict[str, list[float]] = {}
    for labels in label_lists:
        if len(labels) < 2:
            continue
        for i, label in enumerate(labels):
            pos.setdefault(label, []).append(i / (len(labels) - 1))
    return {k: float(np.mean(v)) for k, v in pos.items()}


# Tools whose result names fans by id: a tool that takes a fan id needs one of them first (find_fans for a fan
# the request names, top_fans for "my top whale").
FAN_SOURCES = ("find_fans", "top_fans")


def fan_tools() -> list[str]:
    """The tools that take a fan id."""
    from agents.tool_loop import args_schema

    return sorted(
        t.name
        for a in AGENTS
        for t in tools_for(a, NO_CREATOR)
        if "fan_id" in args_schema(t).get("properties", {})
    )


@dataclass
class Router:
    """The fitted classifiers, thresholds and orders. The weights cover only the feature columns that occur in
    the training rows (no other column can get a weight), which also makes the fitting fast."""

    agent_labels: list[str]
    tool_labels: list[str]
    columns: np.ndarray  # the feature columns the weights are for
    agent_weights: np.ndarray  # columns x agents
    agent_bias: np.ndarray
    tool_weights: np.ndarray  # columns x tools
    tool_bias: np.ndarray
    agent_threshold: float
    tool_threshold: float
    agent_rank: dict[str, float]
    tool_rank: dict[str, float]
    needs_fan: list[str]
    c: float
    data_key: str
    dev: dict[str, float]  # figures of the chosen settings on the dev split

    def scores(self, x: Any) -> tuple[np.ndarray, np.ndarray]:
        """Agent and tool probabilities of a feature matrix, one row per request."""
        x = x[:, self.columns]
        a = 1.0 / (1.0 + np.exp(-(np.asarray(x @ self.agent_weights) + self.agent_bias)))
        t = 1.0 / (1.0 + np.exp(-(np.asarray(x @ self.tool_weights) + self.tool_bias)))
        return a, t

    def decide(
        self,
        agent_p: np.ndarray,
        tool_p: np.ndarray,
        available: Mapping[str, Sequence[str]],
        agent_threshold: float | None = None,
        tool_threshold: float | None = None,
    ) -> Route:
        at = self.agent_threshold if agent_threshold is None else agent_threshold
        tt = self.tool_threshold if tool_threshold is None else tool_threshold
        t_scores = dict(zip(self.tool_labels, map(float, tool_p), strict=True))
        # an agent is as likely as its own classifier or its likeliest tool says (a tool the data never labels
        # is never planned)
        owned = {a: [t for t in available.get(a, []) if t in t_scores] for a in self.agent_labels}
        a_scores = {
            a: max(float(p), *(t_scores[t] for t in owned[a]))
            for a, p in zip(self.agent_labels, agent_p, strict=True)
        }
        known = [a for a in self.agent_labels if owned[a]]
        if not known:
            raise RouterUnavailable("no agent the router knows has tools")
        best = max(known, key=lambda a: a_scores[a])
        picked = [a for a in known if a != best and a_scores[a] >= at]
        picked = [best, *sorted(picked, key=lambda a: -a_scores[a])][:MAX_AGENTS]
        plans = {
            a: [t for t in owned[a] if t_scores[t] >= tt] or [max(owned[a], key=lambda t: t_scores[t])]
            for a in picked
        }
        # a fan to find and nothing asked of them: a request names a fan for a reason (asking only whether a fan
        # exists is rare), so the likeliest tool that takes a fan id joins, with its agent
        called = {t for plan in plans.values() for t in plan}
        if FAN_SOURCES[0] in called and not called & set(self.needs_fan):
            fan_tool = max(
                ((t_scores[t], a, t) for a in known for t in owned[a] if t in self.needs_fan), default=None
            )
            if fan_tool is not None and (fan_tool[1] in plans or len(picked) < MAX_AGENTS):
                _, agent, tool = fan_tool
                if agent not in plans:
                    picked.append(agent)
                    plans[agent] = []
                plans[agent].append(tool)
                called.add(tool)
        # a tool that takes a fan id with no tool before it to find one: the request names a fan, find_fans first
        finder = next((a for a in picked if FAN_SOURCES[0] in owned.get(a, [])), None)
        finder = finder or next((a for a in known if FAN_SOURCES[0] in owned[a]), None)
        if called & set(self.needs_fan) and not called & set(FAN_SOURCES) and finder is not None:
            if finder not in plans and len(picked) < MAX_AGENTS:
                picked.append(finder)
                plans[finder] = []
            if finder in plans:
                plans[finder].insert(0, FAN_SOURCES[0])
        rank = self.agent_rank | {a: -1.0 for a, plan in plans.items() if FAN_SOURCES[0] in plan}
        picked.sort(key=lambda a: (rank.get(a, 0.5), -a_scores[a]))
        plans = {
            a: sorted(plans[a], key=lambda t: (self.tool_rank.get(t, 0.5), -t_scores[t])) for a in picked
        }
        return Route(picked, plans, a_scores, t_scores)


def _fit_labels(x: Any, rows: list[set[str]], labels: list[str], c: float) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    weights: list[np.ndarray] = []
    bias: list[float] = []
    for label in labels:
        y = np.array([label in r for r in rows])
        if y.all() or not y.any():  # one class in these rows (a rare label outside a cross-validation fold)
            weights.append(np.zeros(x.shape[1]))
            bias.append(10.0 if y.all() else -10.0)
            continue
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
        model.fit(x, y)
        weights.append(model.coef_[0])
        bias.append(model.intercept_[0])
    return np.stack(weights, axis=1), np.array(bias)


def tool_choice(expected: Sequence[str], called: Sequence[str]) -> float:
    """The suite's tool-choice score of one request: the share of the expected tools that were called."""
    if not expected:
        return 1.0
    return sum(t in called for t in expected) / len(expected)


def evaluate(
    router: Router, x: Any, rows: list[Example], available: Mapping[str, Sequence[str]]
) -> dict[str, float]:
    """The router alone on labelled rows: agent choice (exact set), tool choice, and tools called per row."""
    agent_p, tool_p = router.scores(x)
    agent_ok, tool_score, extra = [], [], []
    for i, r in enumerate(rows):
        route = router.decide(agent_p[i], tool_p[i], available)
        called = [t for a in route.agents for t in route.plans[a]]
        agent_ok.append(set(route.agents) == set(r.agents))
        tool_score.append(tool_choice(r.tools, called))
        extra.append(len(set(called) - set(r.tools)))
    return {
        "rows": float(len(rows)),
        "agent_choice": float(np.mean(agent_ok)),
        "tool_choice": float(np.mean(tool_score)),
        "tool_exact": float(np.mean([s == 1.0 for s in tool_score])),
        "extra_tools": float(np.mean(extra)),
    }


def _choose_thresholds(
    router: Router, x_dev: Any, dev: list[Example], available: Mapping[str, Sequence[str]]
) -> tuple[float, float, float]:
    """The agent and tool thresholds with the best exact-set accuracy on dev, ties to the best tool choice less
    EXTRA_TOOL_COST per extra tool; returns both and that tool objective."""
    agent_p, tool_p = router.scores(x_dev)
    return choose_thresholds(lambda i, at, tt: router.decide(agent_p[i], tool_p[i], available, at, tt), dev)


def choose_thresholds(
    decide: Callable[[int, float, float], Route], rows: Sequence[Example]
) -> tuple[float, float, float]:
    """Both thresholds together (the tools planned can bring an agent: a fan's tool after `find_fans`): the pair
    with the best exact-set accuracy on `rows`, ties to the best tool objective (tool choice less EXTRA_TOOL_COST
    per extra tool), a tie that remains to the middle one. Returns both and that tool objective."""
    scored: list[tuple[float, float, float, float]] = []  # accuracy, objective, agent and tool thresholds
    for at in THRESHOLD_GRID:
        for tt in THRESHOLD_GRID:
            ok, obj = [], []
            for i, r in enumerate(rows):
                route = decide(i, at, tt)
                called = [t for a in route.agents for t in route.plans[a]]
                ok.append(set(route.agents) == set(r.agents))
                obj.append(tool_choice(r.tools, called) - EXTRA_TOOL_COST * len(set(called) - set(r.tools)))
            scored.append((float(np.mean(ok)), float(np.mean(obj)), at, tt))
    best = max((acc, obj) for acc, obj, _, _ in scored)
    ties = [s for s in scored if (s[0], s[1]) >= (best[0], best[1] - 1e-9)]
    _, objective, at, tt = ties[len(ties) // 2]
    return at, tt, objective


def fit_classifiers(
    x: Any,
    rows: Sequence[Example],
    agent_labels: list[str],
    tool_labels: list[str],
    needs_fan: list[str],
    c: float,
    key: str,
) -> Router:
    """The agents' and tools' classifiers fitted on `rows` (features `x`) with regularisation `c`; thresholds
    still at 0.5 (fit and the cross-validation choose them)."""
    columns = np.unique(x.nonzero()[1])
    x_fit = x[:, columns]
    aw, ab = _fit_labels(x_fit, [set(r.agents) for r in rows], agent_labels, c)
    tw, tb = _fit_labels(x_fit, [set(r.tools) for r in rows], tool_labels, c)
    return Router(
        agent_labels,
        tool_labels,
        columns,
        aw,
        ab,
        tw,
        tb,
        0.5,
        0.5,
        _ranks([r.agents for r in rows]),
        _ranks([r.tools for r in rows]),
        needs_fan,
        c,
        key,
        {},
    )


def fit(
    train: list[Example],
    dev: list[Example],
    encoder: Encoder,
    available: Mapping[str, Sequence[str]],
    key: str = "",
) -> Router:
    """Fit on train; choose C and the thresholds on dev (agent choice first, then the tool objective)."""
    if not train or not dev:
        raise RouterUnavailable("the routing data needs train and dev rows")
    agent_labels: list[str] = list(AGENTS)
    for a in agent_labels:
        if not any(a in r.agents for r in train):
            raise RouterUnavailable(f"the routing data has no request for the {a} agent")
    tool_counts: dict[str, int] = {}
    for r in train:
        for t in set(r.tools):
            tool_counts[t] = tool_counts.get(t, 0) + 1
    tool_labels = sorted(t for t, n in tool_counts.items() if n < len(train))  # both classes present
    if not agent_labels or not tool_labels:
        raise RouterUnavailable("the routing data labels no agent or no tool")
    x_train = features([r.text for r in train], encoder.encode([r.text for r in train]))
    x_dev = features([r.text for r in dev], encoder.encode([r.text for r in dev]))
    best: tuple[tuple[float, float], Router] | None = None
    for c in C_GRID:
        router = fit_classifiers(x_train, train, agent_labels, tool_labels, fan_tools(), c, key)
        router.agent_threshold, router.tool_threshold, tool_obj = _choose_thresholds(
            router, x_dev, dev, available
        )
        figures = evaluate(router, x_dev, dev, available)
        score = (figures["agent_choice"], tool_obj)
        if best is None or score > best[0]:
            router.dev = {"train_rows": float(len(train)), **figures}
            for lang in sorted({r.lang for r in dev if r.lang}):
                rows = [i for i, r in enumerate(dev) if r.lang == lang]
                sub = evaluate(router, x_dev[rows], [dev[i] for i in rows], available)
                router.dev |= {
                    f"{lang}_{k}": v for k, v in sub.items() if k in ("rows", "agent_choice", "tool_choice")
                }
            best = (score, router)
    assert best is not None
    return best[1]


def data_key(data_dir: Path = DATA_DIR) -> str:
    """A hash of the routing data, the agents' tools (the thresholds are chosen over the tools that exist), this
    module and the feature code: the cached router's name."""
    h = hashlib.sha256(f"{ROUTER_VERSION}:{C_GRID}:{THRESHOLD_GRID}:{EXTRA_TOOL_COST}".encode())
    h.update(json.dumps([toolsets(), fan_tools(), FAN_SOURCES], sort_keys=True).encode())
    for path in (Path(__file__).resolve(), *FEATURE_CODE):
        h.update(path.read_bytes())
    for name in (*TRAIN_FILES, DEV_FILE):
        path = data_dir / name
        if not path.is_file():
            raise RouterUnavailable(f"no routing data at {path}")
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


class AssistantRouter:
    """A fitted router with its encoder: `route(text)` decides for one request."""

    def __init__(self, settings: Settings, data_dir: Path = DATA_DIR, cache_dir: Path | None = None) -> None:
        self.encoder = Encoder(settings)
        key = data_key(data_dir)
        self.path = (cache_dir or settings.model_cache / "assistant-router") / f"router-{key}.pkl"
        self.router: Router = load_or_fit(
            self.path,
            lambda: fit(
                read_training(data_dir),
                read_examples(data_dir / DEV_FILE),
                self.encoder,
                toolsets(),
                key,
            ),
            f"the assistant's router from {data_dir}",
        )

    def describe(self) -> dict[str, Any]:
        """What was fitted and its figures on the dev split (the router alone, as the suite grades)."""
        r = self.router
        return {
            "data_key": r.data_key,
            "agents": r.agent_labels,
            "tool_labels": r.tool_labels,
            "c": r.c,
            "agent_threshold": r.agent_threshold,
            "tool_threshold": r.tool_threshold,
            "dev": r.dev,
        }

    def route(self, text: str, available: Mapping[str, Sequence[str]] | None = None) -> Route:
        x = features([text], self.encoder.encode([text]))
        agent_p, tool_p = self.router.scores(x)
        return self.router.decide(agent_p[0], tool_p[0], available or toolsets())


def router_cached(settings: Settings) -> bool:
    """Whether the fitted router is in the model cache (else the first use fits it)."""
    try:
        return (settings.model_cache / "assistant-router" / f"router-{data_key()}.pkl").is_file()
    except RouterUnavailable:
        return False


_lock = threading.Lock()
_router: AssistantRouter | None = None


def assistant_router() -> AssistantRouter:
    """The process's router, fitted the first time on this machine and loaded from the model cache after."""
    global _router
    with _lock:
        if _router is None:
            _router = AssistantRouter(get_settings())
        return _router


def router_for(mode: str) -> AssistantRouter | None:
    """The router where it decides (json mode, the local engine), None where the model chooses (native)."""
    return assistant_router() if mode == "json" else None
