"""The one policy engine. Outbound drafts go through a guardrails-ai Guard whose validators are the rules
of policies/rules.py; inbound messages go through the deterministic inbound checks.

Outcomes per draft: `pass` or `block`. The engine gates on every validator's own result (the Guard's
validation summaries), never on the single `validation_passed` flag, and reports which rule fired, where
(span in the original text) and why.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import Future, wait
from functools import lru_cache
from typing import Any

from core.types import PolicyOutcome, PolicyReport
from policies.leakage import check_leakage
from policies.normalize import fold
from policies.offline import assert_offline, write_offline_rc
from policies.platform_rules import LINK, check_platform, platform_rules
from policies.platforms import mask_platform
from policies.rules import (
    PHRASE_RULES,
    THING,
    InboundVerdict,
    PolicyFinding,
    check_contact,
    check_forbidden,
    check_inbound,
    check_offer,
    check_other_fans,
    check_payment,
    check_phrases,
    check_private,
    data_row,
    dates_said,
    declined,
)
from policies.semantic import OUTBOUND_LABELS as SEMANTIC_CATEGORIES
from policies.semantic import encoder_threads, prime_scores, semantic_flags

write_offline_rc()  # before guardrails is imported anywhere in this process

from guardrails import Guard, OnFailAction  # noqa: E402
from guardrails.validators import (  # noqa: E402
    ErrorSpan,
    FailResult,
    PassResult,
    ValidationResult,
    Validator,
    register_validator,
)

Outcome = PolicyOutcome

# Findings a redaction can cure: removing the span leaves an acceptable message. Anything else (minors,
# prohibited content, meet-ups, fraud, price, another fan's or the creator's private data) blocks outright.
FIXABLE_RULES = frozenset(
    {"off_platform_payment", "off_platform_contact", "forbidden_words", "platform_links"}
)
REDACTION = "[removed]"

# The classifiers read drafts of at least this many words. The training drafts hardly have shorter ones (22 of
# about 3,000), so on "hi" or "coucou toi" a classifier extrapolates (one scored "hi" 0.93 as internal leakage);
# the rules read every draft.
SEMANTIC_MIN_WORDS = 5
_WORDS = re.compile(r"\w+")


def _semantic_reading(text: str) -> str | None:
    """What the classifiers read of a draft: without the engine's own redaction marks (a redaction's "[removed]"
    is not the draft's words), None when too short to read."""
    read = text.replace(REDACTION, " ")
    return read if len(_WORDS.findall(read)) >= SEMANTIC_MIN_WORDS else None


# A number said as a price ("unlock it for 15", "15€", "$15"): the minors classifier, fitted on ages given as a bare
# number, reads "for 15" as an age ("I'll unlock the gym video for you right here for 15" 0.71).
_PRICE = re.compile(
    r"[$€£]\s?\d+(?:[.,]\d+)?|\b\d+(?:[.,]\d+)?\s?(?:[$€£]|euros?\b|dollars?\b|bucks\b|usd\b|eur\b)"
    r"|\b(?:for|pour|por)\s+\d+(?:[.,]\d+)?\b(?!\s*(?:y\b|yo\b|y/o|years?|ans?\b|años?|a[nñ]os?\b|[-+]))",
    re.IGNORECASE,
)


# A number that counts things ("15 pics", "10 vidéos", "5 fotos"): the minors classifier reads a bare number as an age
# ("new beach set is up, 15 pics" 0.82).
_COUNTED = re.compile(
    r"\b\d+\s?(?=(?:pics?|pictures?|photos?|fotos?|videos?|vid[ée]os?|v[íi]deos?|vids?|clips?|sets?|images?|"
    r"minutes?|mins?|minutos?|secondes?|seconds?|messages?|mensajes?|audios?)\b)",
    re.IGNORECASE,
)


# Meeting a pet or a thing ("want to meet my cat?", "conoce a mi perrito"): an introduction in a picture, not a
# meeting; the meetup classifier re-reads it as "see my cat" (the rules still read "come over and meet my cat").
_MEET_A_THING = re.compile(
    rf"\b(?:meet|rencontrer|conocer|conoce|conoces|conozcas)((?: a)? (?:my|mon|ma|mes|mi|mis) (?:[a-z']+ )?{THING}\b)",
    re.IGNORECASE,
)


