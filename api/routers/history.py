"""History import: JSON lines, each exactly a `POST /v1/events` body (validated by the same model), stored the way
the events endpoint stores them and never answered.

Used by `huntaze import` and `POST /v1/imports`. Lines go in batches, one transaction per batch, so a killed
import keeps every batch it committed, and a rerun counts those lines as duplicates (events are unique per
creator and `event_id`) and imports the rest. Each batch is written set-based, the same rows the live path
writes: the fans (created or renamed), then one statement for the events with their messages and payments, then
the fans' subscription state, then the refunds and chargebacks (checked in line order by the events endpoint's
own check). Kinds the batch writer does not know (today: an unlock naming the draft that offered it) go through
the events endpoint's own store function, one at a time in the same transaction, so a kind added to the events
model is imported as the live path stores it.

Imported events are marked dispatched and processed when stored: nothing wakes a conversation for them (no
draft, no follow-up, no send), and the same event posted later to `/v1/events` is a duplicate that wakes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from api.errors import ApiError
from api.routers.events import _TXN_KIND, ANOTHER_FANS_PAYMENT, EventIn, _store, money_back_problem
from core import db
from core.journal import record_action
from core.store import Conn, catalog, refunds
from core.types import MONEY_BACK_KINDS, EventKind

# A line longer than this is refused unread (an event body is a few hundred bytes; `text` is at most 4000
# characters).
MAX_LINE_BYTES = 64 * 1024
BATCH_LINES = 2000
_SUBSCRIPTION = (EventKind.SUBSCRIPTION_STARTED, EventKind.SUBSCRIPTION_RENEWED)
# What the batch writer stores itself; any other kind goes through the events endpoint's store, one at a time.
_BATCHED = frozenset(
    {EventKind.MESSAGE, EventKind.CREATOR_MESSAGE, EventKind.SUBSCRIPTION_EXPIRED, *_SUBSCRIPTION, *_TXN_KIND}
)
_QUOTED_FIELD = re.compile(r"'([a-z_]+)'")


@dataclass(frozen=True, slots=True)
class Rejected:
    """A line that was not imported: its number (from 1), the field at fault ('' for the line as a whole) and
    why."""

    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field or 'line'}: {self.reason}"


@dataclass
class ImportReport:
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    lines: int = 0  # lines read, blank ones included
    bytes_read: int = 0

    def summary(self) -> dict[str, int]:
        return {"imported": self.imported, "duplicates": self.duplicates, "rejected": self.rejected}


@dataclass
class _Batch:
    events: list[tuple[int, EventIn]] = field(default_factory=list)  # (line, event), in file order
    rejected: list[Rejected] = field(default_factory=list)

    def refuse(self, r: Rejected, report: ImportReport) -> None:
        self.rejected.append(r)
        report.rejected += 1


def _field_of(error: Any) -> str:
    loc = [str(p) for p in error.get("loc", ())]
    if loc:
        return ".".join(loc)
    # A rule across fields (the model's own check) names the field it is about in quotes.
    m = _QUOTED_FIELD.search(str(error.get("msg", "")))
    return m.group(1) if m else ""


def _nul_field(value: Any, path: str = "") -> str | None:
    """The first field holding a NUL character (Postgres stores none, in text or in jsonb)."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for k, v in value.items():
            found = _nul_field(v, f"{path}.{k}" if path else str(k))
            if found is not None:
                return found
    return None


def parse_line(number: int, raw: bytes, now: datetime) -> EventIn | Rejected:
    """One line as an event, or why it is refused. Imported events must say when they happened, in the past."""
    if len(raw) > MAX_LINE_BYTES:
        return Rejected(number, "", f"longer than {MAX_LINE_BYTES} bytes")
    try:
        ev = EventIn.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        return Rejected(number, _field_of(first), str(first["msg"]))
    if ev.occurred_at is None:
        return Rejected(number, "occurred_at", "required: an imported event says when it happened")
    if ev.occurred_at > now:
        return Rejected(number, "occurred_at", "is in the future: an import holds past events only")
    if b"\\u0000" in raw:
        bad = _nul_field(ev.model_dump(mode="json"))
        if bad is not None:
            return Rejected(number, bad, "text fields cannot contain NUL (\\u0000) characters")
    return ev


