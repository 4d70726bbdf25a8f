"""The semantic layer of the policy engine: classifiers over what a text means, beside the keyword rules.

Each label (an outbound violation category, or an inbound cue) has a logistic regression over two views of the
text: character n-grams of its normalised readings (hashed: language-agnostic, robust to spacing, leet and
look-alike letters) and the offline MiniLM sentence embedding (meaning beyond the words). They are trained on the
labelled train split of `evals/policy/v2/` and their thresholds are chosen on the dev split; the test split is
never read here. The fitted models are built from the repository's data on first use and kept in the model cache
(keyed by the data and this module's feature version), so nothing is downloaded and nothing is committed but data.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from core.settings import Settings, get_settings
from policies.normalize import fold, join_split_letters, normalise
from policies.platforms import mask_platform

log = logging.getLogger(__name__)

Direction = Literal["outbound", "inbound"]
DATA_DIR = Path(__file__).resolve().parent.parent / "evals" / "policy" / "v2"
# Bump when the features or the training change: the cached models are rebuilt.
FEATURE_VERSION = "7"

# "leaks" is left to the rules: whether a name is another fan's depends on the creator's fans, not on the words.
OUTBOUND_LABELS = (
    "off_platform_payment",
    "off_platform_contact",
    "meetup_in_person",
    "minors",
    "prohibited_content",
    "chargeback_fraud",
    "internal_leakage",
)
INBOUND_LABELS = ("minor", "self_harm", "threat", "chargeback", "injection", "optout")


@dataclass(frozen=True)
class Scores:
    labels: dict[str, float] = field(default_factory=dict)


_PRICE = re.compile(
    r"[$€£]\s?\d+(?:[.,]\d+)?|\d+(?:[.,]\d+)?\s?(?:[$€£]|euros?|dollars?|bucks|usd|eur|pesos)\b"
)


def _masked(text: str) -> str:
    """Prices become a word: "$15" is what a set costs, not an age."""
    return _PRICE.sub(" price ", text)


def readings(text: str) -> str:
    """The text as the character n-grams see it: folded, and de-leeted with split letters joined."""
    text = _masked(text)
    return f"{fold(text)} | {join_split_letters(normalise(text)).text}"


class Encoder:
    """The offline MiniLM sentence encoder (always this one: the classifiers were trained on its vectors)."""

    def __init__(self, settings: Settings) -> None:
        from memory.embed import MiniLMEmbedder, ensure_minilm

        self.model = MiniLMEmbedder(ensure_minilm(settings))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.model.embed([fold(_masked(t)) for t in texts]), dtype=np.float32)


@lru_cache(maxsize=1)
def _hasher() -> Any:
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer="char_wb", ngram_range=(2, 5), n_features=2**18, alternate_sign=False, norm="l2"
    )


# Weight of the sentence embedding beside the (unit-norm) n-gram vector.
DENSE_WEIGHT = 1.0


def features(texts: Sequence[str], vectors: np.ndarray) -> Any:
    from scipy.sparse import csr_matrix, hstack

    grams = _hasher().transform([readings(t) for t in texts])
    return hstack([grams, csr_matrix(vectors * DENSE_WEIGHT)], format="csr")


@dataclass
class Classifiers:
    """Fitted per-label models and their thresholds for one direction."""

    direction: Direction
    models: dict[str, Any]
    thresholds: dict[str, float]
    data_key: str

    def scores(self, x: Any) -> list[Scores]:
        # One product with every label's weights at once (the same numbers as each model's predict_proba).
        labels = list(self.models)
        if getattr(self, "_weights", None) is None:
            self._weights = np.hstack([self.models[k].coef_.T for k in labels])
            self._bias = np.array([self.models[k].intercept_[0] for k in labels])
        probs = 1.0 / (1.0 + np.exp(-(np.asarray(x @ self._weights) + self._bias)))
        return [Scores(dict(zip(labels, map(float, row), strict=True))) for row in probs]

    def flagged(self, s: Scores) -> list[str]:
        """Labels whose score passes its threshold."""
        return [k for k, v in s.labels.items() if v >= self.thresholds[k]]


def read_split(split: str, direction: Direction) -> list[dict[str, Any]]:
    path = DATA_DIR / split / f"{direction}.jsonl"
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# The first policy sets (evals/policy/, evals/policy/dev/): English, written with the rules. The main set adds
# to the training data and the dev set to the threshold negatives; their holdout stays out of both.
FIRST_SETS = {"train": DATA_DIR.parent, "dev": DATA_DIR.parent / "dev"}


def read_first_set(split: str, direction: Direction) -> list[dict[str, Any]]:
    """A first-generation set in the v2 shape (its hand-offs other than minors have no cue: "other")."""
    base = FIRST_SETS[split]

    def rows(name: str) -> list[dict[str, Any]]:
        with (base / f"{name}.jsonl").open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    if direction == "outbound":
        return [
            {"text": r["text"], "label": "violation", "category": r["category"]}
            for r in rows("outbound_redteam")
        ] + [{"text": r["text"], "label": "benign", "category": None} for r in rows("outbound_benign")]
    cue = {"optout": "optout", "injection": "injection", "normal": None}
    return [
        {
            "text": r["text"],
            "label": r["label"],
            "cue": "minor" if r.get("minor_cue") else cue.get(r["label"], "other"),
        }
        for r in rows("inbound")
    ]


def fitting_rows(split: str, direction: Direction) -> list[dict[str, Any]]:
    return read_split(split, direction) + read_first_set(split, direction)


def row_label(row: dict[str, Any], direction: Direction) -> str | None:
    """The positive label of a row, None for a benign / normal one."""
    if direction == "outbound":
        return row.get("category") if row.get("label") == "violation" else None
    return row.get("cue") if row.get("label") != "normal" else None


def data_key(direction: Direction) -> str:
    h = hashlib.sha256(f"{FEATURE_VERSION}:{UNION_BUDGET[direction]}:{DENSE_WEIGHT}:{MIN_THRESHOLD}".encode())
    for split in ("train", "dev"):
        h.update(json.dumps(fitting_rows(split, direction), sort_keys=True).encode())
    return h.hexdigest()[:16]


# The share of the dev split's negatives (benign drafts, normal fan messages) the semantic layer may flag, all its
# labels together: the rules flag a few more, and the engine's target is 2 % in all.
UNION_BUDGET: dict[Direction, float] = {"outbound": 0.007, "inbound": 0.03}


def fit(direction: Direction, encoder: Encoder) -> Classifiers:
    """Fit on the train split; choose the thresholds on the dev split: one per-label false-positive budget, the
    largest whose labels together flag at most UNION_BUDGET of dev's negatives (never below MIN_THRESHOLD)."""
    from sklearn.linear_model import LogisticRegression

    labels = OUTBOUND_LABELS if direction == "outbound" else INBOUND_LABELS
    train, dev = fitting_rows("train", direction), fitting_rows("dev", direction)
    x_train = features([r["text"] for r in train], encoder.encode([r["text"] for r in train]))
    x_dev = features([r["text"] for r in dev], encoder.encode([r["text"] for r in dev]))
    y_train = [row_label(r, direction) for r in train]
    negatives = np.array([row_label(r, direction) is None for r in dev])
    models: dict[str, Any] = {}
    neg_scores: dict[str, np.ndarray] = {}
    for label in labels:
        y = np.array([y == label for y in y_train])
        if y.sum() == 0:
            raise ValueError(f"the train split has no {direction} examples of {label}")
        model = LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000)
        model.fit(x_train, y)
        models[label] = model
        neg_scores[label] = model.predict_proba(x_dev)[:, 1][negatives]
    budget = _union_budget(neg_scores, UNION_BUDGET[direction])
    thresholds = {label: _threshold(scores, budget) for label, scores in neg_scores.items()}
    return Classifiers(direction, models, thresholds, data_key(direction))