def _semantic_findings(text: str, platform: str | None) -> dict[str, float]:
    read = _semantic_reading(text)
    if read is None:
        return {}
    flags = semantic_flags("outbound", read, platform)
    for category in [c for c in flags if declined(read, c)]:
        del flags[
            category
        ]  # the rules read a refusal: "Pas de WhatsApp pour moi, tout se passe sur cette appli"
    if "minors" in flags:
        priced = _COUNTED.sub("a few ", _PRICE.sub(" a price ", read))
        if priced != read and "minors" not in semantic_flags("outbound", priced, platform):
            del flags["minors"]  # the number it read as an age is a price or a count
    if "meetup_in_person" in flags:
        introduced = _MEET_A_THING.sub(r"see\1", read)
        if introduced != read and "meetup_in_person" not in semantic_flags("outbound", introduced, platform):
            del flags["meetup_in_person"]  # the one met is a pet or a thing: "want to meet my cat?"
    if "off_platform_contact" in flags and data_row(fold(read)):
        del flags[
            "off_platform_contact"
        ]  # a wordless row of figures with a timestamp: data, as the rules read it
    if "off_platform_contact" in flags:
        dated = dates_said(read)
        if dated != read and "off_platform_contact" not in semantic_flags("outbound", dated, platform):
            del flags["off_platform_contact"]  # the digits it read as a phone number are a date or a time
    if "off_platform_contact" in flags and platform_rules(platform).links:
        unlinked = LINK.sub(" a link ", read)
        if unlinked != read and "off_platform_contact" not in semantic_flags("outbound", unlinked, platform):
            del flags[
                "off_platform_contact"
            ]  # a link the fan's platform carries ("look at example.com/mia later")
    return flags


# Platforms whose accounts are "@name": there an @handle alone is another account on the fan's own platform ("come
# say hi in my stories @vera.only" in an Instagram DM); an app named beside it is still found.
AT_HANDLE_PLATFORMS = frozenset({"instagram", "x", "tiktok"})
_SOCIAL_HANDLE = "contains a social handle"


def _own_handles_kept(findings: list[PolicyFinding], metadata: dict[str, Any]) -> list[PolicyFinding]:
    if (metadata.get("platform") or "").lower() not in AT_HANDLE_PLATFORMS:
        return findings
    return [f for f in findings if f.reason != _SOCIAL_HANDLE]


def _result(findings: list[PolicyFinding]) -> ValidationResult:
    if not findings:
        return PassResult()
    # Every finding travels as an error span; one that points nowhere in particular is zero-length.
    spans = [
        ErrorSpan(start=f.span[0] if f.span else 0, end=f.span[1] if f.span else 0, reason=f.reason)
        for f in findings
    ]
    return FailResult(error_message="; ".join(f.reason for f in findings), error_spans=spans)


def _validator(rule: str, check: Callable[[str, dict[str, Any]], list[PolicyFinding]]) -> type[Validator]:
    """A guardrails validator for one rule; the rule's findings travel in the result's metadata."""

    class RuleValidator(Validator):  # type: ignore[misc]  # guardrails ships no type information
        rule_name = rule

        def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
            return _result(check(str(value), metadata))

    RuleValidator.__name__ = RuleValidator.__qualname__ = "".join(p.title() for p in rule.split("_"))
    return register_validator(name=f"huntaze/{rule}", data_type="string")(RuleValidator)  # type: ignore[no-any-return]


def _phrase_check(rule: str) -> Callable[[str, dict[str, Any]], list[PolicyFinding]]:
    return lambda text, _metadata: check_phrases(text, rule)


OUTBOUND_VALIDATORS: dict[str, type[Validator]] = {
    "off_platform_payment": _validator("off_platform_payment", lambda t, m: check_payment(t)),
    "off_platform_contact": _validator(
        "off_platform_contact",
        lambda t, m: _own_handles_kept(
            check_contact(mask_platform(t, m.get("platform"), keep_length=True)), m
        ),
    ),
    **{rule: _validator(rule, _phrase_check(rule)) for rule in PHRASE_RULES},
    "ppv_price_bounds": _validator(
        "ppv_price_bounds", lambda t, m: check_offer(m.get("offer"), m.get("bounds"))
    ),
    "forbidden_words": _validator(
        "forbidden_words", lambda t, m: check_forbidden(t, m.get("forbidden") or [])
    ),
    "other_fan_data": _validator(
        "other_fan_data", lambda t, m: check_other_fans(t, m.get("other_fans") or [])
    ),
    "creator_private_data": _validator(
        "creator_private_data", lambda t, m: check_private(t, m.get("private_terms") or [])
    ),
    "internal_leakage": _validator("internal_leakage", lambda t, m: check_leakage(t, m.get("prompt"))),
    # What the fan's platform cannot carry: a PPV offer (blocks), a link (redactable). policies/platform_rules.py
    "platform_offer": _validator(
        "platform_offer", lambda t, m: check_platform(t, m.get("offer"), m.get("platform"), "offer")
    ),
    "platform_links": _validator(
        "platform_links", lambda t, m: check_platform(t, m.get("offer"), m.get("platform"), "links")
    ),
}


