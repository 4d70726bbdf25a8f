"""One Temporal Schedule per creator runs the DailyPlanWorkflow at the creator's `daily_plan_hour`, in the
creator's own timezone (Temporal resolves the zone, daylight saving included).

`ensure_daily_plan_schedules` creates the missing schedules and updates those whose timezone or hour changed;
the worker process calls it at start-up, so a new creator or a moved creator is picked up on the next start, and
`PUT /v1/followups/config` calls it for its creator at once.

One more Schedule per task queue, not per creator, runs the AlertRetryWorkflow every HUNTAZE_ALERTS_RETRY_S
seconds (`ensure_alert_retry_schedule`, also at the worker's start-up): it sends the pending alerts that are due."""

from __future__ import annotations

import logging
from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from agents.followup.config import FollowupConfig
from core import db
from workflows.alert_retry import alert_retry_schedule_id
from workflows.daily_plan import daily_plan_schedule_id, daily_plan_workflow_id
from workflows.types import DailyPlanInput

log = logging.getLogger(__name__)


def daily_plan_schedule(creator_id: str, timezone: str, hour: int, task_queue: str) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            "DailyPlanWorkflow",
            DailyPlanInput(creator_id),
            id=daily_plan_workflow_id(creator_id),
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[ScheduleCalendarSpec(hour=[ScheduleRange(hour)], comment="the creator's morning")],
            time_zone_name=timezone,
        ),
        # a plan still running is not doubled; a plan missed while the service was down runs when it is back
        # the same day, not days later
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=12)),
    )


async def _create_or_update(client: Client, sid: str, schedule: Schedule) -> None:
    """Create the schedule, or bring the existing one with this id to it."""
    try:
        await client.create_schedule(sid, schedule)
    except ScheduleAlreadyRunningError:

        def _update(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(sid).update(_update)


async def ensure_daily_plan_schedule(
    client: Client, creator_id: str, timezone: str, hour: int, task_queue: str
) -> str:
    """Create the creator's schedule, or bring an existing one to this timezone and hour."""
    sid = daily_plan_schedule_id(creator_id)
    schedule = daily_plan_schedule(creator_id, timezone, hour, task_queue)
    await _create_or_update(client, sid, schedule)
    return sid


async def ensure_daily_plan_schedules(client: Client, task_queue: str) -> int:
    """Every creator's schedule; the number ensured."""
    async with db.pool().connection() as conn:
        cur = await conn.execute("SELECT id::text AS id, timezone, followup_config FROM creators ORDER BY id")
        creators = await cur.fetchall()
    for c in creators:
        hour = FollowupConfig.from_stored(c["followup_config"]).daily_plan_hour
        await ensure_daily_plan_schedule(client, c["id"], c["timezone"], hour, task_queue)
    log.info("daily plan schedules ensured for %d creator(s)", len(creators))
    return len(creators)


def alert_retry_schedule(task_queue: str, every_s: int) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            "AlertRetryWorkflow", id=f"{alert_retry_schedule_id(task_queue)}-run", task_queue=task_queue
        ),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=every_s))]),
        # a sweep still running is not doubled, and sweeps missed while the service was down are not made up:
        # the next one sends everything that is due
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(minutes=1)),
    )


async def ensure_alert_retry_schedule(client: Client, task_queue: str, every_s: int) -> str | None:
    """Create the task queue's alert retry schedule, or bring it to this interval; with every_s 0, delete it."""
    sid = alert_retry_schedule_id(task_queue)
    if every_s <= 0:
        try:
            await client.get_schedule_handle(sid).delete()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
        return None
    schedule = alert_retry_schedule(task_queue, every_s)
    await _create_or_update(client, sid, schedule)
    return sid
