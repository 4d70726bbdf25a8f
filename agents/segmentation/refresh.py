"""Segment a creator's fans: RFM quintiles, a label each, BG/NBD churn, Gamma-Gamma spend, LTV and best hours.

The fans' raw activity arrives packed in a few buffers and is aggregated per fan in numpy (activity.py); numpy
does the models over whole columns, and the scores go back by binary COPY — no Python loop per fan.

How subscriptions are treated. A subscription is contractual: a fan either renews or visibly expires, so churn
there is observed, not inferred. BG/NBD and Gamma-Gamma model the non-contractual part — PPV, tips and unlocks —
where a fan simply stops buying without telling anyone. A fan's first transaction of any kind (usually the
subscription) is the "first purchase" of the paper; repeat purchases are the later days with discretionary
spend; renewals are not purchases for the model. LTV over the horizon adds the two parts: expected discretionary
purchases x expected spend per purchase, plus, for an active subscriber, the renewals expected at the creator's
observed renewal rate. Nothing is discounted.

Stored values no API accepts (a year-1 purchase, a message at -infinity, an unknown timezone) are left out or
clamped by activity.py; a whole refresh says so in the actions feed (`segments_rows_skipped`, naming the fans).
A refresh that fails anyway raises RefreshFailed, naming the creator, the step and those fans, and writes
`segments_refresh_failed` to the feed beside the rolled-back transaction: it never fails silently.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from psycopg import AsyncConnection

from agents.segmentation.activity import EARLIEST, FUTURE_SLACK, best_hours, hour_profile, load_activity
from agents.segmentation.btyd import BGNBD, FitError, GammaGamma, Summary
from core import db
from core.journal import record_action

log = logging.getLogger(__name__)

# Thresholds: each label's explanation quotes the one that fired.
NEW_DAYS = 30  # joined this recently: "new"
DORMANT_DAYS = 60  # no message and no purchase for this long: "dormant"
AT_RISK_P_ALIVE = 0.5  # a repeat buyer whose P(alive) fell below this: "at risk"
WHALE_QUANTILE = 0.98  # discretionary spend at or above this quantile of spenders: whale
BIG_SPENDER_QUANTILE = 0.80
LTV_HORIZON_DAYS = 180
BEST_TIME_PRIOR = 8.0  # pseudo-events of the creator's profile added to each fan's hour-of-week counts
MIN_FIT_CUSTOMERS = 30
DISCRETIONARY = ("ppv", "tip", "unlock")
SEGMENTS = ("whale", "big_spender", "loyal", "new", "at_risk", "dormant", "expired", "never_spent", "regular")

FanId = Any  # uuid.UUID as psycopg returns it


class RefreshFailed(RuntimeError):
    """A refresh that could not finish: which creator, at which step, and the fans whose rows were left out
    (the likeliest culprits)."""

    def __init__(
        self,
        creator_id: str,
        step: str,
        cause: BaseException,
        skipped: dict[str, Any],
        fans: list[str] | None,
    ) -> None:
        self.creator_id, self.step, self.skipped = creator_id, step, skipped
        who = f"fan(s) {', '.join(fans)} of creator {creator_id}" if fans else f"creator {creator_id}"
        suspects = skipped.get("fans", []) + skipped.get("timezones", []) + skipped.get("clamped", [])
        hint = f"; rows out of range belong to fan(s) {', '.join(sorted(set(suspects)))}" if suspects else ""
        super().__init__(f"segmentation of {who} failed at {step}: {type(cause).__name__}: {cause}{hint}")


@dataclass(frozen=True)
class RefreshResult:
    run_id: int
    fans: int
    segments: dict[str, int]
    model: dict[str, Any]
    duration_ms: int


# Scores arrive in a temporary table by binary COPY (see _copy_scores), then move with NaN -> NULL.
_SCORES_IN = (
    "CREATE TEMP TABLE scores_in (fan_id uuid, segment int2, tier int2, r float8, f float8, m float8,"
    " dsp float8, dsa float8, pd float8, spend float8, disc float8, p_alive float8, exp_n float8, exp_v float8,"
    " ltv float8, h1 int2, h2 int2, h3 int2) ON COMMIT DROP"
)
_FLOAT_COLS = ("r", "f", "m", "dsp", "dsa", "pd", "spend", "disc", "p_alive", "exp_n", "exp_v", "ltv")
_HOUR_COLS = ("h1", "h2", "h3")  # the three best hours of the week, -1 where none
TIERS = ("whale", "big_spender", "spender", "none")

_WRITE_SQL = """
INSERT INTO fan_scores (creator_id, fan_id, run_id, segment, value_tier, r_score, f_score, m_score,
    days_since_purchase, days_since_active, purchase_days, spend_cents, discretionary_cents, p_alive,
    expected_purchases, expected_value_cents, ltv_cents, best_hours, computed_at)
