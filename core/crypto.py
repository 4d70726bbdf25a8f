"""Secrets at rest: AES-256-GCM (the `cryptography` library) with a key id stored beside each ciphertext.

Keys come only from the environment (`HUNTAZE_ENCRYPTION_KEYS`) or a secret file
(`HUNTAZE_ENCRYPTION_KEYS_FILE`), never from the database, and are never logged. The format is one
`key_id:base64-of-32-bytes` per line (or comma-separated in the variable); the first key encrypts, all of
them decrypt, so rotation is: put a new key first, run `huntaze secrets rotate`, then drop the old one.
`huntaze up` on embedded defaults creates a key file under the data directory (mode 0600) when none is
configured, so the demo needs no setup.

Every ciphertext is bound to what it protects (associated data such as "connection:<creator>:<platform>"),
so a ciphertext copied onto another row does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg import AsyncConnection

from core.settings import Settings


class KeyringError(RuntimeError):
    """Keys missing or malformed; the message says which setting to fix (and never contains a key)."""


@dataclass(frozen=True)
class Sealed:
    key_id: str
    nonce: bytes
    ciphertext: bytes


@dataclass(frozen=True)
class Keyring:
    keys: tuple[tuple[str, bytes], ...]  # (key id, 32-byte key); the first one encrypts

    def __repr__(self) -> str:  # never print key material
        return f"Keyring(key_ids={[k for k, _ in self.keys]})"

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    def seal(self, plaintext: bytes, aad: str) -> Sealed:
        key_id, key = self.keys[0]
        nonce = os.urandom(12)  # 96-bit random nonce per message, as NIST SP 800-38D recommends for GCM
        return Sealed(key_id, nonce, AESGCM(key).encrypt(nonce, plaintext, aad.encode()))

    def open(self, sealed: Sealed, aad: str) -> bytes:
        key = dict(self.keys).get(sealed.key_id)
        if key is None:
            raise KeyringError(f"no key with id {sealed.key_id!r} is configured (HUNTAZE_ENCRYPTION_KEYS)")
        try:
            return AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, aad.encode())
        except InvalidTag:
            raise KeyringError(
                "a ciphertext failed authentication (tampered, or bound to another row)"
            ) from None


def connection_aad(creator_id: str, platform: str) -> str:
    """What a platform connection's secret is bound to."""
    return f"connection:{creator_id}:{platform}"


def alert_aad(creator_id: str) -> str:
    """What a creator's alert webhook secret is bound to."""
    return f"alert:{creator_id}"


def totp_aad(member_id: str) -> str:
    return f"totp:{member_id}"


# The sealed columns of each table, and what each row's secret is bound to.
SEALED_TABLES: dict[str, tuple[str, str]] = {
    "connections": ("creator_id::text || ':' || platform", "connection:{}"),
    "member_totp": ("member_id::text", "totp:{}"),
    "alert_configs": ("creator_id::text", "alert:{}"),
}


async def rotate(conn: AsyncConnection[Any], ring: Keyring) -> dict[str, int]:
    """Re-seal every secret not sealed with the current key (in the caller's transaction); rows are
    locked as they are read, so a concurrent writer waits rather than being overwritten."""
    counts: dict[str, int] = {}
    for table, (ident, aad_format) in SEALED_TABLES.items():
        cur = await conn.execute(
            f"SELECT ctid::text AS row_ref, {ident} AS ident, creator_id::text AS creator_id, key_id,"
            f" secret_nonce, secret_sealed FROM {table} WHERE key_id <> %s FOR UPDATE",
            [ring.current_id],
        )
        rows = await cur.fetchall()
        for r in rows:
            aad = aad_format.format(r["ident"])
            plain = ring.open(Sealed(r["key_id"], bytes(r["secret_nonce"]), bytes(r["secret_sealed"])), aad)
            fresh = ring.seal(plain, aad)
            await conn.execute(
                f"UPDATE {table} SET key_id = %s, secret_nonce = %s, secret_sealed = %s WHERE ctid = %s::tid",
                [fresh.key_id, fresh.nonce, fresh.ciphertext, r["row_ref"]],
            )
            counts[r["creator_id"]] = counts.get(r["creator_id"], 0) + 1
    return counts


def parse_keys(text: str, source: str) -> Keyring:
    entries = [e.strip() for e in text.replace(",", "\n").splitlines() if e.strip() and not e.startswith("#")]
    keys: list[tuple[str, bytes]] = []
    for n, entry in enumerate(entries, start=1):
        key_id, sep, b64 = entry.partition(":")
        if not sep or not key_id.strip():
            raise KeyringError(f"{source}: entry {n} must be 'key_id:base64key'")
        try:
            raw = base64.b64decode(b64.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise KeyringError(f"{source}: key {key_id.strip()!r} is not valid base64") from None
        if len(raw) != 32:
            raise KeyringError(f"{source}: key {key_id.strip()!r} must be 32 bytes (AES-256), not {len(raw)}")
        keys.append((key_id.strip(), raw))
    if not keys:
        raise KeyringError(f"{source}: no keys")
    if len({k for k, _ in keys}) != len(keys):
        raise KeyringError(f"{source}: key ids must be unique")
    return Keyring(tuple(keys))


def new_key_line(key_id: str | None = None) -> str:
    return f"{key_id or 'k' + secrets.token_hex(4)}:{base64.b64encode(os.urandom(32)).decode()}"


def default_key_file(settings: Settings) -> Path:
    return settings.data_dir / "secrets" / "encryption.keys"


def ensure_default_key_file(settings: Settings) -> Path:
    """For embedded defaults only: create a key file (0600) when no keys are configured at all."""
    path = default_key_file(settings)
    if settings.encryption_keys is None and settings.encryption_keys_file is None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(new_key_line() + "\n")
    return path


def keyring(settings: Settings) -> Keyring:
    if settings.encryption_keys is not None:
        return parse_keys(settings.encryption_keys.get_secret_value(), "HUNTAZE_ENCRYPTION_KEYS")
    path = settings.encryption_keys_file or default_key_file(settings)
    if not path.exists():
        raise KeyringError(
            "no encryption keys: set HUNTAZE_ENCRYPTION_KEYS or HUNTAZE_ENCRYPTION_KEYS_FILE"
            f" (or run `huntaze up`, which creates {default_key_file(settings)})"
        )
    return parse_keys(path.read_text(encoding="utf-8"), str(path))
