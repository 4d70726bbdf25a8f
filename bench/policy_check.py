"""Policy engine latency per draft, after warm-up, against the bare rules as the in-run baseline.

    python -m bench.policy_check [--rounds N]

Drafts: the benign and red-team sets of evals/policy/. The baseline calls the same rule functions
directly, without guardrails-ai, so the ratio is the cost of the Guard around them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from evals.policy.run import HERE


def _texts() -> list[str]:
    rows: list[str] = []
    for name in ("outbound_benign", "outbound_redteam"):
        with (HERE / f"{name}.jsonl").open(encoding="utf-8") as fh:
            rows += [json.loads(line)["text"] for line in fh if line.strip()]
    return rows


def _time(fn: Callable[[str], object], texts: list[str], rounds: int) -> list[float]:
    from policies.normalize import clear_caches

    for t in texts[:50]:
        fn(t)  # warm-up
    per_draft = []
    for _ in range(rounds):
        elapsed = 0.0
        for t in texts:
            clear_caches()  # each draft is new text in production: no reading cached from a previous round
            start = time.perf_counter()
            fn(t)
            elapsed += time.perf_counter() - start
        per_draft.append(elapsed / len(texts) * 1000)
    return per_draft


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    from policies import rules
    from policies.engine import check_draft

    # A creator with 2,000 other fans (name and handle each) and a few private terms: the leak check
    # compares every draft against all of them.
    others = [n for i in range(2000) for n in (f"Fan{i:04d}", f"fan_{i:04d}x")]
    private = ["Jessica Moreno", "Tempe", "4417 Elm Street"]
    forbidden = ["cheap", "discount code"]

    def bare_rules(text: str) -> object:
        return (
            rules.check_payment(text),
            rules.check_contact(text),
            [rules.check_phrases(text, r) for r in rules.PHRASE_RULES],
            rules.check_forbidden(text, forbidden),
            rules.check_other_fans(text, others),
            rules.check_private(text, private),
        )

    def engine(text: str) -> object:
        return check_draft(text, forbidden_words=forbidden, other_fans=others, private_terms=private)

    texts = _texts()
    base = _time(bare_rules, texts, args.rounds)
    engine_ms = _time(engine, texts, args.rounds)
    b, e = statistics.median(base), statistics.median(engine_ms)
    print(f"drafts: {len(texts)}  rounds: {args.rounds}")
    print(f"baseline (rules only):          {b:.3f} ms/draft (median of rounds)")
    print(f"engine (guardrails Guard):      {e:.3f} ms/draft (median of rounds)")
    print(f"ratio engine/baseline:          {e / b:.1f}x   target: <= 5 ms/draft")


if __name__ == "__main__":
    main()