SELECT %(creator)s, u.fan_id, %(run)s, (%(segments)s::text[])[u.segment], (%(tiers)s::text[])[u.tier],
       nullif(u.r, 0)::smallint, nullif(u.f, 0)::smallint, nullif(u.m, 0)::smallint,
       nullif(u.dsp, 'NaN')::int, nullif(u.dsa, 'NaN')::int, u.pd::int, u.spend::bigint, u.disc::bigint,
       nullif(u.p_alive, 'NaN'), nullif(u.exp_n, 'NaN'), nullif(u.exp_v, 'NaN'), round(nullif(u.ltv, 'NaN'))::bigint,
       CASE WHEN u.h1 < 0 THEN %(creator_top)s::smallint[] ELSE array_remove(ARRAY[u.h1, u.h2, u.h3], -1::int2) END,
       %(now)s
FROM scores_in u
{on_conflict}
"""
# A partial re-score updates the fans it scores; a whole refresh has deleted the creator's rows first, so it only
# inserts (no speculative insertion per row).
_ON_CONFLICT = """ON CONFLICT (creator_id, fan_id) DO UPDATE SET
    run_id = excluded.run_id, segment = excluded.segment, value_tier = excluded.value_tier,
    r_score = excluded.r_score, f_score = excluded.f_score, m_score = excluded.m_score,
    days_since_purchase = excluded.days_since_purchase, days_since_active = excluded.days_since_active,
    purchase_days = excluded.purchase_days, spend_cents = excluded.spend_cents,
    discretionary_cents = excluded.discretionary_cents, p_alive = excluded.p_alive,
    expected_purchases = excluded.expected_purchases, expected_value_cents = excluded.expected_value_cents,
    ltv_cents = excluded.ltv_cents, best_hours = excluded.best_hours, computed_at = excluded.computed_at
