"""GET /v1/followups lists the sequences events started; GET/PUT /v1/followups/config validate and store the
creator's settings (a valid PUT, which also moves the schedule, is in tests/workflows/test_daily_plan.py)."""

from __future__ import annotations

import httpx

from tests.factories import make_tenant
from tests.workflows.helpers import fetch, wait_until


async def test_an_expiry_lists_a_win_back_sequence(api: httpx.AsyncClient) -> None:
    t, other = await make_tenant("fu"), await make_tenant("fu-other")
    ev = {"event_id": "x-1", "kind": "subscription_expired", "fan": {"platform_fan_id": "of-9"}}
    assert (await api.post("/v1/events", json=ev, headers=t.auth())).status_code == 202
    await wait_until("SELECT count(*) = 1 FROM followups WHERE creator_id = %s", [t.creator_id])
    page = (await api.get("/v1/followups", params={"kind": "win_back"}, headers=t.auth("viewer"))).json()
    [fu] = page["items"]
    assert fu["status"] == "active" and fu["kind"] == "win_back" and fu["steps_done"] == 0
    assert [s["after_hours"] for s in fu["steps"]] == [24, 96]  # the default win-back for an unscored fan
    assert (await api.get("/v1/followups", params={"status": "cancelled"}, headers=t.auth())).json()[
        "items"
    ] == []
    assert (await api.get("/v1/followups", headers=other.auth())).json()["items"] == []
    bad = await api.get("/v1/followups", params={"kind": "spam"}, headers=t.auth())
    assert bad.status_code == 422 and bad.json()["error"]["details"]["fields"][0]["field"] == "query.kind"


async def test_config_defaults_and_invalid_changes_are_refused(api: httpx.AsyncClient) -> None:
    t = await make_tenant("fucfg")
    r = await api.get("/v1/followups/config", headers=t.auth("viewer"))
    assert r.status_code == 200
    cfg = r.json()
    assert cfg["max_per_fan_per_week"] == 3 and cfg["daily_plan_hour"] == 7
    assert [s["after_hours"] for s in cfg["win_back"]["by_segment"]["whale"]] == [6, 48, 120]
    swapped = {
        **cfg,
        "welcome": {"steps": [{"after_hours": 72, "intent": "b"}, {"after_hours": 24, "intent": "a"}]},
    }
    for body, field in (
        ({**cfg, "daily_plan_hour": 24}, "daily_plan_hour"),
        ({**cfg, "default_best_hours": [25]}, "default_best_hours"),
        ({**cfg, "max_per_fan_per_week": 0}, "max_per_fan_per_week"),
        ({**cfg, "surprise": True}, "surprise"),
        (swapped, "welcome"),
    ):
        r = await api.put("/v1/followups/config", json=body, headers=t.auth("manager"))
        assert r.status_code == 422, (body, r.text)
        assert any(f["field"].startswith(field) for f in r.json()["error"]["details"]["fields"]), r.text
    assert (await api.put("/v1/followups/config", json=cfg, headers=t.auth("chatter"))).status_code == 403
    [row] = await fetch("SELECT followup_config FROM creators WHERE id = %s", [t.creator_id])
    assert row["followup_config"] == {}  # nothing refused was stored
