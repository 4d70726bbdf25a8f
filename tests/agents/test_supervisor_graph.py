"""The supervisor graph run directly (no Temporal) against real Postgres and a scripted chat model."""

from __future__ import annotations

import pytest

from agents import llm
from agents.supervisor import build_supervisor_graph
from core.settings import Settings
from core.types import Offer
from tests.factories import add_event, add_message_event, make_tenant
from tests.fakes.chat_model import ScriptedChatModel
from tests.fakes.openai_server import FakeOpenAI


async def _run(tenant, fan_id, event_ids):
    app = build_supervisor_graph().compile()
    return await app.ainvoke({"creator_id": tenant.creator_id, "fan_id": fan_id, "event_ids": event_ids})


async def test_reply_route_drafts_with_grounded_context(settings: Settings) -> None:
    t = await make_tenant()
    eid = await add_message_event(t, t.fans[0], "hey, any new sets this week?", "e1")
    model = ScriptedChatModel(
        replies=[
            {
                "text": "Yes! A beach set just dropped 🌊",
                "offer": {"catalog_id": "item1", "price_cents": 1500},
                "rationale": "fan asked for new sets",
            }
        ]
    )
    llm.set_chat_model(model)
    state = await _run(t, t.fans[0], [eid])
    assert state["routing"].route == "reply"
    assert state["drafting"].draft.text.startswith("Yes! A beach set")
    assert state["drafting"].draft.offer == Offer(t.catalog[0], 1500, 1500)
    assert state["policy"].outcome == "pass"
    prompt = "\n".join(str(m.content) for m in model.seen[0])
    # Grounding: the tools' data reached the prompt, and fan text is quoted as data.
    assert "Beach set" in prompt and "<fan_message>\nhey, any new sets this week?\n</fan_message>" in prompt
    # Items are named by short references, mapped back to their ids: no UUID reaches the prompt.
    # (the last column: the fan's suggested price; no PPV bought from this creator yet, so each item's own price)
    assert "item1 | Beach set | 1500 | 1500; item2 | Gym video | 2500 | 2500" in prompt
    assert not any(cid in prompt for cid in t.catalog)


async def test_invented_catalog_item_is_retried_then_accepted(settings: Settings) -> None:
    t = await make_tenant()
    eid = await add_message_event(t, t.fans[0], "what do you have?", "e1")
    model = ScriptedChatModel(
        replies=[
            {
                "text": "Try my secret set",
                "offer": {"catalog_id": "made-up", "price_cents": 1500},
                "rationale": "",
            },
            "not json at all",
            {
                "text": "The gym video is my favourite",
                "offer": {"catalog_id": "item2", "price_cents": 2500},
                "rationale": "upsell",
            },
        ]
    )
    llm.set_chat_model(model)
    state = await _run(t, t.fans[0], [eid])
    assert state["drafting"].draft.attempts == 3
    assert state["drafting"].draft.offer.catalog_id == t.catalog[1]
    assert "rejected" in str(model.seen[1][-1].content)


async def test_owned_items_keep_their_reference_but_cannot_be_offered(settings: Settings) -> None:
    """References are positions in the whole catalog, so an owned item leaves a gap rather than renumbering the
    rest; the grammar admits only what the fan does not own, and the stored offer carries the real id."""
    from agents.dm import draft_reply

    t = await make_tenant()
    await add_event(t, t.fans[0], "purchase", "p1", amount_cents=1500, catalog_id=t.catalog[0])
    model = ScriptedChatModel(
        replies=[
            {"text": "Beach again?", "offer": {"catalog_id": "item1", "price_cents": 1500}, "rationale": ""},
            {"text": "The gym video is for you", "offer": {"catalog_id": "item2", "price_cents": 2500}},
        ]
    )
    result = await draft_reply(
        model, t.creator_id, t.fans[0], fan_text="more?", reason="the fan sent a message"
    )
    assert result.attempts == 2 and "item1" in str(model.seen[1][-1].content)
    assert result.offer is not None and result.offer.model_dump() == {
        "catalog_id": t.catalog[1],
        "price_cents": 2500,
        # one purchase at 1500 weighs 1/(1+3) against the item's 2500
        "suggested_price_cents": 2250,
    }
    prompt = str(model.seen[0][-1].content)
    assert "suggested price for this fan): item2 | Gym video | 2500 | 2250\n" in prompt
    assert "Already owned: Beach set" in prompt


