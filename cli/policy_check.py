"""`huntaze policy check`: run the policy engine over JSON lines, one JSON line out per input.

Needs neither Temporal nor an LLM. Input lines: {"id": ..., "text": ...} (outbound lines may also carry
"offer", "price_bounds" [min, max], "forbidden_words", "other_fans" (the creator's other fans' names and
handles) and "private_terms" (the creator's private data)); any line may carry "platform" (the fan's platform:
naming it is not off-platform) and "language" (informational: the engine reads every language it was built for).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from policies.check import check_inbound_text


class InputError(ValueError):
    """A line of the input is not what the command reads; the message names the line and the field."""


def _records(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"line {n}: not JSON ({exc.msg})") from None
        if not isinstance(rec, dict):
            raise InputError(f"line {n}: expected an object with 'id' and 'text'")
        if "id" not in rec:
            raise InputError(f"line {n}: field 'id' is missing")
        if not isinstance(rec.get("text"), str):
            raise InputError(f"line {n}: field 'text' must be a string")
        for field in ("platform", "language"):
            if rec.get(field) is not None and not isinstance(rec[field], str):
                raise InputError(f"line {n}: field '{field}' must be a string")
        for field in ("forbidden_words", "other_fans", "private_terms"):
            value = rec.get(field)
            if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise InputError(f"line {n}: field '{field}' must be a list of strings")
        yield n, rec


def check_lines(lines: Iterable[str], direction: str, out: TextIO) -> int:
    from agents.prompts import DM_SYSTEM, DM_USER, GENERIC_EXAMPLE

    count = 0
    records = list(_records(lines))  # validate the whole input before printing anything
    if direction == "outbound":
        from policies.check import check_outbound_text

        for n, rec in records:
            bounds = rec.get("price_bounds")
            if bounds is not None and not (isinstance(bounds, list) and len(bounds) == 2):
                raise InputError(f"line {n}: field 'price_bounds' must be [min, max]")
            result = check_outbound_text(
                rec["text"],
                offer=rec.get("offer"),
                price_bounds=tuple(bounds) if bounds else None,
                forbidden_words=rec.get("forbidden_words"),
                other_fans=rec.get("other_fans"),
                private_terms=rec.get("private_terms"),
                platform=rec.get("platform"),
                prompt=f"{DM_SYSTEM}\n{GENERIC_EXAMPLE}\n{DM_USER}",
            )
            out.write(json.dumps({"id": rec["id"], **result}, ensure_ascii=False) + "\n")
            count += 1
    else:
        for _, rec in records:
            result = check_inbound_text(rec["text"])
            out.write(json.dumps({"id": rec["id"], **result}, ensure_ascii=False) + "\n")
            count += 1
    return count
