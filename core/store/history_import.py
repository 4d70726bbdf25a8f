"""The SQL of a history import (api/routers/history.py): a batch of past events written set-based, the same rows
the live path writes (events, fans, messages, transactions, refunds), each statement scoped to one creator.

Each function runs in the caller's transaction (one per batch). Arrays go as binary parameters, the input sent
once per statement."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from psycopg import postgres, sql
from psycopg.abc import Buffer
from psycopg.adapt import Dumper
from psycopg.pq import Format

from core.store import Conn, Id


class FanState(NamedTuple):
    """What a batch's events leave on a fan's row: a name or timezone given (None: keep the stored one), the
    subscription state (None: keep it), the first subscription's time and the last expiry (None: none seen)."""

    platform: str
    platform_fan_id: str
    display_name: str | None
    timezone: str | None
    status: str | None
    subscribed_at: datetime | None
    expires_at: datetime | None


class EventRow(NamedTuple):
    """An event of the batch with the message (`direction` and `text`) and the payment (`txn_kind`,
    `amount_cents`, `catalog_id`) it implies; `unlock`: attribute the payment to the latest sent draft that
    offered its item to the fan."""

    fan_id: uuid.UUID
    event_id: str
    kind: str
    payload: str
    occurred_at: datetime
    direction: str | None
    text: str | None
    txn_kind: str | None
    amount_cents: int | None
    catalog_id: uuid.UUID | None
    unlock: bool


class NewBatch(NamedTuple):
    """A batch taken to be all new (see `copy_new_batch`), as columns: `event_ids` every event id of the
    batch; `fans` the fans of its lines in the state they leave them (FanState fields, one list each); then one
    list per column of the events written set-based, in line order, `fan` the 1-based position of the event's
    fan in `fans`, `catalog_ref`/`item_ref` the item named by our id or by the platform's (the payload of an
    event naming it by the platform's id gains `catalog_id`), and `txn_kind`, `amount_cents`, `unlock` as in
    EventRow."""

    event_ids: list[str]
    fans: tuple[
        list[str],
        list[str],
        list[str | None],
        list[str | None],
        list[str | None],
        list[datetime | None],
        list[datetime | None],
    ]
    fan: list[int]
    event_id: list[str]
    kind: list[str]
    payload: list[str]
    occurred_at: list[datetime]
    direction: list[str | None]
    text: list[str | None]
    txn_kind: list[str | None]
    amount_cents: list[int | None]
    catalog_ref: list[uuid.UUID | None]
    item_ref: list[str | None]
    unlock: list[bool]


class NewBatchResult(NamedTuple):
    """`ok`: the batch was all new and written (else nothing was written); `stored`: events stored; `missed`:
    the 0-based positions of set-based events not stored (a concurrent writer created their fan after this
    statement's snapshot); `new_fans`: fans created; `fan_ids`: each fan's id (None: created by a concurrent
    writer after the snapshot), in the order of `NewBatch.fans`."""

    ok: bool
    stored: int
    missed: list[int]
    new_fans: int
    fan_ids: list[uuid.UUID | None]


class MoneyBackRow(NamedTuple):
    """A refund or chargeback that passed its checks: the money back on `transaction_id`."""

    fan_id: uuid.UUID
    event_id: str
    kind: str
    payload: str
    occurred_at: datetime
    transaction_id: int
    amount_cents: int


async def stored_kinds(conn: Conn, creator_id: Id, event_ids: list[str]) -> dict[str, str]:
    """The kind of each of these platform event ids the creator already has."""
    cur = await conn.execute(
        "SELECT platform_event_id, kind FROM events WHERE creator_id = %s AND platform_event_id = ANY(%s)",
        [creator_id, event_ids],
    )
    return {r["platform_event_id"]: r["kind"] for r in await cur.fetchall()}


