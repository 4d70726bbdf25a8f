"""`huntaze bridge run --config FILE`: the reference bridge adapter (connectors/bridge_adapter.py, docs/bridge.md)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path
from typing import Any


def cmd_bridge_run(args: argparse.Namespace) -> int:
    from connectors.bridge_adapter import Adapter, build_client, load_config

    try:
        config = load_config(Path(args.config))
        client = build_client(config.client)
    except (ValueError, ImportError, AttributeError, TypeError) as exc:
        raise SystemExit(f"bridge run: --config: {exc}") from None
    print(
        f"bridge adapter (contract v{config.contract_version}) for {config.platform}: sends on"
        f" http://{config.listen_host}:{config.listen_port}/send, events to {config.service_url}",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(Adapter(config, client).run())
    return 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("bridge", help="the reference bridge adapter for platforms without a messaging API")
    bsub = p.add_subparsers(dest="bridge_cmd", required=True)
    run = bsub.add_parser(
        "run",
        help="serve the service's signed sends and relay the platform's events (docs/bridge.md)",
        description="Speak the bridge contract with the service on one side and the configured platform client on"
        " the other. The configuration is a JSON file (docs/bridge.md#the-reference-adapter).",
    )
    run.add_argument("--config", required=True, metavar="FILE", help="the adapter's JSON configuration")
    run.set_defaults(func=cmd_bridge_run)
