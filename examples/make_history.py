"""Write examples/history.jsonl, the example file of docs/import.md (a small synthetic history):

    python examples/make_history.py [--fans 20] [--events 400] [--seed 1] [--out examples/history.jsonl]

Its purchases and unlocks name the items of devstack.history_file.CATALOG by their platform ids: create them
(POST /v1/catalog), then `huntaze import --creator CREATOR_ID examples/history.jsonl` (docs/import.md).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from devstack.history_file import CATALOG, history_lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fans", type=int, default=20)
    ap.add_argument("--events", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--until", default="2026-11-30", help="the newest event's day (YYYY-MM-DD)")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("history.jsonl"))
    args = ap.parse_args()
    until = datetime.fromisoformat(args.until).replace(tzinfo=UTC)
    with args.out.open("w", encoding="utf-8") as fh:
        items = [item["platform_item_id"] for item in CATALOG]
        for line in history_lines(
            fans=args.fans,
            events=args.events,
            seed=args.seed,
            until=until,
            prefix="ex",
            platform_item_ids=items,
        ):
            fh.write(line + "\n")


if __name__ == "__main__":
    main()
