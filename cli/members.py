"""`huntaze members grant|revoke`: an agency member's role on another creator (migration 0034).

`grant` gives the person of a member (of any creator) a role on another creator: a member row there linked to
their home row, or their row there if they have one (granted before, or added with the same email, which is
linked). Their agency keys (`huntaze keys create --agency`) then act for that creator too, with that role, when
a request names it with X-Creator-Id; their other keys do not change. `revoke` unlinks that row again. Both are
operator commands, audited on the creator whose access changes (actor `system`)."""

from __future__ import annotations

import argparse
from typing import Any

from psycopg import AsyncConnection

from cli.keys import BadArgument, run_job, uuid_arg
from core.settings import Settings
from core.types import Role


def _uuid_arg(value: str) -> str:
    return uuid_arg(value, "an id")


def cmd_members_grant(args: argparse.Namespace) -> int:
    from core.journal import append_audit
    from core.store import members

    async def job(conn: AsyncConnection[Any], _: Settings) -> dict[str, Any]:
        cur = await conn.execute("SELECT 1 FROM creators WHERE id = %s", [args.creator])
        if await cur.fetchone() is None:
            raise BadArgument(f"--creator: no creator {args.creator}")
        try:
            home, row, before = await members.grant(conn, args.member, args.creator, args.role)
        except members.GrantRefused as exc:
            field = "--member" if str(exc).startswith("no member") else "--creator"
            raise BadArgument(f"{field}: {exc}") from None
        if before != row.role:
            # a step-up was made for the old role (or none): the person's agency keys start without one
            await conn.execute(
                "UPDATE api_keys SET step_up_until = NULL WHERE agency AND member_id = %s", [home.id]
            )
        await append_audit(
            conn,
            creator_id=args.creator,
            actor="system",
            action="member.granted",
            subject=f"member:{row.id}",
            details={"email": row.email, "role": row.role, "from": before},
        )
        return {
            "creator_id": args.creator,
            "member_id": row.id,
            "email": row.email,
            "role": row.role,
            "previous_role": before,
            "home_member_id": home.id,
            "home_creator_id": home.creator_id,
        }

    def summary(o: dict[str, Any]) -> str:
        return (
            f"{o['email']} is {o['role']} on creator {o['creator_id']}: their agency keys act for it with"
            f" X-Creator-Id: {o['creator_id']} (make one: huntaze keys create --agency --creator"
            f" {o['home_creator_id']} --email {o['email']} --role <their role there>)"
        )

    return run_job("members grant", job, summary=summary)


def cmd_members_revoke(args: argparse.Namespace) -> int:
    from core.journal import append_audit
    from core.store import members

    async def job(conn: AsyncConnection[Any], _: Settings) -> dict[str, Any]:
        row = await members.revoke(conn, args.member, args.creator)
        if row is None:
            raise BadArgument(
                f"--creator: member {args.member} holds no granted role on creator {args.creator}"
            )
        await append_audit(
            conn,
            creator_id=args.creator,
            actor="system",
            action="member.grant_revoked",
            subject=f"member:{row.id}",
            details={"email": row.email, "role": row.role},
        )
        return {"creator_id": args.creator, "member_id": row.id, "email": row.email}

    def summary(o: dict[str, Any]) -> str:
        return (
            f"{o['email']}'s agency keys no longer act for creator {o['creator_id']} (the member row stays)"
        )

    return run_job("members revoke", job, summary=summary)


def add_parsers(msub: Any) -> None:
    """`grant` and `revoke` under `huntaze members`."""
    g = msub.add_parser(
        "grant",
        help="give a member (of any creator) a role on another creator, for their agency keys",
        description="Give the person of --member a role on --creator: a member row there linked to their own, or"
        " their existing row there (same email), whose role is set. Their agency keys (huntaze keys create"
        " --agency) then act for that creator with that role, each request naming it with X-Creator-Id. Prints"
        " JSON as the last line: creator_id, member_id, email, role, previous_role, home_member_id,"
        " home_creator_id.",
    )
    g.add_argument("--member", type=_uuid_arg, required=True, metavar="MEMBER_ID", help="the member's id")
    g.add_argument(
        "--creator", type=_uuid_arg, required=True, metavar="CREATOR_ID", help="the other creator's id"
    )
    g.add_argument("--role", choices=[r.value for r in Role], required=True, help="the role on that creator")
    g.set_defaults(func=cmd_members_grant)
    r = msub.add_parser(
        "revoke",
        help="take back a member's granted role on another creator",
        description="Unlink the person of --member from their row on --creator: their agency keys no longer act"
        " for it (the row stays that creator's member, with its history).",
    )
    r.add_argument("--member", type=_uuid_arg, required=True, metavar="MEMBER_ID", help="the member's id")
    r.add_argument("--creator", type=_uuid_arg, required=True, metavar="CREATOR_ID", help="the creator's id")
    r.set_defaults(func=cmd_members_revoke)