def _union_budget(neg_scores: dict[str, np.ndarray], union: float) -> float:
    """The largest per-label budget (bisection) at which the labels together flag at most `union` of the
    negatives."""
    n = len(next(iter(neg_scores.values())))
    lo, hi = 0.0, union
    for _ in range(30):
        mid = (lo + hi) / 2
        flagged = np.zeros(n, dtype=bool)
        for scores in neg_scores.values():
            flagged |= scores >= _threshold(scores, mid)
        if flagged.mean() <= union:
            lo = mid
        else:
            hi = mid
    return lo


# No label flags below this score, however few negatives the dev split has near it.
MIN_THRESHOLD = 0.6


def _threshold(negative_scores: np.ndarray, fp_budget: float) -> float:
    if len(negative_scores) == 0:
        return 0.5
    allowed = int(np.floor(fp_budget * len(negative_scores)))
    ranked = np.sort(negative_scores)[::-1]
    # Just above the (allowed+1)-th highest negative score: at most `allowed` negatives flag.
    cut = float(ranked[allowed]) if allowed < len(ranked) else 0.0
    return max(MIN_THRESHOLD, float(np.nextafter(cut, 1.0)))


_lock = threading.Lock()


class SemanticLayer:
    """Both directions' classifiers and the encoder, built or loaded once per process."""

    def __init__(self, settings: Settings) -> None:
        self.encoder = Encoder(settings)
        self.cache_dir = settings.model_cache / "policy-semantic"
        self.outbound = self._load_or_fit("outbound")
        self.inbound = self._load_or_fit("inbound")

    def _load_or_fit(self, direction: Direction) -> Classifiers:
        key = data_key(direction)
        path = self.cache_dir / f"{direction}-{key}.pkl"
        if path.is_file():
            with path.open("rb") as fh:
                loaded: Classifiers = pickle.load(fh)  # written by this module from the repository's data
            return loaded
        log.info("training the %s policy classifiers from %s (once; cached in %s)", direction, DATA_DIR, path)
        fitted = fit(direction, self.encoder)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        with partial.open("wb") as fh:
            pickle.dump(fitted, fh)
        partial.replace(path)
        return fitted

    def score(self, direction: Direction, texts: Sequence[str]) -> list[Scores]:
        clf = self.outbound if direction == "outbound" else self.inbound
        return clf.scores(features(texts, self.encoder.encode(texts)))

    def flags(self, direction: Direction, text: str) -> tuple[Scores, list[str]]:
        scores = _cached_scores(self, direction, text)
        clf = self.outbound if direction == "outbound" else self.inbound
        return scores, clf.flagged(scores)


