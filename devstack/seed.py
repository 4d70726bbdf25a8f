"""A synthetic creator business: deterministic for a given seed and end date.

Shape: a creator persona and PPV catalog with price bounds; fans of five archetypes (whales, big
spenders, regulars, never-spenders, churners); monthly subscriptions with renewals and expiries; PPV
purchases and tips; messages at each fan's own evening rhythm in their timezone, creator replies.
"""

from __future__ import annotations

import asyncio
import io
import random
import uuid
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import psycopg
from psycopg.rows import dict_row
from rich.progress import Progress

from core.progress import terminal_progress
from core.store import catalog, creators
from core.store.creators import NewCreator

ARCHETYPES = [  # name, share, ppv per 30 days, tips per 30 days, tip range (cents), msgs per day, renew prob
    ("whale", 0.02, 6.0, 4.0, (2000, 20000), 0.9, 0.97),
    ("big_spender", 0.08, 3.0, 1.5, (500, 5000), 0.5, 0.92),
    ("regular", 0.35, 0.8, 0.3, (300, 2000), 0.25, 0.85),
    ("never_spender", 0.30, 0.0, 0.0, (0, 0), 0.08, 0.80),
    ("churner", 0.25, 0.5, 0.1, (300, 1000), 0.2, 0.35),
]
TIMEZONES = [
    ("America/New_York", 30),
    ("America/Chicago", 15),
    ("America/Los_Angeles", 20),
    ("Europe/London", 15),
    ("Europe/Berlin", 8),
    ("Australia/Sydney", 7),
    ("Asia/Manila", 5),
]
CATALOG = [
    ("Sunset beach set", "photo_set", 999),
    ("Behind the scenes vlog", "video", 1499),
    ("Red lace collection", "photo_set", 1999),
    ("Morning routine", "video", 1299),
    ("Poolside shoot", "photo_set", 1499),
    ("Cosplay special", "video", 2999),
    ("Gym session", "video", 999),
    ("Holiday bundle", "bundle", 3999),
    ("Voice note pack", "audio", 799),
    ("Mirror selfies", "photo_set", 599),
    ("Rainy day in", "video", 1799),
    ("Birthday special", "bundle", 4999),
]
FAN_LINES = [
    "hey gorgeous how was your day?",
    "just saw your new post 😍",
    "what are you up to tonight?",
    "you look amazing in the last set",
    "any new videos coming soon?",
    "had a long day at work lol",
    "good morning beautiful ☀️",
    "my dog Max says hi",
    "just got back from the gym",
    "thinking about you",
    "do you have anything special this week?",
    "loved the last video!!",
    "how's your weekend going?",
    "i'm watching the game tonight",
    "you always make my day better",
    "what's your favorite food?",
]
CREATOR_LINES = [
    "aww thank you babe 💕",
    "hey you! just finished a shoot, how are you?",
    "you're so sweet 🥰",
    "haha tell me more!",
    "something special is coming this week 😉",
    "good morning handsome ☀️",
]
SUBSCRIPTION_CENTS = 999
PROGRESS_EVERY = 100  # fans between two updates of the progress bar


@dataclass
class SeedResult:
    creator_id: str
    handle: str
    api_key: str
    fans: int
    messages: int
    transactions: int


