"""DM agent: reads its context with its tools' functions, asks the LLM for a schema-constrained draft, validates it.

A weak model must not crash anything: the output schema is built per call so the JSON grammar only
admits real catalog items and in-bounds prices; every output is validated again; invalid output is retried
a bounded number of times with the problem named, and then reported as a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
from collections.abc import Iterator
from typing import Any, Literal, cast

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable
from openai.lib._pydantic import to_strict_json_schema
from pydantic import BaseModel, Field, ValidationError, create_model

from agents.pricing import suggest_for
from agents.prompts import (
    INJECTION_NOTE,
    dm_templates,
    quoted,
    render_history,
    render_memories,
    render_notes,
    render_pricing,
    render_voice,
    single_line,
    voice_example_answer,
)
from core import db
from core.failures import brief
from core.settings import get_settings
from memory.embed import embedder
from tools import fan_context

log = logging.getLogger(__name__)

# Bounded in the schema: a DM is short, and the grammar then stops a weak model from rambling past
# the token limit (measured: 2 of 10 calls hit the limit at 1000 characters, 0 of 10 at 300).
MAX_DRAFT_CHARS = 400
# Memories quoted in the prompt besides every boundary: enough to personalise, few enough to stay short.
MEMORIES_IN_PROMPT = 5
NOTES_IN_PROMPT = 5  # the team's newest notes on the fan


class DraftOffer(BaseModel):
    catalog_id: str
    price_cents: int
    # The fan's suggested price for this item (agents/pricing.py), kept beside the chosen price for the approver.
    # The model may choose another price inside the creator's bounds: the suggestion guides, the bounds decide.
    suggested_price_cents: int | None = None


class DraftResult(BaseModel):
    """What the DM agent hands back: a validated draft, or the reason it could not produce one."""

    text: str | None = None
    offer: DraftOffer | None = None
    rationale: str = ""
    attempts: int = 0
    failure: str | None = None


def output_schema(item_refs: list[str], min_price: int, max_price: int) -> type[BaseModel]:
    """A per-call schema: the grammar itself admits only the offerable items' references (see `catalog_refs`) and
    prices inside the bounds."""
    return _output_schema(tuple(item_refs), min_price, max_price)


# Building a pydantic model costs ~6 ms; the references are positions in a catalog, so the same schema serves every
# fan (of any creator) with the same offerable positions and price bounds (bounded: unused ones fall out).
@functools.lru_cache(maxsize=512)
def _output_schema(item_refs: tuple[str, ...], min_price: int, max_price: int) -> type[BaseModel]:
    if item_refs:
        offer_model = create_model(
            "Offer",
            catalog_id=(cast(Any, Literal).__getitem__(item_refs), ...),
            price_cents=(int, Field(..., ge=min_price, le=max_price)),
        )
        offer_field: Any = (offer_model | None, None)
    else:
        offer_field = (None, None)
    return create_model(
        "DraftReply",
        text=(str, Field(..., min_length=1, max_length=MAX_DRAFT_CHARS)),
        offer=offer_field,
        rationale=(str, Field("", max_length=160)),
    )


def catalog_refs(catalog: list[dict[str, Any]]) -> dict[str, str]:
    """Short references for the creator's catalog items (`item1`, `item2`, ... in the catalog's listing order),
    mapped to their ids. The prompt and the grammar use these instead of UUIDs: a UUID is ~33 prompt tokens
    (4 items were 130 of a 590-token prompt), and a weak model that copies ids into its text rambles past the
    token limit on them."""
    return {f"item{i}": str(c["id"]) for i, c in enumerate(catalog, 1)}


def validate_offer(
    offer: dict[str, Any] | None, catalog: list[dict[str, Any]], owned: set[str], bounds: tuple[int, int]
) -> str | None:
    """Return a problem description, or None when the offer is acceptable."""
    if offer is None:
        return None
    by_id = {c["id"]: c for c in catalog}
    cid = str(offer.get("catalog_id", ""))
    if cid not in by_id:
        return f"catalog_id {cid!r} is not in the catalog"
    if cid in owned:
        return f"the fan already owns {cid}"
    price = offer.get("price_cents")
    if not isinstance(price, int) or not bounds[0] <= price <= bounds[1]:
        return f"price_cents {price!r} is outside {bounds[0]}-{bounds[1]}"
    return None


# The eval's drafts without voice examples (evals/targets.py) set this to 0 for their task; None: the setting.
_voice_k: contextvars.ContextVar[int | None] = contextvars.ContextVar("dm_voice_examples", default=None)


@contextlib.contextmanager
def voice_examples_limit(k: int) -> Iterator[None]:
    """Draft with `k` voice examples (0: none) in this context, whatever HUNTAZE_VOICE_EXAMPLES says."""
    token = _voice_k.set(k)
    try:
        yield
    finally:
        _voice_k.reset(token)


def voice_k() -> int:
    k = _voice_k.get()
    return get_settings().voice_examples if k is None else k


async def gather_context(creator_id: str, fan_id: str, fan_text: str = "") -> dict[str, Any]:
    """What each context tool returns, read once each (deterministic; does not depend on the model choosing
    tools). The tools' own functions are called: going through `StructuredTool.ainvoke` cost ~1.2 ms a read in
    callback and schema machinery that a fixed set of reads does not need."""

    async def reads() -> dict[str, Any]:
        return {
            "profile": await fan_context.fan_profile(creator_id, fan_id),
            "messages": await fan_context.recent_messages(creator_id, fan_id, 12),
            "purchases": await fan_context.purchase_summary(creator_id, fan_id),
            "catalog": await fan_context.catalog(creator_id),
            "notes": await fan_context.team_notes(creator_id, fan_id, NOTES_IN_PROMPT),
            "prices": await fan_context.ppv_prices(creator_id, fan_id),
        }

    async def by_similarity() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        # The fan's message embedded once, for the memory recall and the voice examples alike.
        vec = (await asyncio.to_thread(embedder().embed, [fan_text]))[0] if fan_text.strip() else None
        memories = await fan_context.recall_memories(
            creator_id, fan_id, fan_text, MEMORIES_IN_PROMPT, query_vec=vec
        )
        k = voice_k()
        voice = await fan_context.voice_examples(creator_id, vec, k) if vec is not None and k else []
        return memories, voice

    # One connection and one snapshot for the seven reads. The similarity reads run alongside the other five: most
    # of them is embedding the fan's text, in a thread that ONNX Runtime runs without the GIL, so the other reads
    # proceed meanwhile (the connection takes their statements in turn). Both finish before the connection goes back.
    async with db.shared_connection():
        context, similar = await asyncio.gather(reads(), by_similarity(), return_exceptions=True)
    for outcome in (context, similar):
        if isinstance(outcome, BaseException):
            raise outcome
    memories, voice = cast(tuple[list[dict[str, Any]], list[dict[str, Any]]], similar)
    read = cast(dict[str, Any], context)
    return {**read, "memories": memories, "voice": voice, "pricing": price_suggestions(read)}


def price_suggestions(context: dict[str, Any]) -> dict[str, Any]:
    """The fan's suggested PPV prices (agents/pricing.py, the formula the `suggest_price` tool uses): `fan`, the
    suggestion without an item (anchored on the creator's median), and `items`, per catalog item the fan does not
    own (anchored on its list price), by catalog id."""
    profile, prices = context["profile"], context["prices"]
    bounds = {"min_cents": int(profile["ppv_min_cents"]), "max_cents": int(profile["ppv_max_cents"])}
    paid, median = prices["paid_cents"], prices["creator_median_cents"]
    owned = set(context["purchases"]["owned_catalog_ids"])
    fan = suggest_for(paid, item_cents=None, creator_median_cents=median, **bounds)
    items = {
        str(c["id"]): suggest_for(
            paid, item_cents=int(c["price_cents"]), creator_median_cents=median, **bounds
        ).price_cents
        for c in context["catalog"]
        if c["id"] not in owned
    }
    return {"fan": fan.public(), "items": items}


def build_messages(context: dict[str, Any], fan_text: str, reason: str, injection: bool) -> list[BaseMessage]:
    profile, purchases, catalog = context["profile"], context["purchases"], context["catalog"]
    system_template, user_template = dm_templates()
    system = system_template.format(
        creator_name=profile["creator_name"],
        persona=profile["persona"] or "friendly and playful",
        min_price=profile["ppv_min_cents"],
        max_price=profile["ppv_max_cents"],
        example=voice_example_answer(context.get("voice", [])),
    )
    owned = set(purchases["owned_catalog_ids"])
    refs = catalog_refs(catalog)
    suggested = context["pricing"]["items"]
    user = user_template.format(
        # Fan-controlled text enters only as data: the name quoted, the message on one line inside its block.
        fan_name=quoted(profile["display_name"] or "fan"),
        subscription=profile["subscription_status"],
        spent=purchases["net_cents"],  # after refunds and chargebacks
        segment=profile.get("segment") or "not scored yet",
        memories=render_memories(context.get("memories", [])),
        notes=render_notes(context.get("notes", [])),
        voice=render_voice(context.get("voice", [])),
        history=render_history(context["messages"]),
        # Owned items are named by title only and left out of the offerable list: a whale who owns the whole
        # catalog would otherwise cost two UUIDs per item (measured: 1,532 prompt tokens for one follow-up).
        catalog="; ".join(
            f"{ref} | {c['title']} | {c['price_cents']} | {suggested[c['id']]}"
            for ref, c in zip(refs, catalog, strict=True)
            if c["id"] not in owned
        )
        or "(empty)",
        pricing=render_pricing(context["pricing"]["fan"], context["prices"]["creator_median_cents"]),
        owned=", ".join(sorted(c["title"] for c in catalog if c["id"] in owned)) or "nothing",
        reason=single_line(reason),
        injection_note=INJECTION_NOTE if injection else "",
        fan_text=single_line(fan_text) or "(no message: this is an event)",
    )
    return [SystemMessage(system), HumanMessage(user)]


@functools.lru_cache(maxsize=512)
def response_format(schema: type[BaseModel]) -> dict[str, Any]:
    """The OpenAI `response_format` that constrains the reply to `schema`: the strict JSON schema that
    `with_structured_output(schema, method="json_schema")` would send, converted once per schema."""
    return {
        "type": "json_schema",
        "json_schema": {"name": schema.__name__, "schema": to_strict_json_schema(schema), "strict": True},
    }


# The model bound to a schema's response format, per (model, schema). Binding the ready-made format and validating
# the reply here costs ~6 ms less per call than `with_structured_output`, which converts the schema to JSON schema
# again on every call and walks the result through its own parsers (measured against the instant LLM: 11.7 vs
# 5.9 ms a call). The format goes in `extra_body`: the request's JSON is the same, but a `response_format` argument
# sends langchain-openai down the OpenAI SDK's `parse` path (typed request transform, a `parsed` copy of the reply
# nobody reads), ~2 ms more per call (bench: 10.0 vs 7.8 ms, interleaved, 300 calls each).
_BOUND: dict[tuple[int, type[BaseModel]], tuple[BaseChatModel, Runnable[Any, Any]]] = {}


def _bound(model: BaseChatModel, schema: type[BaseModel]) -> Runnable[Any, Any]:
    hit = _BOUND.get((id(model), schema))
    if hit is None or hit[0] is not model:  # a model since replaced may have left its id to another
        if len(_BOUND) >= 512:
            _BOUND.clear()
        hit = (model, model.bind(extra_body={"response_format": response_format(schema)}))
        _BOUND[(id(model), schema)] = hit
    return hit[1]


async def draft_reply(
    model: BaseChatModel,
    creator_id: str,
    fan_id: str,
    *,
    fan_text: str,
    reason: str,
    injection: bool = False,
    attempts: int = 3,
) -> DraftResult:
    context = await gather_context(creator_id, fan_id, fan_text)
    profile, catalog = context["profile"], context["catalog"]
    owned = set(context["purchases"]["owned_catalog_ids"])
    bounds = (int(profile["ppv_min_cents"]), int(profile["ppv_max_cents"]))
    refs = catalog_refs(catalog)
    schema = output_schema([ref for ref, cid in refs.items() if cid not in owned], *bounds)
    bound = _bound(model, schema)
    messages = build_messages(context, fan_text, reason, injection)
    problem = "no attempt made"
    for attempt in range(1, attempts + 1):
        try:
            reply = await bound.ainvoke(messages)
        except Exception as exc:  # the endpoint failed, was late or returned garbage: retry, bounded
            problem = f"LLM call failed: {brief(exc, 280)}"
            log.info("draft for fan %s, attempt %d of %d: %s", fan_id, attempt, attempts, problem)
            continue
        try:
            parsed = schema.model_validate_json(
                str(reply.text) if isinstance(reply, BaseMessage) else str(reply)
            )
        except ValidationError as err:
            problem = f"output did not match the schema: {brief(err, 260)}"
        else:
            data = parsed.model_dump()
            text = str(data.get("text") or "").strip()
            offer = data.get("offer")
            if offer is not None:  # the model names an item by its reference; what is stored is its id
                offer = {
                    **offer,
                    "catalog_id": refs.get(str(offer.get("catalog_id")), offer.get("catalog_id")),
                }
            offer_problem = validate_offer(offer, catalog, owned, bounds)
            if offer is not None and not offer_problem:
                offer["suggested_price_cents"] = context["pricing"]["items"].get(offer["catalog_id"])
            if not text:
                problem = "empty text"
            elif offer_problem:
                problem = offer_problem
            else:
                return DraftResult(
                    text=text[:MAX_DRAFT_CHARS],
                    offer=DraftOffer(**offer) if offer else None,
                    rationale=str(data.get("rationale") or "")[:160],
                    attempts=attempt,
                )
        log.info("draft for fan %s, attempt %d of %d rejected: %s", fan_id, attempt, attempts, problem)
        messages = [
            *messages,
            HumanMessage(f"Your last answer was rejected: {problem}. Answer again, JSON only."),
        ]
    return DraftResult(failure=problem, attempts=attempts)


__all__ = [
    "DraftOffer",
    "DraftResult",
    "catalog_refs",
    "draft_reply",
    "output_schema",
    "price_suggestions",
    "response_format",
    "validate_offer",
    "voice_examples_limit",
]