async def upsert_fans(
    conn: Conn, creator_id: Id, fans: list[FanState]
) -> tuple[dict[tuple[str, str], uuid.UUID], int]:
    """Each fan's id by (platform, platform_fan_id), and how many fans are new: a new fan inserted with its
    state, a stored one updated only when its values change (every extra row version slows the key checks of the
    next batch's rows). The fans go in one order (platform, platform_fan_id) so concurrent writers lock them
    alike."""
    fans = sorted(fans, key=lambda f: (f.platform, f.platform_fan_id))
    arrays = [
        [f.platform for f in fans],
        [f.platform_fan_id for f in fans],
        [f.display_name for f in fans],
        [f.timezone for f in fans],
        [f.status for f in fans],
        [f.subscribed_at for f in fans],
        [f.expires_at for f in fans],
    ]
    values = (
        " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::timestamptz[],"
        " %s::timestamptz[]) AS u(platform, key, name, tz, status, since, expired)"
    )
    cur = await conn.execute(
        "INSERT INTO fans (creator_id, platform, platform_fan_id, display_name, timezone, subscription_status,"
        " subscribed_at, expires_at)"
        " SELECT %s, u.platform, u.key, coalesce(u.name, ''), coalesce(u.tz, 'UTC'), coalesce(u.status, 'none'),"
        " u.since, u.expired" + values + " ON CONFLICT (creator_id, platform, platform_fan_id) DO NOTHING",
        [creator_id, *arrays],
    )
    created = cur.rowcount
    await conn.execute(
        "UPDATE fans f SET display_name = coalesce(u.name, f.display_name), timezone = coalesce(u.tz, f.timezone),"
        " subscription_status = coalesce(u.status, f.subscription_status),"
        " subscribed_at = coalesce(f.subscribed_at, u.since), expires_at = coalesce(u.expired, f.expires_at)"
        + values
        + " WHERE f.creator_id = %s AND f.platform = u.platform AND f.platform_fan_id = u.key"
        " AND (coalesce(u.name, f.display_name), coalesce(u.tz, f.timezone), coalesce(u.status, f.subscription_status),"
        "   coalesce(f.subscribed_at, u.since), coalesce(u.expired, f.expires_at))"
        "   IS DISTINCT FROM (f.display_name, f.timezone, f.subscription_status, f.subscribed_at, f.expires_at)",
        [*arrays, creator_id],
    )
    cur = await conn.execute(
        "SELECT platform, platform_fan_id, id FROM fans WHERE creator_id = %s"
        " AND (platform, platform_fan_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
        [creator_id, *arrays[:2]],
    )
    return {(r["platform"], r["platform_fan_id"]): r["id"] for r in await cur.fetchall()}, created


async def begin_batch(conn: Conn) -> None:
    """Settings for the rest of a batch's transaction, in one round trip.

    Plan as if every page were in memory (random_page_cost 1.1, PostgreSQL's advice for data in RAM or on SSD):
    the foreign-key checks of each inserted row then look the fan up by its key instead of scanning the table
    while it has a few pages, the size of a new creator's fans.

    Commit without waiting for the WAL to reach the disk (synchronous_commit off, this transaction only). Safe
    here: a batch is atomic either way (a server crash can lose the last batches committed, never half of one),
    the import is idempotent on event_id and resumable (a rerun imports what is missing and counts the rest as
    duplicates), and the import's closing transaction (recording it in the actions feed) commits synchronously,
    which makes every batch before it durable too."""
    await conn.execute(
        "SELECT set_config('random_page_cost', '1.1', true), set_config('synchronous_commit', 'off', true)"
    )


async def analyze_fans_if_grown(conn: Conn, created: int) -> None:
    """Refresh the fans table's statistics when `created` new fans are many next to those the statistics know
    (never analyzed, or more than a tenth more, autovacuum's own rule, which it applies up to a minute later):
    without them the key check of every following row scans all of a creator's fans instead of finding one.
    Other backends replan at commit, this one at once. A role that does not own the table is told so in a
    warning and goes on unchanged."""
    cur = await conn.execute("SELECT reltuples FROM pg_class WHERE oid = 'fans'::regclass")
    row = await cur.fetchone()
    known = row["reltuples"] if row else -1
    if known < 0 or created > 50 + 0.1 * known:
        await conn.execute("ANALYZE fans")