"""


def _copy_payload(
    fan_bytes: npt.NDArray[Any], codes: dict[str, npt.NDArray[Any]], floats: dict[str, Any]
) -> bytes:
    """PostgreSQL's binary COPY format for scores_in, built as one numpy record array: a million rows encode in
    well under a second, where psycopg's per-value adaptation of Python lists took 0.4 s per 100,000 values
    (15 columns: a minute at a million fans). Every field is fixed width and never NULL (NaN stands for NULL)."""
    fields: list[tuple[str, str]] = [
        ("count", ">i2"),
        ("l_fan", ">i4"),
        ("fan", "S16"),
        ("l_segment", ">i4"),
        ("segment", ">i2"),
        ("l_tier", ">i4"),
        ("tier", ">i2"),
    ]
    for k in _FLOAT_COLS:
        fields += [(f"l_{k}", ">i4"), (k, ">f8")]
    for k in _HOUR_COLS:
        fields += [(f"l_{k}", ">i4"), (k, ">i2")]
    rec = np.zeros(len(fan_bytes), dtype=np.dtype(fields))
    rec["count"] = 3 + len(_FLOAT_COLS) + len(_HOUR_COLS)
    rec["l_fan"], rec["fan"] = 16, fan_bytes
    for k in ("segment", "tier", *_HOUR_COLS):
        rec[f"l_{k}"], rec[k] = 2, codes[k]
    for k in _FLOAT_COLS:
        rec[f"l_{k}"], rec[k] = 8, np.asarray(floats[k], dtype=np.float64)
    header = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
    return header + rec.tobytes() + (-1).to_bytes(2, "big", signed=True)


def _quintile_cutoffs(values: npt.NDArray[np.float64]) -> list[float]:
    if len(values) == 0:
        return []
    return [float(v) for v in np.quantile(values, [0.2, 0.4, 0.6, 0.8])]


def _quintile(values: npt.NDArray[np.float64], cutoffs: list[float]) -> npt.NDArray[np.int64]:
    """1..5: how many quintile cut-offs the value reaches or passes, plus one."""
    if not cutoffs:
        return np.full(len(values), 3, dtype=np.int64)
    out: npt.NDArray[np.int64] = 1 + np.searchsorted(np.array(cutoffs), values, side="right")
    return np.minimum(out, 5)


async def _fit_models(summary: Summary, customers: npt.NDArray[np.bool_]) -> dict[str, Any]:
    sub = Summary(
        summary.frequency[customers],
        summary.recency[customers],
        summary.T[customers],
        summary.monetary[customers],
    )
    model: dict[str, Any] = {"bgnbd": None, "gamma_gamma": None, "fit_customers": int(customers.sum())}
    if customers.sum() < MIN_FIT_CUSTOMERS:
        model["fit_error"] = f"only {int(customers.sum())} buying fans; the models need {MIN_FIT_CUSTOMERS}"
        return model
    # both at once, each in a thread: they are independent, numpy releases the GIL, and the event loop stays free
    bg, gg = await asyncio.gather(
        asyncio.to_thread(BGNBD.fit, sub), asyncio.to_thread(GammaGamma.fit, sub), return_exceptions=True
    )
    for outcome in (bg, gg):
        if isinstance(outcome, BaseException) and not isinstance(outcome, FitError):
            raise outcome
    if isinstance(bg, BaseException):
        model["fit_error"] = str(bg)
        return model
    model["bgnbd"] = bg.as_dict()
    if isinstance(gg, BaseException):
        model["fit_error"] = str(gg)
    elif gg.q > 1:
        model["gamma_gamma"] = gg.as_dict()
    return model


async def refresh_segments(
    conn: AsyncConnection[Any], creator_id: str, *, as_of: datetime | None = None
) -> RefreshResult:
    """Score all of a creator's fans: refit the models, new quintile cut-offs, one run row. Runs in the
    caller's transaction (readers see the previous scores until it commits); one refresh per creator at a
    time (transaction-scoped advisory lock)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('segments:' || %s, 0))", [creator_id])
    # the per-fan aggregations sort and hash millions of rows: let them do it in memory (this transaction only)
    await conn.execute("SET LOCAL work_mem = '256MB'")
    result = await _score(conn, creator_id, as_of, None)
    assert result is not None  # only a partial re-score can find nothing to score against
    skipped = result.model.get("skipped") or {}
    if skipped:
        await record_action(
            conn,
            creator_id=creator_id,
            kind="segments_rows_skipped",
            summary=_skipped_summary(skipped),
            details=skipped,
            dedupe_key=f"segments_rows_skipped:{result.run_id}",
        )
    return result


async def refresh_and_announce(conn: AsyncConnection[Any], creator_id: str) -> RefreshResult:
    """A whole refresh (in the caller's transaction), said in the actions feed: what the segmentation activity
    and the end of a history import run."""
    res = await refresh_segments(conn, creator_id)
    counts = ", ".join(f"{n} {seg}" for seg, n in sorted(res.segments.items(), key=lambda kv: -kv[1]))
    await record_action(
        conn,
        creator_id=creator_id,
        kind="segments_refreshed",
        summary=f"segmented {res.fans} fans: {counts}" if res.fans else "no fans to segment yet",
        details={"run_id": res.run_id, "segments": res.segments, "duration_ms": res.duration_ms},
        dedupe_key=f"segments_refreshed:{res.run_id}",
    )
    return res


