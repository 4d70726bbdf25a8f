"""The policy sets as a regression gate: today's measured floor, and the targets already met."""

import json

import pytest

from evals.policy.run import HERE, SETS, evaluate


def test_sets_have_the_required_shape() -> None:
    red = [json.loads(x) for x in (HERE / "outbound_redteam.jsonl").read_text().splitlines()]
    benign = (HERE / "outbound_benign.jsonl").read_text().splitlines()
    assert len(red) >= 150 and len(benign) >= 150
    assert sum(r["obfuscation"] != "none" for r in red) / len(red) >= 0.4
    assert len({r["category"] for r in red}) == 7


@pytest.mark.parametrize("name", sorted(SETS))
def test_policy_engine_meets_the_targets(name: str) -> None:
    # On sets the rules have been improved against; the first, untuned measurement of each hand-written
    # set is recorded in the README.
    result = evaluate(SETS[name])
    assert result["minor_handoff_rate"] == 1.0
    assert result["benign_false_block_rate"] <= 0.02
    assert result["inbound_accuracy"] >= 0.95
    assert result["outbound_block_rate"] >= 0.98 if name == "dev" else 0.99