def _semantic_check(category: str) -> Callable[[str, dict[str, Any]], list[PolicyFinding]]:
    def check(text: str, metadata: dict[str, Any]) -> list[PolicyFinding]:
        hit = (metadata.get("semantic") or {}).get(category)
        if hit is None:
            return []
        return [
            PolicyFinding(category, f"reads as {category.replace('_', ' ')} (classifier score {hit:.2f})")
        ]

    return check


# The semantic layer: one validator per category, each reporting under its category's rule name.
SEMANTIC_VALIDATORS: dict[str, type[Validator]] = {
    f"semantic_{c}": _validator(f"semantic_{c}", _semantic_check(c)) for c in SEMANTIC_CATEGORIES
}
_BY_CLASS = {cls.__name__: rule for rule, cls in OUTBOUND_VALIDATORS.items()} | {
    cls.__name__: key.removeprefix("semantic_") for key, cls in SEMANTIC_VALIDATORS.items()
}
ALL_VALIDATORS = {**OUTBOUND_VALIDATORS, **SEMANTIC_VALIDATORS}
_SEMANTIC_CLASSES = {cls.__name__ for cls in SEMANTIC_VALIDATORS.values()}


@lru_cache(maxsize=1)
def outbound_guard() -> Guard:
    # All validators in one use(...): chained .use() calls keep only the last one in guardrails 0.11.
    guard = Guard().use(*(cls(on_fail=OnFailAction.NOOP) for cls in ALL_VALIDATORS.values()))
    assert_offline()
    return guard


def check_draft(
    text: str,
    *,
    offer: dict[str, Any] | None = None,
    price_bounds: tuple[int, int] | None = None,
    forbidden_words: list[str] | None = None,
    other_fans: list[str] | None = None,
    private_terms: list[str] | None = None,
    platform: str | None = None,
    prompt: str | None = None,
    semantic: bool | None = None,
) -> PolicyReport:
    """Check one outbound draft with every validator: the rules and the semantic layer, in one Guard.

    other_fans: display names and handles of the creator's other fans (never the recipient's);
    private_terms: the creator's private data (legal name, city, ...); platform: the fan's platform (naming it
    is not off-platform); prompt: the drafting instructions (a draft that copies them leaks them); semantic:
    run the classifiers (default: the `HUNTAZE_POLICY_SEMANTIC` setting).

    pass: nothing found. fix: every finding is a redactable span and the redacted text passes every
    validator; the redaction is offered, not applied. block: anything else.
    """
    on = _semantic_on(semantic)
    # The draft's embedding starts at once on an encoder thread, and so does that of the redaction its redactable
    # findings would offer (a draft that ends up a `fix` is checked twice); the rules run here meanwhile, and the
    # classifiers' findings are read when the Guard's semantic validators ask, after every rule.
    started = _encode_ahead(text, platform, forbidden_words or []) if on else []
    try:
        metadata = {
            "offer": offer,
            "bounds": price_bounds,
            "forbidden": forbidden_words or [],
            "other_fans": other_fans or [],
            "private_terms": private_terms or [],
            "platform": platform,
            "prompt": prompt,
            "semantic": _SemanticFindings(text, platform) if on else {},
        }
        return _checked(text, metadata, on)
    finally:
        wait(started)  # no encoder run of this check outlives it


