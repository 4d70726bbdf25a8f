"""Stored values no API would accept today (rows written before the timestamp bound, or by SQL): a refresh
skips or clamps them, scores every fan, and says which rows it left out; a refresh that fails anyway names the
creator and the step in its error and in the actions feed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest

from agents.segmentation.refresh import RefreshFailed, refresh_segments, rescore_fans
from core import db
from devstack.seed import seed_business

UNTIL = date(2026, 6, 1)
AS_OF = datetime(2026, 6, 1, 23, 59, 59, tzinfo=UTC)


def _rows(url: str, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def _poison(url: str, creator_id: str) -> dict[str, str]:
    """One fan with a year-1 purchase, one with a message at -infinity, one with a bogus timezone and a
    subscription dated year 1, one with a far-future purchase: by SQL, as the API refuses these now."""
    with psycopg.connect(url, autocommit=True) as conn:
        fans = [
            str(r[0])
            for r in conn.execute(
                "SELECT id FROM fans WHERE creator_id = %s ORDER BY id LIMIT 4", [creator_id]
            ).fetchall()
        ]
        year1, minus_inf, bad_zone, future = fans
        conn.execute(
            "INSERT INTO transactions (creator_id, fan_id, kind, amount_cents, platform_txn_id, occurred_at)"
            " VALUES (%s, %s, 'tip', 500, 'poison-year-1', '0001-01-01 00:00:00+00'),"
            " (%s, %s, 'ppv', 900, 'poison-future', '9999-12-31 00:00:00+00')",
            [creator_id, year1, creator_id, future],
        )
        conn.execute(
            "INSERT INTO messages (creator_id, fan_id, direction, text, sent_at)"
            " VALUES (%s, %s, 'in', 'hello from the past', '-infinity')",
            [creator_id, minus_inf],
        )
        conn.execute(
            "UPDATE fans SET timezone = 'Mars/Olympus_Mons', subscribed_at = '0001-01-01 00:00:00+00'"
            " WHERE id = %s",
            [bad_zone],
        )
    return {"year1": year1, "minus_inf": minus_inf, "bad_zone": bad_zone, "future": future}


@pytest.fixture
async def poisoned(database_url: str) -> dict[str, Any]:
    res = seed_business(database_url, fans=60, days=90, seed=4, until=UNTIL, handle="poison")
    return {"url": database_url, "creator_id": res.creator_id, "fans": _poison(database_url, res.creator_id)}


async def test_a_refresh_skips_out_of_range_rows_and_scores_every_fan(poisoned: dict[str, Any]) -> None:
    url, creator = poisoned["url"], poisoned["creator_id"]
    async with db.pool().connection() as conn, conn.transaction():
        res = await refresh_segments(conn, creator, as_of=AS_OF)
    assert res.fans == 60 and sum(res.segments.values()) == 60
    assert _rows(url, "SELECT count(*) FROM fan_scores WHERE creator_id = %s", [creator]) == [(60,)]
    # the year-1 tip is not spend; the fan's other purchases still are
    skipped = res.model["skipped"]
    assert skipped["transactions"] == 2 and skipped["messages"] == 1, skipped
    assert poisoned["fans"]["year1"] in skipped["fans"] and poisoned["fans"]["minus_inf"] in skipped["fans"]
    assert poisoned["fans"]["bad_zone"] in skipped["timezones"]
    # the feed says which fans had rows left out
    (summary, details) = _rows(
        url,
        "SELECT summary, details FROM agent_actions WHERE creator_id = %s AND kind = 'segments_rows_skipped'",
        [creator],
    )[0]
    assert "3 row(s)" in summary and poisoned["fans"]["year1"] in details["fans"]
    # the bogus timezone counts hours in UTC, and a year-1 subscription is clamped, not a crash
    (best,) = _rows(
        url, "SELECT best_hours FROM fan_scores WHERE fan_id = %s", [poisoned["fans"]["bad_zone"]]
    )[0]
    assert len(best) == 3


async def test_rescoring_a_poisoned_fan_works(poisoned: dict[str, Any]) -> None:
    creator = poisoned["creator_id"]
    async with db.pool().connection() as conn, conn.transaction():
        await refresh_segments(conn, creator, as_of=AS_OF)
    async with db.pool().connection() as conn, conn.transaction():
        out = await rescore_fans(conn, creator, [poisoned["fans"]["year1"]], as_of=AS_OF)
    assert out is not None and out.fans == 1


async def test_a_failing_refresh_names_the_creator_and_step_in_its_error_and_the_feed(
    poisoned: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import agents.segmentation.refresh as refresh

    def broken(*_: Any) -> Any:
        raise OverflowError("date value out of range")

    monkeypatch.setattr(refresh, "best_hours", broken)
    creator = poisoned["creator_id"]
    with pytest.raises(RefreshFailed) as err:
        async with db.pool().connection() as conn, conn.transaction():
            await refresh_segments(conn, creator, as_of=AS_OF)
    assert creator in str(err.value) and "best_hours" in str(err.value) and "OverflowError" in str(err.value)
    # written beside the refresh's transaction, which rolled back: the failure is not silent
    (summary, details) = _rows(
        poisoned["url"],
        "SELECT summary, details FROM agent_actions WHERE creator_id = %s AND kind = 'segments_refresh_failed'",
        [creator],
    )[0]
    assert "best_hours" in summary and details["step"] == "best_hours"
    assert poisoned["fans"]["year1"] in details["skipped"]["fans"]
