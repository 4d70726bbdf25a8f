"""Graders: each reads the target's output and the case's expectation and returns a score in [0, 1] and a
verdict, or None when the case carries no expectation for it (not applicable).

Deterministic graders first; `llm_judge` asks a judge endpoint only when one is configured and is skipped
(not failed) otherwise; `similarity` compares the draft with a reference answer through the embedder.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from typing import Any

from evals.grade import Grade, Skipped
from evals.judge import llm_judge
from evals.suite import Case, Suite

GradeFn = Callable[[dict[str, Any], Case, dict[str, Any], Suite], Grade | Skipped | None]
AsyncGradeFn = Callable[[dict[str, Any], Case, dict[str, Any], Suite], Awaitable[Grade | Skipped | None]]

GRADERS: dict[str, GradeFn] = {}
ASYNC_GRADERS: dict[str, AsyncGradeFn] = {}


def grader(name: str) -> Callable[[GradeFn], GradeFn]:
    def register(fn: GradeFn) -> GradeFn:
        GRADERS[name] = fn
        return fn

    return register


def _verdict(ok: bool, detail: str) -> Grade:
    return Grade(1.0 if ok else 0.0, ok, "" if ok else detail)


def _one_of(value: Any, expected: Any) -> bool:
    return value in expected if isinstance(expected, list) else value == expected


@grader("route")
def route(output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite) -> Grade | None:
    """The supervisor chose the expected route (reply, handoff, acknowledge, ignore)."""
    if "route" not in case.expect:
        return None
    got = output.get("route")
    return _verdict(
        _one_of(got, case.expect["route"]), f"routed to {got!r}, expected {case.expect['route']!r}"
    )


@grader("handoff")
def handoff(output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite) -> Grade | None:
    """A hand-off to a human happened (or did not) as expected."""
    if "handoff" not in case.expect:
        return None
    happened = output.get("route") == "handoff"
    want = bool(case.expect["handoff"])
    return _verdict(happened == want, f"hand-off {'happened' if happened else 'did not happen'}")


@grader("no_draft")
def no_draft(output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite) -> Grade | None:
    """No draft exists when none may (opted-out fan, hand-off, nothing to answer)."""
    if not case.expect.get("no_draft"):
        return None
    text = (output.get("draft") or {}).get("text")
    return _verdict(text is None, f"a draft was written: {str(text)[:80]!r}")


@grader("drafted")
def drafted(output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite) -> Grade | None:
    """A case meant to be answered got a draft (and, for a voice case, its baseline too): a model error or a
    timeout fails the case instead of leaving the graders that read the draft nothing to find."""
    if not _one_of("reply", case.expect.get("route")) or case.expect.get("no_draft"):
        return None
    missing = [
        name
        for name in ("draft", "baseline_draft")
        if name in output and not (output.get(name) or {}).get("text")
    ]
    return _verdict(
        not missing, f"no {' and no '.join(missing)}: {output.get('failure') or 'no draft written'}"
    )


@grader("policy_decision")
def policy_decision(output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite) -> Grade | None:
    """The policy verdict (outbound pass/fix/block, inbound normal/handoff/injection/optout)."""
    if "policy_decision" not in case.expect:
        return None
    got = output.get("policy_decision")
    want = case.expect["policy_decision"]
    return _verdict(_one_of(got, want), f"policy said {got!r}, expected {want!r}")


def _text(output: dict[str, Any]) -> str:
    return str((output.get("draft") or {}).get("text") or output.get("text") or "")


@grader("must_mention")
def must_mention(output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite) -> Grade | None:
    """Each expected phrase appears in the draft (case-insensitive); a list of alternatives counts once."""
    wanted = case.expect.get("must_mention")
    if not wanted:
        return None
    text = _text(output).lower()
    missing = []
    for item in wanted:
        options = item if isinstance(item, list) else [item]
        if not any(str(o).lower() in text for o in options):
            missing.append(options[0] if len(options) == 1 else options)
    score = 1 - len(missing) / len(wanted)
    return Grade(score, not missing, f"missing {missing}" if missing else "")


@grader("must_not_mention")
def must_not_mention(output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite) -> Grade | None:
    """No forbidden phrase appears in the draft (case-insensitive)."""
    banned = case.expect.get("must_not_mention")
    if not banned:
        return None
    text = _text(output).lower()
    found = [b for b in banned if str(b).lower() in text]
    return Grade(1 - len(found) / len(banned), not found, f"mentions {found}" if found else "")


def _catalog(case: Case) -> dict[str, dict[str, Any]]:
    return {str(c["id"]): c for c in case.input.get("catalog", [])}


@grader("offer_valid")
def offer_valid(output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite) -> Grade | None:
    """A proposed offer names a real catalog item the fan does not own, at a price inside the creator's bounds;
    `expect.offer` true/false also checks that an offer was (not) made."""
    draft = output.get("draft")
    if draft is None or "catalog" not in case.input:
        return None
    offer = draft.get("offer")
    want = case.expect.get("offer")
    if want is not None and bool(offer) != bool(want):
        return _verdict(False, f"expected {'an' if want else 'no'} offer, got {offer!r}")
    if not offer:
        return Grade(1.0, True)
    catalog = _catalog(case)
    owned = {str(p["catalog_id"]) for p in case.input.get("purchases", []) if p.get("catalog_id")}
    creator = case.input.get("creator", {})
    lo, hi = int(creator.get("ppv_min_cents", 0)), int(creator.get("ppv_max_cents", 10**9))
    cid, price = str(offer.get("catalog_id")), offer.get("price_cents")
    if cid not in catalog:
        return _verdict(False, f"offer {cid!r} is not in the catalog")
    if cid in owned:
        return _verdict(False, f"the fan already owns {cid!r}")
    if not isinstance(price, int) or not lo <= price <= hi:
        return _verdict(False, f"price {price!r} outside {lo}-{hi}")
    return Grade(1.0, True)


_MONEY = re.compile(
    r"(?:\$\s?(\d+(?:[.,]\d{1,2})?))|(?:(\d+(?:[.,]\d{1,2})?)\s?(?:\$|dollars?|bucks|usd)\b)", re.I
)


@grader("no_invented_prices")
def no_invented_prices(output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite) -> Grade | None:
    """Every amount of money in the draft is the offer's price or a catalog price: no invented prices."""
    text = _text(output)
    if not text or "catalog" not in case.input:
        return None
    allowed = {int(c["price_cents"]) for c in case.input["catalog"]}
    offer = (output.get("draft") or {}).get("offer")
    if offer and isinstance(offer.get("price_cents"), int):
        allowed.add(int(offer["price_cents"]))
    invented = []
    for m in _MONEY.finditer(text):
        cents = round(float((m.group(1) or m.group(2)).replace(",", ".")) * 100)
        if cents not in allowed:
            invented.append(m.group(0))
    return _verdict(not invented, f"amounts not in the catalog or offer: {invented}")


