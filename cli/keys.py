"""`huntaze keys create`: an API key for a member of a creator, printed once (the way in after `huntaze up`).

The same code path as `POST /v1/members` and `POST /v1/keys` (api/members.py): the member is added if needed,
the key's SHA-256 is stored, both are audited (actor `system`)."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from psycopg import AsyncConnection

from cli.database import on_database
from core.settings import Settings
from core.types import Role

EXIT_BAD_INPUT = 2


class BadArgument(Exception):
    """An argument names something that is not there; the message starts with the argument's name."""


def uuid_arg(value: str, what: str = "a creator id") -> str:
    """An argparse type: `value` as a UUID, or an error saying it must be `what`."""
    import uuid

    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what} (a UUID), not {value!r}") from None


def run_job(
    command: str,
    job: Callable[[AsyncConnection[Any], Settings], Awaitable[dict[str, Any]]],
    *,
    one_transaction: bool = True,
    summary: Callable[[dict[str, Any]], str] | None = None,
) -> int:
    """Run a command's database job: a BadArgument is its message on stderr and exit 2; else the summary (for a
    person) on stderr and the result as JSON, the last line on stdout."""
    try:
        out = on_database(job, one_transaction=one_transaction)
    except BadArgument as exc:
        print(f"huntaze {command}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if summary is not None:
        print(summary(out), file=sys.stderr)
    print(json.dumps(out), flush=True)
    return 0


def _email_arg(value: str) -> str:
    from api.members import EMAIL_PATTERN

    if len(value) > 254 or not re.match(EMAIL_PATTERN, value):
        raise argparse.ArgumentTypeError(f"must be an email address, not {value!r}")
    return value.lower()


def _name_arg(value: str) -> str:
    from api.members import KEY_NAME_MAX

    name = value.strip()
    if not 1 <= len(name) <= KEY_NAME_MAX or "\x00" in name:
        raise argparse.ArgumentTypeError(f"must be 1 to {KEY_NAME_MAX} characters, not {value!r}")
    return name


def cmd_keys_create(args: argparse.Namespace) -> int:
    from api.members import NotAHomeRow, add_member, create_key

    role = Role(args.role)

    async def job(conn: AsyncConnection[Any], _: Settings) -> dict[str, Any]:
        cur = await conn.execute("SELECT handle FROM creators WHERE id = %s", [args.creator])
        creator = await cur.fetchone()
        if creator is None:
            raise BadArgument(f"--creator: no creator {args.creator} (`huntaze seed` prints one)")
        if args.email:
            cur = await conn.execute(
                "SELECT id::text AS id, email, role FROM members WHERE creator_id = %s AND email = %s",
                [args.creator, args.email],
            )
        else:  # the creator's first member with this role, as the seed and the demo make them
            cur = await conn.execute(
                "SELECT id::text AS id, email, role FROM members WHERE creator_id = %s AND role = %s"
                " ORDER BY created_at, id LIMIT 1",
                [args.creator, role.value],
            )
        member = await cur.fetchone()
        if member is not None and member["role"] != role.value:
            raise BadArgument(
                f"--role: {member['email']} has the role {member['role']} for this creator, not {role.value}"
                " (an owner changes roles with PATCH /v1/members/{id})"
            )
        if member is None:
            email = args.email or f"{role.value}@{creator['handle']}.local"
            member = await add_member(conn, args.creator, email, role, actor="system")
            if member is None:  # the default address is taken by a member of another role
                raise BadArgument(f"--email: {email} is already a member with another role; name another")
        try:
            row, key = await create_key(
                conn, args.creator, member["id"], actor="system", name=args.name, agency=args.agency
            )
        except NotAHomeRow:
            raise BadArgument(
                f"--agency: {member['email']} holds a role granted from another creator here; create the"
                " agency key on their own creator (the --member of `huntaze members grant`)"
            ) from None
        return {
            "creator_id": args.creator,
            "member_id": row["member_id"],
            "email": row["email"],
            "role": row["role"],
            "name": row["name"],
            "key_id": row["id"],
            "prefix": row["prefix"],
            "agency": row["agency"],
            "key": key,
        }

    def summary(o: dict[str, Any]) -> str:
        return (
            f"{'Agency key' if o['agency'] else 'API key'} {o['name'] or o['prefix']} for {o['email']}"
            f" ({o['role']}), shown once: keep it now (Authorization: Bearer <key>; the console's sign-in page takes"
            " it too" + ("; name the creator of each request with X-Creator-Id)" if o["agency"] else ")")
        )

    return run_job("keys create", job, summary=summary)


def add_parser(sub: Any) -> None:
    k = sub.add_parser("keys", help="API keys")
    ksub = k.add_subparsers(dest="keys_command", required=True)
    c = ksub.add_parser(
        "create",
        help="create an API key for a member of a creator (the member is added if needed); prints it once",
        description="Create an API key for a member of a creator and print it once, as the last line (JSON:"
        " creator_id, member_id, email, role, name, key_id, prefix, agency, key). Without --email the key goes to"
        " the creator's first member with that role, or to a new member <role>@<handle>.local.",
    )
    c.add_argument(
        "--creator", type=uuid_arg, required=True, metavar="CREATOR_ID", help="the creator's id (a UUID)"
    )
    c.add_argument(
        "--role", choices=[r.value for r in Role], default=Role.OWNER.value, help="the member's role"
    )
    c.add_argument(
        "--email",
        type=_email_arg,
        default=None,
        help="the member's email: an existing member of that role, or a new member (default: the first member"
        " with the role, else <role>@<handle>.local)",
    )
    c.add_argument(
        "--name",
        type=_name_arg,
        default=None,
        help="what the key is for (e.g. laptop), shown in GET /v1/keys (default: no name)",
    )
    c.add_argument(
        "--agency",
        action="store_true",
        help="an agency key: it acts for every creator the member holds a role on (huntaze members grant),"
        " each request naming one with the X-Creator-Id header",
    )
    c.set_defaults(func=cmd_keys_create)
