"""The policy engine's verdict on one text, as the decision and findings that `huntaze policy check` prints and
the policy evals grade."""

from __future__ import annotations

from typing import Any

from core.types import InboundVerdict
from policies.rules import check_inbound


def inbound_decision(v: InboundVerdict) -> str:
    # Safety first: a possible minor who also says "stop" still goes to a human.
    if v.handoff_reason:
        return "handoff"
    if v.opt_out:
        return "optout"
    if v.injection:
        return "injection"
    return "normal"


def check_outbound_text(
    text: str,
    *,
    offer: dict[str, Any] | None = None,
    price_bounds: tuple[int, int] | None = None,
    forbidden_words: list[str] | None = None,
    other_fans: list[str] | None = None,
    private_terms: list[str] | None = None,
    platform: str | None = None,
    prompt: str | None = None,
) -> dict[str, Any]:
    """{"decision", "violations": [{"policy", "start", "end", "reason"}]} for a draft."""
    from policies.engine import check_draft

    report = check_draft(
        text,
        offer=offer,
        price_bounds=price_bounds,
        forbidden_words=forbidden_words,
        other_fans=other_fans,
        private_terms=private_terms,
        platform=platform,
        prompt=prompt,
    )
    violations = [
        {
            "policy": f.rule,
            "start": f.span[0] if f.span else None,
            "end": f.span[1] if f.span else None,
            "reason": f.reason,
        }
        for f in report.findings
    ]
    return {"decision": report.outcome, "violations": violations}


def check_inbound_text(text: str) -> dict[str, Any]:
    """{"decision", "flags"} for a fan's message."""
    v = check_inbound(text)
    return {"decision": inbound_decision(v), "flags": [f.rule for f in v.findings]}
