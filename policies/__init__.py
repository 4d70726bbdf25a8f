"""Guardrail policies: the one policy engine for outbound drafts and inbound fan messages."""

from policies.engine import InboundVerdict, PolicyFinding, PolicyReport, check_draft, check_inbound

__all__ = ["InboundVerdict", "PolicyFinding", "PolicyReport", "check_draft", "check_inbound"]
