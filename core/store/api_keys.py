"""api_keys: a new key for a member. Only the key's SHA-256 and its first characters (to recognise it) are stored;
the plain key is returned once."""

from __future__ import annotations

from core.keys import hash_key, new_key
from core.store import Conn, Id


async def insert(
    conn: Conn, creator_id: Id, member_id: Id, *, name: str | None = None, agency: bool = False
) -> str:
    """Store a new key for the member (of this creator); return the plain key, never stored. An agency key acts
    for every creator the member holds a role on (core/store/members.py), not only this one."""
    key = new_key()
    await conn.execute(
        "INSERT INTO api_keys (creator_id, member_id, prefix, key_hash, name, agency)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        [creator_id, member_id, key[:10], hash_key(key), name, agency],
    )
    return key
