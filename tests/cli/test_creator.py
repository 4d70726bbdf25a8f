"""`huntaze creator create` as a real process, then the API with the key it printed: the daily plan's schedule
exists in the creator's timezone on the real Temporal dev server and moves when the owner changes the timezone;
catalog items and a purchase named by the platform's item id; bad input exits 2 naming the flag."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from tests.api.conftest import client_for, make_app
from tests.workflows.helpers import fetch
from workflows.daily_plan import daily_plan_schedule_id


async def _huntaze(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_a_creator_from_nothing_through_the_cli_and_the_api(
    temporal_dev_env: WorkflowEnvironment, settings: Settings, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": str(settings.database_url),
        "TEMPORAL_ADDRESS": temporal_dev_env.client.service_client.config.target_host,
        "HUNTAZE_TASK_QUEUE": settings.task_queue,
        "HUNTAZE_DATA_DIR": str(tmp_path / "data"),
    }
    create = ("creator", "create", "--handle", "nova", "--name", "Nova Lane", "--timezone", "America/Chicago")
    rc, out, err = await _huntaze(env, *create, "--persona", "sunny, teasing, short sentences")
    assert rc == 0, err
    last = json.loads(out.strip().splitlines()[-1])
    assert set(last) == {"creator_id", "owner_key"}, out
    creator_id, key = last["creator_id"], last["owner_key"]
    assert "daily plan scheduled" in out

    handle = temporal_dev_env.client.get_schedule_handle(daily_plan_schedule_id(creator_id))
    assert (await handle.describe()).schedule.spec.time_zone_name == "America/Chicago"

    auth = {"Authorization": f"Bearer {key}"}
    app = make_app(temporal_dev_env, settings)
    async with client_for(app) as api:
        me = (await api.get("/v1/creator", headers=auth)).json()
        assert (me["handle"], me["display_name"], me["persona"]) == (
            "nova",
            "Nova Lane",
            "sunny, teasing, short sentences",
        )
        # a timezone change moves the schedule at once
        r = await api.patch(
            "/v1/creator", json={"version": me["version"], "timezone": "Asia/Tokyo"}, headers=auth
        )
        assert r.status_code == 200, r.text
        spec = (await handle.describe()).schedule.spec
        assert spec.time_zone_name == "Asia/Tokyo"
        assert [h.start for h in spec.calendars[0].hour] == [7]  # the hour itself stays
        item = {"title": "Rooftop set", "price_cents": 1800, "platform_item_id": "of-9001"}
        assert (await api.post("/v1/catalog", json=item, headers=auth)).status_code == 201
        buy = {
            "event_id": "of-txn-1",
            "kind": "purchase",
            "amount_cents": 1800,
            "platform_item_id": "of-9001",
            "fan": {"platform_fan_id": "of-fan-1", "display_name": "Sam"},
        }
        assert (await api.post("/v1/events", json=buy, headers=auth)).status_code == 202
        fans = (await api.get("/v1/fans", headers=auth)).json()["items"]
        assert [f["display_name"] for f in fans] == ["Sam"]
        await app.state.fresh_cache.close()

    before = await fetch("SELECT count(*) AS n FROM creators", [])
    rc, out, err = await _huntaze(env, *create)  # the handle is taken
    assert rc == 2 and "--handle" in err and "already exists" in err, (out, err)
    assert "owner_key" not in out
    rc, out, err = await _huntaze(
        env, "creator", "create", "--handle", "mars", "--name", "M", "--timezone", "Mars/Base"
    )
    assert rc == 2 and "--timezone" in err and "Mars/Base" in err, (out, err)
    assert await fetch("SELECT count(*) AS n FROM creators", []) == before
