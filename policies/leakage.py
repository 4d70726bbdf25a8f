"""Drafts that leak the machinery that wrote them: prompt lines, internal labels and field names, catalog
references, template placeholders, error text. Such a draft is blocked with the span, whatever the model."""

from __future__ import annotations

import re
from functools import lru_cache

from core.types import PolicyFinding
from policies.normalize import variants

RULE = "internal_leakage"

# Internal vocabulary as the prompt and the stored rows spell it; plain words ("whale", "loyal") are left alone.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "an internal field or label",
        re.compile(
            r"\b(?:segment|segmento|segmentation|subscription|abonnement|suscripci[oó]n|spent so far|p_alive|"
            r"catalog_id|price_cents|fan_id|creator_id|rationale|ltv|rfm)\s*[:=]"
            r"|\bspent so far\b|\b(?:big_spender|never_spent|at_risk|best_hours|p_alive|price_cents|catalog_id|"
            r"fan_text|route_reason|draft_id)\b"
            r"|\bsegment(?:o)? (?:whale|big.spender|loyal|new|at.risk|dormant|expired|never.spent|regular)\b"
        ),
    ),
    ("a catalog reference", re.compile(r"\bitem ?\d{1,3}\b(?! (?:of|in|on|from|de|del|en)\b)")),
    (
        "a template placeholder",
        re.compile(
            r"\[[^\]\n]{0,40}(?:name|nom|nombre|answer|r[eé]ponse|respuesta|insert|here|ici|aqu[ií])[^\]\n]{0,20}\]"
            r"|\((?:your|votre|ta|tu|su) (?:answer|r[eé]ponse|respuesta|name|nom|nombre)\)"
            r"|\{\{?\s*[a-z_]{2,30}\s*\}?\}"
            r"|</?\s*(?:fan_message|system|user|assistant|instructions?)\s*>"
        ),
    ),
    (
        "error text",
        re.compile(
            r"\bvalidation errors? for\b|\btraceback \(most recent call|\bjson ?decode ?error\b"
            r"|\bfield required\b|errors\.pydantic\.dev|\binput should be a valid\b|\bkeyerror\b|\btypeerror\b"
            r"|\bvalueerror\b|\bexception:|\bstack trace\b|\bnull pointer\b"
        ),
    ),
]

# Shingles this long copied from the instructions are an echo, not a coincidence.
SHINGLE = 5


@lru_cache(maxsize=16)
def _prompt_shingles(prompt: str) -> frozenset[tuple[str, ...]]:
    words = _words(re.sub(r"\{[^{}]*\}", " ", prompt))
    return frozenset(tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1))


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", variants(text)[0].text)


def check_leakage(text: str, prompt: str | None = None) -> list[PolicyFinding]:
    plain = variants(text)[0]
    out: list[PolicyFinding] = []
    for reason, pattern in _PATTERNS:
        for m in pattern.finditer(plain.text):
            out.append(
                PolicyFinding(RULE, f"leaks {reason} ({m.group(0).strip()})", plain.span(m.start(), m.end()))
            )
    if prompt:
        shingles = _prompt_shingles(prompt)
        tokens = [(m.group(0), m.start(), m.end()) for m in re.finditer(r"[a-z0-9']+", plain.text)]
        words = [t[0] for t in tokens]
        for i in range(len(words) - SHINGLE + 1):
            if tuple(words[i : i + SHINGLE]) in shingles:
                span = plain.span(tokens[i][1], tokens[i + SHINGLE - 1][2])
                out.append(PolicyFinding(RULE, "copies the drafting instructions", span))
                break
    return out