async def test_out_of_bounds_price_exhausts_retries_into_failure(settings: Settings) -> None:
    t = await make_tenant()
    eid = await add_message_event(t, t.fans[0], "send me something", "e1")
    bad = {
        "text": "Special for you",
        "offer": {"catalog_id": "item1", "price_cents": 999999},
        "rationale": "",
    }
    llm.set_chat_model(ScriptedChatModel(replies=[bad, bad, bad]))
    state = await _run(t, t.fans[0], [eid])
    assert state["drafting"].draft is None
    assert "price_cents" in state["drafting"].failure
    assert "policy" not in state


async def test_policy_blocks_off_platform_payment(settings: Settings) -> None:
    t = await make_tenant()
    eid = await add_message_event(t, t.fans[0], "how can i pay you?", "e1")
    llm.set_chat_model(
        ScriptedChatModel(replies=[{"text": "just cashapp me babe", "offer": None, "rationale": ""}])
    )
    state = await _run(t, t.fans[0], [eid])
    assert state["policy"].outcome == "fix"  # held back; the redaction is only offered
    assert state["policy"].findings[0].rule == "off_platform_payment"
    assert state["policy"].fix_text == "just [removed] me babe"


async def test_handoff_opt_out_and_ack_never_call_the_model(settings: Settings) -> None:
    t = await make_tenant(fans=3)
    model = ScriptedChatModel(replies=[])
    llm.set_chat_model(model)
    minor = await _run(t, t.fans[0], [await add_message_event(t, t.fans[0], "i'm 15 is that ok", "e1")])
    assert minor["routing"].route == "handoff" and minor["routing"].reason == "possible_minor"
    stop = await _run(t, t.fans[1], [await add_message_event(t, t.fans[1], "stop", "e2")])
    assert stop["routing"].route == "ignore" and stop["routing"].opt_out is True
    ack = await _run(t, t.fans[2], [await add_message_event(t, t.fans[2], "lol", "e3")])
    assert ack["routing"].route == "acknowledge"
    assert model.seen == [] and "drafting" not in minor


async def test_the_dm_context_is_what_the_read_functions_return(settings: Settings) -> None:
    """The DM agent's context is read through tools/fan_context, scoped to one creator and fan."""
    from agents.dm import gather_context, price_suggestions
    from tools import fan_context

    t = await make_tenant()
    other = await make_tenant("zoe")
    await add_message_event(t, t.fans[0], "hi there", "e1")
    context = await gather_context(t.creator_id, t.fans[0], "hi there")
    assert context == {
        "profile": await fan_context.fan_profile(t.creator_id, t.fans[0]),
        "messages": await fan_context.recent_messages(t.creator_id, t.fans[0], 12),
        "purchases": await fan_context.purchase_summary(t.creator_id, t.fans[0]),
        "catalog": await fan_context.catalog(t.creator_id),
        "memories": await fan_context.recall_memories(t.creator_id, t.fans[0], "hi there", 5),
        "notes": await fan_context.team_notes(t.creator_id, t.fans[0], 5),
        "voice": [],  # the creator has no past reply yet
        "prices": await fan_context.ppv_prices(t.creator_id, t.fans[0]),
        "pricing": price_suggestions(context),
    }
    assert context["messages"][-1]["text"] == "hi there" and context["catalog"]
    assert context["purchases"] == {
        "total_cents": 0,
        "refunded_cents": 0,
        "net_cents": 0,
        "by_kind": {},
        "owned_catalog_ids": [],
    }
    # another creator's fan is not found through this creator
    with pytest.raises(LookupError):
        await fan_context.fan_profile(t.creator_id, other.fans[0])


