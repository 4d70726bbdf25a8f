from datetime import date

import psycopg
import pytest

from devstack.seed import seed_business


def _shape(url: str, creator_id: str) -> dict[str, object]:
    with psycopg.connect(url) as conn:
        q = lambda sql: conn.execute(sql, [creator_id]).fetchall()  # noqa: E731
        return {
            "fans": q(
                "SELECT display_name, timezone, subscription_status FROM fans WHERE creator_id = %s"
                " ORDER BY platform_fan_id"
            ),
            "txns": q(
                "SELECT kind, count(*), sum(amount_cents) FROM transactions WHERE creator_id = %s"
                " GROUP BY kind ORDER BY kind"
            ),
            "msgs": q(
                "SELECT direction, count(*), min(sent_at), max(sent_at) FROM messages WHERE creator_id = %s"
                " GROUP BY direction ORDER BY direction"
            ),
        }


def test_seed_is_deterministic_and_realistic(database_url: str) -> None:
    a = seed_business(database_url, fans=300, days=120, seed=7, until=date(2026, 6, 1), handle="a")
    b = seed_business(database_url, fans=300, days=120, seed=7, until=date(2026, 6, 1), handle="b")
    c = seed_business(database_url, fans=300, days=120, seed=8, until=date(2026, 6, 1), handle="c")
    assert a.api_key != b.api_key
    assert _shape(database_url, a.creator_id) == _shape(database_url, b.creator_id)
    assert _shape(database_url, a.creator_id) != _shape(database_url, c.creator_id)
    with psycopg.connect(database_url) as conn:
        spend = [
            r[0]
            for r in conn.execute(
                "SELECT coalesce(sum(t.amount_cents) FILTER (WHERE t.kind IN ('ppv', 'tip')), 0) FROM fans f"
                " LEFT JOIN transactions t ON t.fan_id = f.id WHERE f.creator_id = %s GROUP BY f.id ORDER BY 1 DESC",
                [a.creator_id],
            )
        ]
        statuses: dict[str, int] = dict(
            conn.execute(
                "SELECT subscription_status, count(*) FROM fans WHERE creator_id = %s GROUP BY 1",
                [a.creator_id],
            ).fetchall()
        )
        hours = conn.execute(
            "SELECT count(*) FILTER (WHERE extract(hour FROM m.sent_at AT TIME ZONE f.timezone) BETWEEN 17 AND 23),"
            " count(*) FROM messages m JOIN fans f ON f.id = m.fan_id WHERE m.creator_id = %s AND m.direction = 'in'",
            [a.creator_id],
        ).fetchone()
    top_share = sum(spend[:15]) / max(1, sum(spend))
    assert top_share > 0.3  # a few whales carry the revenue
    assert spend.count(0) > 50  # never-spenders exist
    assert statuses["expired"] > 30 and statuses["active"] > 30  # churners and loyal fans
    assert hours is not None and hours[0] / hours[1] > 0.5  # evening rhythm in each fan's own timezone


def test_seed_refuses_duplicates_and_bad_sizes(database_url: str) -> None:
    seed_business(database_url, fans=5, days=10, seed=1, handle="x")
    with pytest.raises(ValueError, match="already exists"):
        seed_business(database_url, fans=5, days=10, seed=1, handle="x")
    with pytest.raises(ValueError, match="--fans"):
        seed_business(database_url, fans=0, days=10, seed=1, handle="y")
