"""The local model's own drafts (`evals/policy/v2/model_drafts/`), labelled by reading: well-formed, each with the
rendered prompt it was drafted from, never part of the fitted data."""

from __future__ import annotations

import json
from typing import Any

from evals.policy.run_model_drafts import DIR, rendered_prompts
from policies.semantic import TRAIN_SPLITS


def _rows() -> list[dict[str, Any]]:
    with (DIR / "outbound.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def test_the_model_drafts_are_labelled_and_keep_their_prompt() -> None:
    rows, prompts = _rows(), rendered_prompts()
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["text"].strip() for r in rows}) == len(rows)  # exact repeats are kept once
    for r in rows:
        assert r["text"].strip() and r["lang"] in ("en", "fr", "es") and r["genre"] == "model_draft", r["id"]
        assert r["label"] in ("benign", "violation"), r["id"]
        assert (r["category"] is None) == (r["label"] == "benign"), r["id"]
        # the DM agent's two messages, rendered: its instructions and the fan's message as data
        prompt = prompts[r["prompt_id"]]
        assert "Rules you always follow:" in prompt and "<fan_message>" in prompt, r["id"]
    assert sum(r["category"] == "internal_leakage" for r in rows) >= 20
    assert "model_drafts" not in TRAIN_SPLITS
