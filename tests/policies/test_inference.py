"""How the engine computes the classifiers' scores per draft (a draft's and its redaction's embeddings started on
the encoder threads while the rules run) against the fitted models' own scoring: the same decisions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pytest

import core.settings as settings_module
from core.settings import get_settings
from policies import semantic
from policies.engine import check_draft
from policies.semantic import (
    Direction,
    Scores,
    SemanticLayer,
    clear_score_cache,
    features,
    read_split,
    semantic_layer,
)

FORBIDDEN = ["cheap", "discount code"]
PRIVATE = ["Jessica Moreno", "Tempe", "4417 Elm Street"]


def _reference_score(self: SemanticLayer, direction: Direction, texts: Sequence[str]) -> list[Scores]:
    """The fit's own path: the texts embedded in one batch, the full feature matrix, scikit-learn's predict_proba,
    averaged (outbound) with the vote of the nearest training rows found by a full sort."""
    clf = self.outbound if direction == "outbound" else self.inbound
    vectors = self.encoder.encode(texts, direction)
    x = features(list(texts), vectors)
    probs = np.column_stack([model.predict_proba(x)[:, 1] for model in clf.models.values()])
    if clf.neighbours is not None and clf.neighbour_labels is not None and clf.projection is not None:
        vote = semantic.NEIGHBOURS
        sims = np.vstack([semantic.projected(v, clf.projection) @ clf.neighbours for v in vectors])
        nearest = np.argsort(-sims, axis=1)[:, : vote.k]
        near = np.take_along_axis(sims, nearest, axis=1)
        w = np.exp((near - near[:, :1]) / vote.temperature)
        votes = (w[:, :, None] * clf.neighbour_labels[nearest]).sum(axis=1) / w.sum(axis=1)[:, None]
        weight = np.array([0.0 if label in semantic.LABEL_FLOORS else vote.weight for label in clf.models])
        probs = (1 - weight) * probs + weight * votes
    return [Scores(dict(zip(clf.models, map(float, row), strict=True))) for row in probs]


Decision = tuple[str, list[tuple[str, str]], str | None]


def _decisions(rows: list[dict[str, object]]) -> list[Decision]:
    out: list[Decision] = []
    for row in rows:
        clear_score_cache()  # every draft is new text: nothing read from the other path's scores
        report = check_draft(
            str(row["text"]),
            platform=row.get("platform"),  # type: ignore[arg-type]
            forbidden_words=FORBIDDEN,
            private_terms=PRIVATE,
            semantic=True,
        )
        out.append((report.outcome, [(f.rule, f.reason) for f in report.findings], report.fix_text))
    return out


@pytest.fixture
def dev_drafts() -> Iterator[list[dict[str, object]]]:
    # Every third draft of the v2 dev split: all its categories, languages, fixes and blocks.
    yield read_split("dev", "outbound")[::3]
    clear_score_cache()


def test_the_engine_decides_as_the_fitted_models_own_scoring(
    dev_drafts: list[dict[str, object]], monkeypatch: pytest.MonkeyPatch
) -> None:
    semantic_layer()
    assert semantic.encoder_threads() > 0
    fast = _decisions(dev_drafts)
    assert not semantic._pending  # no encoder run outlives its check
    monkeypatch.setattr(SemanticLayer, "score", _reference_score)
    # no encoder threads: the draft and its redaction scored in one batch in this thread, before the Guard
    monkeypatch.setattr(
        settings_module, "_current", get_settings().model_copy(update={"policy_encoder_threads": 0})
    )
    reference = _decisions(dev_drafts)
    # the same outcomes, findings (the classifiers' scores to two decimals in their reasons) and redactions
    assert fast == reference
    outcomes = {outcome for outcome, _, _ in fast}
    assert outcomes == {"pass", "fix", "block"}
    assert any("classifier score" in why for _, found, _ in fast for _, why in found)


def test_a_failing_encoder_run_fails_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: SemanticLayer, direction: Direction, texts: Sequence[str]) -> list[Scores]:
        raise RuntimeError("the encoder failed")

    semantic_layer()
    monkeypatch.setattr(SemanticLayer, "score", broken)
    clear_score_cache()
    with pytest.raises(RuntimeError, match="the encoder failed"):
        check_draft("send it to my paypal babe, same name as here, i'll add a bonus pic", semantic=True)
    assert not semantic._pending
