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
    (
        # The drafting prompt's section headings, in the prompt's English and as a model translating them writes
        # them in French and Spanish, at the start of a clause with their colon ("Why we reply now: ...",
        # "Salut Pierre — BOUNDARY : ...", "Recuerdos del fan: ..."); "my one boundary: no feet" is no heading.
        "a heading of the drafting instructions",
        re.compile(
            r"(?:^|[^\w\s,'’]|\s-)\s*(?:"
            r"why we (?:reply|answer|write) now|already owned|rules you (?:always )?follow|boundary|"
            r"what you remember about the fan|fan memor(?:y|ies)|persona and voice|recent conversation|"
            r"ppv catalog|example answer(?: to)?|reason for (?:the )?(?:reply|message)|"
            r"pourquoi (?:on|nous|je) (?:repond|ecri)\w* maintenant|deja (?:achete|possede|acquis)\w*|"
            r"regles que tu (?:suis|respectes) toujours|souvenirs? (?:du|sur le) fan|"
            r"ce dont tu te souviens(?: du fan)?|exemple de reponse(?: a)?|raison de la reponse|"
            r"por que (?:respondemos|contestamos|escribimos) ahora|ya (?:comprado|adquirido|tiene)s?|"
            r"reglas que siempre sigues|recuerdos del fan|lo que recuerdas del fan|"
            r"ejemplo de respuesta(?: a)?|motivo de (?:la )?respuesta"
            r")\s*:"
            r"|^\s*(?:rules|regles|reglas)\s*:"
            r"|\b(?:example answer to|exemple de reponse a|ejemplo de respuesta a)\s*[\"«“]"
        ),
    ),
    (
        "the fan's spending in cents",
        re.compile(
            r"\b(?:spent|spend|depense\w*|gastad[oa]s?|gastaste|gasto)\b[^.!?\n]{0,40}?\b\d{2,}\s?"
            r"(?:cents|centimes|centimos)\b"
            r"|\b\d{2,}\s?(?:cents|centimes|centimos)\b[^.!?\n]{0,40}?\b(?:spent|depense\w*|gastad[oa]s?)\b"
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
