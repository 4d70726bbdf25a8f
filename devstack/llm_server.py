"""Serve a GGUF over an OpenAI-compatible HTTP endpoint on loopback with llama.cpp (xllamacpp)."""

from __future__ import annotations

import argparse
import signal
import threading


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ctx", type=int, default=4096, help="context per slot")
    ap.add_argument("--parallel", type=int, default=1, help="requests decoded at once, each in its own slot")
    ap.add_argument("--frequency-penalty", type=float, default=0.0)
    args = ap.parse_args()

    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = args.model
    # llama.cpp splits the context between the slots: each gets --ctx
    params.n_ctx = args.ctx * args.parallel
    params.n_parallel = args.parallel
    params.port = args.port
    params.hostnames = ["127.0.0.1"]
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.use_jinja = True
    # The default for requests that do not send `frequency_penalty` (the project's requests do not).
    params.sampling.penalty_freq = args.frequency_penalty
    server = xllamacpp.Server(params)
    print(f"serving {args.model} at {server.listening_address}/v1", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    del server


if __name__ == "__main__":
    main()