async def lines_of(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """Split a byte stream into lines without holding more than one line: a line growing past MAX_LINE_BYTES is
    cut there (and refused by parse_line for its length), the rest of it skipped."""
    buf = bytearray()
    skipping = False
    async for chunk in chunks:
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            piece = chunk[start:] if nl < 0 else chunk[start:nl]
            if not skipping:
                buf += piece
                if len(buf) > MAX_LINE_BYTES:
                    del buf[MAX_LINE_BYTES + 1 :]
                    skipping = True
            if nl < 0:
                break
            yield bytes(buf)
            buf.clear()
            skipping = False
            start = nl + 1
    if buf:
        yield bytes(buf)


async def _aiter(lines: Iterable[bytes]) -> AsyncIterator[bytes]:
    for line in lines:
        yield line


async def import_lines(
    creator_id: str,
    lines: AsyncIterable[bytes] | Iterable[bytes],
    *,
    on_reject: Callable[[Rejected], None],
    on_batch: Callable[[ImportReport], None] | None = None,
    batch_lines: int = BATCH_LINES,
) -> ImportReport:
    """Import JSON lines into the creator's history; each batch of `batch_lines` lines commits on its own, in
    file order, while the next batch is read and checked. Returns the counts; the refused lines of each batch go
    to `on_reject` in line order once the batch is written, then `on_batch` hears of progress."""
    report = ImportReport()
    now = datetime.now(UTC)
    stream = _aiter(lines) if isinstance(lines, Iterable) else lines
    batch = _Batch()
    writing: asyncio.Task[None] | None = None

    async def write(b: _Batch) -> None:
        if b.events:
            await _write_batch(creator_id, b, report)
        for r in sorted(b.rejected, key=lambda r: r.line):
            on_reject(r)
        if on_batch:
            on_batch(report)

    try:
        async for raw in stream:
            report.lines += 1
            report.bytes_read += len(raw) + 1
            if report.lines % 32 == 0:
                await asyncio.sleep(0)  # let the batch being written send its next statement
            raw = raw.rstrip(b"\r\n")
            if not raw.strip():
                continue
            parsed = parse_line(report.lines, raw, now)
            if isinstance(parsed, Rejected):
                batch.refuse(parsed, report)
                continue
            batch.events.append((report.lines, parsed))
            if len(batch.events) >= batch_lines:
                if writing is not None:
                    await writing  # one batch at a time, in order
                writing = asyncio.create_task(write(batch))
                batch = _Batch()
        if writing is not None:
            await writing
            writing = None
        await write(batch)
    except BaseException:
        if writing is not None and not writing.done():
            writing.cancel()  # its transaction rolls back: a rerun imports that batch
            with contextlib.suppress(BaseException):
                await writing
        raise
    return report


async def record_import(conn: Conn, creator_id: str, report: ImportReport, source: str) -> None:
    """The import in the actions feed (only when it stored something: a repeated import changes no row)."""
    if report.imported == 0:
        return
    await record_action(
        conn,
        creator_id=creator_id,
        kind="history_imported",
        summary=f"imported {report.imported} past events from {source}"
        f" ({report.duplicates} already stored, {report.rejected} refused)",
        details={**report.summary(), "source": source},
    )


@dataclass(frozen=True, slots=True)
class _Row:
    """A line on its way in, with the catalog item it names resolved (None when it names none)."""

    number: int
    ev: EventIn
    item_id: uuid.UUID | None = None


def _set_based(ev: EventIn) -> bool:
    # an unlock naming the draft that offered it is checked against that draft: the events endpoint's code does
    return ev.kind in _BATCHED and not (ev.kind == EventKind.PPV_UNLOCK and ev.offer_draft_id is not None)


async def _write_batch(creator_id: str, batch: _Batch, report: ImportReport) -> None:
    async with db.pool().connection() as conn, conn.transaction():
        fresh = await _new_events(conn, creator_id, batch, report)
        rows = await _resolve_items(conn, creator_id, fresh, batch, report)
        set_based = [r for r in rows if _set_based(r.ev)]
        if set_based:
            report.imported += await _write_set_based(conn, creator_id, set_based, report)
        money_back = [r for r in rows if r.ev.kind in MONEY_BACK_KINDS]
        if money_back:  # after the payments of the same batch they may give back
            report.imported += await _write_money_back(conn, creator_id, money_back, batch, report)
        for r in rows:
            if not _set_based(r.ev) and r.ev.kind not in MONEY_BACK_KINDS:
                await _write_one(conn, creator_id, r.number, r.ev, batch, report)


async def _new_events(
    conn: Conn, creator_id: str, batch: _Batch, report: ImportReport
) -> list[tuple[int, EventIn]]:
    """The events not stored yet. A repeated event_id is a duplicate, or refused when it names another kind
    (as `/v1/events` answers 409 event_id_reused)."""
    cur = await conn.execute(
        "SELECT platform_event_id, kind FROM events WHERE creator_id = %s AND platform_event_id = ANY(%s)",
        [creator_id, [ev.event_id for _, ev in batch.events]],
    )
    seen: dict[str, tuple[str, int | None]] = {
        r["platform_event_id"]: (r["kind"], None) for r in await cur.fetchall()
    }
    fresh = []
    for number, ev in batch.events:
        prior = seen.get(ev.event_id)
        if prior is None:
            seen[ev.event_id] = (ev.kind, number)
            fresh.append((number, ev))
        elif prior[0] == ev.kind:
            report.duplicates += 1
        else:
            where = f"on line {prior[1]}" if prior[1] is not None else "already stored"
            batch.refuse(
                Rejected(number, "event_id", f"already used for a {prior[0]} event ({where})"), report
            )
    return fresh


async def _resolve_items(
    conn: Conn, creator_id: str, events: list[tuple[int, EventIn]], batch: _Batch, report: ImportReport
) -> list[_Row]:
    """Each event with the catalog item it names, by our id or the platform's; an item this creator does not
    have refuses the line, naming the field (as `/v1/events` does)."""
    ids, by_platform = await catalog.resolve_many(
        conn,
        creator_id,
        catalog_ids={ev.catalog_id for _, ev in events if ev.catalog_id is not None},
        platform_item_ids={ev.platform_item_id for _, ev in events if ev.platform_item_id is not None},
    )
    rows = []
    for number, ev in events:
        if ev.catalog_id is not None:
            if ev.catalog_id not in ids:
                batch.refuse(Rejected(number, "catalog_id", "no such catalog item"), report)
                continue
            rows.append(_Row(number, ev, ev.catalog_id))
        elif ev.platform_item_id is not None:
            item = by_platform.get(ev.platform_item_id)
            if item is None:
                batch.refuse(Rejected(number, "platform_item_id", "no such catalog item"), report)
                continue
            rows.append(_Row(number, ev, item))
        else:
            rows.append(_Row(number, ev))
    return rows


# One statement per batch for the event rows and what they imply, the input sent once (binary parameters): the
# events (handled at once: dispatched and processed), then, from the rows actually inserted, the messages (the
# fan's in, the creator's own out) and the payments, an unlock attributed to the latest sent draft that offered
# its item to the fan, as the events endpoint does (a concurrent writer that stored an event first keeps its own
# rows). Rows go in by fan, so each fan's row is locked once for the key checks.
_INSERT = """
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
_DIRECTION = {EventKind.MESSAGE: "in", EventKind.CREATOR_MESSAGE: "out"}


def _payload(r: _Row) -> str:
    """The stored payload, as the events endpoint stores it: the body without the fan, `catalog_id` the item's
    id however the event named it."""
    ev = r.ev if r.ev.platform_item_id is None else r.ev.model_copy(update={"catalog_id": r.item_id})
    return ev.model_dump_json(exclude={"fan"})


async def _write_set_based(conn: Conn, creator_id: str, rows: list[_Row], report: ImportReport) -> int:
    """Store events of the kinds written set-based; returns how many were stored (a concurrent writer may have
    stored some since they were checked: those are duplicates)."""
    evs = [r.ev for r in rows]
    fan_ids = await _upsert_fans(conn, creator_id, evs)
    fan = [fan_ids[_fan_key(ev)] for ev in evs]
    paid = [ev.kind in _TXN_KIND and (ev.amount_cents or 0) > 0 for ev in evs]
    cid = uuid.UUID(creator_id)
    cur = await conn.execute(
        _INSERT,
        [
            fan,
            [ev.event_id for ev in evs],
            [str(ev.kind) for ev in evs],
            [_payload(r) for r in rows],
            [ev.occurred_at for ev in evs],
            [_DIRECTION.get(ev.kind) for ev in evs],
            [ev.text if ev.kind in _DIRECTION else None for ev in evs],
            [_TXN_KIND[ev.kind] if p else None for ev, p in zip(evs, paid, strict=True)],
            [ev.amount_cents if p else None for ev, p in zip(evs, paid, strict=True)],
            [r.item_id if p else None for r, p in zip(rows, paid, strict=True)],
            [ev.kind == EventKind.PPV_UNLOCK for ev in evs],
            cid,
            cid,
            cid,
            cid,
        ],
    )
    stored = {r["platform_event_id"] for r in await cur.fetchall()}
    report.duplicates += len(evs) - len(stored)
    return len(stored)


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


async def _write_money_back(
    conn: Conn, creator_id: str, rows: list[_Row], batch: _Batch, report: ImportReport
) -> int:
    """Refunds and chargebacks, checked in line order as `/v1/events` checks each (the payment named exists, is
    this fan's, has that much left, counting what earlier lines gave back), then stored set-based."""
    evs = [r.ev for r in rows]
    fan_ids = await _upsert_fans(conn, creator_id, evs)
    by_event, by_platform = await refunds.originals_for_update(
        conn,
        creator_id,
        event_ids=[ev.original_id for ev in evs if ev.original_id is not None],
        platform_event_ids=[ev.original_event_id for ev in evs if ev.original_event_id is not None],
    )
    # a payment on a later line of this batch is not there yet for the lines before it
    line_of = {ev.event_id: number for number, ev in batch.events}
    returned: dict[int, int] = {}  # what this batch gives back, by transaction
    kept: list[tuple[_Row, int, int]] = []  # (row, transaction id, cents back)
    for r in rows:
        ev = r.ev
        if ev.original_id is not None:
            orig = by_event.get(ev.original_id)
        else:
            assert ev.original_event_id is not None  # EventIn requires one of the two
            orig = by_platform.get(ev.original_event_id)
            if orig is not None and line_of.get(ev.original_event_id, 0) > r.number:
                orig = None
        if orig is not None:
            orig = dataclasses.replace(orig, returned_cents=orig.returned_cents + returned.get(orig.id, 0))
        problem = money_back_problem(ev, orig)
        if problem is not None:
            [bad] = problem.details["fields"]
            batch.refuse(Rejected(r.number, bad["field"], bad["message"]), report)
            continue
        assert orig is not None  # money_back_problem names a missing one
        if orig.fan_id != str(fan_ids[_fan_key(ev)]):
            batch.refuse(Rejected(r.number, "fan", ANOTHER_FANS_PAYMENT), report)
            continue
        cents = ev.amount_cents or orig.refundable_cents
        returned[orig.id] = returned.get(orig.id, 0) + cents
        kept.append((r, orig.id, cents))
    if not kept:
        return 0
    cid = uuid.UUID(creator_id)
    cur = await conn.execute(
        _INSERT_MONEY_BACK,
        [
            [fan_ids[_fan_key(r.ev)] for r, _, _ in kept],
            [r.ev.event_id for r, _, _ in kept],
            [str(r.ev.kind) for r, _, _ in kept],
            [_payload(r) for r, _, _ in kept],
            [r.ev.occurred_at for r, _, _ in kept],
            [t for _, t, _ in kept],
            [c for _, _, c in kept],
            cid,
            cid,
        ],
    )
    stored = len(await cur.fetchall())
    report.duplicates += len(kept) - stored
    return stored


def _fan_key(ev: EventIn) -> tuple[str, str]:
    return (str(ev.fan.platform), ev.fan.platform_fan_id)


async def _upsert_fans(
    conn: Conn, creator_id: str, events: list[EventIn]
) -> dict[tuple[str, str], uuid.UUID]:
    """Each fan's id, the fan created on first sight, and what these events (in order) leave on the fan's row, as
    the live path leaves it: a name or timezone given replaces the stored one (`fans.upsert`); a subscription
    makes the fan active and the first one's time is kept, an expiry makes it expired at that time
    (`fans.mark_subscribed`, `fans.mark_expired`). A new fan is inserted with all of it, and a row whose values
    would not change is not touched: every extra row version slows the key checks of the next batch's rows."""
    names: dict[tuple[str, str], str | None] = {}
    zones: dict[tuple[str, str], str | None] = {}
    status: dict[tuple[str, str], str] = {}
    since: dict[tuple[str, str], datetime] = {}
    expired: dict[tuple[str, str], datetime] = {}
    for ev in events:
        key = _fan_key(ev)
        names.setdefault(key, None)
        zones.setdefault(key, None)
        if ev.fan.display_name:
            names[key] = ev.fan.display_name
        if ev.fan.timezone is not None:
            zones[key] = ev.fan.timezone
        assert ev.occurred_at is not None  # parse_line requires it
        if ev.kind in _SUBSCRIPTION:
            status[key] = "active"
            since.setdefault(key, ev.occurred_at)
        elif ev.kind == EventKind.SUBSCRIPTION_EXPIRED:
            status[key] = "expired"
            expired[key] = ev.occurred_at
    keys = sorted(names)  # one lock order for every writer
    arrays = [
        [k[0] for k in keys],
        [k[1] for k in keys],
        [names[k] for k in keys],
        [zones[k] for k in keys],
        [status.get(k) for k in keys],
        [since.get(k) for k in keys],
        [expired.get(k) for k in keys],
    ]
    values = (
        " FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::timestamptz[],"
        " %s::timestamptz[]) AS u(platform, key, name, tz, status, since, expired)"
    )
    await conn.execute(
        "INSERT INTO fans (creator_id, platform, platform_fan_id, display_name, timezone, subscription_status,"
        " subscribed_at, expires_at)"
        " SELECT %s, u.platform, u.key, coalesce(u.name, ''), coalesce(u.tz, 'UTC'), coalesce(u.status, 'none'),"
        " u.since, u.expired" + values + " ON CONFLICT (creator_id, platform, platform_fan_id) DO NOTHING",
        [creator_id, *arrays],
    )
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
    return {(r["platform"], r["platform_fan_id"]): r["id"] for r in await cur.fetchall()}


async def _write_one(
    conn: Conn,
    creator_id: str,
    number: int,
    ev: EventIn,
    batch: _Batch,
    report: ImportReport,
) -> None:
    """An event of a kind the batch writer does not know: stored by the events endpoint's own code, then marked
    handled so nothing answers it."""
    try:
        async with conn.transaction():
            row, created = await _store(conn, creator_id, ev, announce=False)
            if created:
                await conn.execute(
                    "UPDATE events SET dispatched_at = now(), processed_at = now() WHERE creator_id = %s AND id = %s",
                    [creator_id, row["id"]],
                )
    except ApiError as exc:
        fields = (exc.details or {}).get("fields") if isinstance(exc.details, dict) else None
        name = fields[0]["field"] if fields else ""
        reason = fields[0]["message"] if fields else exc.message
        batch.refuse(Rejected(number, name, reason), report)
        return
    if created:
        report.imported += 1
    else:
        report.duplicates += 1