async def test_what_a_fan_spent_is_net_of_refunds_and_chargebacks(settings: Settings) -> None:
    """The DM prompt's "spent so far" and the hand-off spend threshold read what the fan paid less what went
    back."""
    from agents.dm import build_messages, gather_context
    from core import db
    from core.store import fans

    t = await make_tenant()
    tip = await add_event(t, t.fans[0], "tip", "tip-1", amount_cents=2500)
    async with db.pool().connection() as conn:
        for kind, cents, event_id in (("refund", 700, "ref-1"), ("chargeback", 300, "cb-1")):
            cur = await conn.execute(
                "INSERT INTO events (creator_id, fan_id, platform_event_id, kind, payload, occurred_at)"
                " VALUES (%s, %s, %s, %s, '{}', now()) RETURNING id",
                [t.creator_id, t.fans[0], event_id, kind],
            )
            back = await cur.fetchone()
            assert back
            await conn.execute(
                "INSERT INTO refunds (creator_id, fan_id, kind, transaction_id, amount_cents, event_id, occurred_at)"
                " SELECT creator_id, fan_id, %s, id, %s, %s, now() FROM transactions WHERE event_id = %s",
                [kind, cents, back["id"], tip],
            )
    context = await gather_context(t.creator_id, t.fans[0], "hi")
    assert {k: context["purchases"][k] for k in ("total_cents", "refunded_cents", "net_cents")} == {
        "total_cents": 2500,
        "refunded_cents": 1000,
        "net_cents": 1500,
    }
    prompt = build_messages(context, "hi", "the fan sent a message", False)[-1].content
    assert "spent so far: 1500 cents" in str(prompt)
    async with db.pool().connection() as conn:
        facts = await fans.routing_facts(conn, t.creator_id, t.fans[0], [])
    assert facts is not None and facts.spent_cents == 1500


async def test_the_context_reads_run_together_and_fail_as_themselves(settings: Settings) -> None:
    """The memory recall runs alongside the other reads on the same connection: it still ranks the fan's stored
    memories against the text, and a failing read raises its own error after the others finished (the
    connection goes back to the pool idle)."""
    import uuid

    from agents.dm import gather_context
    from core import db
    from memory.embed import embedder
    from memory.store import MemoryIn, recall, remember

    t = await make_tenant()
    async with db.pool().connection() as conn:
        await remember(
            conn,
            t.creator_id,
            t.fans[0],
            [
                MemoryIn("fact", "has a golden retriever named Max", 0.6),
                MemoryIn("preference", "likes beach sets", 0.6),
                MemoryIn("boundary", "no feet pictures", 0.9),
            ],
            embedder(),
        )
    context = await gather_context(t.creator_id, t.fans[0], "my dog knocked my coffee over")
    async with db.pool().connection() as conn:
        alone = await recall(conn, t.creator_id, t.fans[0], "my dog knocked my coffee over", embedder())
    assert context["memories"] == [
        {"kind": m.kind, "text": m.text, "importance": m.importance} for m in alone
    ]
    assert [m["text"] for m in context["memories"]][:2] == [
        "no feet pictures",
        "has a golden retriever named Max",
    ]
    with pytest.raises(LookupError, match="not found"):
        await gather_context(t.creator_id, str(uuid.uuid4()), "hello")
    async with db.pool().connection() as conn:  # the pool still hands out working connections
        assert (await (await conn.execute("SELECT 1 AS one")).fetchone()) == {"one": 1}


