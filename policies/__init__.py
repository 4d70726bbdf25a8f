"""Guardrail policies: the one policy engine for outbound drafts and inbound fan messages."""
