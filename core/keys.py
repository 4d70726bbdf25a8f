"""API keys: new random keys and the digest stored in place of the key."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "hz_"


def hash_key(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)
