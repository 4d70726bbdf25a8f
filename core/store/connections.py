"""connections: a creator's connection to a platform (a signed webhook, or the platform's own API), its sealed
secret, the creator's account on the platform and the connection's health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.crypto import Keyring, Sealed, connection_aad
from core.store import Conn, Id, fetch_one


@dataclass(frozen=True, slots=True)
class Connection:
    creator_id: str
    platform: str
    kind: str  # webhook | instagram
    webhook_url: str | None
    account_id: str | None
    key_id: str
    secret_nonce: bytes
    secret_sealed: bytes

    def secret(self, ring: Keyring) -> str:
        """The secret (signing secret or access token), opened for one use."""
        sealed = Sealed(self.key_id, bytes(self.secret_nonce), bytes(self.secret_sealed))
        return ring.open(sealed, connection_aad(self.creator_id, self.platform)).decode()


_COLUMNS = "creator_id::text AS creator_id, platform, kind, webhook_url, account_id, key_id, secret_nonce, secret_sealed"


async def get(conn: Conn, creator_id: Id, platform: str) -> Connection | None:
    return await fetch_one(
        conn,
        Connection,
        f"SELECT {_COLUMNS} FROM connections WHERE creator_id = %s AND platform = %s",
        [creator_id, platform],
    )


async def by_account(conn: Conn, platform: str, account_id: str) -> Connection | None:
    """The connection of the creator who connected this platform account (at most one)."""
    return await fetch_one(
        conn,
        Connection,
        f"SELECT {_COLUMNS} FROM connections WHERE platform = %s AND account_id = %s",
        [platform, account_id],
    )


async def note_event(conn: Conn, creator_id: Id, platform: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE connections SET last_event_at = greatest(last_event_at, %s) WHERE creator_id = %s AND platform = %s",
        [at, creator_id, platform],
    )


async def note_send(conn: Conn, creator_id: Id, platform: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE connections SET last_send_at = greatest(last_send_at, %s) WHERE creator_id = %s AND platform = %s",
        [at, creator_id, platform],
    )


async def note_error(conn: Conn, creator_id: Id, platform: str, error: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE connections SET last_error = %s, last_error_at = %s WHERE creator_id = %s AND platform = %s",
        [error[:500], at, creator_id, platform],
    )