def _skipped_summary(skipped: dict[str, Any]) -> str:
    parts = []
    rows = int(skipped.get("transactions", 0)) + int(skipped.get("messages", 0))
    if rows:
        parts.append(
            f"left out {rows} row(s) dated before {EARLIEST.date()} or more than"
            f" {FUTURE_SLACK.days} day ahead (fans {', '.join(skipped['fans'])})"
        )
    if skipped.get("timezones"):
        parts.append(
            f"counted hours in UTC for fans with an unknown timezone ({', '.join(skipped['timezones'])})"
        )
    if skipped.get("clamped"):
        parts.append(f"clamped the join date of fans {', '.join(skipped['clamped'])}")
    return "segmentation " + "; ".join(parts)


async def rescore_fans(
    conn: AsyncConnection[Any], creator_id: str, fan_ids: list[str], *, as_of: datetime | None = None
) -> RefreshResult | None:
    """Re-score only `fan_ids` with the latest run's models, cut-offs and hour profile (a purchase or an expiry
    arrived). None when the creator has no run yet: that needs a whole refresh, which this never starts."""
    return await _score(conn, creator_id, as_of, fan_ids)


async def _score(
    conn: AsyncConnection[Any], creator_id: str, as_of: datetime | None, fan_ids: list[str] | None
) -> RefreshResult | None:
    """Score, or raise RefreshFailed naming the step that failed (and, for a whole refresh, say so in the
    feed)."""
    as_of = as_of or datetime.now(UTC)
    progress: dict[str, Any] = {"step": "start", "skipped": {}}
    try:
        return await _score_steps(conn, creator_id, as_of, fan_ids, progress)
    except (asyncio.CancelledError, RefreshFailed):
        raise
    except Exception as exc:
        failed = RefreshFailed(creator_id, progress["step"], exc, progress["skipped"], fan_ids)
        if fan_ids is None:
            await _record_failure(creator_id, as_of, failed)
        raise failed from exc


async def _record_failure(creator_id: str, as_of: datetime, failed: RefreshFailed) -> None:
    """The feed entry of a failed whole refresh, on its own connection: the refresh's transaction is rolled
    back with everything it wrote. Once per creator, day and step (retries of the same failure write it once)."""
    try:
        async with db.pool().connection(timeout=5) as other, other.transaction():
            await record_action(
                other,
                creator_id=creator_id,
                kind="segments_refresh_failed",
                summary=f"segments not refreshed: {failed}",
                details={"step": failed.step, "error": str(failed), "skipped": failed.skipped},
                dedupe_key=f"segments_refresh_failed:{as_of.date()}:{failed.step}",
            )
    except Exception:
        log.exception("could not record the failed segmentation of creator %s", creator_id)


