"""`huntaze creator create`: a new creator and its owner member; the owner's API key is printed once."""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
from typing import Any

from psycopg import AsyncConnection
from temporalio.service import RPCError

from cli.database import on_database
from core.settings import Settings
from core.store import creators

# exit status for input the command refuses (as argparse does for a bad flag)
EXIT_BAD_INPUT = 2
FLAGS = {"handle": "--handle", "name": "--name", "timezone": "--timezone", "persona": "--persona"}
TEMPORAL_CONNECT_S = 5.0


def _temporal_address(settings: Settings) -> str | None:
    """The configured Temporal, or the embedded one when `huntaze up` runs it on this machine; None otherwise."""
    if settings.temporal_address:
        return settings.temporal_address
    try:
        with socket.create_connection(("127.0.0.1", settings.temporal_port), timeout=0.5):
            return f"127.0.0.1:{settings.temporal_port}"
    except OSError:
        return None


async def _schedule(settings: Settings, creator_id: str, timezone: str) -> bool:
    """Create the creator's daily-plan schedule now if Temporal is reachable (the worker creates missing ones
    whenever it starts, so a miss here is only a delay)."""
    from agents.followup.config import FollowupConfig
    from core import temporal
    from workflows.schedules import ensure_daily_plan_schedule

    address = _temporal_address(settings)
    if address is None:
        return False
    try:
        client = await asyncio.wait_for(
            temporal.connect(address, settings.temporal_namespace), TEMPORAL_CONNECT_S
        )
        hour = FollowupConfig.from_stored({}).daily_plan_hour
        await asyncio.wait_for(
            ensure_daily_plan_schedule(client, creator_id, timezone, hour, settings.task_queue),
            TEMPORAL_CONNECT_S,
        )
    except (TimeoutError, RuntimeError, OSError, RPCError):
        return False
    return True


def _create(new: creators.NewCreator) -> tuple[creators.Created, bool]:
    """Create on the (embedded unless configured) database, committed; then schedule the daily plan."""

    async def job(conn: AsyncConnection[Any], settings: Settings) -> tuple[creators.Created, bool]:
        async with conn.transaction():
            created = await creators.create(conn, new)
        return created, await _schedule(settings, created.creator_id, new.timezone)

    return on_database(job, one_transaction=False)


def cmd_create(args: argparse.Namespace) -> int:
    new = creators.NewCreator(
        handle=args.handle,
        display_name=args.name,
        timezone=args.timezone,
        persona=args.persona,
        owner_email=args.owner_email,
    )
    try:
        new.check()  # before any service starts
        created, scheduled = _create(new)
    except creators.InvalidCreator as exc:
        print(f"huntaze creator create: {FLAGS.get(exc.field, exc.field)}: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(
        f"created creator {new.handle} ({created.creator_id}), timezone {new.timezone};"
        f" owner member {created.owner_member_id}"
    )
    print(
        "daily plan scheduled"
        if scheduled
        else "daily plan: scheduled when the worker next starts (huntaze up)"
    )
    print("the owner key below is shown once: keep it (only its digest is stored)")
    print(json.dumps({"creator_id": created.creator_id, "owner_key": created.owner_key}))
    return 0


def add_parser(sub: Any) -> None:
    cr = sub.add_parser("creator", help="creators")
    crsub = cr.add_subparsers(dest="creator_command", required=True)
    c = crsub.add_parser(
        "create",
        help="create a creator and its owner member; the last line is JSON {creator_id, owner_key} (the key"
        " is shown once)",
    )
    c.add_argument("--handle", required=True, help="unique handle (letters, digits, '.', '_', '-')")
    c.add_argument("--name", required=True, help="display name")
    c.add_argument(
        "--timezone", required=True, help="IANA timezone, e.g. Europe/Paris (the daily plan's clock)"
    )
    c.add_argument(
        "--persona",
        default="",
        help="persona and voice for drafts (default: empty; PATCH /v1/creator changes it)",
    )
    c.add_argument("--owner-email", help="the owner member's email (default owner@HANDLE.example)")
    c.set_defaults(func=cmd_create)
