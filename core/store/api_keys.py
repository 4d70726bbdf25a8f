"""api_keys: a new key for a member. Only the key's SHA-256 and its first characters (to recognise it) are stored;
the plain key is returned once."""

from __future__ import annotations

from core.keys import hash_key, new_key
from core.store import Conn, Id


async def insert(conn: Conn, creator_id: Id, member_id: Id, *, name: str | None = None) -> str:
    """Store a new key for the member (of this creator); return the plain key, never stored."""
    key = new_key()
    await conn.execute(
        "INSERT INTO api_keys (creator_id, member_id, prefix, key_hash, name) VALUES (%s, %s, %s, %s, %s)",
        [creator_id, member_id, key[:10], hash_key(key), name],
    )
    return key
