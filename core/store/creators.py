"""creators: the creator and the profile its owner edits (display name, persona, voice notes, timezone, languages,
PPV price bounds), versioned in creator_versions like policies are in policy_versions.

`create` is the one way a creator comes to exist: `huntaze creator create`, the seed and the demo all call it. It
writes the creator, its owner member and the owner's first API key (returned once, only its digest stored), the
profile's version 1 and the first row of the creator's audit chain, in the caller's transaction."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import available_timezones

import psycopg
from psycopg.types.json import Jsonb

from core.journal import append_audit
from core.store import Conn, Id, api_keys, fetch_one

HANDLE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# A BCP 47 language tag's usual shape: a 2-3 letter language, then optional subtags (en, fr, pt-BR, zh-Hant-TW).
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
NAME_MAX = 200
PERSONA_MAX = 4000
PRICE_MAX_CENTS = 10_000_000
DEFAULT_PPV_MIN_CENTS = 500
DEFAULT_PPV_MAX_CENTS = 10_000

# What a profile version holds, in this order.
PROFILE_FIELDS = (
    "display_name",
    "persona",
    "voice_notes",
    "timezone",
    "languages",
    "ppv_min_cents",
    "ppv_max_cents",
)


class InvalidCreator(ValueError):
    """Bad input for a creator, naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def timezone_problem(tz: str) -> str | None:
    """Why `tz` is not an IANA timezone name (None when it is one)."""
    return (
        None if tz in _zones() else f"unknown IANA timezone {tz!r} (e.g. Europe/Paris, America/New_York, UTC)"
    )


def language_problem(tag: str) -> str | None:
    return None if LANGUAGE_RE.match(tag) else f"{tag!r} is not a language tag (e.g. en, fr, pt-BR)"


def bounds_problem(low: int, high: int) -> str | None:
    if not 1 <= low <= PRICE_MAX_CENTS or not 1 <= high <= PRICE_MAX_CENTS:
        return f"PPV prices must be 1 to {PRICE_MAX_CENTS} cents"
    return None if low <= high else "ppv_max_cents must be at least ppv_min_cents"


@dataclass(frozen=True)
class NewCreator:
    handle: str
    display_name: str
    timezone: str
    persona: str = ""
    voice_notes: str = ""
    languages: Sequence[str] = ("en",)
    ppv_min_cents: int = DEFAULT_PPV_MIN_CENTS
    ppv_max_cents: int = DEFAULT_PPV_MAX_CENTS
    policy_config: Mapping[str, Any] = field(default_factory=dict)
    owner_email: str | None = None  # default owner@<handle>.example
    # ids chosen by the caller (the seed is deterministic); new random ones otherwise
    creator_id: str | None = None
    owner_member_id: str | None = None

    def check(self) -> None:
        """InvalidCreator naming the first bad field."""
        if not HANDLE_RE.match(self.handle):
            raise InvalidCreator(
                "handle",
                f"{self.handle!r} is not a handle (1-64 letters, digits, '.', '_' or '-', not first)",
            )
        if not self.display_name.strip() or len(self.display_name) > NAME_MAX:
            raise InvalidCreator("name", f"the display name must have 1 to {NAME_MAX} characters")
        if (problem := timezone_problem(self.timezone)) is not None:
            raise InvalidCreator("timezone", problem)
        if len(self.persona) > PERSONA_MAX or len(self.voice_notes) > PERSONA_MAX:
            raise InvalidCreator("persona", f"at most {PERSONA_MAX} characters")
        if not self.languages:
            raise InvalidCreator("languages", "at least one language")
        for tag in self.languages:
            if (problem := language_problem(tag)) is not None:
                raise InvalidCreator("languages", problem)
        if (problem := bounds_problem(self.ppv_min_cents, self.ppv_max_cents)) is not None:
            raise InvalidCreator("ppv_min_cents", problem)

    def profile(self) -> dict[str, Any]:
        return {
            "display_name": self.display_name,
            "persona": self.persona,
            "voice_notes": self.voice_notes,
            "timezone": self.timezone,
            "languages": list(self.languages),
            "ppv_min_cents": self.ppv_min_cents,
            "ppv_max_cents": self.ppv_max_cents,
        }


@dataclass(frozen=True)
class Created:
    creator_id: str
    owner_member_id: str
    owner_key: str  # shown once: only its digest is stored