# One statement per batch for the event rows and what they imply: the events (handled at once: dispatched and
# processed), then, from the rows actually inserted, the messages (the fan's in, the creator's own out) and the
# payments, an unlock attributed to the latest sent draft that offered its item to the fan, as the events
# endpoint does (a concurrent writer that stored an event first keeps its own rows). Rows go in by fan, so each
# fan's row is locked once for the key checks.
_INSERT_EVENTS = """
WITH u AS (
  SELECT * FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::text[], %b::timestamptz[], %b::text[], %b::text[],
    %b::text[], %b::int[], %b::uuid[], %b::bool[]) WITH ORDINALITY
    AS u(fan_id, event_id, kind, payload, occurred_at, direction, text, txn_kind, amount, catalog_id, unlock, n)
), e AS (
  INSERT INTO events (creator_id, fan_id, platform_event_id, kind, payload, occurred_at, dispatched_at, processed_at)
  SELECT %b::uuid, fan_id, event_id, kind, payload::jsonb, occurred_at, now(), now() FROM u ORDER BY fan_id, n
  ON CONFLICT (creator_id, platform_event_id) DO NOTHING RETURNING id, platform_event_id
), m AS (
  INSERT INTO messages (creator_id, fan_id, direction, text, platform_message_id, event_id, sent_at)
  SELECT %b::uuid, u.fan_id, u.direction, u.text, u.event_id, e.id, u.occurred_at
  FROM e JOIN u ON u.event_id = e.platform_event_id WHERE u.direction IS NOT NULL ORDER BY u.fan_id, u.n
  ON CONFLICT (creator_id, platform_message_id) DO NOTHING
), t AS (
  INSERT INTO transactions (creator_id, fan_id, kind, amount_cents, catalog_id, offer_draft_id, event_id,
    platform_txn_id, occurred_at)
  SELECT %b::uuid, u.fan_id, u.txn_kind, u.amount, u.catalog_id,
    CASE WHEN u.unlock THEN (SELECT d.id FROM drafts d WHERE d.creator_id = %b::uuid AND d.fan_id = u.fan_id
      AND d.status = 'sent' AND d.offer ->> 'catalog_id' = u.catalog_id::text ORDER BY d.updated_at DESC LIMIT 1)
    END,
    e.id, u.event_id, u.occurred_at
  FROM e JOIN u ON u.event_id = e.platform_event_id WHERE u.txn_kind IS NOT NULL ORDER BY u.fan_id, u.n
  ON CONFLICT (creator_id, platform_txn_id) DO NOTHING
)
SELECT platform_event_id FROM e
"""


async def insert_events(conn: Conn, creator_id: Id, rows: list[EventRow]) -> set[str]:
    """Store the events with their messages and payments; returns the event ids stored (one a concurrent writer
    stored first is not: a duplicate)."""
    cid = uuid.UUID(str(creator_id))
    cur = await conn.execute(
        _INSERT_EVENTS,
        [
            [r.fan_id for r in rows],
            [r.event_id for r in rows],
            [r.kind for r in rows],
            [r.payload for r in rows],
            [r.occurred_at for r in rows],
            [r.direction for r in rows],
            [r.text for r in rows],
            [r.txn_kind for r in rows],
            [r.amount_cents for r in rows],
            [r.catalog_id for r in rows],
            [r.unlock for r in rows],
            cid,
            cid,
            cid,
            cid,
        ],
    )
    return {r["platform_event_id"] for r in await cur.fetchall()}


# Refunds and chargebacks that passed their checks: the events (handled at once) and the money back.
_INSERT_MONEY_BACK = """
WITH u AS (
  SELECT * FROM unnest(%b::uuid[], %b::text[], %b::text[], %b::text[], %b::timestamptz[], %b::bigint[], %b::int[])
    AS u(fan_id, event_id, kind, payload, occurred_at, transaction_id, amount)
), e AS (
  INSERT INTO events (creator_id, fan_id, platform_event_id, kind, payload, occurred_at, dispatched_at, processed_at)
  SELECT %b::uuid, fan_id, event_id, kind, payload::jsonb, occurred_at, now(), now() FROM u
  ON CONFLICT (creator_id, platform_event_id) DO NOTHING RETURNING id, platform_event_id
), r AS (
  INSERT INTO refunds (creator_id, fan_id, kind, transaction_id, amount_cents, event_id, occurred_at)
  SELECT %b::uuid, u.fan_id, u.kind, u.transaction_id, u.amount, e.id, u.occurred_at
  FROM e JOIN u ON u.event_id = e.platform_event_id
)
SELECT platform_event_id FROM e
"""


