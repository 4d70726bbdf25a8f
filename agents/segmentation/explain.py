"""Why a fan got their label and scores, in words, from the stored numbers and the run's thresholds.

Rendered when read (the API, the DM agent's context) rather than stored per fan, so a refresh of a million
fans writes numbers only, and the wording can change without a migration.
"""

from __future__ import annotations

from typing import Any

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def money(cents: float | None) -> str:
    return "n/a" if cents is None else f"${cents / 100:,.2f}"


def hour_of_week(how: int) -> str:
    return f"{DAYS[how // 24]} {how % 24:02d}:00"


def explain(score: dict[str, Any], model: dict[str, Any], timezone: str = "UTC") -> dict[str, str]:
    """`score` is a fan_scores row (as a dict); `model` the segmentation run's model."""
    t = model.get("thresholds", {})
    seg = score["segment"]
    dsp, dsa = score.get("days_since_purchase"), score.get("days_since_active")
    p_alive = score.get("p_alive")
    spent = money(score["spend_cents"])
    disc = money(score["discretionary_cents"])
    reasons = {
        "expired": f"the subscription has expired; {spent} spent in all",
        "dormant": (
            f"no message and no purchase for {dsa} days (dormant from {t.get('dormant_days')} days)"
            if dsa is not None
            else "never messaged or bought anything"
        ),
        "new": f"subscribed within the last {t.get('new_days')} days",
        "never_spent": "has never bought PPV, tipped or unlocked anything (subscription only)",
        "at_risk": (
            f"P(alive) is {p_alive:.2f}, below {t.get('at_risk_p_alive')}: "
            f"{score['purchase_days']} purchase days, the last {dsp} days ago"
            if p_alive is not None
            else "at risk"
        ),
        "whale": (
            f"{disc} in PPV, tips and unlocks: top {100 - 100 * t.get('whale_quantile', 0.98):.0f}% of this creator's"
            f" buyers (from {money(model.get('whale_cents'))})"
        ),
        "big_spender": (
            f"{disc} in PPV, tips and unlocks: top {100 - 100 * t.get('big_spender_quantile', 0.8):.0f}% of this"
            f" creator's buyers (from {money(model.get('big_spender_cents'))})"
        ),
        "loyal": f"buys often and recently: frequency {score.get('f_score')}/5, recency {score.get('r_score')}/5",
        "regular": "spends, but no stronger label applies",
    }
    out = {"segment": f"{seg}: {reasons.get(seg, seg)}"}
    if score.get("r_score") is not None:
        out["rfm"] = (
            f"R{score['r_score']} F{score['f_score']} M{score['m_score']} (quintiles among this creator's paying"
            f" fans): last purchase {dsp} days ago, {score['purchase_days']} purchase days, {spent} spent"
        )
    else:
        out["rfm"] = "no purchase yet: no RFM scores"
    if p_alive is not None and model.get("bgnbd"):
        bg = model["bgnbd"]
        out["p_alive"] = (
            f"{p_alive:.2f} chance this fan still buys (BG/NBD fitted on this creator's fans: r={bg['r']:.3f},"
            f" alpha={bg['alpha']:.2f}, a={bg['a']:.3f}, b={bg['b']:.3f})"
        )
    elif model.get("fit_error"):
        out["p_alive"] = f"not estimated: {model['fit_error']}"
    ltv, exp_n, exp_v = (
        score.get("ltv_cents"),
        score.get("expected_purchases"),
        score.get("expected_value_cents"),
    )
    if ltv is not None and exp_n is not None and exp_v is not None:
        renewals = ltv - exp_n * exp_v
        out["ltv"] = (
            f"{money(ltv)} over {model.get('horizon_days')} days: {exp_n:.2f} expected purchases x"
            f" {money(exp_v)} each (Gamma-Gamma)"
            + (
                f" + {money(renewals)} expected renewals at a {100 * model.get('renewal_rate', 0):.0f}% monthly"
                " renewal rate"
                if renewals >= 0.5
                else ""
            )
        )
    hours = score.get("best_hours") or []
    if hours:
        out["best_hours"] = (
            ", ".join(hour_of_week(int(h)) for h in hours)
            + f" in the fan's time ({timezone}); the fan's own activity, shrunk towards the creator's weekly profile"
        )
    return out
