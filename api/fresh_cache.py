"""Answers kept in the API process and never served stale: API keys and inbox pages.

Every request authenticates (a key lookup), and the console and clients poll the inbox, which joins each draft
to its fan's name, status, segment, spend and last five messages. Both are kept in memory, and dropped when a
write touches them:

- each entry belongs to a *scope* (`auth:<creator id>`, `inbox:<creator id>`). Every write that can change an
  entry sends `NOTIFY huntaze_changes, '<scope>'` at commit (triggers in migration 0011);
- before a request reads from memory, the cache makes one round trip on its own LISTEN connection. Postgres
  sends a listening session every notification committed before that round trip began ahead of the round trip's
  answer, and psycopg hands them to our handler while it reads that answer. A write committed before the request
  arrived has therefore dropped its entries before we look (the same guarantee as reading the database).
  Requests that arrive together share one round trip that began after all of them arrived;
- the round trip gives the request a `Ticket`: the number of notifications seen so far. An entry is current
  while no notification of its scope came after the ticket it was computed under, so an entry computed while a
  write was committing is never served;
- when the LISTEN connection fails, everything is forgotten and requests read the database until it is back
  (tried again every `retry_s`). A background round trip every `drain_s` keeps an idle connection from letting
  notifications pile up.

Why not a cache library: none ties invalidation to Postgres commits, which is the whole point here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import psycopg
from fastapi import Request
from psycopg import AsyncConnection, Notify

log = logging.getLogger(__name__)

CHANNEL = "huntaze_changes"


@dataclass(frozen=True)
class Ticket:
    """When a request caught up: the connection's epoch and the notifications seen by then."""

    epoch: int
    seen: int


class FreshCache:
    def __init__(
        self, url: str | None, max_entries: int, *, retry_s: float = 5.0, drain_s: float = 2.0
    ) -> None:
        self.url, self.max_entries, self.retry_s, self.drain_s = url, max_entries, retry_s, drain_s
        self._entries: OrderedDict[Hashable, tuple[str, Ticket, Any]] = OrderedDict()
        self._changed: dict[str, int] = {}  # scope -> number of the last notification about it
        self._seen = 0
        self._epoch = 0
        self._conn: AsyncConnection[tuple[object, ...]] | None = None
        self._connecting = asyncio.Lock()
        self._retry_at = 0.0
        self._round: asyncio.Future[bool] | None = None  # the next round trip, not begun yet
        self._rounds: asyncio.Task[None] | None = None
        self._drain: asyncio.Task[None] | None = None
        self.hits = self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0 and self.url is not None

    # --- reading and storing ----------------------------------------------------------------------------

    async def catch_up(self) -> Ticket | None:
        """Wait until every write committed before now has been seen; None when the cache is off or blind
        (read the database, store nothing)."""
        if not self.enabled or not await self._caught_up():
            return None
        return self._ticket()

    def _ticket(self) -> Ticket:
        return Ticket(self._epoch, self._seen)

    def _current(self, scope: str, ticket: Ticket) -> bool:
        return ticket.epoch == self._epoch and self._changed.get(scope, 0) <= ticket.seen

    def get(self, key: Hashable, ticket: Ticket | None) -> Any | None:
        if ticket is None:
            return None
        entry = self._entries.get(key)
        if entry is not None and self._current(entry[0], entry[1]):
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[2]
        self.misses += 1
        return None

    def put(self, key: Hashable, scope: str, ticket: Ticket | None, value: Any) -> None:
        """Keep `value`, read from the database after `ticket` was taken, unless its scope changed since."""
        if ticket is None or not self._current(scope, ticket):
            return
        self._entries[key] = (scope, ticket, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    # --- the LISTEN connection ----------------------------------------------------------------------------

    def _notified(self, n: Notify) -> None:
        self._seen += 1
        self._changed[n.payload] = self._seen

    def _forget_all(self) -> None:
        self._epoch += 1
        self._entries.clear()
        self._changed.clear()

    async def _connect(self) -> bool:
        if self._conn is not None and not self._conn.closed:
            return True
        if time.monotonic() < self._retry_at or self._connecting.locked():
            return False
        async with self._connecting:
            try:
                conn = await AsyncConnection.connect(self.url or "", autocommit=True, connect_timeout=5)
                conn.add_notify_handler(self._notified)
                await conn.execute(f"LISTEN {CHANNEL}")
            except psycopg.Error as exc:
                log.warning("fresh cache: cannot listen (%s); reading the database", exc)
                self._retry_at = time.monotonic() + self.retry_s
                return False
            self._forget_all()  # notifications before LISTEN were never seen
            self._conn = conn
            if self._drain is None or self._drain.done():
                self._drain = asyncio.create_task(self._drain_forever())
            return True

    async def _caught_up(self) -> bool:
        """Wait for a round trip on the LISTEN connection that began after this call; False when blind."""
        if not await self._connect():
            return False
        if self._round is None:
            self._round = asyncio.get_running_loop().create_future()
        round_ = self._round
        if self._rounds is None or self._rounds.done():
            self._rounds = asyncio.create_task(self._run_rounds())
        return await asyncio.shield(round_)

    async def _run_rounds(self) -> None:
        while self._round is not None:
            round_, self._round = self._round, None
            ok = False
            conn = self._conn
            try:
                if conn is not None and not conn.closed:
                    await conn.execute("")  # notifications arrive ahead of the answer
                    ok = True
            except psycopg.Error as exc:
                log.warning("fresh cache: LISTEN connection lost (%s); reading the database", exc)
                self._forget_all()
                self._conn = None
                self._retry_at = time.monotonic() + self.retry_s
                if conn is not None:
                    with contextlib.suppress(psycopg.Error):
                        await conn.close()
            finally:
                if not round_.done():
                    round_.set_result(ok)

    async def _drain_forever(self) -> None:
        while self._conn is not None:
            await asyncio.sleep(self.drain_s)
            await self._caught_up()

    async def close(self) -> None:
        for task in (self._drain, self._rounds):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._drain = self._rounds = None
        if self._round is not None and not self._round.done():
            self._round.set_result(False)
        self._round = None
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                await self._conn.close()
        self._conn = None
        self._forget_all()


async def request_ticket(request: Request) -> Ticket | None:
    """The request's ticket, taken once: a request reads everything it caches as of its arrival."""
    if not hasattr(request.state, "fresh_ticket"):
        cache: FreshCache = request.app.state.fresh_cache
        request.state.fresh_ticket = await cache.catch_up()
    ticket: Ticket | None = request.state.fresh_ticket
    return ticket
