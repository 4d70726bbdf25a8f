"""Policy checks with the creator's own configuration and the creator's other fans, from Postgres."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from core import db
from policies.config import PolicyConfig
from policies.engine import PolicyReport, check_draft
from policies.rules import ACCENTED, UNACCENTED, identity_phrases
from policies.timing import CREATOR_WINDOW, FAN_WINDOW, SendWindow, next_send_time


async def load_policy(creator_id: str, conn: AsyncConnection[dict[str, Any]] | None = None) -> PolicyConfig:
    sql = "SELECT ppv_min_cents, ppv_max_cents, policy_config FROM creators WHERE id = %s"
    if conn is not None:
        row = await (await conn.execute(sql, [creator_id])).fetchone()
    else:
        async with db.connection() as own:
            row = await (await own.execute(sql, [creator_id])).fetchone()
    if row is None:
        raise LookupError(f"creator {creator_id} not found")
    return PolicyConfig.from_row(row)


# Every character Python's str.strip() removes (tests/policies/test_scoped.py checks the list), as a Postgres literal.
IDENTITY_SPACES = (
    r"U&'\0009\000A\000B\000C\000D\001C\001D\001E\001F\0020\0085\00A0\1680\2000\2001\2002\2003\2004\2005"
    r"\2006\2007\2008\2009\200A\2028\2029\202F\205F\3000'"
)
# One comparable form for a stored identity and a draft's phrase: trimmed as the rules trim, lower case, without a
# leading '@' (the same expression as the indexes of migration 0015, so the lookup below uses them).
IDENTITY_KEY = "ltrim(lower(btrim({}, " + IDENTITY_SPACES + ")), '@')"
# A display name's key without accents (migration 0046's index): a draft's "ｅｌｏｄｉｅ" finds Élodie.
PLAIN_NAME_KEY = "translate(" + IDENTITY_KEY + f", '{ACCENTED}', '{UNACCENTED}')"


async def other_fan_identities(creator_id: str, fan_id: str, text: str) -> list[str]:
    """The display names and platform handles of the creator's fans other than this one that could appear in
    `text`: those equal, in IDENTITY_KEY's form (a display name also without accents), to one of its 1-3 word
    phrases (a superset of what
    `check_other_fans` matches, found through an index instead of reading every fan). A name the recipient shares
    is left out: using it is addressing the recipient, not naming someone else."""
    phrases = identity_phrases(text)
    if not phrases:
        return []
    async with db.connection() as conn:
        cur = await conn.execute(
            "WITH k AS (SELECT array_agg(DISTINCT " + IDENTITY_KEY.format("p") + ") AS keys"
            " FROM unnest(%(phrases)s::text[]) p)"
            " SELECT DISTINCT x.ident FROM k, fans f,"
            " LATERAL (VALUES (f.display_name), (f.platform_fan_id)) x(ident)"
            " WHERE f.creator_id = %(creator)s AND f.id <> %(fan)s AND x.ident <> ''"
            " AND (" + IDENTITY_KEY.format("f.display_name") + " = ANY(k.keys)"
            " OR " + PLAIN_NAME_KEY.format("f.display_name") + " = ANY(k.keys)"
            " OR " + IDENTITY_KEY.format("f.platform_fan_id") + " = ANY(k.keys))"
            " AND x.ident NOT IN (SELECT r.display_name FROM fans r WHERE r.creator_id = %(creator)s"
            " AND r.id = %(fan)s)",
            {"phrases": phrases, "creator": creator_id, "fan": fan_id},
        )
        return [r["ident"] for r in await cur.fetchall()]


async def check_draft_for_creator(
    creator_id: str,
    fan_id: str,
    text: str,
    offer: dict[str, Any] | None,
    policy: PolicyConfig | None = None,
    *,
    prompt: str | None = None,
) -> PolicyReport:
    """The engine with this creator's settings and fans, for a draft to `fan_id` (whose platform decides what
    off-platform means). prompt: the drafting instructions, when a model wrote the text."""
    policy = policy or await load_policy(creator_id)
    return check_draft(
        text,
        offer=offer,
        price_bounds=(policy.ppv_min_cents, policy.ppv_max_cents),
        forbidden_words=policy.forbidden_words,
        other_fans=await other_fan_identities(creator_id, fan_id, text),
        private_terms=policy.private_terms,
        platform=await _fan_platform(creator_id, fan_id),
        prompt=prompt,
    )


async def _fan_platform(creator_id: str, fan_id: str) -> str | None:
    async with db.shared_connection() as conn:
        cur = await conn.execute(
            "SELECT platform FROM fans WHERE creator_id = %s AND id = %s", [creator_id, fan_id]
        )
        row = await cur.fetchone()
    return row["platform"] if row else None


async def send_window(
    conn: AsyncConnection[dict[str, Any]],
    creator_id: str,
    fan_id: str,
    now: datetime,
    policy: PolicyConfig,
    *,
    resending: str | None = None,
) -> SendWindow:
    """When one more message to this fan may go out (quiet hours, caps), from what was actually sent.
    Every outbound message counts, the creator's own included: platforms see them all, except the message of
    the draft `resending` (a failed delivery tried again is not one more message). One statement: the fan's
    timezone and, for each cap the policy sets, the send times inside its window."""
    caps = {
        "fan_sent": (
            policy.max_per_fan_per_day,
            "SELECT array_agg(sent_at ORDER BY sent_at) FROM messages WHERE creator_id = %(creator)s"
            " AND fan_id = %(fan)s AND direction = 'out' AND sent_at > %(fan_since)s"
            " AND (draft_id IS NULL OR %(resending)s::uuid IS NULL OR draft_id <> %(resending)s::uuid)",
        ),
        "creator_sent": (
            policy.max_per_creator_per_hour,
            "SELECT array_agg(sent_at ORDER BY sent_at) FROM messages WHERE creator_id = %(creator)s"
            " AND direction = 'out' AND sent_at > %(creator_since)s AND (draft_id IS NULL OR %(resending)s::uuid IS NULL OR draft_id <> %(resending)s::uuid)",
        ),
    }
    selected = "".join(f", ({sql}) AS {name}" for name, (cap, sql) in caps.items() if cap is not None)
    cur = await conn.execute(
        f"SELECT timezone{selected} FROM fans WHERE creator_id = %(creator)s AND id = %(fan)s",
        {
            "creator": creator_id,
            "fan": fan_id,
            "fan_since": now - FAN_WINDOW,
            "creator_since": now - CREATOR_WINDOW,
            "resending": resending,
        },
    )
    fan = await cur.fetchone()
    if fan is None:
        raise LookupError(f"fan {fan_id} not found for creator {creator_id}")
    fan_sent: list[datetime] = fan.get("fan_sent") or []
    creator_sent: list[datetime] = fan.get("creator_sent") or []
    return next_send_time(
        now,
        policy.send_limits(),
        fan_timezone=fan["timezone"],
        fan_sent=fan_sent,
        creator_sent=creator_sent,
    )
