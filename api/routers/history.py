"""History import: JSON lines, each exactly a `POST /v1/events` body (validated by the same model), stored the way
the events endpoint stores them and never answered.

Used by `huntaze import` and `POST /v1/imports`. Lines go in batches, one transaction per batch, so a killed
import keeps every batch it committed, and a rerun counts those lines as duplicates (events are unique per
creator and `event_id`) and imports the rest. Each batch is written set-based, the same rows the live path
writes (the statements: core/store/history_import.py). A batch that is all new (no event stored yet, every item
named there) is built while the batch before is written, and goes in by one statement for the fans (created,
renamed, their subscription state) and by COPY for the events, their messages and payments. Any other batch goes
step by step: which lines are new, their items, the fans, then one statement for the events with their messages
and payments. Then the refunds and chargebacks (checked in line order by the events endpoint's own check). Kinds
the batch writer does not know (today: an unlock naming the draft that offered it) go through the events
endpoint's own store function, one at a time in the same transaction, so a kind added to the events model is
imported as the live path stores it.

Imported events are marked dispatched and processed when stored: nothing wakes a conversation for them (no
draft, no follow-up, no send), and the same event posted later to `/v1/events` is a duplicate that wakes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import json
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from psycopg.errors import UniqueViolation
from pydantic import ValidationError

from api.errors import ApiError
from api.routers.events import _TXN_KIND, ANOTHER_FANS_PAYMENT, EventIn, _store, money_back_problem
from core import db
from core.journal import record_action
from core.store import Conn, catalog, refunds
from core.store import history_import as store
from core.types import MONEY_BACK_KINDS, EventKind

# A line longer than this is refused unread (an event body is a few hundred bytes; `text` is at most 4000
# characters).
MAX_LINE_BYTES = 64 * 1024
BATCH_LINES = 2000
# Lines read and checked between two chances for the batch being written to answer PostgreSQL (a line takes some
# 20 µs): PostgreSQL waits that long at most for the next statement of a batch (docs/benchmarks.md#import).
_YIELD_LINES = 8
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
    # the stored payload of each line whose payload does not depend on the database (written while the batch
    # before is being written, so the writer has less to do between its statements)
    payloads: dict[int, str] = field(default_factory=dict)
    # The batch as the columns that write it when it is all new (store.copy_new_batch), built line by
    # line while the batch before is being written. `fast` turns false when the batch cannot be written so (an
    # event_id twice in it, an unlock naming its draft and an item): it is then written step by step.
    fast: bool = True
    event_ids: dict[str, None] = field(default_factory=dict)  # every event id, in line order
    lines: list[int] = field(default_factory=list)  # the line of each set-based event
    rows: list[tuple[Any, ...]] = field(
        default_factory=list
    )  # each set-based event's columns (store.NewBatch)
    fans: list[list[Any]] = field(default_factory=list)  # each fan's FanState fields, as the lines leave them
    fan_index: dict[tuple[str, str], int] = field(
        default_factory=dict
    )  # (platform, platform_fan_id) -> 0-based

    def refuse(self, r: Rejected, report: ImportReport) -> None:
        self.rejected.append(r)
        report.rejected += 1

    def add(self, number: int, ev: EventIn) -> None:
        """A line that passed its checks: kept for the step-by-step writer, and added to the rows of the
        all-new one (the fans' state in line order as _upsert_fans computes it)."""
        self.events.append((number, ev))
        payload = None
        if ev.platform_item_id is None:
            payload = self.payloads[number] = ev.model_dump_json(exclude=_NO_FAN)
        if not self.fast:
            return
        event_id = ev.event_id
        if event_id in self.event_ids:
            self.fast = False
            return
        self.event_ids[event_id] = None
        kind, role, direction, txn_kind, subscription = _PLAN[ev.kind]
        if role == _SET_BASED and kind == "ppv_unlock" and ev.offer_draft_id is not None:
            role = _OTHER
        if role == _OTHER:
            if ev.catalog_id is not None or ev.platform_item_id is not None:
                self.fast = False  # the events endpoint's code resolves and refuses its item
            return
        fan = ev.fan
        key = (fan.platform.value, fan.platform_fan_id)
        i = self.fan_index.get(key)
        if i is None:
            i = self.fan_index[key] = len(self.fans)
            self.fans.append([key[0], key[1], None, None, None, None, None])
        state = self.fans[i]
        if fan.display_name:
            state[2] = fan.display_name
        if fan.timezone is not None:
            state[3] = fan.timezone
        when = ev.occurred_at
        if subscription == _STARTED_OR_RENEWED:
            state[4] = "active"
            if state[5] is None:
                state[5] = when
        elif subscription == _EXPIRED:
            state[4] = "expired"
            state[6] = when
        if role != _SET_BASED:
            return
        self.lines.append(number)
        paid = txn_kind is not None and (ev.amount_cents or 0) > 0
        self.rows.append(
            (
                i + 1,
                event_id,
                kind,
                payload or ev.model_dump_json(exclude=_NO_FAN),  # the item's id is added by the statement
                when,
                direction,
                ev.text if direction is not None else None,
                txn_kind if paid else None,
                ev.amount_cents if paid else None,
                ev.catalog_id,
                ev.platform_item_id,
                kind == "ppv_unlock",
            )
        )

    def columns(self) -> store.NewBatch:
        cols: list[list[Any]] = [list(c) for c in zip(*self.rows, strict=True)]
        fans = [list(c) for c in zip(*self.fans, strict=True)]
        return store.NewBatch(list(self.event_ids), (*fans,), *cols)  # type: ignore[arg-type]


# What the batch writers do with each kind: (kind, role, message direction, payment kind, subscription effect)
_SET_BASED, _MONEY_BACK, _OTHER = 0, 1, 2
_STARTED_OR_RENEWED, _EXPIRED = 1, 2
_NO_FAN = {"fan"}
_DIRECTION = {EventKind.MESSAGE: "in", EventKind.CREATOR_MESSAGE: "out"}
_PLAN: dict[EventKind, tuple[str, int, str | None, str | None, int]] = {
    k: (
        k.value,
        _SET_BASED if k in _BATCHED else _MONEY_BACK if k in MONEY_BACK_KINDS else _OTHER,
        _DIRECTION.get(k),
        _TXN_KIND.get(k),
        _STARTED_OR_RENEWED if k in _SUBSCRIPTION else _EXPIRED if k == EventKind.SUBSCRIPTION_EXPIRED else 0,
    )
    for k in EventKind
}


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
    with _cyclic_gc_paused():
        return await _import_lines(creator_id, lines, on_reject, on_batch, batch_lines)


class _GcPause:
    depth = 0  # imports running in this process
    disabled = False  # whether the first of them turned the collector off


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off while imports run. An import allocates a few objects per line, none of
    them in a cycle (reference counting frees them), yet they trigger the collector's full passes over every
    object of the process (some 400,000 in the API or the CLI): a fifth of an import's Python time. It comes
    back on when the last import ends, unless something else had turned it off."""
    if _GcPause.depth == 0:
        _GcPause.disabled = gc.isenabled()
        gc.disable()
    _GcPause.depth += 1
    try:
        yield
    finally:
        _GcPause.depth -= 1
        if _GcPause.depth == 0 and _GcPause.disabled:
            gc.enable()


async def _import_lines(
    creator_id: str,
    lines: AsyncIterable[bytes] | Iterable[bytes],
    on_reject: Callable[[Rejected], None],
    on_batch: Callable[[ImportReport], None] | None,
    batch_lines: int,
) -> ImportReport:
    report = ImportReport()
    now = datetime.now(UTC)
    stream = _aiter(lines) if isinstance(lines, Iterable) else lines
    # whether the last batch written was all new: a batch is built for the all-new writer only then (a
    # repeated import's batches all go step by step)
    last_new = True
    batch = _Batch()
    writing: asyncio.Task[None] | None = None

    async def write(b: _Batch) -> None:
        nonlocal last_new
        if b.events:
            last_new = await _write_batch(creator_id, b, report)
        for r in sorted(b.rejected, key=lambda r: r.line):
            on_reject(r)
        if on_batch:
            on_batch(report)

    try:
        async for raw in stream:
            report.lines += 1
            report.bytes_read += len(raw) + 1
            if report.lines % _YIELD_LINES == 0:
                await asyncio.sleep(0)  # let the batch being written send its next statement
            raw = raw.rstrip(b"\r\n")
            if not raw.strip():
                continue
            parsed = parse_line(report.lines, raw, now)
            if isinstance(parsed, Rejected):
                batch.refuse(parsed, report)
                continue
            batch.add(report.lines, parsed)
            if len(batch.events) >= batch_lines:
                if writing is not None:
                    await writing  # one batch at a time, in order
                writing = asyncio.create_task(write(batch))
                batch = _Batch(fast=last_new)
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


class _NotNew(Exception):
    """A row of a batch taken as new was stored meanwhile: the batch's transaction is rolled back."""


async def _write_batch(creator_id: str, batch: _Batch, report: ImportReport) -> bool:
    """Write the batch in its own transaction; returns whether none of its events was stored before."""
    if batch.fast and batch.lines:
        try:
            async with db.pool().connection() as conn, conn.transaction():
                await store.begin_batch(conn)
                if await _write_new(conn, creator_id, batch, report):
                    return True
                return await _write_steps(conn, creator_id, batch.events, batch, report)
        except _NotNew:
            pass  # nothing of the batch was counted or written: step by step, in a new transaction
    async with db.pool().connection() as conn, conn.transaction():
        await store.begin_batch(conn)
        return await _write_steps(conn, creator_id, batch.events, batch, report)


async def _write_new(conn: Conn, creator_id: str, batch: _Batch, report: ImportReport) -> bool:
    """The batch copied in when it is all new (the usual case of a first import); false when it is not
    and nothing was written; _NotNew when a row of it was stored meanwhile (by a concurrent writer, or a message
    under the same platform id by another path). Events whose fan a concurrent writer created meanwhile, the
    refunds and chargebacks, and the kinds the copy does not write follow, as _write_steps writes them."""
    try:
        res = await store.copy_new_batch(conn, creator_id, batch.columns())
    except UniqueViolation as exc:
        raise _NotNew from exc
    if not res.ok:
        return False
    report.imported += res.stored
    if res.new_fans:
        await store.analyze_fans_if_grown(conn, res.new_fans)
    fan_ids = {(f[0], f[1]): fan for f, fan in zip(batch.fans, res.fan_ids, strict=True) if fan is not None}
    by_line = dict(batch.events)
    missed = [(batch.lines[i], by_line[batch.lines[i]]) for i in res.missed]
    others = [(n, ev) for n, ev in batch.events if not _set_based(ev)]
    if missed:
        await _write_steps(conn, creator_id, missed, batch, report)
    money_back = [_Row(n, ev) for n, ev in others if ev.kind in MONEY_BACK_KINDS]
    if money_back:
        if any(_fan_key(r.ev) not in fan_ids for r in money_back):  # created by a concurrent writer meanwhile
            more, _ = await _upsert_fans(conn, creator_id, [r.ev for r in money_back])
            fan_ids.update(more)
        report.imported += await _write_money_back(conn, creator_id, money_back, fan_ids, batch, report)
    for n, ev in others:
        if ev.kind not in MONEY_BACK_KINDS:
            await _write_one(conn, creator_id, n, ev, batch, report)
    return True


async def _write_steps(
    conn: Conn, creator_id: str, events: list[tuple[int, EventIn]], batch: _Batch, report: ImportReport
) -> bool:
    """Lines of the batch written step by step: which are new, their items, their fans, then the events.
    Returns whether none of them was stored before."""
    duplicates = report.duplicates
    fresh = await _new_events(conn, creator_id, events, batch, report)
    all_new = report.duplicates == duplicates and len(fresh) == len(events)
    rows = await _resolve_items(conn, creator_id, fresh, batch, report)
    set_based = [r for r in rows if _set_based(r.ev)]
    money_back = [r for r in rows if r.ev.kind in MONEY_BACK_KINDS]
    fan_ids: dict[tuple[str, str], uuid.UUID] = {}
    if set_based or money_back:
        fan_ids, created = await _upsert_fans(
            conn, creator_id, [r.ev for r in rows if _set_based(r.ev) or r.ev.kind in MONEY_BACK_KINDS]
        )
        if created:
            await store.analyze_fans_if_grown(conn, created)
    if set_based:
        report.imported += await _write_set_based(conn, creator_id, set_based, fan_ids, batch, report)
    if money_back:  # after the payments of the same batch they may give back
        report.imported += await _write_money_back(conn, creator_id, money_back, fan_ids, batch, report)
    for r in rows:
        if not _set_based(r.ev) and r.ev.kind not in MONEY_BACK_KINDS:
            await _write_one(conn, creator_id, r.number, r.ev, batch, report)

    return all_new


async def _new_events(
    conn: Conn, creator_id: str, events: list[tuple[int, EventIn]], batch: _Batch, report: ImportReport
) -> list[tuple[int, EventIn]]:
    """The events not stored yet. A repeated event_id is a duplicate, or refused when it names another kind
    (as `/v1/events` answers 409 event_id_reused)."""
    stored = await store.stored_kinds(conn, creator_id, [ev.event_id for _, ev in events])
    seen: dict[str, tuple[str, int | None]] = {event_id: (kind, None) for event_id, kind in stored.items()}
    fresh = []
    for number, ev in events:
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


def _when(ev: EventIn) -> datetime:
    assert ev.occurred_at is not None  # parse_line requires it
    return ev.occurred_at


def _payload(ev: EventIn, item_id: uuid.UUID | None) -> str:
    """The stored payload, as the events endpoint stores it: the body without the fan, `catalog_id` the item's
    id however the event named it."""
    if ev.platform_item_id is None:
        return ev.model_dump_json(exclude={"fan"})
    payload = ev.model_dump(mode="json", exclude={"fan"})
    payload["catalog_id"] = str(item_id)
    return json.dumps(payload)


def _payload_of(r: _Row, batch: _Batch) -> str:
    return batch.payloads.get(r.number) or _payload(r.ev, r.item_id)


async def _write_set_based(
    conn: Conn,
    creator_id: str,
    rows: list[_Row],
    fan_ids: dict[tuple[str, str], uuid.UUID],
    batch: _Batch,
    report: ImportReport,
) -> int:
    """Store events of the kinds written set-based; returns how many were stored (a concurrent writer may have
    stored some since they were checked: those are duplicates)."""
    evs = [r.ev for r in rows]
    fan = [fan_ids[_fan_key(ev)] for ev in evs]
    paid = [ev.kind in _TXN_KIND and (ev.amount_cents or 0) > 0 for ev in evs]
    stored = await store.insert_events(
        conn,
        creator_id,
        [
            store.EventRow(
                fan_id=f,
                event_id=ev.event_id,
                kind=str(ev.kind),
                payload=_payload_of(r, batch),
                occurred_at=_when(ev),
                direction=_DIRECTION.get(ev.kind),
                text=ev.text if ev.kind in _DIRECTION else None,
                txn_kind=_TXN_KIND[ev.kind] if p else None,
                amount_cents=ev.amount_cents if p else None,
                catalog_id=r.item_id if p else None,
                unlock=ev.kind == EventKind.PPV_UNLOCK,
            )
            for r, ev, f, p in zip(rows, evs, fan, paid, strict=True)
        ],
    )
    report.duplicates += len(evs) - len(stored)
    return len(stored)


async def _write_money_back(
    conn: Conn,
    creator_id: str,
    rows: list[_Row],
    fan_ids: dict[tuple[str, str], uuid.UUID],
    batch: _Batch,
    report: ImportReport,
) -> int:
    """Refunds and chargebacks, checked in line order as `/v1/events` checks each (the payment named exists, is
    this fan's, has that much left, counting what earlier lines gave back), then stored set-based."""
    evs = [r.ev for r in rows]
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
    stored = await store.insert_money_back(
        conn,
        creator_id,
        [
            store.MoneyBackRow(
                fan_id=fan_ids[_fan_key(r.ev)],
                event_id=r.ev.event_id,
                kind=str(r.ev.kind),
                payload=_payload_of(r, batch),
                occurred_at=_when(r.ev),
                transaction_id=t,
                amount_cents=c,
            )
            for r, t, c in kept
        ],
    )
    report.duplicates += len(kept) - stored
    return stored


def _fan_key(ev: EventIn) -> tuple[str, str]:
    return (str(ev.fan.platform), ev.fan.platform_fan_id)


async def _upsert_fans(
    conn: Conn, creator_id: str, events: list[EventIn]
) -> tuple[dict[tuple[str, str], uuid.UUID], int]:
    """Each fan's id and how many are new: the fan created on first sight, and what these events (in line order)
    leave on the fan's row, as the live path leaves it: a name or timezone given replaces the stored one
    (`fans.upsert`); a subscription makes the fan active and the first one's time is kept, an expiry makes it
    expired at that time (`fans.mark_subscribed`, `fans.mark_expired`). A new fan is inserted with all of it, and
    a row whose values would not change is not touched: every extra row version slows the key checks of the next
    batch's rows."""
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
    return await store.upsert_fans(
        conn,
        creator_id,
        [
            store.FanState(
                platform=k[0],
                platform_fan_id=k[1],
                display_name=names[k],
                timezone=zones[k],
                status=status.get(k),
                subscribed_at=since.get(k),
                expires_at=expired.get(k),
            )
            for k in names
        ],
    )


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
                await store.mark_handled(conn, creator_id, row["id"])
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