async def test_already_processed_events_are_not_handled_twice(settings: Settings) -> None:
    from core import db

    t = await make_tenant()
    eid = await add_message_event(t, t.fans[0], "hello?", "e1")
    async with db.pool().connection() as conn:
        await conn.execute("UPDATE events SET processed_at = now() WHERE id = %s", [eid])
    model = ScriptedChatModel(replies=[])
    llm.set_chat_model(model)
    state = await _run(t, t.fans[0], [eid])
    assert state["routing"].route == "ignore" and "already handled" in state["routing"].reason
    assert model.seen == []


async def test_dm_agent_sends_the_strict_schema_and_validates_replies_itself(
    settings: Settings, fake_llm: FakeOpenAI
) -> None:
    """Over the real OpenAI client: the request carries the same strict response format the OpenAI SDK builds
    for the per-call schema (catalog ids and price bounds in the grammar), and a reply outside it is retried."""
    from openai.lib._parsing._completions import type_to_response_format_param

    from agents.dm import output_schema, response_format

    t = await make_tenant()
    eid = await add_message_event(t, t.fans[0], "anything new?", "e1")
    llm.set_chat_model(llm.make_chat_model(settings))
    fake_llm.script(
        {"text": "new set!", "offer": {"catalog_id": "item1", "price_cents": 10**9}, "rationale": ""},
        {
            "text": "A beach set just dropped",
            "offer": {"catalog_id": "item1", "price_cents": 1500},
            "rationale": "asked",
        },
    )
    state = await _run(t, t.fans[0], [eid])
    assert (
        state["drafting"].draft.text == "A beach set just dropped" and state["drafting"].draft.attempts == 2
    )
    sent = fake_llm.draft_requests()[0]["response_format"]
    schema = output_schema(["item1", "item2"], 500, 5000)
    assert response_format(schema) == type_to_response_format_param(schema)
    offer = sent["json_schema"]["schema"]["$defs"]["Offer"]["properties"]
    assert sent["json_schema"]["strict"] is True and sent["json_schema"]["name"] == "DraftReply"
    assert offer["catalog_id"]["enum"] == ["item1", "item2"]
    assert state["drafting"].draft.offer == Offer(t.catalog[0], 1500, 1500)
    assert "less than or equal" in str(fake_llm.draft_requests()[1]["messages"][-1]["content"])


async def test_money_events_are_delegated_to_the_segmentation_agent_before_the_reply(
    settings: Settings,
) -> None:
    """A tip: the segmentation agent's node runs (nothing to score with before a first refresh, and it says so),
    then the DM agent thanks the fan; no sequence runs, so the follow-up agent is not called."""
    from agents.supervisor import route_batch

    t = await make_tenant()
    eid = await add_event(t, t.fans[0], "tip", "tip-1", amount_cents=2500)
    llm.set_chat_model(
        ScriptedChatModel(replies=[{"text": "Thank you so much!", "offer": None, "rationale": ""}])
    )
    state = await _run(t, t.fans[0], [eid])
    assert state["routing"].rescore == ["tip"] and state["routing"].route == "reply"
    assert state["scoring"].rescored is False and state["scoring"].failure is None
    assert "sequencing" not in state and state["drafting"].draft.text == "Thank you so much!"
    # a chargeback hands the fan to a human, and is still re-scored: what a fan is worth is a fact
    fan = {
        "opted_out_at": None,
        "handoff_at": None,
        "handoff_reason": None,
        "age_signal_at": None,
        "handoff_spend_cents": None,
        "spent_cents": 0,
    }
    back = route_batch(fan, [{"kind": "chargeback", "payload": {}}, {"kind": "refund", "payload": {}}])
    assert back.route == "handoff" and back.rescore == ["refund", "chargeback"]


async def test_follow_ups_run_only_with_the_workers_steps(settings: Settings) -> None:
    """Sequences are Temporal workflows: run directly, the graph says so rather than pretending to start one."""
    t = await make_tenant()
    eid = await add_event(t, t.fans[0], "subscription_expired", "x-1")
    with pytest.raises(NotImplementedError, match="Temporal worker"):
        await _run(t, t.fans[0], [eid])
