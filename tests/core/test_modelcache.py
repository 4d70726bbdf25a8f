"""The model cache fits once however many processes ask for the same model at the same time."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from core.modelcache import load_or_fit


def _slow_fit(log: Path) -> dict[str, int]:
    with log.open("a") as fh:
        fh.write("fit\n")
    time.sleep(1.0)  # long enough that the other processes ask while this one is still fitting
    return {"weights": 42}


def _ask(path: Path, log: Path, out: Path) -> None:
    model = load_or_fit(path, lambda: _slow_fit(log), "a test model")
    out.write_text(str(model["weights"]))


def test_processes_started_together_fit_once_and_all_load_the_same_model(tmp_path: Path) -> None:
    path, log = tmp_path / "cache" / "model-abc.pkl", tmp_path / "fits.log"
    ctx = multiprocessing.get_context("spawn")
    outs = [tmp_path / f"out{i}" for i in range(3)]
    procs = [ctx.Process(target=_ask, args=(path, log, out)) for out in outs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert log.read_text().splitlines() == ["fit"]
    assert [o.read_text() for o in outs] == ["42", "42", "42"]
    assert sorted(f.name for f in path.parent.iterdir()) == ["model-abc.lock", "model-abc.pkl"]
