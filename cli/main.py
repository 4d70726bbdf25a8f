"""The `huntaze` command."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import logging
import os
import signal
import sys
import threading
from datetime import date
from typing import Any, TypeVar

from psycopg import AsyncConnection

from cli.database import on_database as _on_database
from cli.help import Parser
from core.imports import leave_out_unused
from core.privacy import disable_telemetry
from core.settings import Settings, read_settings
from devstack.services import ServiceError, embedded_services, ensure_model

T = TypeVar("T")


def cmd_up(args: argparse.Namespace) -> int:
    from cli.welcome import known_creators, welcome_lines
    from devstack.runtime import serve_until_signalled

    with embedded_services(read_settings()) as svc:
        s = svc.settings
        print(f"started: {', '.join(svc.started) or 'nothing (all configured)'}")
        creators = known_creators(s.database_url)
        temporal_ui = "temporal" in svc.started  # the embedded dev server serves its UI
        for line in welcome_lines(
            s, with_api=not args.worker_only, temporal_ui=temporal_ui, creators=creators
        ):
            print(line)
        print("Ctrl-C (or SIGTERM) stops everything.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_until_signalled(s, with_api=not args.worker_only))
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    from core.migrate import migrate

    with embedded_services(read_settings(), need_llm=False) as svc:
        assert svc.settings.database_url
        applied = migrate(svc.settings.database_url)
        print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from core.migrate import migrate
    from core.progress import terminal_progress
    from devstack.seed import seed_business

    until = None
    if args.until:
        try:
            until = date.fromisoformat(args.until)
        except ValueError:
            raise SystemExit(f"--until: {args.until!r} is not a date (YYYY-MM-DD)") from None
    with embedded_services(read_settings(), need_llm=False) as svc:
        url = svc.settings.database_url
        assert url
        migrate(url)
        try:
            with terminal_progress() as progress:  # on a terminal only
                res = seed_business(
                    url,
                    fans=args.fans,
                    days=args.days,
                    seed=args.seed,
                    until=until,
                    handle=args.handle,
                    progress=progress,
                )
        except ValueError as exc:
            raise SystemExit(f"seed: {exc}") from None
    print(
        f"seeded creator {res.handle} ({res.creator_id}): {res.fans} fans, {res.messages} messages, "
        f"{res.transactions} transactions"
    )
    print(f"API key (shown once): {res.api_key}")
    return 0


def cmd_model(_: argparse.Namespace) -> int:
    print(ensure_model(read_settings()))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from devstack.demo import run_demo

    summary = run_demo(read_settings(), smoke=args.smoke, fans=args.fans)
    return 0 if summary["unapproved_sends"] == 0 and summary["sent"] >= 1 else 1


def cmd_policy_check(args: argparse.Namespace) -> int:
    from cli.policy_check import InputError, check_lines

    try:
        with sys.stdin if args.file == "-" else open(args.file, encoding="utf-8") as fh:
            check_lines(fh, args.direction, sys.stdout)
    except FileNotFoundError:
        raise SystemExit(f"policy check: FILE {args.file!r} does not exist") from None
    except InputError as exc:
        raise SystemExit(f"policy check: {args.file}: {exc}") from None
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    import json

    from core.journal import verify_audit

    if args.anchor is not None and args.creator is None:
        print("huntaze: --anchor needs --creator (an anchor belongs to one creator's chain)", file=sys.stderr)
        return 2

    async def job(conn: AsyncConnection[Any], _: Settings) -> dict[str, object]:
        report = await verify_audit(conn, args.creator, args.anchor)
        return {
            "ok": report.ok,
            "rows_checked": report.rows_checked,
            "creators_checked": report.creators_checked,
            "first_broken": report.first_broken,
            "head": report.head,
        }

    result = _on_database(job)
    print(json.dumps(result))
    if not result["ok"]:
        broken = result["first_broken"]
        assert isinstance(broken, dict)
        print(
            f"audit chain broken at row {broken['id']} (creator {broken['creator_id']}): {broken['reason']}",
            file=sys.stderr,
        )
        return 1
    return 0


def cmd_secrets_rotate(_: argparse.Namespace) -> int:
    import json

    from core.crypto import KeyringError, keyring, rotate
    from core.journal import append_audit

    async def job(conn: AsyncConnection[Any], settings: Settings) -> dict[str, object]:
        ring = keyring(settings)
        counts = await rotate(conn, ring)
        for creator_id, n in counts.items():
            await append_audit(
                conn,
                creator_id=creator_id,
                actor="system",
                action="secrets.rotated",
                subject=f"key:{ring.current_id}",
                details={"resealed": n},
            )
        return {"current_key_id": ring.current_id, "resealed": sum(counts.values()), "creators": len(counts)}

    try:
        result = _on_database(job)
    except KeyringError as exc:
        raise SystemExit(f"secrets rotate: {exc}") from None
    print(json.dumps(result))
    return 0


def cmd_members_enrol_totp(args: argparse.Namespace) -> int:
    from core import totp
    from core.crypto import KeyringError, keyring

    async def job(conn: AsyncConnection[Any], settings: Settings) -> totp.Enrolment:
        return await totp.enrol(
            conn,
            keyring(settings),
            creator_id=args.creator,
            member_id=args.member,
            actor="system",
            by="cli",
            reset=args.reset,
        )

    try:
        done = _on_database(job)
    except totp.UnknownMember:
        print(f"huntaze: no member {args.member} of creator {args.creator}", file=sys.stderr)
        return 1
    except totp.AlreadyEnrolled:
        print(
            "huntaze: this member's TOTP is already set up (--reset replaces it, e.g. for a lost authenticator)",
            file=sys.stderr,
        )
        return 1
    except KeyringError as exc:
        raise SystemExit(f"members enrol-totp: {exc}") from None
    print(done.otpauth_uri)
    print(
        "shown once: add it to the member's authenticator, then confirm with the member's key:"
        " POST /v1/me/totp/confirm {code}",
        file=sys.stderr,
    )
    return 0


def cmd_secrets_new_key(args: argparse.Namespace) -> int:
    from core.crypto import new_key_line

    print(new_key_line(args.id))
    return 0


def cmd_policy_eval(args: argparse.Namespace) -> int:
    import json

    from evals.policy.run import SETS, evaluate
    from evals.policy.run_v2 import evaluate_v2

    if args.set.startswith("v2-"):
        try:
            result = evaluate_v2(
                args.set.removeprefix("v2-"), semantic=not args.rules_only, show_misses=args.show_misses
            )
        except ValueError as exc:
            raise SystemExit(f"--set {args.set}: {exc}") from None
    else:
        result = evaluate(SETS[args.set])
        if not args.show_misses:
            result.pop("misses")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def cmd_segments_fit(args: argparse.Namespace) -> int:
    import json

    from agents.segmentation.btyd import FitError
    from agents.segmentation.fit_file import InputError, fit_file

    try:
        end = date.fromisoformat(args.calibration_end)
    except ValueError:
        raise SystemExit(f"--calibration-end: {args.calibration_end!r} is not a date (YYYY-MM-DD)") from None
    try:
        with open(args.transactions, encoding="utf-8", newline="") as fh:
            result = fit_file(fh, end, args.time_unit)
    except FileNotFoundError:
        raise SystemExit(f"--transactions: file {args.transactions!r} does not exist") from None
    except InputError as exc:
        raise SystemExit(f"--transactions: {args.transactions}: {exc}") from None
    except FitError as exc:
        raise SystemExit(f"segments fit: {exc}") from None
    if args.json:
        print(json.dumps(result))
    else:
        bg, gg = result["bgnbd"], result["gamma_gamma"]
        print(f"customers: {result['customers']}")
        print("BG/NBD:      " + ", ".join(f"{k}={v:.4f}" for k, v in bg.items()))
        print(
            "Gamma-Gamma: " + (", ".join(f"{k}={v:.4f}" for k, v in gg.items()) if gg else "not identifiable")
        )
    return 0


def cmd_memory_reembed(args: argparse.Namespace) -> int:
    import json

    from memory.embed import make_embedder
    from memory.store import reembed

    async def job(conn: AsyncConnection[Any], settings: Settings) -> dict[str, object]:
        embedder = make_embedder(settings)
        return {"model": embedder.name, "reembedded": await reembed(conn, embedder, batch=args.batch)}

    # a batch per transaction (inside reembed), so an interrupted run keeps what it did
    print(json.dumps(_on_database(job, one_transaction=False)))
    return 0


def _uuid_arg(value: str, what: str = "creator") -> str:
    import uuid

    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--{what} must be a {what} id (a UUID), not {value!r}") from None


def _member_arg(value: str) -> str:
    return _uuid_arg(value, "member")


def _anchor_arg(value: str) -> tuple[int, bytes]:
    row, _, digest = value.partition(":")
    if not (row.isdigit() and int(row) > 0 and len(digest) == 64):
        raise argparse.ArgumentTypeError(
            f"--anchor must be ROW_ID:HASH (head.id and head.hash), not {value!r}"
        )
    try:
        return int(row), bytes.fromhex(digest)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--anchor's hash must be 64 hex digits, not {digest!r}") from None


def build_parser() -> argparse.ArgumentParser:
    ap = Parser(prog="huntaze", description="Huntaze agents: AI drafts, human approval, then send.")
    ap.add_argument(
        "-v", "--verbose", action="store_true", help="log at INFO (default: warnings and errors only)"
    )
    sub = ap.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start embedded services (as needed), the worker and the API")
    up.add_argument("--worker-only", action="store_true", help="run the worker without the API")
    up.set_defaults(func=cmd_up)
    dbp = sub.add_parser("db", help="database commands")
    dbsub = dbp.add_subparsers(dest="db_command", required=True)
    dbsub.add_parser("migrate", help="apply pending SQL migrations").set_defaults(func=cmd_migrate)
    sd = sub.add_parser("seed", help="create a synthetic creator business")
    sd.add_argument("--fans", type=int, default=2000, help="fans in the business")
    sd.add_argument(
        "--days", type=int, default=180, help="days of history (subscriptions, purchases, messages)"
    )
    sd.add_argument(
        "--seed", type=int, default=42, help="random seed: the same seed and end day give the same business"
    )
    sd.add_argument("--until", metavar="YYYY-MM-DD", help="last day of history (default: today)")
    sd.add_argument("--handle", help="the creator's handle (default: demo-<seed>)")
    sd.set_defaults(func=cmd_seed)
    md = sub.add_parser("model", help="local model cache")
    mdsub = md.add_subparsers(dest="model_command", required=True)
    mdsub.add_parser("fetch", help="obtain the local GGUF into the model cache").set_defaults(func=cmd_model)
    pol = sub.add_parser("policy", help="policy engine commands")
    polsub = pol.add_subparsers(dest="policy_command", required=True)
    pc = polsub.add_parser("check", help="check JSON lines {id, text}; one JSON line out per input")
    pc.add_argument(
        "--direction",
        choices=["outbound", "inbound"],
        default="outbound",
        help="outbound: drafts to fans; inbound: fan messages",
    )
    pc.add_argument("file", metavar="FILE", help="JSON lines file, or - for standard input")
    pc.set_defaults(func=cmd_policy_check)
    pe = polsub.add_parser("eval", help="measure the policy engine on the sets in evals/policy/")
    pe.add_argument("--show-misses", action="store_true", help="list every miss and false block")
    pe.add_argument(
        "--set",
        choices=[
            "main",
            "dev",
            "holdout",
            "v2-train",
            "v2-dev",
            "v2-test",
            "v2-wide",
            "v2-redteam",
            "v2-threads",
            "v2-copy",
            "v2-pairs",
            "v2-evasion",
            "v2-glossary",
            "v2-casebook",
            "v2-voices",
            "v2-niches",
            "v2-echo",
            "v2-boundaries",
            "v2-ladders",
            "v2-argot",
            "v2-jerga",
            "v2-shadows",
            "v2-everyday",
            "v2-pipeline",
            "v2-replica",
            "v2-plainspoken",
            "v2-taboo",
            "v2-ages",
            "v2-inbox",
            "v2-audit",
            "v2-ordinary",
            "v2-machine",
            "v2-fans",
            "v2-grid",
            "v2-minors",
            "v2-forbidden",
            "v2-leakage",
            "v2-dms",
            "v2-world",
            "v2-twins",
            "v2-french",
            "v2-unsaid",
            "v2-support",
            "v2-agency",
        ],
        default="main",
        help="main: the generated sets the rules were developed on; dev: a hand-written set whose misses"
        " were read once to generalise the rules; holdout: hand-written and never tuned on; v2-*: the"
        " English/French/Spanish splits (train fits the classifiers, dev chooses thresholds, test is sealed:"
        " measured, never read; any other v2-NAME: the train_NAME training batch, measured unseen before the"
        " classifiers were fitted on it, or the held_NAME batch, held out of the fit)",
    )
    pe.add_argument(
        "--rules-only", action="store_true", help="v2 sets: measure the rules without the classifiers"
    )
    pe.set_defaults(func=cmd_policy_eval)
    au = sub.add_parser("audit", help="audit log commands")
    ausub = au.add_subparsers(dest="audit_command", required=True)
    av = ausub.add_parser("verify", help="recompute the hash chains; exit 1 naming the first broken row")
    av.add_argument("--creator", type=_uuid_arg, help="only this creator's chain (default: every creator's)")
    av.add_argument(
        "--anchor",
        type=_anchor_arg,
        metavar="ROW_ID:HASH",
        help="the head printed by an earlier check of the same creator: that row must still be there, unchanged"
        " (catches the removal of the newest rows); needs --creator (default: no anchor)",
    )
    av.set_defaults(func=cmd_audit_verify)
    se = sub.add_parser("secrets", help="encryption keys for secrets at rest")
    sesub = se.add_subparsers(dest="secrets_command", required=True)
    sesub.add_parser(
        "rotate", help="re-seal every stored secret with the first configured key (then drop the old key)"
    ).set_defaults(func=cmd_secrets_rotate)
    nk = sesub.add_parser("new-key", help="print a new 'key_id:base64' AES-256 key line")
    nk.add_argument("--id", help="key id (default: random)")
    nk.set_defaults(func=cmd_secrets_new_key)
    mb = sub.add_parser("members", help="a creator's members")
    mbsub = mb.add_subparsers(dest="members_command", required=True)
    et = mbsub.add_parser(
        "enrol-totp",
        help="set up a member's TOTP on the server (how a creator's first owner is enrolled); prints the"
        " otpauth:// URI once",
    )
    et.add_argument("--creator", type=_uuid_arg, required=True, help="the creator's id (a UUID)")
    et.add_argument("--member", type=_member_arg, required=True, help="the member's id (a UUID)")
    et.add_argument(
        "--reset", action="store_true", help="replace a confirmed TOTP (a lost authenticator); audited"
    )
    et.set_defaults(func=cmd_members_enrol_totp)
    from cli.members import add_parsers as add_grant_parsers

    add_grant_parsers(mbsub)
    sg = sub.add_parser("segments", help="fan segmentation and lifetime-value models")
    sgsub = sg.add_subparsers(dest="segments_command", required=True)
    sf = sgsub.add_parser(
        "fit", help="fit BG/NBD and Gamma-Gamma on a transactions CSV (fan_id,occurred_at,amount)"
    )
    sf.add_argument(
        "--transactions", required=True, metavar="FILE.csv", help="CSV with columns fan_id,occurred_at,amount"
    )
    sf.add_argument(
        "--calibration-end", required=True, metavar="YYYY-MM-DD", help="last day of the calibration period"
    )
    sf.add_argument(
        "--time-unit", choices=["days", "weeks"], default="weeks", help="the models' unit of time"
    )
    sf.add_argument("--json", action="store_true", help="print one JSON line")
    sf.set_defaults(func=cmd_segments_fit)
    me = sub.add_parser("memory", help="fan memory")
    mesub = me.add_subparsers(dest="memory_command", required=True)
    mr = mesub.add_parser(
        "reembed", help="recompute vectors made by another embedding model than the configured one"
    )
    mr.add_argument("--batch", type=int, default=256, help="rows per transaction")
    mr.set_defaults(func=cmd_memory_reembed)
    from cli.bench import add_parser as add_bench_parser
    from cli.creator import add_parser as add_creator_parser
    from cli.evals import add_parser as add_eval_parser
    from cli.keys import add_parser as add_keys_parser

    add_eval_parser(sub)
    add_bench_parser(sub)
    add_keys_parser(sub)
    add_creator_parser(sub)
    from cli.history_import import add_parser as add_import_parser

    add_import_parser(sub)
    from cli.bridge import add_parser as add_bridge_parser

    add_bridge_parser(sub)
    from cli.assistant import add_parser as add_assistant_parser

    add_assistant_parser(sub)
    from cli.graph import add_parser as add_graph_parser

    add_graph_parser(sub)
    from cli.voice import add_parser as add_voice_parser

    add_voice_parser(sub)
    dm = sub.add_parser("demo", help="run the whole path end to end on embedded services")
    dm.add_argument("--smoke", action="store_true", help="exit after the summary instead of serving")
    dm.add_argument("--fans", type=int, default=1000, help="fans in the seeded business")
    dm.set_defaults(func=cmd_demo)
    return ap


def _terminate(signum: int, _frame: object) -> None:
    # SIGTERM unwinds like Ctrl-C, so children are stopped and the embedded PostgreSQL shuts down.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    disable_telemetry()
    leave_out_unused()
    if threading.current_thread() is threading.main_thread():  # signals can only be installed there
        signal.signal(signal.SIGTERM, _terminate)
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        rc: int = args.func(args)
    except ServiceError as exc:
        print(f"huntaze: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return rc


def run() -> None:
    """The `huntaze` executable: main(), then leave without interpreter finalization, where the Temporal
    client's Rust threads can still call into Python and crash a finished command (temporalio/sdk-python#300)."""
    rc = main()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe must not change the exit status
            stream.flush()
    os._exit(rc)


if __name__ == "__main__":
    run()
