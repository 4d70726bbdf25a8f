"""Policy engine latency per draft (the Guard with the rules and the semantic layer), after warm-up, against the
bare rules as the in-run baseline.

    python -m bench.policy_check [--rounds N]

Drafts: the benign and red-team sets of evals/policy/ and the v2 dev split (never the sealed test split). The
baseline calls the same rule functions directly, without guardrails-ai and without the classifiers, so the ratio is
the cost of the Guard and the semantic layer around them. Every draft is measured as new text (caches cleared).

Fan messages (the v2 dev split's inbound messages): the inbound check and the reply's embedding of the same message
(what the DM agent's memory recall and voice examples read), the vector reused, against the same two steps with the
message embedded a second time for the reply.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

from evals.policy.run import HERE


def _texts(*paths: str) -> list[str]:
    rows: list[str] = []
    for path in [HERE / p for p in paths] or (
        HERE / "outbound_benign.jsonl",
        HERE / "outbound_redteam.jsonl",
        HERE / "v2/dev/outbound.jsonl",
    ):
        with path.open(encoding="utf-8") as fh:
            rows += [json.loads(line)["text"] for line in fh if line.strip()]
    return rows


def _time(fn: Callable[[str], object], texts: list[str], rounds: int) -> tuple[list[float], list[float]]:
    """Milliseconds per draft, every draft of every round: wall-clock time, and the CPU time of the process (the
    calling thread and the encoder threads its check starts; ONNX Runtime itself runs each embedding on the thread
    that asks for it), which other jobs on a shared machine inflate far less."""
    from policies.normalize import clear_caches
    from policies.semantic import clear_score_cache

    for t in texts[:50]:
        fn(t)  # warm-up
    wall, cpu = [], []
    for _ in range(rounds):
        for t in texts:
            clear_caches()  # each draft is new text in production: no reading cached from a previous round
            clear_score_cache()
            start, start_cpu = time.perf_counter(), time.process_time()
            fn(t)
            cpu.append((time.process_time() - start_cpu) * 1000)
            wall.append((time.perf_counter() - start) * 1000)
    return wall, cpu


def _pct(xs: list[float], q: float) -> float:
    return round(statistics.quantiles(xs, n=100)[int(q) - 1], 3)


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
        return check_draft(
            text, forbidden_words=forbidden, other_fans=others, private_terms=private, semantic=True
        )

    texts = _texts()
    engine(texts[0])  # builds or loads the classifiers before anything is timed
    base, base_cpu = _time(bare_rules, texts, args.rounds)
    engine_ms, engine_cpu = _time(engine, texts, args.rounds)

    def summary(xs: list[float], cpu: list[float]) -> dict[str, float]:
        return {
            "p50_ms": _pct(xs, 50),
            "p99_ms": _pct(xs, 99),
            "mean_ms": round(statistics.mean(xs), 3),
            "cpu_p50_ms": _pct(cpu, 50),
            "cpu_p99_ms": _pct(cpu, 99),
        }

    fig, bas = summary(engine_ms, engine_cpu), summary(base, base_cpu)
    print(f"drafts: {len(texts)}  rounds: {args.rounds}")
    for name, s in (
        ("baseline (bare rules):              ", bas),
        ("engine (Guard: rules + classifiers):", fig),
    ):
        print(
            f"{name}  p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms per draft"
            f" (process CPU p50 {s['cpu_p50_ms']} ms, p99 {s['cpu_p99_ms']} ms)"
        )
    ratio = {"p50": round(fig["p50_ms"] / bas["p50_ms"], 2), "p99": round(fig["p99_ms"] / bas["p99_ms"], 2)}

    from memory.embed import embedder
    from policies.rules import check_inbound
    from policies.semantic import semantic_layer

    def inbound_then_reply(text: str) -> object:
        return check_inbound(text, semantic=True), embedder().embed([text])

    def embedded_twice(text: str) -> object:
        verdict = check_inbound(text, semantic=True)
        semantic_layer().encoder.model.forget_recent()
        return verdict, embedder().embed([text])

    messages = _texts("v2/dev/inbound.jsonl")
    twice, twice_cpu = _time(embedded_twice, messages, args.rounds)
    once, once_cpu = _time(inbound_then_reply, messages, args.rounds)
    fan, fan_base = summary(once, once_cpu), summary(twice, twice_cpu)
    print(f"fan messages: {len(messages)}")
    for name, s in (
        ("embedded twice (check, then reply): ", fan_base),
        ("embedded once (the vector reused):  ", fan),
    ):
        print(
            f"{name}  p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms per message"
            f" (process CPU p50 {s['cpu_p50_ms']} ms, p99 {s['cpu_p99_ms']} ms)"
        )
    print(
        json.dumps(
            {
                "bench": "policy",
                "figure": fig,
                "baseline": bas,
                "ratio": ratio,
                "targets": {"p99_ms": "<= 25"},
                "fan_message": {
                    "figure": fan,
                    "baseline": fan_base,
                    "ratio": {
                        "p50": round(fan["p50_ms"] / fan_base["p50_ms"], 2),
                        "cpu_p50": round(fan["cpu_p50_ms"] / fan_base["cpu_p50_ms"], 2),
                    },
                },
            }
        )
    )


if __name__ == "__main__":
    main()
