"""GET /v1/analytics/team: on a business whose members approve, edit and reject drafts and whose fans buy after
offers at different delays, every figure equals the same figure computed here from the raw rows."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
from psycopg.types.json import Jsonb

from core import db
from tests.factories import make_tenant
from tests.workflows.helpers import fetch

WINDOW = timedelta(hours=72)


async def _seed() -> tuple[Any, datetime, datetime]:
    """A creator (UTC) whose owner, manager and chatter decided drafts over the last 12 days; fans bought some
    offered items at 1 h, 30 h, 71 h and 80 h after the send; the creator wrote some messages herself."""
    t = await make_tenant("team", fans=3)
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.replace(hour=0, minute=0, second=0)
    start = today - timedelta(days=9)  # the period asked for: the last 10 days
    owner, manager, chatter = t.members["owner"], t.members["manager"], t.members["chatter"]
    item_a, item_b = t.catalog
    fan0, fan1, fan2 = t.fans
    n = 0

    async def draft(
        conn: Any,
        fan: str,
        created: datetime,
        *,
        by: str | None = None,
        after: timedelta | None = None,
        edit: str | None = None,
        reject: bool = False,
        offer: str | None = None,
        sent: timedelta | None = None,
        status: str | None = None,
    ) -> str:
        nonlocal n
        n += 1
        text = f"draft {n}"
        decided = created + after if after is not None else None
        final = None if reject or by is None else (edit if edit is not None else text)
        st = status or ("rejected" if reject else "sent" if sent is not None else "approved")
        cur = await conn.execute(
            "INSERT INTO drafts (creator_id, fan_id, source_key, workflow_id, status, text, final_text, offer,"
            " policy_report, expires_at, created_at, decided_by, decided_at)"
            " VALUES (%s, %s, %s, 'wf', %s, %s, %s, %s, '{}', %s, %s, %s, %s) RETURNING id::text AS id",
            [
                t.creator_id,
                fan,
                f"k{n}",
                st,
                text,
                final,
                Jsonb({"catalog_id": offer, "price_cents": 1500}) if offer else None,
                created + timedelta(days=1),
                created,
                by,
                decided,
            ],
        )
        row = await cur.fetchone()
        assert row
        if sent is not None:
            assert decided is not None
            await conn.execute(
                "INSERT INTO messages (creator_id, fan_id, direction, text, draft_id, sent_at)"
                " VALUES (%s, %s, 'out', %s, %s, %s)",
                [t.creator_id, fan, final, row["id"], decided + sent],
            )
        return str(row["id"])

    async def pay(
        conn: Any, fan: str, item: str | None, at: datetime, cents: int, kind: str = "unlock"
    ) -> None:
        await conn.execute(
            "INSERT INTO transactions (creator_id, fan_id, kind, amount_cents, catalog_id, occurred_at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [t.creator_id, fan, kind, cents, item, at],
        )

    h = timedelta(hours=1)
    m = timedelta(minutes=1)
    async with db.pool().connection() as conn, conn.transaction():
        d1 = start + timedelta(days=1, hours=9)
        # the manager: approvals (one edited, one with an offer bought 1 h later), a rejection
        await draft(conn, fan0, d1, by=manager, after=4 * m, sent=m)
        await draft(conn, fan0, d1 + h, by=manager, after=30 * m, edit="better words", sent=m)
        await draft(conn, fan1, d1 + 2 * h, by=manager, after=2 * m, offer=item_a, sent=2 * m)
        await pay(conn, fan1, item_a, d1 + 2 * h + 2 * m + 2 * m + h, 1500)
        await draft(conn, fan1, d1 + 3 * h, by=manager, after=7 * m, reject=True)
        # an approval edited to the same text is not an edit
        await draft(conn, fan2, d1 + 4 * h, by=manager, after=11 * m, edit="draft 5", sent=m)
        # the chatter: an offer bought 30 h after the send, another bought 80 h after (too late), rejections
        d2 = start + timedelta(days=3, hours=15)
        await draft(conn, fan2, d2, by=chatter, after=h, offer=item_b, sent=m)
        await pay(conn, fan2, item_b, d2 + h + m + 30 * h, 2500)
        await draft(conn, fan0, d2 + h, by=chatter, after=3 * m, offer=item_a, sent=0 * m)
        await pay(conn, fan0, item_a, d2 + h + 3 * m + 80 * h, 1500)
        await draft(conn, fan0, d2 + 2 * h, by=chatter, after=90 * m, reject=True)
        await draft(conn, fan1, d2 + 3 * h, by=chatter, after=20 * m, reject=True)
        # the same item offered twice to one fan: the payment counts once, for the later send (the owner's)
        d3 = start + timedelta(days=5, hours=10)
        await draft(conn, fan1, d3, by=chatter, after=5 * m, offer=item_b, sent=m)
        await draft(conn, fan1, d3 + 2 * h, by=owner, after=6 * m, offer=item_b, edit="edited offer", sent=m)
        await pay(conn, fan1, item_b, d3 + 2 * h + 6 * m + m + 71 * h, 2500, kind="ppv")
        # a payment for another item, a tip and a payment before any send: no offer revenue
        await pay(conn, fan1, item_a, d3 + 3 * h, 1500)
        await pay(conn, fan1, None, d3 + 4 * h, 700, kind="tip")
        # decided before the period: left out, though its offer's payment falls in it
        d0 = start - timedelta(days=2)
        await draft(conn, fan2, d0, by=manager, after=h, offer=item_a, sent=m)
        await pay(conn, fan2, item_a, start + 5 * h, 1500)
        # drafts nobody decided (pending, expired)
        await draft(conn, fan2, d1, status="pending_review")
        await draft(conn, fan2, d1, status="expired")
        # the creator's own messages on the platform, and fan messages
        for i, at in enumerate((d1 + 5 * h, d2 + 6 * h, d3 + 7 * h, d0)):
            await conn.execute(
                "INSERT INTO messages (creator_id, fan_id, direction, text, platform_message_id, sent_at)"
                " VALUES (%s, %s, 'out', 'from me', %s, %s)",
                [t.creator_id, fan0, f"own-{i}", at],
            )
            await conn.execute(
                "INSERT INTO messages (creator_id, fan_id, direction, text, platform_message_id, sent_at)"
                " VALUES (%s, %s, 'in', 'hi', %s, %s)",
                [t.creator_id, fan0, f"in-{i}", at - m],
            )
    return t, start, today + timedelta(days=1)


async def _expected(creator_id: str, lo: datetime, hi: datetime) -> dict[str, Any]:
    """The figures from the raw rows, in Python."""
    members = await fetch(
        "SELECT id::text AS id, email, role FROM members WHERE creator_id = %s", [creator_id]
    )
    drafts = await fetch(
        "SELECT id::text AS id, fan_id::text AS fan_id, text, final_text, offer, created_at, decided_by::text"
        " AS decided_by, decided_at, written_by::text AS written_by FROM drafts WHERE creator_id = %s",
        [creator_id],
    )
    messages = await fetch(
        "SELECT id, direction, draft_id::text AS draft_id, sent_at FROM messages WHERE creator_id = %s",
        [creator_id],
    )
    txns = await fetch(
        "SELECT fan_id::text AS fan_id, kind, amount_cents, catalog_id::text AS catalog_id, occurred_at"
        " FROM transactions WHERE creator_id = %s",
        [creator_id],
    )
    by_id = {d["id"]: d for d in drafts}
    sends = [(msg, by_id[msg["draft_id"]]) for msg in messages if msg["draft_id"]]
    revenue: dict[str, int] = {}
    for tx in txns:
        if tx["kind"] not in ("ppv", "unlock") or tx["catalog_id"] is None or tx["occurred_at"] <= lo:
            continue
        before = [
            (msg["sent_at"], msg["id"], d)
            for msg, d in sends
            if d["fan_id"] == tx["fan_id"]
            and d["offer"]
            and d["offer"].get("catalog_id") == tx["catalog_id"]
            and tx["occurred_at"] - WINDOW <= msg["sent_at"] < tx["occurred_at"]
        ]
        if not before:
            continue
        _, _, d = max(before, key=lambda b: (b[0], b[1]))
        if d["decided_by"] and lo <= d["decided_at"] < hi:
            revenue[d["decided_by"]] = revenue.get(d["decided_by"], 0) + tx["amount_cents"]
    per: dict[str, dict[str, Any]] = {}
    for mb in members:
        decided = [
            d
            for d in drafts
            if d["decided_by"] == mb["id"] and d["written_by"] is None and lo <= d["decided_at"] < hi
        ]
        own = [
            msg
            for msg, d in sends
            if d["written_by"] == mb["id"] and lo <= msg["sent_at"] < hi and msg["direction"] == "out"
        ]
        seconds = [(d["decided_at"] - d["created_at"]).total_seconds() for d in decided]
        approved = [d for d in decided if d["final_text"] is not None]
        per[mb["id"]] = {
            "member_id": mb["id"],
            "email": mb["email"],
            "role": mb["role"],
            "approved": len(approved),
            "edited": sum(d["final_text"] != d["text"] for d in approved),
            "rejected": len(decided) - len(approved),
            "median_decision_seconds": statistics.median(seconds) if seconds else None,
            "p90_decision_seconds": float(np.percentile(seconds, 90)) if seconds else None,
            "offer_revenue_cents": revenue.get(mb["id"], 0),
            "own_messages_sent": len(own),
        }
    out = [msg for msg in messages if msg["direction"] == "out" and lo <= msg["sent_at"] < hi]
    agent = sum(msg["draft_id"] is not None and by_id[msg["draft_id"]]["written_by"] is None for msg in out)
    return {
        "members": per,
        "messages_sent": len(out),
        "agent_messages_sent": agent,
        "automation_rate": round(agent / len(out), 4) if out else None,
    }


async def test_team_metrics_equal_the_figures_of_the_raw_rows(api: httpx.AsyncClient) -> None:
    t, lo, hi = await _seed()
    other = await make_tenant("other-team")  # another creator's member sees only that creator's team
    frm, to = lo.date().isoformat(), (hi - timedelta(days=1)).date().isoformat()
    r = await api.get("/v1/analytics/team", params={"from": frm, "to": to}, headers=t.auth("manager"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["period"] == {"from": frm, "to": to, "timezone": "UTC"}
    expected = await _expected(t.creator_id, lo, hi)
    got = {m["member_id"]: m for m in body["members"]}
    assert set(got) == set(expected["members"])
    for member_id, figures in expected["members"].items():
        mine = got[member_id]
        for key in ("median_decision_seconds", "p90_decision_seconds"):
            want = figures[key]
            close = want is None if mine[key] is None else want is not None and abs(mine[key] - want) < 1e-6
            assert close, (key, mine, figures)
        assert {k: v for k, v in mine.items() if "seconds" not in k} == {
            k: v for k, v in figures.items() if "seconds" not in k
        }
    for key in ("messages_sent", "agent_messages_sent", "automation_rate"):
        assert body[key] == expected[key], key

    # The seeded story, in plain numbers (so the two computations cannot agree on a wrong reading).
    def story(role: str) -> tuple[int, int, int, int]:
        f = got[t.members[role]]
        return f["approved"], f["edited"], f["rejected"], f["offer_revenue_cents"]

    assert story("manager") == (4, 1, 1, 1500)
    assert story("chatter") == (3, 0, 2, 2500)
    assert story("owner") == (1, 1, 0, 2500)
    assert got[t.members["manager"]]["median_decision_seconds"] == 7 * 60
    assert got[t.members["owner"]]["median_decision_seconds"] == 6 * 60
    assert got[t.members["viewer"]]["median_decision_seconds"] is None
    assert (body["messages_sent"], body["agent_messages_sent"]) == (11, 8)
    # most decisions first (ties by e-mail)
    order = sorted(expected["members"].values(), key=lambda f: (-f["approved"] - f["rejected"], f["email"]))
    assert [m["member_id"] for m in body["members"]] == [f["member_id"] for f in order]
    assert not set(got) & set(other.members.values())

    # A period with nothing in it
    empty = await api.get(
        "/v1/analytics/team", params={"from": "2020-01-01", "to": "2020-01-31"}, headers=t.auth()
    )
    assert empty.status_code == 200 and empty.json()["automation_rate"] is None
    assert all(m["approved"] == 0 and m["p90_decision_seconds"] is None for m in empty.json()["members"])
    # Default period: the last 30 days, today included
    default = await api.get("/v1/analytics/team", headers=t.auth())
    assert default.status_code == 200 and default.json()["period"]["to"] == to
    assert default.json()["messages_sent"] == body["messages_sent"] + 2  # the two sent before the period


async def test_team_metrics_need_a_manager_and_a_good_period(api: httpx.AsyncClient) -> None:
    t = await make_tenant("team-bad")
    for role in ("chatter", "viewer"):
        r = await api.get("/v1/analytics/team", headers=t.auth(role))
        assert r.status_code == 403, r.text
    assert (await api.get("/v1/analytics/team")).status_code == 401
    for params, field in (
        ({"from": "2026-05-10", "to": "2026-05-01"}, "query.from"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "query.from"),
        ({"to": "yesterday"}, "query.to"),
        ({"from": "1999-12-31"}, "query.from"),
        ({"to": "2999-01-01"}, "query.to"),
        ({"from": "2026-01-01\u0000"}, "query.from"),
    ):
        bad = await api.get("/v1/analytics/team", params=params, headers=t.auth("manager"))
        assert bad.status_code == 422, (params, bad.text)
        assert bad.json()["error"]["code"] == "validation_error"
        assert bad.json()["error"]["details"]["fields"][0]["field"] == field, bad.text


async def test_a_members_own_messages_count_as_theirs_not_as_decisions_or_automation(
    api: httpx.AsyncClient,
) -> None:
    t = await make_tenant("team-own")
    r = await api.post(
        f"/v1/fans/{t.fans[0]}/messages", json={"text": "hi from me"}, headers=t.auth("chatter")
    )
    assert r.status_code == 201 and r.json()["state"] == "sent", r.text
    body = (await api.get("/v1/analytics/team", headers=t.auth("manager"))).json()
    mine = {m["member_id"]: m for m in body["members"]}[t.members["chatter"]]
    assert (mine["own_messages_sent"], mine["approved"], mine["median_decision_seconds"]) == (1, 0, None)
    assert (body["messages_sent"], body["agent_messages_sent"], body["automation_rate"]) == (1, 0, 0.0)
    lo = datetime.now(UTC) - timedelta(days=29)
    expected = await _expected(t.creator_id, lo - timedelta(days=1), datetime.now(UTC) + timedelta(days=1))
    assert expected["members"][t.members["chatter"]]["own_messages_sent"] == 1
    assert expected["agent_messages_sent"] == 0