async def insert_money_back(conn: Conn, creator_id: Id, rows: list[MoneyBackRow]) -> int:
    """Store the refunds and chargebacks with their events; returns how many were stored."""
    cid = uuid.UUID(str(creator_id))
    cur = await conn.execute(
        _INSERT_MONEY_BACK,
        [
            [r.fan_id for r in rows],
            [r.event_id for r in rows],
            [r.kind for r in rows],
            [r.payload for r in rows],
            [r.occurred_at for r in rows],
            [r.transaction_id for r in rows],
            [r.amount_cents for r in rows],
            cid,
            cid,
        ],
    )
    return len(await cur.fetchall())


async def mark_handled(conn: Conn, creator_id: Id, event_id: int) -> None:
    """An event stored by the live path's code, marked dispatched and processed: nothing answers it."""
    await conn.execute(
        "UPDATE events SET dispatched_at = now(), processed_at = now() WHERE creator_id = %s AND id = %s",
        [creator_id, event_id],
    )


# A batch of which no event is stored yet and every item named exists: this statement checks that (no event of
# the batch stored, every item named there), writes the fans (created with their state, or updated when it changes,
# as upsert_fans), and answers what the rows copied next need: each fan's id, each platform item's id, the event
# ids (drawn from the events' identity), the transaction's time (the events' handled time, as now() would store it)
# and, when the batch has unlocks, the latest sent draft that offered each item to each of its fans. When the
# batch is not all new, it writes nothing and `ok` is false: the caller then writes it step by step.
# Data-modifying CTEs see the same snapshot, so the fans this statement creates come back through `nf`'s RETURNING;
# a fan a concurrent writer created after the snapshot has no id here (its events are written step by step).
_PREPARE_NEW_BATCH = """
WITH f AS (
  SELECT * FROM unnest(%(f_platform)b::text[], %(f_key)b::text[], %(f_name)b::text[], %(f_tz)b::text[],
    %(f_status)b::text[], %(f_since)b::timestamptz[], %(f_expired)b::timestamptz[]) WITH ORDINALITY
    AS f(platform, key, name, tz, status, since, expired, i)
), items AS (
  SELECT p.i, c.id FROM unnest(%(item_refs)b::text[]) WITH ORDINALITY AS p(ref, i)
  JOIN catalog c ON c.creator_id = %(c)b AND c.platform_item_id = p.ref
), ok AS (
  SELECT NOT EXISTS (SELECT 1 FROM events WHERE creator_id = %(c)b AND platform_event_id = ANY(%(event_ids)b::text[]))
    AND (SELECT count(*) FROM catalog WHERE creator_id = %(c)b AND id = ANY(%(catalog_refs)b::uuid[]))
      = cardinality(%(catalog_refs)b::uuid[])
    AND (SELECT count(*) FROM items) = cardinality(%(item_refs)b::text[])
    AS ok
), nf AS (
  INSERT INTO fans (creator_id, platform, platform_fan_id, display_name, timezone, subscription_status,
    subscribed_at, expires_at)
  SELECT %(c)b, f.platform, f.key, coalesce(f.name, ''), coalesce(f.tz, 'UTC'), coalesce(f.status, 'none'), f.since,
    f.expired
  FROM f WHERE (SELECT ok FROM ok) ORDER BY f.platform, f.key
  ON CONFLICT (creator_id, platform, platform_fan_id) DO NOTHING RETURNING platform, platform_fan_id, id
), uf AS (
  UPDATE fans x SET display_name = coalesce(f.name, x.display_name), timezone = coalesce(f.tz, x.timezone),
    subscription_status = coalesce(f.status, x.subscription_status),
    subscribed_at = coalesce(x.subscribed_at, f.since), expires_at = coalesce(f.expired, x.expires_at)
  FROM f WHERE (SELECT ok FROM ok) AND x.creator_id = %(c)b AND x.platform = f.platform AND x.platform_fan_id = f.key
    AND (coalesce(f.name, x.display_name), coalesce(f.tz, x.timezone), coalesce(f.status, x.subscription_status),
      coalesce(x.subscribed_at, f.since), coalesce(f.expired, x.expires_at))
      IS DISTINCT FROM (x.display_name, x.timezone, x.subscription_status, x.subscribed_at, x.expires_at)
), fid AS (
  SELECT f.i, coalesce(nf.id, x.id) AS id FROM f
  LEFT JOIN nf ON nf.platform = f.platform AND nf.platform_fan_id = f.key
  LEFT JOIN fans x ON x.creator_id = %(c)b AND x.platform = f.platform AND x.platform_fan_id = f.key
), seq AS MATERIALIZED (
  SELECT pg_get_serial_sequence('events', 'id')::regclass AS seq
), d AS (
  SELECT DISTINCT ON (d.fan_id, d.offer ->> 'catalog_id') d.fan_id, d.offer ->> 'catalog_id' AS item, d.id
  FROM drafts d
  WHERE %(unlocks)b AND (SELECT ok FROM ok) AND d.creator_id = %(c)b AND d.status = 'sent'
    AND d.offer ->> 'catalog_id' IS NOT NULL AND d.fan_id IN (SELECT id FROM fid)
  ORDER BY d.fan_id, d.offer ->> 'catalog_id', d.updated_at DESC
)
SELECT (SELECT ok FROM ok) AS ok, now() AS now,
  (SELECT count(*) FROM nf) AS new_fans, (SELECT array_agg(fid.id ORDER BY fid.i) FROM fid) AS fan_ids,
  (SELECT array_agg(items.id ORDER BY items.i) FROM items) AS item_ids,
  (SELECT array_agg(nextval(seq.seq)) FROM seq, generate_series(1, %(rows)b::int) WHERE (SELECT ok FROM ok))
    AS event_ids,
  (SELECT array_agg(d.fan_id) FROM d) AS draft_fans, (SELECT array_agg(d.item) FROM d) AS draft_items,
  (SELECT array_agg(d.id) FROM d) AS drafts
"""

