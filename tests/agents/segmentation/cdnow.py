"""The CDNOW 1/10 sample (2,357 customers) as the project's CSV format, generated from the copy that ships inside
the `lifetimes` package; the data file itself is not part of this repository."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

# Fader, Hardie & Lee (2005), "Counting your customers the easy way", and the Gamma-Gamma note (2005b).
PAPER_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PAPER_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}
CALIBRATION_END = "1997-09-30"


def raw_rows() -> list[tuple[str, str, float]]:
    """(customer id, YYYY-MM-DD, amount) for every transaction line of CDNOW_sample.txt."""
    text = (importlib.resources.files("lifetimes") / "datasets" / "CDNOW_sample.txt").read_text()
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if parts:
            d = parts[2]
            rows.append((parts[0], f"{d[:4]}-{d[4:6]}-{d[6:]}", float(parts[4])))
    return rows


def write_csv(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("fan_id,occurred_at,amount\n")
        for fan, day, amount in raw_rows():
            fh.write(f"{fan},{day},{amount}\n")
    return path
