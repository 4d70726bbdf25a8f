"""The daily plan: a Temporal Schedule per creator in the creator's timezone; the DailyPlanWorkflow refreshes
segments, starts re-engagement for quiet fans, finds anomalies and writes the ranked Daily Action List, which
the API serves. Runs on the real Temporal dev server (the time-skipping server has no Schedules)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from agents.daily_plan.actions import PRIOR_OFFER_CONVERSION, PRIOR_WIN_BACK
from core import db
from core.settings import Settings
from devstack.seed import seed_business
from tests.api.conftest import client_for, make_app
from tests.factories import Tenant, make_tenant
from tests.workflows.helpers import fetch, wait_until
from workflows.daily_plan import DailyPlanWorkflow, daily_plan_schedule_id
from workflows.schedules import ensure_daily_plan_schedules
from workflows.types import DailyPlanInput, DailyPlanResult
from workflows.worker import build_worker


@pytest.fixture
async def dev(
    temporal_dev_env: WorkflowEnvironment, settings: Settings
) -> AsyncIterator[WorkflowEnvironment]:
    async with build_worker(temporal_dev_env.client, settings.task_queue):
        yield temporal_dev_env


async def _business() -> tuple[Tenant, dict[str, str]]:
    """quiet: subscribed 40 days ago, silent since; whale: expired 2 days ago after spending $400 in 90 days;
    risky: an at-risk fan worth $300 who wrote lately; waiting: a pending draft offers them the Beach set ($15)."""
    t = await make_tenant("plan", fans=4)
    quiet, whale, risky, waiting = t.fans
    now = datetime.now(UTC)
    async with db.pool().connection() as conn:
        await conn.execute(
            "UPDATE fans SET subscription_status = 'active', subscribed_at = %s WHERE id = ANY(%s::uuid[])",
            [now - timedelta(days=40), [quiet, risky, waiting]],
        )
        await conn.execute(
            "UPDATE fans SET subscription_status = 'expired', subscribed_at = %s, expires_at = %s WHERE id = %s",
            [now - timedelta(days=120), now - timedelta(days=2), whale],
        )
        await conn.execute(
            "INSERT INTO transactions (creator_id, fan_id, kind, amount_cents, occurred_at)"
            " VALUES (%s, %s, 'tip', 40000, %s)",
            [t.creator_id, whale, now - timedelta(days=20)],
        )
        await conn.execute(  # the at-risk fan wrote two days ago: not quiet
            "INSERT INTO messages (creator_id, fan_id, direction, text, sent_at) VALUES (%s, %s, 'in', 'hi', %s)",
            [t.creator_id, risky, now - timedelta(days=2)],
        )
        for fan, segment, tier, ltv in (
            (whale, "expired", "whale", 5000),
            (risky, "at_risk", "spender", 30000),
            (quiet, "regular", "spender", 2000),
        ):
            await conn.execute(
                "INSERT INTO fan_scores (creator_id, fan_id, run_id, segment, value_tier, purchase_days,"
                " spend_cents, discretionary_cents, ltv_cents, p_alive, best_hours, computed_at)"
                " VALUES (%s, %s, 0, %s, %s, 3, 40000, 40000, %s, 0.4, '{}', now())",
                [t.creator_id, fan, segment, tier, ltv],
            )
        await conn.execute(
            "INSERT INTO drafts (creator_id, fan_id, source_key, workflow_id, status, text, offer, rationale,"
            " policy_report, event_ids, expires_at) VALUES (%s, %s, 'k', 'w', 'pending_review', 'hey', %s, '',"
            " '{}', '{}', now() + interval '1 day')",
            [t.creator_id, waiting, json.dumps({"catalog_id": t.catalog[0], "price_cents": 1500})],
        )
    return t, {"quiet": quiet, "whale": whale, "risky": risky, "waiting": waiting}


async def test_the_plan_ranks_actions_by_expected_value_and_starts_re_engagement(
    dev: WorkflowEnvironment, settings: Settings
) -> None:
    t, fans = await _business()
    res: DailyPlanResult = await dev.client.execute_workflow(
        DailyPlanWorkflow.run,
        DailyPlanInput(t.creator_id, refresh_segments=False),
        id=f"plan-test-{t.creator_id}",
        task_queue=settings.task_queue,
    )
    assert res.inactive_started == 1 and res.segments_run_id is None
    [fu] = await fetch(
        "SELECT fan_id::text AS fan_id, kind, workflow_id FROM followups WHERE creator_id = %s",
        [t.creator_id],
    )
    assert (fu["fan_id"], fu["kind"]) == (fans["quiet"], "inactive") and fu["workflow_id"].endswith(
        f"-d{res.plan_date}"
    )
    # the re-engagement's first step is due at once: a draft for a human, through the fan's conversation
    await wait_until(
        "SELECT count(*) = 1 FROM drafts WHERE fan_id = %s AND followup_id IS NOT NULL", [fans["quiet"]]
    )

    [plan] = await fetch(
        "SELECT plan_date, actions, summary FROM daily_plans WHERE creator_id = %s", [t.creator_id]
    )
    assert plan["plan_date"] == date.fromisoformat(res.plan_date)
    acts = {a["kind"]: a for a in plan["actions"]}
    assert set(acts) == {"review_drafts", "win_back", "re_engage", "at_risk_campaign"}
    assert [a["rank"] for a in plan["actions"]] == [1, 2, 3, 4]
    values = [a["expected_value_cents"] for a in plan["actions"]]
    assert values == sorted(values, reverse=True)
    # each estimate follows from the numbers, with its basis said (no history here: the priors)
    assert acts["win_back"]["expected_value_cents"] == round(40000 * PRIOR_WIN_BACK)
    assert acts["win_back"]["fan_ids"] == [fans["whale"]] and "whales" in acts["win_back"]["title"]
    assert "a prior" in acts["win_back"]["basis"]
    assert acts["review_drafts"]["expected_value_cents"] == round(1500 * PRIOR_OFFER_CONVERSION)
    assert acts["review_drafts"]["count"] == 1 and len(acts["review_drafts"]["draft_ids"]) == 1
    assert acts["re_engage"]["fan_ids"] == [fans["quiet"]]
    assert acts["at_risk_campaign"]["fan_ids"] == [fans["risky"]]
    assert plan["summary"]["actions"] == 4

    # a second run the same day starts nothing twice and replaces the day's plan
    again: DailyPlanResult = await dev.client.execute_workflow(
        DailyPlanWorkflow.run,
        DailyPlanInput(t.creator_id, refresh_segments=False),
        id=f"plan-test-2-{t.creator_id}",
        task_queue=settings.task_queue,
    )
    assert again.inactive_started == 0
    [n] = await fetch("SELECT count(*) AS n FROM daily_plans WHERE creator_id = %s", [t.creator_id])
    assert n["n"] == 1


async def test_a_schedule_per_creator_in_its_timezone_runs_the_plan_with_an_anomaly(
    dev: WorkflowEnvironment, settings: Settings, database_url: str
) -> None:
    biz = seed_business(database_url, fans=1000, days=120, seed=5, handle="scheduled")
    [c] = await fetch("SELECT timezone FROM creators WHERE id = %s", [biz.creator_id])
    tz = ZoneInfo(c["timezone"])
    drop = datetime.now(tz).date() - timedelta(days=3)  # a day without any sale
    async with db.pool().connection() as conn:
        await conn.execute(
            "DELETE FROM transactions WHERE creator_id = %s AND occurred_at >= %s AND occurred_at < %s",
            [
                biz.creator_id,
                datetime.combine(drop, datetime.min.time(), tz),
                datetime.combine(drop + timedelta(days=1), datetime.min.time(), tz),
            ],
        )
    assert await ensure_daily_plan_schedules(dev.client, settings.task_queue) >= 1
    handle = dev.client.get_schedule_handle(daily_plan_schedule_id(biz.creator_id))
    desc = await handle.describe()
    assert desc.schedule.spec.time_zone_name == c["timezone"]
    assert [r.start for r in desc.schedule.spec.calendars[0].hour] == [7]
    action = desc.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "DailyPlanWorkflow"

    app = make_app(dev, settings)
    auth = {"Authorization": f"Bearer {biz.api_key}"}
    api: httpx.AsyncClient
    async with client_for(app) as api:
        assert (await api.get("/v1/agents/unified/actions", headers=auth)).json()["error"][
            "code"
        ] == "no_plan"
        # moving the plan's hour moves the schedule at once
        cfg = (await api.get("/v1/followups/config", headers=auth)).json()
        r = await api.put("/v1/followups/config", json={**cfg, "daily_plan_hour": 5}, headers=auth)
        assert r.status_code == 200, r.text
        desc = await handle.describe()
        assert [r.start for r in desc.schedule.spec.calendars[0].hour] == [5]

        await handle.trigger()  # what the schedule does at 05:00 in the creator's timezone
        await wait_until(
            "SELECT count(*) = 1 FROM daily_plans WHERE creator_id = %s", [biz.creator_id], timeout_s=120
        )
        got = await api.get("/v1/agents/unified/actions", headers=auth)
        assert got.status_code == 200, got.text
        plan: dict[str, Any] = got.json()
    assert plan["schedule"] == {"id": handle.id, "hour": 5, "timezone": c["timezone"]}
    anomalies = [
        a for a in plan["actions"] if a["kind"] == "anomaly" and a["data"]["metric"] == "revenue_cents"
    ]
    hit = next(a for a in anomalies if a["data"]["date"] == drop.isoformat())
    assert hit["data"]["direction"] == "down" and hit["expected_value_cents"] == round(
        hit["data"]["expected"]
    )
    # the refresh ran first: every fan has fresh scores
    [s] = await fetch("SELECT count(*) AS n FROM fan_scores WHERE creator_id = %s", [biz.creator_id])
    assert s["n"] == 1000
    assert plan["summary"]["actions"] == len(plan["actions"]) >= 2
