"""Speed of GGUF models on the local engine: the project's llama.cpp server (devstack.llm_server) with the
settings' threads, one model at a time, the models alternating round by round so machine drift falls on all of
them; the default model (the first) is the baseline.

    python -m bench.local_models --models OTHER.gguf[,MORE.gguf] [--rounds 2] [--max-tokens 64]

Each round sends every model the same chat request (a fan message to a creator persona, temperature 0) and
reads llama.cpp's own timings: prompt tokens/s, generated tokens/s, and the request's wall seconds. The JSON
line has the medians per model and their ratios to the default model.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench.stack import emit

SYSTEM = (
    "You are Mia, a content creator, chatting with one of your fans in private messages. Write your next "
    "message: warm, playful, one or two short sentences, in English, about what the fan said. Never invent "
    "prices or promise a meeting."
)
FAN = (
    "hey mia, how was your weekend? I went hiking with my dog and it rained the whole time lol. "
    "still worth it though, he loved the mud"
)


def _one(base_url: str, max_tokens: int) -> dict[str, Any]:
    body = {
        "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": FAN}],
        "max_tokens": max_tokens,
        "temperature": 0,
    }
    with httpx.Client(timeout=1800) as client:
        response = client.post(f"{base_url}/chat/completions", json=body)
        response.raise_for_status()
        elapsed = response.elapsed.total_seconds()
    out = response.json()
    timings = out.get("timings") or {}
    return {
        "wall_s": elapsed,
        "prompt_tokens": timings.get("prompt_n"),
        "prompt_tps": float(timings.get("prompt_per_second") or 0.0),
        "completion_tokens": timings.get("predicted_n"),
        "gen_tps": float(timings.get("predicted_per_second") or 0.0),
        "reply": str(out["choices"][0]["message"]["content"])[:200],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--models", required=True, help="comma-separated GGUF paths compared with the default model"
    )
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--max-tokens", type=int, default=64)
    args = ap.parse_args()

    from core.settings import get_settings
    from devstack.services import ensure_model, free_port, start_llm

    settings = get_settings()
    baseline = ensure_model(settings)
    models = [baseline] + [Path(p) for p in args.models.split(",") if p]
    for path in models:
        if not path.is_file():
            raise SystemExit(f"--models: {path} is not a file")
    rows: dict[str, list[dict[str, Any]]] = {str(p): [] for p in models}
    with tempfile.TemporaryDirectory(prefix="huntaze-bench-models-") as tmp:
        for _ in range(args.rounds):
            for path in models:
                port = free_port()
                run = settings.model_copy(
                    update={"local_llm_port": port, "data_dir": Path(tmp), "llm_slots": 1}
                )
                proc = start_llm(run, path)
                try:
                    row = _one(run.local_llm_base_url, args.max_tokens)
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
                row["load1"] = os.getloadavg()[0]
                rows[str(path)].append(row)
                print(path.name, row, flush=True)

    def med(path: Path, key: str) -> float:
        return statistics.median(float(r[key]) for r in rows[str(path)])

    figure = {
        p.name: {
            "prompt_tps": round(med(p, "prompt_tps"), 2),
            "gen_tps": round(med(p, "gen_tps"), 2),
            "wall_s": round(med(p, "wall_s"), 2),
            "completion_tokens": round(med(p, "completion_tokens"), 1),
            "size_mb": round(p.stat().st_size / 1e6, 1),
        }
        for p in models[1:]
    }
    base = {
        "model": baseline.name,
        "prompt_tps": round(med(baseline, "prompt_tps"), 2),
        "gen_tps": round(med(baseline, "gen_tps"), 2),
        "wall_s": round(med(baseline, "wall_s"), 2),
    }
    ratios = {
        f"{p.name}:gen_tps": round(med(p, "gen_tps") / max(med(baseline, "gen_tps"), 1e-9), 3)
        for p in models[1:]
    }
    ratios.update(
        {
            f"{p.name}:prompt_tps": round(med(p, "prompt_tps") / max(med(baseline, "prompt_tps"), 1e-9), 3)
            for p in models[1:]
        }
    )
    loads = [float(r["load1"]) for rs in rows.values() for r in rs]
    emit(
        "local-models",
        figure,
        base,
        ratios,
        rounds=args.rounds,
        threads=settings.local_llm_threads,
        load1=[round(min(loads), 1), round(max(loads), 1)],
    )


if __name__ == "__main__":
    main()