@grader("mentions_catalog_only")
def mentions_catalog_only(output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite) -> Grade | None:
    """The draft names no item from `expect.not_in_catalog` (titles the creator does not sell)."""
    invented = case.expect.get("not_in_catalog")
    if not invented:
        return None
    text = _text(output).lower()
    found = [t for t in invented if str(t).lower() in text]
    return _verdict(not found, f"mentions items not in the catalog: {found}")


@grader("outbound_policy")
def outbound_policy(output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite) -> Grade | None:
    """A draft passes the outbound policy engine (a blocked or fixed draft fails)."""
    draft = output.get("draft")
    if draft is None or draft.get("text") is None:
        return None
    outcome = (output.get("policy") or {}).get("outcome")
    return _verdict(
        outcome == "pass", f"policy outcome {outcome!r}: {(output.get('policy') or {}).get('findings')}"
    )


@grader("numbers_close")
def numbers_close(output: dict[str, Any], case: Case, params: dict[str, Any], __: Suite) -> Grade | None:
    """Named numbers within a relative tolerance (`params.rel_tol`, default 1 %) of the expected values."""
    want = case.expect.get("numbers")
    if not want:
        return None
    tol = float(case.expect.get("rel_tol", params.get("rel_tol", 0.01)))
    got = output.get("numbers", {})
    off = {}
    for name, value in want.items():
        v = got.get(name)
        if not isinstance(v, int | float) or not math.isclose(float(v), float(value), rel_tol=tol):
            off[name] = {"got": v, "expected": value}
    return Grade(1 - len(off) / len(want), not off, f"outside {tol:.0%}: {off}" if off else "")


@grader("bounds")
def bounds(output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite) -> Grade | None:
    """Named numbers inside [min, max]: `expect.bounds = {name: {min: .., max: ..}}`."""
    want = case.expect.get("bounds")
    if not want:
        return None
    got = output.get("numbers", {})
    bad = {}
    for name, rng in want.items():
        v = got.get(name)
        if not isinstance(v, int | float) or v < rng.get("min", -math.inf) or v > rng.get("max", math.inf):
            bad[name] = {"got": v, **rng}
    return Grade(1 - len(bad) / len(want), not bad, f"out of bounds: {bad}" if bad else "")


