"""Policy checks against a creator's stored fans: only the identities a draft could name are read, and the
verdict is the one the engine gives with every other fan's identity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from psycopg.types.json import Jsonb

from core import db
from core.settings import Settings
from policies.engine import check_draft
from policies.rules import ACCENTED, UNACCENTED, unaccented
from policies.scoped import (
    IDENTITY_KEY,
    IDENTITY_SPACES,
    PLAIN_NAME_KEY,
    check_draft_for_creator,
    load_policy,
    other_fan_identities,
    send_window,
)
from policies.timing import next_send_time
from tests.factories import make_tenant

# (display name, handle) of the creator's other fans; the recipient is called "Sunny" too.
NAMED = [
    ("Marcus", "of-marcus"),
    ("Big Dave", "davey"),
    ("", "tommy_b88"),
    ("Hunter", "hunter_x"),
    ("Sunny", "sunny_days"),
    ("Élodie", "Élodie_x"),
    ("  Rosa\t", "@Rosa_Red"),
    ("\u00a0Nina\u2003", "nina_n"),
]

DRAFTS = [
    "Marcus already unlocked this one 😏",
    "you and Big Dave both asked for this set lol",
    "tommy_b88 says hi",
    "ask @TOMMY_B88, he loved it",
    "ask @davey about it",
    "élodie_x and Élodie asked too",
    "Rosa and rosa_red say hi",
    "Nina says hi",
    "you're such a bargain hunter, I love it",
    "sunny day here, Sunny, wish you were on my feed more 🌞",
    "dave's not here man 😂",
    "thanks babe, new set tonight",
    "M a r c u s already bought this one",
    "ｒｏｓａ　ａ　ｔｉｐｐé　５００",
    "lol nina tipped 50 on it",
    "ｅｌｏｄｉｅ also bought it",
    "E l o d i e says hi",
    "",
]


async def _fans(settings: Settings) -> tuple[str, str, list[str]]:
    t = await make_tenant(fans=0)
    async with db.connection() as conn:
        ids = []
        for name, handle in [("Sunny", "recipient"), *NAMED] + [(f"Filler {i}", f"f{i}") for i in range(300)]:
            cur = await conn.execute(
                "INSERT INTO fans (creator_id, platform_fan_id, display_name) VALUES (%s, %s, %s)"
                " RETURNING id::text AS id",
                [t.creator_id, handle, name],
            )
            ids.append((await cur.fetchone())["id"])  # type: ignore[index]
        await conn.commit()
    every_other = [x for name, handle in NAMED for x in (name, handle) if x and x != "Sunny"]
    every_other += [x for i in range(300) for x in (f"Filler {i}", f"f{i}")]
    return t.creator_id, ids[0], every_other


async def test_the_verdict_is_the_one_with_every_other_fan(settings: Settings) -> None:
    creator, recipient, every_other = await _fans(settings)
    policy = await load_policy(creator)
    for text in DRAFTS:
        stored = await check_draft_for_creator(creator, recipient, text or "ok", None, policy)
        full = check_draft(
            text or "ok",
            price_bounds=(policy.ppv_min_cents, policy.ppv_max_cents),
            forbidden_words=policy.forbidden_words,
            other_fans=every_other,
            private_terms=policy.private_terms,
        )
        assert stored.to_json() == full.to_json(), text
        looked_up = await other_fan_identities(creator, recipient, text)
        assert len(looked_up) <= 6, (text, looked_up)  # a few candidates, not 600 identities
    named = {
        f.reason
        for text in DRAFTS
        for f in (await check_draft_for_creator(creator, recipient, text, None, policy)).findings
        if f.rule == "other_fan_data"
    }
    assert {
        "names another fan (Marcus)",
        "names another fan (Big Dave)",
        "names another fan (tommy_b88)",
        "names another fan (@TOMMY_B88)",
        "names another fan (@davey)",
        "names another fan (élodie_x)",
        "names another fan (Élodie)",
        "names another fan (Rosa)",
        "names another fan (rosa_red)",
        "names another fan (Nina)",
        "names another fan (M a r c u s)",
        "names another fan (ｒｏｓａ)",
        "names another fan (nina)",
        "names another fan (ｅｌｏｄｉｅ)",
        "names another fan (E l o d i e)",
    } <= named, named
    assert not any("Hunter" in r or "hunter" in r or "Sunny" in r or "Filler" in r for r in named), named


@pytest.mark.parametrize("text", ["", "  ", "😂😂"])
async def test_a_draft_without_words_reads_no_fans(settings: Settings, text: str) -> None:
    creator, recipient, _ = await _fans(settings)
    assert await other_fan_identities(creator, recipient, text) == []


def test_the_lookup_trims_what_the_rules_trim_and_matches_the_indexes() -> None:
    spaces = IDENTITY_SPACES.removeprefix("U&'").removesuffix("'").split("\\")[1:]
    assert {chr(int(h, 16)) for h in spaces} == {c for c in map(chr, range(0x110000)) if c.isspace()}
    migration = (Path(__file__).parents[2] / "core/migrations/0015_fan_identity_keys.sql").read_text()
    for column in ("display_name", "platform_fan_id"):
        assert IDENTITY_KEY.format(column) in migration, column
    plain = (Path(__file__).parents[2] / "core/migrations/0046_fan_plain_name_key.sql").read_text()
    assert PLAIN_NAME_KEY.format("display_name") in plain
    assert len(ACCENTED) == len(UNACCENTED) and unaccented("élodie łukasz ñandú") == "elodie lukasz nandu"


@pytest.mark.parametrize(("fan_cap", "creator_cap"), [(3, 5), (3, None), (None, 4), (None, None), (10, 2)])
async def test_the_send_window_counts_what_each_cap_window_holds(
    settings: Settings, fan_cap: int | None, creator_cap: int | None
) -> None:
    """The one-statement read of the send window gives what the timing rules give with the send times listed by
    hand: the fan's sends of the last 24 hours, the creator's (every fan) of the last hour, each only when its
    cap is set."""
    t = await make_tenant(fans=2)
    fan, other = t.fans
    now = datetime.now(UTC)
    sent = {  # hours ago, per fan: one of each falls outside its window
        fan: [0.2, 0.5, 3.0, 23.0, 25.0],
        other: [0.1, 0.7, 2.0],
    }
    async with db.pool().connection() as conn:
        for fan_id, hours in sent.items():
            for h in hours:
                await conn.execute(
                    "INSERT INTO messages (creator_id, fan_id, direction, text, sent_at) VALUES (%s, %s, 'out', 'x', %s)",
                    [t.creator_id, fan_id, now - timedelta(hours=h)],
                )
        await conn.execute(  # an inbound message counts for no cap
            "INSERT INTO messages (creator_id, fan_id, direction, text, sent_at) VALUES (%s, %s, 'in', 'x', %s)",
            [t.creator_id, fan, now - timedelta(minutes=1)],
        )
        await conn.execute(
            "UPDATE creators SET policy_config = policy_config || %s WHERE id = %s",
            [Jsonb({"max_per_fan_per_day": fan_cap, "max_per_creator_per_hour": creator_cap}), t.creator_id],
        )
        policy = await load_policy(t.creator_id, conn)
        window = await send_window(conn, t.creator_id, fan, now, policy)

    def ago(hours: list[float]) -> list[datetime]:
        return sorted(now - timedelta(hours=h) for h in hours)

    expected = next_send_time(
        now,
        policy.send_limits(),
        fan_timezone="UTC",
        fan_sent=ago([h for h in sent[fan] if h < 24]) if fan_cap is not None else [],
        creator_sent=ago([h for h in sent[fan] + sent[other] if h < 1]) if creator_cap is not None else [],
    )
    assert window == expected
    # the cases reach both outcomes: the fan has 4 sends in 24 hours, the creator 4 in the hour
    assert window.held == ((fan_cap or 99) <= 4 or (creator_cap or 99) <= 4)