_EVENT_COLUMNS = (
    ("id", "int8"),
    ("creator_id", "uuid"),
    ("fan_id", "uuid"),
    ("platform_event_id", "text"),
    ("kind", "text"),
    ("payload", "jsonb"),
    ("occurred_at", "timestamptz"),
    ("dispatched_at", "timestamptz"),
    ("processed_at", "timestamptz"),
)
_MESSAGE_COLUMNS = (
    ("creator_id", "uuid"),
    ("fan_id", "uuid"),
    ("direction", "text"),
    ("text", "text"),
    ("platform_message_id", "text"),
    ("event_id", "int8"),
    ("sent_at", "timestamptz"),
)
_TRANSACTION_COLUMNS = (
    ("creator_id", "uuid"),
    ("fan_id", "uuid"),
    ("kind", "text"),
    ("amount_cents", "int4"),
    ("catalog_id", "uuid"),
    ("offer_draft_id", "uuid"),
    ("event_id", "int8"),
    ("platform_txn_id", "text"),
    ("occurred_at", "timestamptz"),
)


class _AsIs(Dumper):
    """A value already in PostgreSQL's binary format (bytes), sent as it is: a uuid's 16 bytes, a jsonb's version
    byte and text. The copies below send the same creator, fans and items thousands of times: converted once."""

    format = Format.BINARY

    def dump(self, obj: Any) -> Buffer | None:
        return obj  # type: ignore[no-any-return]


class _UuidAsIs(_AsIs):
    oid = postgres.types["uuid"].oid


class _JsonbAsIs(_AsIs):
    oid = postgres.types["jsonb"].oid


def _uuid(value: uuid.UUID | None) -> bytes | None:
    return value.bytes if value is not None else None


def _jsonb(text: str) -> bytes:
    return b"\x01" + text.encode()


async def _copy(
    conn: Conn, table: str, columns: tuple[tuple[str, str], ...], rows: Iterable[tuple[Any, ...]]
) -> None:
    """`rows` into `table` by COPY FROM STDIN in binary (uuid and jsonb values as their binary bytes): no statement
    to plan, nothing to parse but the payloads' JSON, rows written in bulk; they are built while they are sent, so
    PostgreSQL stores the first while the next are made. A row breaking a unique key raises (UniqueViolation), as
    an INSERT would."""
    names = sql.SQL(", ").join(sql.Identifier(n) for n, _ in columns)
    async with conn.cursor() as cur:
        cur.adapters.register_dumper(None, _UuidAsIs)
        cur.adapters.register_dumper(None, _JsonbAsIs)
        async with cur.copy(
            sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(sql.Identifier(table), names)
        ) as copy:
            copy.set_types([t for _, t in columns])
            for row in rows:
                await copy.write_row(row)