def _uuid(rng: random.Random, handle: str) -> str:
    """Deterministic for (seed, handle); two handles seeded alike never share ids."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"huntaze:{handle}:{rng.getrandbits(128)}"))


def _local_evening(rng: random.Random, day: date, tz: ZoneInfo, peak: int) -> datetime:
    hour = min(23, max(0, int(rng.gauss(peak, 2.5))))
    local = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=tz)
    return local.astimezone(UTC)


def seed_business(
    url: str,
    *,
    fans: int = 2000,
    days: int = 180,
    seed: int = 42,
    until: date | None = None,
    handle: str | None = None,
    progress: Progress | None = None,
) -> SeedResult:
    """Create one creator and its history. Re-running with the same handle is refused (no duplicates).
    `progress` (core/progress.py) shows the steps on a terminal."""
    if fans < 1 or days < 1:
        raise ValueError("--fans and --days must be at least 1")
    rng = random.Random(seed)
    end = until or datetime.now(UTC).date()
    start = end - timedelta(days=days)
    handle = handle or f"demo-{seed}"
    creator_id = _uuid(rng, handle)
    member_id = _uuid(rng, handle)
    catalog_ids = [_uuid(rng, handle) for _ in CATALOG]
    fan_rows: list[tuple[object, ...]] = []
    msg_buf, txn_buf = io.StringIO(), io.StringIO()
    n_msg = n_txn = 0
    weights = [a[1] for a in ARCHETYPES]
    tz_names, tz_weights = zip(*TIMEZONES, strict=True)
    show = progress or terminal_progress(enabled=False)
    generating = show.add_task("generating the fans' history", total=fans)
    for i in range(fans):
        if i % PROGRESS_EVERY == 0:
            show.update(generating, completed=i)
        name, _, ppv_rate, tip_rate, tip_range, msg_rate, renew_p = rng.choices(ARCHETYPES, weights)[0]
        fan_id = _uuid(rng, handle)
        tz_name = rng.choices(tz_names, tz_weights)[0]
        tz = ZoneInfo(tz_name)
        peak = rng.choice([19, 20, 21, 22, 23, 13])
        join = start + timedelta(days=int(rng.random() ** 1.5 * days))
        # Subscription periods of 30 days; each renewal happens with the archetype's probability.
        active_until = join + timedelta(days=30)
        txns: list[tuple[str, int, str | None, datetime]] = [
            ("subscription", SUBSCRIPTION_CENTS, None, _local_evening(rng, join, tz, peak))
        ]
        while active_until <= end and rng.random() < renew_p:
            txns.append(("renewal", SUBSCRIPTION_CENTS, None, _local_evening(rng, active_until, tz, peak)))
            active_until += timedelta(days=30)
        status = "active" if active_until > end else "expired"
        last_day = min(end, active_until)
        span = max(1, (last_day - join).days)
        for _ in range(_poisson(rng, ppv_rate * span / 30)):
            k = rng.randrange(len(CATALOG))
            day = join + timedelta(days=rng.randrange(span))
            txns.append(("ppv", CATALOG[k][2], catalog_ids[k], _local_evening(rng, day, tz, peak)))
        for _ in range(_poisson(rng, tip_rate * span / 30)):
            day = join + timedelta(days=rng.randrange(span))
            txns.append(
                (
                    "tip",
                    rng.randrange(*tip_range) if tip_range[1] else 0,
                    None,
                    _local_evening(rng, day, tz, peak),
                )
            )
        for j, (kind, cents, cid, at) in enumerate(txns):
            if cents <= 0:
                continue
            cid_s = cid or "\\N"
            txn_buf.write(
                f"{creator_id}\t{fan_id}\t{kind}\t{cents}\t{cid_s}\tseed-{seed}-t{i}-{j}\t{at.isoformat()}\n"
            )
            n_txn += 1
        for d in range(span):
            if rng.random() >= msg_rate:
                continue
            day = join + timedelta(days=d)
            at = _local_evening(rng, day, tz, peak)
            msg_buf.write(
                f"{creator_id}\t{fan_id}\tin\t{rng.choice(FAN_LINES)}\tseed-{seed}-m{i}-{d}\t{at.isoformat()}\n"
            )
            n_msg += 1
            if rng.random() < 0.6:
                reply_at = at + timedelta(minutes=rng.randrange(3, 240))
                msg_buf.write(
                    f"{creator_id}\t{fan_id}\tout\t{rng.choice(CREATOR_LINES)}\tseed-{seed}-r{i}-{d}\t"
                    f"{reply_at.isoformat()}\n"
                )
                n_msg += 1
        joined_at = datetime.combine(join, time(12), tzinfo=UTC)
        expires = datetime.combine(active_until, time(12), tzinfo=UTC) if status == "expired" else None
        fan_rows.append(
            (
                fan_id,
                creator_id,
                f"fan-{seed}-{i:05d}",
                f"Fan {i:05d} ({name})",
                tz_name,
                status,
                joined_at,
                expires,
            )
        )
    show.update(generating, completed=fans)
    new = NewCreator(
        handle=handle,
        display_name="Mia Rose",
        timezone="America/New_York",
        persona="Playful, warm and flirty; uses a few emojis; remembers details fans share; never pushy about sales.",
        ppv_min_cents=500,
        ppv_max_cents=5000,
        policy_config={"forbidden_words": ["cheap", "discount code"]},
        creator_id=creator_id,
        owner_member_id=member_id,
    )
    loading = show.add_task("loading it into PostgreSQL", total=4)
    created = _run(
        _load(
            url,
            new,
            catalog_ids,
            fan_rows,
            txn_buf.getvalue(),
            msg_buf.getvalue(),
            step=lambda: show.advance(loading),
        )
    )
    # A bulk load leaves the planner's statistics and the visibility map behind until autovacuum notices; bring
    # them up to date now, so the first analytics query does not plan for empty tables (measured: 1.3 s instead
    # of milliseconds) and index-only scans need no heap visits.
    stats = show.add_task("updating the planner's statistics", total=1)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) fans, transactions, messages")
    show.advance(stats)
    return SeedResult(creator_id, handle, created.owner_key, fans, n_msg, n_txn)


async def _load(
    url: str,
    new: NewCreator,
    catalog_ids: list[str],
    fan_rows: list[tuple[object, ...]],
    txns: str,
    msgs: str,
    step: Callable[[], None] = lambda: None,
) -> creators.Created:
    """One transaction: the creator (through the same function as `huntaze creator create`), then its history."""
    async with await psycopg.AsyncConnection.connect(url, row_factory=dict_row) as conn, conn.transaction():
        try:
            created = await creators.create(conn, new)
        except creators.InvalidCreator as exc:
            field = "--handle" if exc.field == "handle" else exc.field
            raise ValueError(f"{field}: {exc.message}") from None
        for item_id, (title, kind, price) in zip(catalog_ids, CATALOG, strict=True):
            await catalog.insert(
                conn,
                created.creator_id,
                item_id=item_id,
                title=title,
                description=f"{title} ({kind.replace('_', ' ')})",
                media_kind=kind,
                price_cents=price,
                tags=[],
                platform_item_id=None,
            )
        step()
        async with conn.cursor() as cur:
            async with cur.copy(
                "COPY fans (id, creator_id, platform_fan_id, display_name, timezone, subscription_status,"
                " subscribed_at, expires_at) FROM STDIN"
            ) as cp:
                for row in fan_rows:
                    await cp.write_row(row)
            step()
            async with cur.copy(
                "COPY transactions (creator_id, fan_id, kind, amount_cents, catalog_id, platform_txn_id,"
                " occurred_at) FROM STDIN"
            ) as cp:
                await cp.write(txns)
            step()
            async with cur.copy(
                "COPY messages (creator_id, fan_id, direction, text, platform_message_id, sent_at) FROM STDIN"
            ) as cp:
                await cp.write(msgs)
            step()
    return created


T = TypeVar("T")


def _run(job: Coroutine[Any, Any, T]) -> T:
    """Run `job` to completion from synchronous code, also when the caller is itself inside an event loop (the
    demo, async tests): then on a thread of its own, which blocks the caller as the synchronous seed always did."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(job)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, job).result()


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method; lam here is small (a few events per fan)."""
    if lam <= 0:
        return 0
    limit, k, p = pow(2.718281828459045, -min(lam, 50)), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