@lru_cache(maxsize=2048)
def _cached_scores(layer: SemanticLayer, direction: Direction, text: str) -> Scores:
    # Keyed by the text alone: a score says nothing about whose text it was, and the text is the caller's own.
    return layer.score(direction, [text])[0]


def clear_score_cache() -> None:
    """Forget cached scores (benchmarks clear them so every draft is measured as new text)."""
    _cached_scores.cache_clear()


_layer: SemanticLayer | None = None


def semantic_layer() -> SemanticLayer:
    global _layer
    with _lock:
        if _layer is None:
            _layer = SemanticLayer(get_settings())
        return _layer


def semantic_flags(direction: Direction, text: str, platform: str | None = None) -> dict[str, float]:
    """The labels the classifiers flag for one text, with their scores."""
    layer = semantic_layer()
    scores, hits = layer.flags(direction, text)
    out = {label: scores.labels[label] for label in hits}
    if direction == "outbound" and "off_platform_contact" in out and platform:
        masked = mask_platform(text, platform)
        if masked != text and "off_platform_contact" not in layer.flags(direction, masked)[1]:
            del out["off_platform_contact"]
    return out


def label_counts(rows: Iterable[dict[str, Any]], direction: Direction) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        k = row_label(r, direction) or "negative"
        out[k] = out.get(k, 0) + 1
    return out
