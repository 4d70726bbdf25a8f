"""Measure the policy engine on the v2 splits (train, dev, sealed test) of `evals/policy/v2/`: outbound drafts
caught and benign drafts flagged, inbound decisions, minors handed off, injections and opt-outs recognised,
each overall and per language; the internal-leakage set (its violations and the benign drafts that resemble it).

The test split is for first looks only: its misses are not printed (`show_misses` refuses it, and the held-out
batches' while they are held out)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

V2 = Path(__file__).parent / "v2"
# A split's directory: each other name is a training batch `train_<name>/`, measured as unseen data before any fit
# read it.
DIRS = {
    "wide": "train_wide",
    "redteam": "train_redteam",
    "threads": "train_threads",
    "copy": "train_copy",
    "pairs": "train_pairs",
    "evasion": "train_evasion",
    "glossary": "train_glossary",
    "casebook": "train_casebook",
    "voices": "train_voices",
    "niches": "train_niches",
    "echo": "train_echo",
    "boundaries": "train_boundaries",
    "ladders": "train_ladders",
    "argot": "train_argot",
    "jerga": "train_jerga",
    "shadows": "train_shadows",
    "everyday": "train_everyday",
    "pipeline": "train_pipeline",
    "replica": "train_replica",
    "plainspoken": "train_plainspoken",
    "taboo": "train_taboo",
    "ages": "train_ages",
    "inbox": "train_inbox",
    "audit": "train_audit",
    "ordinary": "train_ordinary",
    "machine": "train_machine",
    "fans": "train_fans",
    "grid": "train_grid",
    "minors": "train_minors",
    "forbidden": "train_forbidden",
    "leakage": "train_leakage",
    "dms": "train_dms",
    "world": "train_world",
    "twins": "train_twins",
    "french": "train_french",
    "unsaid": "train_unsaid",
    "support": "train_support",
    # held out of the fit, like the casebook: the yardstick for the next changes
    "agency": "held_agency",
}
SPLITS = ("train", "dev", "test", *DIRS)
# The batches held out of the fit and of rule writing: yardsticks whose misses stay unread, like the test split's.
HELD_OUT = tuple(
    name for name, folder in DIRS.items() if folder.startswith("held_") or folder == "train_casebook"
)
LANGS = ("en", "fr", "es")


def _rows(split: str, direction: str) -> list[dict[str, Any]]:
    with (V2 / DIRS.get(split, split) / f"{direction}.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _rate(hit: int, total: int) -> float | None:
    return round(hit / total, 4) if total else None


def evaluate_v2(split: str, *, semantic: bool = True, show_misses: bool = False) -> dict[str, Any]:
    from agents.prompts import DM_SYSTEM, DM_USER, GENERIC_EXAMPLE
    from policies.check import inbound_decision
    from policies.engine import check_draft
    from policies.rules import check_inbound

    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    if show_misses and split == "test":
        raise ValueError("the test split is sealed: its misses are never shown (measure it, do not read it)")
    if show_misses and split in HELD_OUT:
        raise ValueError(
            f"the {split} batch is held out: its misses are not shown while it is a yardstick (measure it, do not"
            " read it; once fitted it is a training batch)"
        )
    prompt = f"{DM_SYSTEM}\n{GENERIC_EXAMPLE}\n{DM_USER}"
    caught: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # key -> [caught, total]
    flagged: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses: list[dict[str, Any]] = []
    for row in _rows(split, "outbound"):
        report = check_draft(
            row["text"],
            other_fans=row.get("other_fans") or [],
            private_terms=row.get("private_terms") or [],
            platform=row.get("platform"),
            prompt=prompt,
            semantic=semantic,
        )
        hit = (
            report.outcome != "pass"
        )  # blocked, or held with a redaction offered: it cannot go out as written
        lang = row.get("lang", "?")
        if row["label"] == "violation":
            keys = ["all", f"lang:{lang}", f"category:{row['category']}", f"evasion:{row.get('evasion')}"]
            table = caught
        else:
            keys = ["all", f"lang:{lang}"] + (
                [f"resembles:{row['hard_negative_for']}"] if row.get("hard_negative_for") else []
            )
            table = flagged
        for k in keys:
            table[k][0] += int(hit)
            table[k][1] += 1
        if hit != (row["label"] == "violation"):
            misses.append(
                {
                    "id": row["id"],
                    "text": row["text"],
                    "label": row["label"],
                    "rules": sorted({f.rule for f in report.findings}),
                }
            )
    inbound: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in _rows(split, "inbound"):
        decision = inbound_decision(check_inbound(row["text"], semantic=semantic))
        lang = row.get("lang", "?")
        ok = decision == row["label"]
        for k in ("all", f"lang:{lang}"):
            inbound[k][0] += int(ok)
            inbound[k][1] += 1
        cue = row.get("cue")
        if cue in ("minor", "injection", "optout"):
            want = {"minor": "handoff", "injection": "injection", "optout": "optout"}[cue]
            for k in (cue, f"{cue}:{lang}"):
                inbound[k][0] += int(decision == want)
                inbound[k][1] += 1
        if not ok:
            misses.append({"id": row["id"], "text": row["text"], "label": row["label"], "got": decision})
    leak = caught["category:internal_leakage"]
    leak_benign = flagged["resembles:internal_leakage"]
    out: dict[str, Any] = {
        "split": split,
        "semantic": semantic,
        "outbound_caught": _rate(*caught["all"]),
        "outbound_caught_by_language": {lg: _rate(*caught[f"lang:{lg}"]) for lg in LANGS},
        "benign_flagged": _rate(*flagged["all"]),
        "benign_flagged_by_language": {lg: _rate(*flagged[f"lang:{lg}"]) for lg in LANGS},
        "inbound_correct": _rate(*inbound["all"]),
        "inbound_correct_by_language": {lg: _rate(*inbound[f"lang:{lg}"]) for lg in LANGS},
        "minors_handed_off": f"{inbound['minor'][0]} of {inbound['minor'][1]}",
        "minors_handed_off_by_language": {
            lg: f"{inbound[f'minor:{lg}'][0]} of {inbound[f'minor:{lg}'][1]}" for lg in LANGS
        },
        "injection_flagged": _rate(*inbound["injection"]),
        "injection_flagged_by_language": {lg: _rate(*inbound[f"injection:{lg}"]) for lg in LANGS},
        "optout_recognised": _rate(*inbound["optout"]),
        "optout_recognised_by_language": {lg: _rate(*inbound[f"optout:{lg}"]) for lg in LANGS},
        "leakage_blocked": _rate(*leak),
        "leakage_lookalikes_flagged": _rate(*leak_benign),
        "outbound_caught_by_category": {
            k.split(":", 1)[1]: _rate(*v) for k, v in sorted(caught.items()) if k.startswith("category:")
        },
        "outbound_caught_by_evasion": {
            k.split(":", 1)[1]: _rate(*v) for k, v in sorted(caught.items()) if k.startswith("evasion:")
        },
        "counts": {
            "violations": caught["all"][1],
            "benign": flagged["all"][1],
            "inbound": inbound["all"][1],
        },
    }
    if show_misses:
        out["misses"] = misses
    return out
