"""`huntaze assistant ask --creator CREATOR_ID TEXT`: ask the creator's assistant through its workflow, as
`POST /v1/assistant/messages` does; the answer's JSON is the last line printed. `--idempotency-key KEY` makes it
safe to run again, as the API's Idempotency-Key header: the same KEY and TEXT are asked once. The request's progress (the
thread, the supervisor's choice, each tool call as it is made) is followed as the API's event stream follows it,
one human line per event on stderr when stderr is a terminal or with `--progress`. Needs the worker
(`huntaze up`).

`huntaze assistant route [TEXT]`: the router that picks agents and tools with the local engine (fitted the first
time): the route of TEXT, or without TEXT what was fitted and its out-of-fold figures on the routing data;
`--suite`: the router alone graded on the whole `assistant` eval suite (aggregate figures only)."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import uuid
from collections.abc import Callable
from typing import Any

from psycopg import AsyncConnection

from cli.database import on_database
from core.settings import Settings, read_settings

EXIT_BAD_INPUT = 2
THREAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # the API's Idempotency-Key header
# The CLI's requests are recorded under this member id in the actions feed (no member signs in here).
CLI_MEMBER = "cli"


def _creator_arg(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--creator must be a creator id (a UUID), not {value!r}") from None


def _thread_arg(value: str) -> str:
    if not THREAD.match(value):
        raise argparse.ArgumentTypeError("--thread must be 1 to 64 of A-Z a-z 0-9 _ -")
    return value


def _key_arg(value: str) -> str:
    if not IDEMPOTENCY_KEY.match(value):
        raise argparse.ArgumentTypeError(
            "--idempotency-key must be 1 to 200 printable ASCII characters, no spaces"
        )
    return value


def _text_arg(value: str) -> str:
    if not value.strip() or len(value) > 2000 or "\x00" in value:
        raise argparse.ArgumentTypeError("TEXT must be 1 to 2000 characters, not blank, without NUL")
    return value


def progress_line(name: str, data: dict[str, Any]) -> str | None:
    """One human line for a progress event (None: nothing to say)."""
    if name == "thread":
        return f"thread {data['thread_id']}"
    if name == "agents":
        return "agents: " + " → ".join(data["agents"])
    if name == "step":
        args = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in data["args"].items())
        summary = data["summary"] if len(data["summary"]) <= 200 else data["summary"][:199] + "…"
        return f"{data['agent']}: {data['tool']}({args}) → {summary}"
    if name == "retry":
        return f"retry: attempt {data['attempt']}, the steps start again"
    return None


class KeyConflict(Exception):
    """The idempotency key was used for another request in this thread."""


async def _ask(
    settings: Settings,
    creator_id: str,
    thread: str,
    text: str,
    tell: Callable[[str], None] | None,
    key: str = "",
) -> dict[str, Any]:
    from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError, WorkflowUpdateStage
    from temporalio.common import WorkflowIDConflictPolicy

    from cli.creator import _temporal_address
    from core import temporal
    from workflows.assistant import assistant_workflow_id, keyed_ask_id
    from workflows.assistant_stream import follow
    from workflows.types import AssistantAsk, AssistantReply, AssistantThreadInput

    address = _temporal_address(settings)
    if address is None:
        raise RuntimeError("no Temporal to reach: start `huntaze up` (or set TEMPORAL_ADDRESS)")
    client = await temporal.connect(address, settings.temporal_namespace)
    handle = await client.start_workflow(
        "AssistantWorkflow",
        AssistantThreadInput(creator_id, thread, settings.assistant_idle_close_s),
        id=assistant_workflow_id(creator_id, thread),
        task_queue=settings.task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    # With a key, the Update's id is the key and the text (as the API's): the same command again joins the first.
    request_id = keyed_ask_id(key, text) if key else uuid.uuid4().hex
    try:
        async with asyncio.timeout(settings.decision_wait_s):
            update = await handle.start_update(
                "ask",
                AssistantAsk(creator_id, CLI_MEMBER, text, request_id, key),
                id=request_id if key else None,
                wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                result_type=AssistantReply,
            )
    except (
        WorkflowUpdateRPCTimeoutOrCancelledError,
        TimeoutError,
    ):  # the SDK wraps the timeout's cancellation
        again = "asking again with the same --idempotency-key joins it" if key else "asking again asks anew"
        raise RuntimeError(
            f"no worker took the request within {settings.decision_wait_s:g} s (HUNTAZE_DECISION_WAIT_S): is"
            f" `huntaze up` (or a worker on task queue {settings.task_queue}) running? {again}"
        ) from None
    if tell is not None:
        tell(f"thread {thread}")
    async for name, data in follow(handle, update, request_id):
        if name == "answer":
            reply: AssistantReply = data
            return _reply_json(reply)
        if name == "error":
            if data["code"] == "idempotency_conflict":
                raise KeyConflict(data["message"])
            raise RuntimeError(data["message"])
        line = progress_line(name, data)
        if tell is not None and line is not None:
            tell(line)
    raise RuntimeError("the assistant's answer did not come")  # follow always ends with answer or error


def _reply_json(reply: Any) -> dict[str, Any]:
    return {
        "thread_id": reply.thread_id,
        "answer": reply.answer,
        "agents": reply.agents,
        "steps": reply.steps,
        "proposals": reply.proposals,
    }


def cmd_ask(args: argparse.Namespace) -> int:
    from core.store import assistant_turns
    from workflows.assistant import keyed_thread_id

    # The key is the CLI's own member's, as the API scopes a key to the member who sent it.
    key = f"{CLI_MEMBER}:{args.idempotency_key}" if args.idempotency_key else ""
    thread = args.thread or (keyed_thread_id(args.creator, key) if key else uuid.uuid4().hex)

    async def look(conn: AsyncConnection[Any], _: Settings) -> tuple[bool, Any]:
        cur = await conn.execute("SELECT 1 FROM creators WHERE id = %s", [args.creator])
        if await cur.fetchone() is None:
            return False, None
        return True, (await assistant_turns.keyed(conn, args.creator, thread, key) if key else None)

    exists, stored = on_database(look)
    if not exists:
        print(f"huntaze assistant ask: --creator: no creator {args.creator}", file=sys.stderr)
        return EXIT_BAD_INPUT
    conflict = f"huntaze assistant ask: --idempotency-key: used for another request in thread {thread}"
    if (
        stored is not None
    ):  # answered before, possibly after the thread's run closed: the same answer, no new turn
        if stored.text != args.text:
            print(conflict, file=sys.stderr)
            return EXIT_BAD_INPUT
        out = _reply_json(stored)
        print(out["answer"])
        print(json.dumps(out, ensure_ascii=False))
        return 0

    def tell(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    shown = args.progress or sys.stderr.isatty()
    try:
        out = asyncio.run(
            _ask(read_settings(), args.creator, thread, args.text, tell if shown else None, key)
        )
    except KeyConflict:
        print(conflict, file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # Temporal unreachable, or the assistant failed: say so, exit 1
        cause = getattr(exc, "cause", None) or exc
        print(f"huntaze assistant ask: {cause}", file=sys.stderr)
        return 1
    print(out["answer"])
    print(json.dumps(out, ensure_ascii=False))
    return 0


def cmd_route(args: argparse.Namespace) -> int:
    from agents.router import AssistantRouter, RouterUnavailable

    try:
        router = AssistantRouter(read_settings())
    except RouterUnavailable as exc:
        print(f"huntaze assistant route: {exc}", file=sys.stderr)
        return 1
    if args.suite or args.cv:
        if args.text is not None or (args.suite and args.cv):
            print(
                "huntaze assistant route: --suite and --cv take no TEXT and not each other", file=sys.stderr
            )
            return EXIT_BAD_INPUT
    if args.cv:
        from evals.route_cv import cross_validate

        print(json.dumps(cross_validate(router), ensure_ascii=False))
        return 0
    if args.suite:
        from evals.route_look import route_suite

        print(json.dumps(route_suite(router), ensure_ascii=False))
        return 0
    if args.text is None:
        print(json.dumps(router.describe(), ensure_ascii=False))
        return 0
    route = router.route(args.text)
    print(json.dumps({"agents": route.agents, "plans": route.plans}, ensure_ascii=False))
    return 0


def add_parser(sub: Any) -> None:
    a = sub.add_parser("assistant", help="the creator's assistant")
    asub = a.add_subparsers(dest="assistant_command", required=True)
    ask = asub.add_parser(
        "ask",
        help="ask the assistant (needs `huntaze up`); the answer's JSON is the last line",
        description="Ask the creator's assistant, as POST /v1/assistant/messages does. Prints the answer, then one"
        " JSON line: thread_id, answer, agents, steps, proposals. Proposals are not executed. Progress (each tool"
        " call as it is made) goes to stderr, one line per event, when stderr is a terminal or with --progress.",
    )
    ask.add_argument(
        "--creator", type=_creator_arg, required=True, metavar="CREATOR_ID", help="the creator's id"
    )
    ask.add_argument(
        "--thread", type=_thread_arg, default=None, help="continue this thread (default: a new one)"
    )
    ask.add_argument(
        "--progress",
        action="store_true",
        help="print each progress event (thread, agents, each tool call) as a line on stderr; the default when"
        " stderr is a terminal",
    )
    ask.add_argument(
        "--idempotency-key",
        type=_key_arg,
        default=None,
        metavar="KEY",
        help="makes the command safe to run again (a lost connection, a timeout): the same KEY with the same TEXT"
        " is asked once and answers the first answer; with another TEXT it is refused. Without --thread, KEY names"
        " the thread too (default: none, each run asks anew)",
    )
    ask.add_argument("text", type=_text_arg, metavar="TEXT", help="the request")
    ask.set_defaults(func=cmd_ask)
    route = asub.add_parser(
        "route",
        help="the agents and tools the router picks for TEXT (json tool mode), or its figures without TEXT",
        description="The semantic router that decides with the local engine (fitted from evals/assistant/ the first"
        " time, then cached). With TEXT: one JSON line {agents, plans}. Without: one JSON line with the fitted"
        " settings and their out-of-fold figures.",
    )
    route.add_argument("text", type=_text_arg, nargs="?", default=None, metavar="TEXT", help="a request")
    route.add_argument(
        "--suite",
        action="store_true",
        help="grade the router alone on every case of the assistant eval suite: one JSON line of agent choice"
        " and tool choice (overall, en, fr), no model or database needed",
    )
    route.add_argument(
        "--cv",
        action="store_true",
        help="5-fold cross-validation over every labelled routing row (train files and dev): the fitted settings"
        " and the settings the grids would choose, one JSON line (minutes)",
    )
    route.set_defaults(func=cmd_route)