async def _score_steps(
    conn: AsyncConnection[Any],
    creator_id: str,
    as_of: datetime,
    fan_ids: list[str] | None,
    progress: dict[str, Any],
) -> RefreshResult | None:
    started = time.perf_counter()
    partial = fan_ids is not None
    previous: dict[str, Any] | None = None
    if partial:
        cur = await conn.execute(
            "SELECT id, model FROM segmentation_runs WHERE creator_id = %s ORDER BY id DESC LIMIT 1",
            [creator_id],
        )
        row = await cur.fetchone()
        if row is None:
            return None
        run_id_prev, model_prev = _values(row)
        previous = {"id": run_id_prev, "model": model_prev}

    # Held until commit: deleting fans waits for this write, so no score outlives its fan (migration 0013).
    await conn.execute(
        "SELECT pg_advisory_xact_lock_shared(hashtextextended('fan_scores:' || %s, 0))", [creator_id]
    )
    timings: dict[str, int] = {}
    progress["step"] = "load_activity"
    act = await load_activity(conn, creator_id, as_of, fan_ids, timings)
    progress["skipped"] = act.skipped
    progress["step"] = "models"
    n = len(act.fan_ids)
    active, expired = act.active, act.expired
    days_joined, age_days, x, recency_days, m = act.days_joined, act.age_days, act.x, act.recency_days, act.m
    spend, disc, purchase_days, dsp, dsa, sub_price = (
        act.spend,
        act.disc,
        act.purchase_days,
        act.days_since_purchase,
        act.days_since_active,
        act.sub_price,
    )

    customers = ~np.isnan(age_days)
    summary = Summary(
        frequency=x,
        recency=np.where(customers, recency_days / 7.0, 0.0),
        T=np.where(customers, np.nan_to_num(age_days) / 7.0, 0.0),
        monetary=m,
    )
    spenders = spend > 0
    disc_spenders = disc > 0
    if previous is not None:
        model = previous["model"]
    else:
        mark = time.perf_counter()
        model = await _fit_models(summary, customers)
        timings["fit_ms"] = _ms(mark)
        renewals, expiries = act.renewals, act.expiries
        model["renewal_rate"] = renewals / (renewals + expiries) if renewals + expiries else 0.0
        model["cutoffs"] = {
            "recency": _quintile_cutoffs(-dsp[spenders]),
            "frequency": _quintile_cutoffs(purchase_days[spenders]),
            "monetary": _quintile_cutoffs(spend[spenders]),
        }
        model["whale_cents"] = (
            float(np.quantile(disc[disc_spenders], WHALE_QUANTILE)) if disc_spenders.any() else None
        )
        model["big_spender_cents"] = (
            float(np.quantile(disc[disc_spenders], BIG_SPENDER_QUANTILE)) if disc_spenders.any() else None
        )
        model["thresholds"] = {
            "new_days": NEW_DAYS,
            "dormant_days": DORMANT_DAYS,
            "at_risk_p_alive": AT_RISK_P_ALIVE,
            "whale_quantile": WHALE_QUANTILE,
            "big_spender_quantile": BIG_SPENDER_QUANTILE,
            "best_time_prior": BEST_TIME_PRIOR,
        }
        model["horizon_days"] = LTV_HORIZON_DAYS
        model["skipped"] = act.skipped
        profile = hour_profile(act)
        top = sorted(range(168), key=lambda h: (-profile[h], h))[:3] if any(profile) else []
        model["hour_profile"] = {"p": profile, "top": top}

    # RFM among fans who spent anything; fans who never paid get no RFM scores
    cut = model["cutoffs"]
    r_score = np.where(spenders, _quintile(-np.nan_to_num(dsp), cut["recency"]), 0)
    f_score = np.where(spenders, _quintile(purchase_days, cut["frequency"]), 0)
    m_score = np.where(spenders, _quintile(spend, cut["monetary"]), 0)

    # churn, spend and lifetime value
    horizon_weeks = model["horizon_days"] / 7.0
    p_alive = np.full(n, np.nan)
    exp_n = np.full(n, np.nan)
    exp_v = np.full(n, np.nan)
    if model["bgnbd"] is not None:
        bg = BGNBD(**model["bgnbd"])
        p_alive = np.where(customers, bg.p_alive(summary), np.nan)
        exp_n = np.where(customers, bg.expected_purchases(summary, horizon_weeks), np.nan)
    if model["gamma_gamma"] is not None:
        exp_v = np.where(customers, GammaGamma(**model["gamma_gamma"]).expected_value(summary), np.nan)
    rate = float(model["renewal_rate"])
    months = int(model["horizon_days"] // 30)
    renewals_expected = rate * (1 - rate**months) / (1 - rate) if rate < 1 else float(months)
    sub_value = np.where(active, sub_price * renewals_expected, 0.0)
    ltv = np.where(
        np.isnan(exp_n) | np.isnan(exp_v), np.nan, np.nan_to_num(exp_n) * np.nan_to_num(exp_v) + sub_value
    )

    # value tier on discretionary spend, then the label: the first rule that holds
    whale_cents, big_cents = model["whale_cents"], model["big_spender_cents"]
    # codes are 1-based positions in TIERS and SEGMENTS (SQL arrays are 1-based)
    tier = np.full(n, TIERS.index("none") + 1, dtype=np.int16)
    tier[disc_spenders] = TIERS.index("spender") + 1
    if big_cents is not None:
        tier[disc_spenders & (disc >= big_cents)] = TIERS.index("big_spender") + 1
    if whale_cents is not None:
        tier[disc_spenders & (disc >= whale_cents)] = TIERS.index("whale") + 1
    inactive = np.nan_to_num(dsa, nan=np.inf)
    rules: list[tuple[str, npt.NDArray[np.bool_]]] = [
        ("expired", expired),
        ("dormant", inactive >= DORMANT_DAYS),
        ("new", days_joined <= NEW_DAYS),
        ("never_spent", ~disc_spenders),
        ("at_risk", (x > 0) & (np.nan_to_num(p_alive, nan=1.0) < AT_RISK_P_ALIVE)),
        ("whale", tier == TIERS.index("whale") + 1),
        ("big_spender", tier == TIERS.index("big_spender") + 1),
        ("loyal", (f_score >= 4) & (r_score >= 4)),
    ]
    segment = np.full(n, SEGMENTS.index("regular") + 1, dtype=np.int16)
    decided = np.zeros(n, dtype=bool)
    for name, mask in rules:
        take = mask & ~decided
        segment[take] = SEGMENTS.index(name) + 1
        decided |= take

    if previous is not None:
        run_id = int(previous["id"])
    else:
        cur = await conn.execute(
            "INSERT INTO segmentation_runs (creator_id, as_of, fans, model, duration_ms)"
            " VALUES (%s, %s, %s, %s, 0) RETURNING id",
            [creator_id, as_of, n, _jsonb(model)],
        )
        got = await cur.fetchone()
        assert got is not None
        run_id = int(next(iter(_values(got))))

    creator_top = model["hour_profile"]["top"]
    progress["step"] = "best_hours"
    mark = time.perf_counter()
    best = await asyncio.to_thread(best_hours, act, model["hour_profile"]["p"], creator_top, BEST_TIME_PRIOR)

    now = datetime.now(UTC)
    payload = await asyncio.to_thread(
        _copy_payload,
        act.fan_ids,
        {"segment": segment, "tier": tier, "h1": best[:, 0], "h2": best[:, 1], "h3": best[:, 2]},
        {
            "r": r_score,
            "f": f_score,
            "m": m_score,
            "dsp": dsp,
            "dsa": dsa,
            "pd": purchase_days,
            "spend": spend,
            "disc": disc,
            "p_alive": p_alive,
            "exp_n": exp_n,
            "exp_v": exp_v,
            "ltv": ltv,
        },
    )
    timings["best_hours_ms"] = _ms(mark)
    progress["step"] = "write_scores"
    mark = time.perf_counter()
    await conn.execute("DROP TABLE IF EXISTS scores_in")
    await conn.execute(_SCORES_IN)
    async with conn.cursor().copy("COPY scores_in FROM STDIN WITH (FORMAT BINARY)") as copy:
        await copy.write(payload)
    timings["copy_ms"] = _ms(mark)
    mark = time.perf_counter()
    if not partial:
        # a whole refresh replaces the creator's rows (fans deleted since then go with them)
        await conn.execute("DELETE FROM fan_scores WHERE creator_id = %s", [creator_id])
    timings["delete_ms"] = _ms(mark)
    mark = time.perf_counter()
    await conn.execute(
        _WRITE_SQL.format(on_conflict=_ON_CONFLICT if partial else ""),
        {
            "creator": creator_id,
            "run": run_id,
            "creator_top": creator_top,
            "now": now,
            "segments": list(SEGMENTS),
            "tiers": list(TIERS),
        },
    )
    timings["write_ms"] = _ms(mark)
    duration_ms = int((time.perf_counter() - started) * 1000)
    if previous is None:
        model["timings"] = timings  # where a refresh spends its time, kept with the run
        await conn.execute(
            "UPDATE segmentation_runs SET duration_ms = %s, model = %s WHERE id = %s",
            [duration_ms, _jsonb(model), run_id],
        )
    codes, counts = np.unique(segment, return_counts=True)
    names = [SEGMENTS[int(c) - 1] for c in codes]
    return RefreshResult(
        run_id=run_id,
        fans=n,
        segments={k: int(v) for k, v in zip(names, counts.tolist(), strict=True)},
        model=model,
        duration_ms=duration_ms,
    )


def _ms(since: float) -> int:
    return int((time.perf_counter() - since) * 1000)


def _values(row: Any) -> Any:
    """Row values whatever the connection's row factory (dict rows from the pool, tuples elsewhere)."""
    return row.values() if isinstance(row, dict) else row


def _jsonb(value: dict[str, Any]) -> Any:
    from psycopg.types.json import Jsonb

    return Jsonb(value)
