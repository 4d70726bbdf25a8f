"""`huntaze policy check`: run the policy engine over JSON lines, one JSON line out per input.

Needs neither Temporal nor an LLM. Input lines: {"id": ..., "text": ...} (outbound lines may also carry
"offer", "price_bounds" [min, max], "forbidden_words", "other_fans" (the creator's other fans' names and
handles) and "private_terms" (the creator's private data)).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from policies.rules import InboundVerdict, check_inbound


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
        for field in ("forbidden_words", "other_fans", "private_terms"):
            value = rec.get(field)
            if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                raise InputError(f"line {n}: field '{field}' must be a list of strings")
        yield n, rec


def inbound_decision(v: InboundVerdict) -> str:
    # Safety first: a possible minor who also says "stop" still goes to a human.
    if v.handoff_reason:
        return "handoff"
    if v.opt_out:
        return "optout"
    if v.injection:
        return "injection"
    return "normal"


def check_lines(lines: Iterable[str], direction: str, out: TextIO) -> int:
    count = 0
    records = list(_records(lines))  # validate the whole input before printing anything
    if direction == "outbound":
        from policies.engine import check_draft

        for n, rec in records:
            bounds = rec.get("price_bounds")
            if bounds is not None and not (isinstance(bounds, list) and len(bounds) == 2):
                raise InputError(f"line {n}: field 'price_bounds' must be [min, max]")
            report = check_draft(
                rec["text"],
                offer=rec.get("offer"),
                price_bounds=tuple(bounds) if bounds else None,
                forbidden_words=rec.get("forbidden_words"),
                other_fans=rec.get("other_fans"),
                private_terms=rec.get("private_terms"),
            )
            violations = [
                {
                    "policy": f.rule,
                    "start": f.span[0] if f.span else None,
                    "end": f.span[1] if f.span else None,
                    "reason": f.reason,
                }
                for f in report.findings
            ]
            out.write(
                json.dumps(
                    {"id": rec["id"], "decision": report.outcome, "violations": violations},
                    ensure_ascii=False,
                )
                + "\n"
            )
            count += 1
    else:
        for _, rec in records:
            v = check_inbound(rec["text"])
            flags = [f.rule for f in v.findings]
            out.write(
                json.dumps(
                    {"id": rec["id"], "decision": inbound_decision(v), "flags": flags}, ensure_ascii=False
                )
                + "\n"
            )
            count += 1
    return count