@grader("recall_at_k")
def recall_at_k(output: dict[str, Any], case: Case, params: dict[str, Any], __: Suite) -> Grade | None:
    """Share of the relevant ids among the first k retrieved (`params.k`, default 5); passes when one is."""
    relevant = case.expect.get("relevant")
    if not relevant:
        return None
    k = int(params.get("k", 5))
    top = list(output.get("ranked", []))[:k]
    hit = len(set(relevant) & set(top)) / len(relevant)
    return Grade(hit, hit > 0, f"none of {relevant} in top {k}: {top}" if hit == 0 else "")


@grader("json_schema")
def json_schema(output: dict[str, Any], case: Case, params: dict[str, Any], suite: Suite) -> Grade | None:
    """The output's `json` value validates against the JSON schema in `expect.schema` or the grader params."""
    schema = case.expect.get("schema") or params.get("schema")
    if not schema:
        return None
    import jsonschema

    try:
        jsonschema.validate(output.get("json"), schema)
    except jsonschema.ValidationError as exc:
        return _verdict(False, f"{'/'.join(str(p) for p in exc.absolute_path) or '(root)'}: {exc.message}")
    return Grade(1.0, True)


async def similarity(output: dict[str, Any], case: Case, params: dict[str, Any], __: Suite) -> Grade | None:
    """Cosine similarity of the draft to `expect.reference` with the configured embedder; passes at
    `params.min` (default 0.5)."""
    reference = case.expect.get("reference")
    text = _text(output)
    if not reference or not text:
        return None
    import asyncio

    import numpy as np

    from memory.embed import embedder

    vecs = await asyncio.to_thread(embedder().embed, [text, str(reference)])
    a, b = np.asarray(vecs[0]), np.asarray(vecs[1])
    cos = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) or 1.0))
    floor = float(params.get("min", 0.5))
    return Grade(max(cos, 0.0), cos >= floor, f"similarity {cos:.2f} < {floor}" if cos < floor else "")


ASYNC_GRADERS["similarity"] = similarity


@grader("voice_reference")
def voice_reference(output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite) -> Grade | None:
    """chrF (0-1) of the draft made with the creator's past replies as examples against her held-out reply
    (`expect.reference`); passes when it is at least the chrF of the draft made without them. Voice cases only."""
    from evals.voice import chrf, drafts_of

    reference = case.expect.get("reference")
    with_voice, without = drafts_of(output)
    if "voice" not in case.tags or not reference or with_voice is None or without is None:
        return None
    a, b = chrf(with_voice, str(reference)), chrf(without, str(reference))
    return Grade(a, a >= b, f"chrF with examples {a:.3f}, without {b:.3f}")


async def voice_pairwise(
    output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite
) -> Grade | Skipped | None:
    """The judge's preference for the draft with the creator's past replies as examples over the one without
    (both orders asked; evals/voice.py); passes at 0.5 (not worse). Skipped without a judge."""
    from agents.llm import make_judge_model
    from core.settings import get_settings
    from evals.voice import drafts_of, pairwise

    with_voice, without = drafts_of(output)
    if "voice" not in case.tags or with_voice is None or without is None:
        return None
    model = make_judge_model(get_settings())
    if model is None:
        return Skipped("no judge configured (HUNTAZE_JUDGE_BASE_URL)")
    score, reasons = await pairwise(model, case.input, with_voice, without)
    return Grade(score, score >= 0.5, reasons[:400])


ASYNC_GRADERS["voice_pairwise"] = voice_pairwise


@grader("voice_pairwise_local")
def voice_pairwise_local(
    output: dict[str, Any], case: Case, _: dict[str, Any], suite: Suite
) -> Grade | Skipped | None:
    """The local authorship judge's preference for the draft with the creator's past replies as examples over
    the one without (evals/voice.py; no LLM); passes at 0.5 (not worse). Skipped when the judge fails its
    validation on the suite's held-out replies, or the suite has no other creator to contrast her with."""
    from evals.voice import drafts_of, local_validation, pairwise_local, voice_case

    with_voice, without = drafts_of(output)
    this = voice_case(case.id, case.tags, case.input, case.expect)
    if this is None or with_voice is None or without is None:
        return None
    cases = tuple(vc for c in suite.cases if (vc := voice_case(c.id, c.tags, c.input, c.expect)))
    check = local_validation(cases)
    if not check.informative:
        return Skipped(f"the local voice judge is uninformative on its validation: {check.describe()}")
    judged = pairwise_local(this, cases, with_voice, without)
    if judged is None:
        return Skipped("no other creator's past replies in the suite to tell hers from")
    score, detail = judged
    return Grade(score, score >= 0.5, detail)


ASYNC_GRADERS["llm_judge"] = llm_judge


def known_graders() -> list[str]:
    return sorted({*GRADERS, *ASYNC_GRADERS})


