"""The DM agent prices its offers per fan with the formula of the `suggest_price` tool: the suggestion reaches the
prompt with its reason and rides on the draft's offer beside the price the model chose, which the creator's bounds
alone decide."""

from __future__ import annotations

import pytest

from agents.dm import build_messages, draft_reply, gather_context, price_suggestions
from agents.toolkits import tools_for
from core import db
from core.settings import Settings
from tests.factories import Tenant, add_event, make_tenant
from tests.fakes.chat_model import ScriptedChatModel
from tools import fan_context


def _prompt(context: dict[str, object]) -> str:
    return str(build_messages(context, "hi", "the fan sent a message", False)[-1].content)


async def test_a_fan_with_purchases_is_priced_from_them_in_the_prompt_and_on_the_offer(
    settings: Settings,
) -> None:
    t = await make_tenant()
    # the fan paid 800 and 1000 (typical 900); another fan 2000: the creator's median is 1000
    for i, cents in enumerate((800, 1000)):
        await add_event(t, t.fans[0], "purchase", f"p{i}", amount_cents=cents)
    await add_event(t, t.fans[1], "purchase", "q0", amount_cents=2000)
    context = await gather_context(t.creator_id, t.fans[0], "hi")
    assert context["prices"] == {
        "paid_cents": [800, 1000],
        "creator_median_cents": 1000,
        "creator_purchases": 3,
    }
    fan = context["pricing"]["fan"]
    # two purchases weigh 2 / (2 + 3) = 40% against the creator's median: 0.4 * 900 + 0.6 * 1000
    assert (fan["fan_purchases"], fan["fan_level_cents"], fan["fan_weight"]) == (2, 900, 0.4)
    assert (fan["anchor"], fan["anchor_cents"], fan["price_cents"]) == ("creator_median", 1000, 960)
    # per item, anchored on its list price: 0.4 * 900 + 0.6 * 1500, and 0.4 * 900 + 0.6 * 2500
    assert context["pricing"]["items"] == {t.catalog[0]: 1260, t.catalog[1]: 1860}
    # the same figure as the tool the assistant calls: one formula
    [tool] = [x for x in tools_for("dm", t.creator_id) if x.name == "suggest_price"]
    assert (await tool.ainvoke({"fan_id": t.fans[0], "catalog_id": t.catalog[1]}))["price_cents"] == 1860

    prompt = _prompt(context)
    assert "item1 | Beach set | 1500 | 1260; item2 | Gym video | 2500 | 1860\n" in prompt
    assert (
        "Suggested price for this fan without an item: 960; why: this fan paid a typical 900 over 2 PPV"
        " purchases, weighed 40%" in prompt
    )

    # the model keeps the list price: inside the bounds, so kept as chosen, the suggestion recorded beside it
    model = ScriptedChatModel(
        replies=[{"text": "The gym video is for you", "offer": {"catalog_id": "item2", "price_cents": 2500}}]
    )
    result = await draft_reply(model, t.creator_id, t.fans[0], fan_text="hi", reason="the fan sent a message")
    assert result.offer is not None and result.offer.model_dump() == {
        "catalog_id": t.catalog[1],
        "price_cents": 2500,
        "suggested_price_cents": 1860,
    }


async def _give_back(t: Tenant, event: int, kind: str, cents: int) -> None:
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "INSERT INTO events (creator_id, fan_id, platform_event_id, kind, payload, occurred_at)"
            " SELECT creator_id, fan_id, %s, %s, '{}', now() FROM events WHERE id = %s RETURNING id",
            [f"{kind}-{event}", kind, event],
        )
        back = await cur.fetchone()
        assert back
        await conn.execute(
            "INSERT INTO refunds (creator_id, fan_id, kind, transaction_id, amount_cents, event_id, occurred_at)"
            " SELECT creator_id, fan_id, %s, id, %s, %s, now() FROM transactions WHERE event_id = %s",
            [kind, cents, back["id"], event],
        )


async def test_a_fan_without_purchases_is_priced_from_the_creators_median(settings: Settings) -> None:
    t = await make_tenant()
    bought = [
        await add_event(t, t.fans[0], "purchase", f"p{i}", amount_cents=cents)
        for i, cents in enumerate((800, 1200, 3000, 1000))
    ]
    # net of what went back: 1200 less a 400 refund is 800; the 3000 all charged back no longer counts
    await _give_back(t, bought[1], "refund", 400)
    await _give_back(t, bought[2], "chargeback", 3000)
    context = await gather_context(t.creator_id, t.fans[1], "hi")
    assert context["prices"]["creator_purchases"] == 3
    fan = context["pricing"]["fan"]
    assert (fan["fan_purchases"], fan["fan_weight"], fan["anchor"]) == (0, 0.0, "creator_median")
    assert fan["price_cents"] == fan["anchor_cents"] == 800  # the median of 800, 800 and 1000
    assert context["pricing"]["items"] == {t.catalog[0]: 1500, t.catalog[1]: 2500}  # each item's own price
    prompt = _prompt(context)
    assert "item1 | Beach set | 1500 | 1500; item2 | Gym video | 2500 | 2500\n" in prompt
    assert "without an item: 800; why: this fan has bought no PPV yet" in prompt
    assert "the creator's median is 800" in prompt

    # the creator's bounds hold: a lower bound above the median raises the suggestion, and says so
    raised = {**context, "profile": {**context["profile"], "ppv_min_cents": 1100}}
    suggestion = price_suggestions(raised)["fan"]
    assert (suggestion["price_cents"], suggestion["clamped"]) == (1100, "min")
    assert "without an item: 1100 (raised to the lower bound)" in _prompt(
        {**raised, "pricing": price_suggestions(raised)}
    )


async def test_the_suggestion_reads_only_the_creators_own_purchases(settings: Settings) -> None:
    t, other = await make_tenant(), await make_tenant("zoe")
    await add_event(t, t.fans[0], "purchase", "p0", amount_cents=1000)
    # the other creator's fans pay far more: none of it may move this creator's prices
    for i, fan in enumerate(other.fans):
        await add_event(other, fan, "purchase", f"z{i}", amount_cents=4900)
    context = await gather_context(t.creator_id, t.fans[0], "hi")
    assert context["prices"] == {"paid_cents": [1000], "creator_median_cents": 1000, "creator_purchases": 1}
    # another creator's fan has no purchases through this creator, and no context at all
    assert (await fan_context.ppv_prices(t.creator_id, other.fans[0]))["paid_cents"] == []
    with pytest.raises(LookupError):
        await gather_context(t.creator_id, other.fans[0], "hi")
    theirs = await gather_context(other.creator_id, other.fans[0], "hi")
    assert theirs["prices"] == {"paid_cents": [4900], "creator_median_cents": 4900, "creator_purchases": 2}
