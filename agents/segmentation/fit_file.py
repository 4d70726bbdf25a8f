"""BG/NBD and Gamma-Gamma fitted on a transactions CSV (fan_id,occurred_at,amount): `huntaze segments fit`."""

from __future__ import annotations

import csv
from datetime import date, datetime
from typing import IO, Any

import numpy as np

from agents.segmentation.btyd import BGNBD, FitError, GammaGamma, summarise

TIME_UNITS = {"days": 1.0, "weeks": 7.0}
REQUIRED = ("fan_id", "occurred_at", "amount")


class InputError(ValueError):
    """A bad row or header, named precisely enough to fix the file."""


def _day(value: str, line: int) -> int:
    try:
        if len(value) == 8 and value.isdigit():  # the CDNOW style 19970101
            return date(int(value[:4]), int(value[4:6]), int(value[6:])).toordinal()
        if len(value) == 10:
            return date.fromisoformat(value).toordinal()
        return datetime.fromisoformat(value).date().toordinal()
    except ValueError:
        raise InputError(
            f"line {line}: occurred_at {value!r} is not a date (YYYY-MM-DD or ISO 8601)"
        ) from None


def read_transactions(fh: IO[str]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    reader = csv.DictReader(fh)
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"header: missing column(s) {', '.join(missing)} (need {','.join(REQUIRED)})")
    fans: list[str] = []
    days: list[int] = []
    amounts: list[float] = []
    for row in reader:
        line = reader.line_num
        fan = (row["fan_id"] or "").strip()
        if not fan:
            raise InputError(f"line {line}: fan_id is empty")
        try:
            amount = float(row["amount"])
        except (TypeError, ValueError):
            raise InputError(f"line {line}: amount {row['amount']!r} is not a number") from None
        if not np.isfinite(amount) or amount < 0:
            raise InputError(f"line {line}: amount {row['amount']!r} must be a finite number >= 0")
        fans.append(fan)
        days.append(_day((row["occurred_at"] or "").strip(), line))
        amounts.append(amount)
    if not fans:
        raise InputError("no transactions in the file")
    _, fan_idx = np.unique(np.array(fans), return_inverse=True)
    return fan_idx.astype(np.int64), np.array(days, dtype=np.int64), np.array(amounts, dtype=np.float64)


def fit_file(fh: IO[str], calibration_end: date, time_unit: str) -> dict[str, Any]:
    fan_idx, days, amounts = read_transactions(fh)
    _, summary = summarise(
        fan_idx,
        days,
        amounts,
        calibration_end_day=calibration_end.toordinal(),
        unit_days=TIME_UNITS[time_unit],
    )
    bg = BGNBD.fit(summary)
    try:
        gg: dict[str, float] | None = GammaGamma.fit(summary).as_dict()
    except FitError:
        gg = None
    return {
        "customers": len(summary),
        "bgnbd": {k: round(v, 6) for k, v in bg.as_dict().items()},
        "gamma_gamma": None if gg is None else {k: round(v, 6) for k, v in gg.items()},
    }