def _checked(text: str, metadata: dict[str, Any], on: bool) -> PolicyReport:
    checked = list(ALL_VALIDATORS) if on else list(OUTBOUND_VALIDATORS)
    findings = _run_guard(text, metadata)
    if not findings:
        return PolicyReport(outcome="pass", rules_checked=checked)
    # A classifier's finding of a redactable category points nowhere: the rules' spans are redacted and the
    # redaction must then pass every validator, the classifiers included ("look at example.com/mia later").
    spanned = [f for f in findings if f.span is not None or f.rule not in FIXABLE_RULES]
    fix_text = _redact(text, spanned) if any(f.span for f in spanned) else None
    if fix_text is not None:
        fixed = {**metadata, "semantic": _SemanticFindings(fix_text, metadata["platform"]) if on else {}}
        if not _run_guard(fix_text, fixed):
            return PolicyReport("fix", findings, checked, fix_text)
    return PolicyReport("block", findings, checked)


class _SemanticFindings:
    """The classifiers' findings for one text (`_semantic_findings`), computed when a semantic validator first
    asks: the Guard runs them after the rules, while the text's embedding runs on an encoder thread."""

    def __init__(self, text: str, platform: str | None) -> None:
        self.text, self.platform = text, platform
        self._found: dict[str, float] | None = None

    def get(self, category: str) -> float | None:
        if self._found is None:
            self._found = _semantic_findings(self.text, self.platform)
        return self._found.get(category)


def _encode_ahead(text: str, platform: str | None, forbidden_words: list[str]) -> list[Future[Any]]:
    draft = _semantic_reading(text) or ""
    if not encoder_threads():  # the draft and its redaction in one batch, here, before the Guard
        redaction = _semantic_reading(_redaction_ahead(text, platform, forbidden_words))
        return prime_scores("outbound", [draft, redaction or ""], platform)
    started = prime_scores("outbound", [draft], platform)  # running while the redaction is worked out
    redaction = _semantic_reading(_redaction_ahead(text, platform, forbidden_words))
    return started + prime_scores("outbound", [redaction or ""], platform)


def _semantic_on(semantic: bool | None) -> bool:
    if semantic is not None:
        return semantic
    from core.settings import get_settings

    return get_settings().policy_semantic


def _redaction_ahead(text: str, platform: str | None, forbidden_words: list[str]) -> str:
    """The redaction the Guard's redactable findings will lead to, from the same rule functions ("" when there is
    none): only to start its embedding early; the outcome is still decided by the Guard."""
    findings = [
        *check_payment(text),
        *check_contact(mask_platform(text, platform, keep_length=True)),
        *check_forbidden(text, forbidden_words),
        *check_platform(text, None, platform, "links"),
    ]
    return (_redact(text, findings) or "") if findings else ""


def _redact(text: str, findings: list[PolicyFinding]) -> str | None:
    if any(f.rule not in FIXABLE_RULES or f.span is None for f in findings):
        return None
    out, last = [], 0
    for start, end in sorted({f.span for f in findings if f.span}):
        while end > start and not text[end - 1].isalnum():  # keep trailing spaces and punctuation
            end -= 1
        if start < last:  # overlapping spans: the redaction already placed grows to cover this one too
            last = max(last, end)
            continue
        out += [text[last:start], REDACTION]
        last = end
    out.append(text[last:])
    return "".join(out)


def _run_guard(text: str, metadata: dict[str, Any]) -> list[PolicyFinding]:
    outcome = outbound_guard().validate(text, metadata=metadata)
    findings: list[PolicyFinding] = []
    semantic: list[PolicyFinding] = []
    for summary in outcome.validation_summaries or []:
        if summary.validator_status != "fail":
            continue
        rule = _BY_CLASS.get(summary.validator_name, summary.validator_name)
        if summary.validator_name in _SEMANTIC_CLASSES:
            semantic += [PolicyFinding(rule, e.reason) for e in summary.error_spans or []]
            continue
        spans = summary.error_spans or []
        findings += [
            PolicyFinding(rule, e.reason, (e.start, e.end) if e.end > e.start else None) for e in spans
        ]
        if not spans:
            findings.append(PolicyFinding(rule, summary.failure_reason or "failed"))
    # A category the rules already found (with the span) needs no second, spanless finding from the classifier.
    found = {f.rule for f in findings}
    findings += [f for f in semantic if f.rule not in found]
    if outcome.validation_passed is False and not findings:
        findings.append(PolicyFinding("engine", "a validator failed without a summary"))
    return findings


__all__ = ["InboundVerdict", "PolicyFinding", "PolicyReport", "check_draft", "check_inbound"]