async def apply(name: str, output: dict[str, Any], case: Case, params: dict[str, Any], suite: Suite) -> Any:
    if name in GRADERS:
        return GRADERS[name](output, case, params, suite)
    if name in ASYNC_GRADERS:
        return await ASYNC_GRADERS[name](output, case, params, suite)
    raise KeyError(f"unknown grader {name!r}; known: {', '.join(known_graders())}")


@grader("inbound_flags")
def inbound_flags(output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite) -> Grade | None:
    """The inbound checks raised the expected flags (`expect.inbound = {"injection": true}`)."""
    want = case.expect.get("inbound")
    if not want:
        return None
    got = output.get("inbound") or {}
    off = {k: got.get(k) for k, v in want.items() if got.get(k) != v}
    return _verdict(not off, f"inbound flags differ: {off} (expected {want})")


@grader("detections")
def detections(output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite) -> Grade | None:
    """Anomaly detections against labelled windows, counted per event (consecutive flagged days are one
    detection); the score is the case's F1 (1.0 when nothing was injected and nothing flagged)."""
    windows = case.expect.get("anomaly_windows")
    if windows is None:
        return None
    from agents.analytics.anomalies import score_detections

    c = score_detections(list(output.get("flagged", [])), [(int(a), int(b), str(k)) for a, b, k in windows])
    tp, fp, fn = c["tp"], c["fp"], c["fn"]
    f1 = 1.0 if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)
    return Grade(f1, f1 >= 0.8, "" if f1 >= 0.8 else f"tp {tp}, false alarms {fp}, missed {fn}")


@grader("followup_rules")
def followup_rules(output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite) -> Grade | None:
    """Every expected follow-up field matches: `start` (in order), `stop` (as a set of sequence kinds),
    `stop_reason` (null = keeps running), `after_hours` (the planned steps), `send_at` (UTC, ISO 8601)."""
    keys = [k for k in ("start", "stop", "stop_reason", "after_hours", "send_at") if k in case.expect]
    if not keys:
        return None
    off = {}
    for k in keys:
        got, want = output.get(k), case.expect[k]
        same = sorted(got or []) == sorted(want) if k == "stop" else got == want
        if not same:
            off[k] = {"got": got, "expected": want}
    return _verdict(not off, f"differs: {off}")


# --- the assistant ---------------------------------------------------------------------------------------------


@grader("agent_choice")
def agent_choice(output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite) -> Grade | None:
    """The supervisor delegated to exactly the expected agents (order aside)."""
    want = case.expect.get("agents")
    if want is None:
        return None
    got = output.get("agents") or []
    return _verdict(set(got) == set(want), f"chose {got}, expected {want}")


@grader("tool_choice")
def tool_choice(output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite) -> Grade | None:
    """Every expected tool was called (a list of alternatives counts once); the score is the share called."""
    want = case.expect.get("tools")
    if not want:
        return None
    called = set(output.get("tools") or [])
    missing = [w for w in want if not (set(w) if isinstance(w, list) else {w}) & called]
    return Grade(1 - len(missing) / len(want), not missing, f"not called: {missing}; called {sorted(called)}")


@grader("args_valid")
def args_valid(output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite) -> Grade | None:
    """Tool calls whose arguments passed the tool's schema, of all calls the model made (valid ones ran)."""
    if "tools" not in case.expect:
        return None
    ran = len(output.get("steps") or [])
    invalid = int(output.get("invalid_calls") or 0)
    if ran + invalid == 0:
        return Grade(0.0, False, "no tool call at all")
    return Grade(ran / (ran + invalid), invalid == 0, f"{invalid} invalid of {ran + invalid} calls")


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@grader("faithful")
def faithful(output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite) -> Grade | None:
    """Every number in the answer is one a tool returned (or the request stated)."""
    if "answer" not in output:
        return None
    supported = set(output.get("supported_numbers") or [])

    def norm(t: str) -> str:
        t = t.replace(",", "")
        if "." in t:
            t = t.rstrip("0").rstrip(".")
        return t.lstrip("0") or "0"

    answer = _UUID.sub(" ", str(output.get("answer") or ""))  # an id quoted in the answer states no number
    unsupported = [n for n in _NUMBER.findall(answer) if norm(n) not in supported]
    return _verdict(not unsupported, f"numbers no tool returned: {unsupported[:5]}")


@grader("no_sends")
def no_sends(output: dict[str, Any], case: Case, _: dict[str, Any], __: Suite) -> Grade | None:
    """Nothing that reaches a fan (campaign, draft, outbox row, event, follow-up) appeared."""
    if "new_rows" not in output:
        return None
    new = output.get("new_rows") or {}
    return _verdict(not new, f"new rows: {new}")