@dataclass(frozen=True, slots=True)
class _Id:
    id: str


async def create(conn: Conn, new: NewCreator) -> Created:
    """Create the creator, its owner member and key (inside the caller's transaction). InvalidCreator on bad
    input or a handle already taken."""
    new.check()
    taken = InvalidCreator("handle", f"a creator with handle {new.handle!r} already exists; choose another")
    if await fetch_one(conn, _Id, "SELECT id::text AS id FROM creators WHERE handle = %s", [new.handle]):
        raise taken
    try:
        async with (
            conn.transaction()
        ):  # a savepoint: a concurrent create of the same handle is the same refusal
            creator = await fetch_one(
                conn,
                _Id,
                "INSERT INTO creators (id, handle, display_name, persona, voice_notes, timezone, languages,"
                " ppv_min_cents, ppv_max_cents, policy_config) VALUES (coalesce(%s::uuid, gen_random_uuid()),"
                " %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id::text AS id",
                [
                    new.creator_id,
                    new.handle,
                    new.display_name,
                    new.persona,
                    new.voice_notes,
                    new.timezone,
                    list(new.languages),
                    new.ppv_min_cents,
                    new.ppv_max_cents,
                    Jsonb(dict(new.policy_config)),
                ],
            )
    except psycopg.errors.UniqueViolation:
        raise taken from None
    assert creator is not None
    member = await fetch_one(
        conn,
        _Id,
        "INSERT INTO members (id, creator_id, email, role) VALUES (coalesce(%s::uuid, gen_random_uuid()), %s, %s,"
        " 'owner') RETURNING id::text AS id",
        [new.owner_member_id, creator.id, new.owner_email or f"owner@{new.handle}.example"],
    )
    assert member is not None
    key = await api_keys.insert(conn, creator.id, member.id)
    await conn.execute(
        "INSERT INTO creator_versions (creator_id, version, profile, created_by) VALUES (%s, 1, %s, %s)",
        [creator.id, Jsonb(new.profile()), member.id],
    )
    await append_audit(
        conn,
        creator_id=creator.id,
        actor="system",
        action="creator.created",
        subject=f"creator:{creator.id}",
        details={"handle": new.handle, "owner_member_id": member.id, **new.profile()},
    )
    return Created(creator.id, member.id, key)


@dataclass(frozen=True, slots=True)
class Creator:
    id: str
    handle: str
    display_name: str
    persona: str
    voice_notes: str
    timezone: str
    languages: list[str]
    ppv_min_cents: int
    ppv_max_cents: int
    version: int
    created_at: datetime
    updated_at: datetime

    def profile(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in PROFILE_FIELDS}


_SELECT = (
    "SELECT c.id::text AS id, c.handle, c.display_name, c.persona, c.voice_notes, c.timezone, c.languages,"
    " c.ppv_min_cents, c.ppv_max_cents, c.profile_version AS version, c.created_at,"
    " coalesce((SELECT max(v.created_at) FROM creator_versions v WHERE v.creator_id = c.id), c.created_at)"
    " AS updated_at FROM creators c WHERE c.id = %s"
)


async def get(conn: Conn, creator_id: Id, *, for_update: bool = False) -> Creator | None:
    sql = _SELECT + " FOR UPDATE OF c" if for_update else _SELECT
    return await fetch_one(conn, Creator, sql, [creator_id])


async def save_profile(conn: Conn, creator_id: Id, profile: Mapping[str, Any], *, actor: str) -> int:
    """Store a new version of the whole profile (every PROFILE_FIELDS key), under the lock `get(for_update=True)`
    took; the new version number."""
    row = await fetch_one(
        conn,
        _Version,
        "UPDATE creators SET display_name = %s, persona = %s, voice_notes = %s, timezone = %s, languages = %s,"
        " ppv_min_cents = %s, ppv_max_cents = %s, profile_version = profile_version + 1 WHERE id = %s"
        " RETURNING profile_version AS version",
        [*(profile[f] for f in PROFILE_FIELDS), creator_id],
    )
    assert row is not None
    await conn.execute(
        "INSERT INTO creator_versions (creator_id, version, profile, created_by) VALUES (%s, %s, %s, %s)",
        [creator_id, row.version, Jsonb({f: profile[f] for f in PROFILE_FIELDS}), actor],
    )
    return row.version


@dataclass(frozen=True, slots=True)
class _Version:
    version: int