async def copy_new_batch(conn: Conn, creator_id: Id, batch: NewBatch) -> NewBatchResult:
    """Write a batch that is all new: its fans by one statement (_PREPARE_NEW_BATCH), then its events, messages
    and payments by COPY, each event's payload naming its item's id however the line named it, an unlock
    attributed to the latest sent draft that offered its item to the fan (as the events endpoint does). `ok`
    false: the batch was not all new, and nothing was written. Raises psycopg.errors.UniqueViolation when a row
    is stored already (a concurrent writer stored it since the check, or a message was stored under the same
    platform id by another path; the transaction is then aborted)."""
    c = uuid.UUID(str(creator_id))
    f_platform, f_key, f_name, f_tz, f_status, f_since, f_expired = batch.fans
    item_refs = list(dict.fromkeys(r for r in batch.item_ref if r is not None))
    cur = await conn.execute(
        _PREPARE_NEW_BATCH,
        {
            "c": c,
            "event_ids": batch.event_ids,
            "catalog_refs": list({r for r in batch.catalog_ref if r is not None}),
            "item_refs": item_refs,
            "unlocks": any(batch.unlock),
            "rows": len(batch.event_id),
            "f_platform": f_platform,
            "f_key": f_key,
            "f_name": f_name,
            "f_tz": f_tz,
            "f_status": f_status,
            "f_since": f_since,
            "f_expired": f_expired,
        },
    )
    row = await cur.fetchone()
    assert row is not None
    if not row["ok"]:
        return NewBatchResult(ok=False, stored=0, missed=[], new_fans=0, fan_ids=[])
    fan_ids: list[uuid.UUID | None] = row["fan_ids"] or []
    fans = [
        f.bytes if f is not None else None for f in fan_ids
    ]  # by position in batch.fans, 1-based in batch.fan
    by_ref = dict(zip(item_refs, row["item_ids"] or [], strict=True))
    drafts = dict(
        zip(
            zip(row["draft_fans"] or [], row["draft_items"] or [], strict=True),
            row["drafts"] or [],
            strict=True,
        )
    )
    ids: list[int] = row["event_ids"]
    now = row["now"]
    cb = c.bytes
    # The events stored (a fan created by a concurrent writer after this transaction's snapshot has no id here:
    # its events are `missed`, for the caller to write step by step); each one's item, however the line named it.
    stored = [i for i, f in enumerate(batch.fan) if fans[f - 1] is not None]
    missed = [i for i, f in enumerate(batch.fan) if fans[f - 1] is None]
    items = [
        ref if item_ref is None else by_ref[item_ref]
        for ref, item_ref in zip(batch.catalog_ref, batch.item_ref, strict=True)
    ]

    def payload(i: int) -> bytes:
        if batch.item_ref[i] is None:
            return _jsonb(batch.payload[i])
        body = json.loads(batch.payload[i])
        body["catalog_id"] = str(items[i])
        return _jsonb(json.dumps(body))

    await _copy(
        conn,
        "events",
        _EVENT_COLUMNS,
        (
            (
                ids[i],
                cb,
                fans[batch.fan[i] - 1],
                batch.event_id[i],
                batch.kind[i],
                payload(i),
                batch.occurred_at[i],
                now,
                now,
            )
            for i in stored
        ),
    )
    await _copy(
        conn,
        "messages",
        _MESSAGE_COLUMNS,
        (
            (
                cb,
                fans[batch.fan[i] - 1],
                batch.direction[i],
                batch.text[i],
                batch.event_id[i],
                ids[i],
                batch.occurred_at[i],
            )
            for i in stored
            if batch.direction[i] is not None
        ),
    )

    def draft(i: int) -> bytes | None:
        item = items[i]
        if not batch.unlock[i] or item is None:
            return None
        return _uuid(drafts.get((fan_ids[batch.fan[i] - 1], str(item))))

    await _copy(
        conn,
        "transactions",
        _TRANSACTION_COLUMNS,
        (
            (
                cb,
                fans[batch.fan[i] - 1],
                batch.txn_kind[i],
                batch.amount_cents[i],
                _uuid(items[i]),
                draft(i),
                ids[i],
                batch.event_id[i],
                batch.occurred_at[i],
            )
            for i in stored
            if batch.txn_kind[i] is not None
        ),
    )
    return NewBatchResult(
        ok=True, stored=len(stored), missed=missed, new_fans=int(row["new_fans"]), fan_ids=fan_ids
    )
