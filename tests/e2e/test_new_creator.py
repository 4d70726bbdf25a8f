"""A new creator's first day, from an empty database through the CLI and the API only (no seed, no SQL writes):
`huntaze creator create`, the catalog, a 200-fan history of 20,000 events imported with `huntaze import`, the
overview and the fan list against the file's own sums, a second import that changes nothing, then live
messages answered with the imported history in the prompt, the creator's own message superseding a draft, and
delivery receipts for approved drafts. The real worker on Temporal's test server; the LLM and the platform's
webhook receiver are the only doubles."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from agents.prompts import render_history
from core.settings import Settings, configure
from devstack.history_file import CATALOG, history_events
from tests.api.conftest import client_for, make_app
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.webhook import WebhookReceiver
from tests.workflows.helpers import fetch, wait_until
from workflows.worker import build_worker

ROOT = Path(__file__).resolve().parents[2]
FANS, EVENTS = 200, 20_000
PAID = ("subscription_started", "subscription_renewed", "tip", "purchase", "ppv_unlock")
# what an import writes, and what a second import of the same file must leave exactly as it was
TABLES = (
    "fans",
    "events",
    "messages",
    "transactions",
    "refunds",
    "catalog",
    "agent_actions",
    "segmentation_runs",
    "fan_scores",
    "drafts",
    "analytics_daily",
)


@pytest.fixture
def receiver(settings: Settings) -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(secret="s3cret")
    r.server.start()
    configure(settings.model_copy(update={"webhook_url": r.url, "webhook_secret": SecretStr("s3cret")}))
    yield r
    r.server.stop()


async def _huntaze(env: dict[str, str], *args: str) -> tuple[int, list[str], str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cli.main",
        *args,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode is not None
    return proc.returncode, out.decode().splitlines(), err.decode()


async def _rows(creator_id: str) -> dict[str, Any]:
    """Each table's row count and a digest of its rows with their versions (xmin): a no-op update changes it."""
    return {
        t: (
            await fetch(
                f"SELECT count(*) AS n, md5(coalesce(string_agg(x.xmin::text || (x)::text, '|'"
                f" ORDER BY (x)::text), '')) AS digest FROM {t} x WHERE creator_id = %s",
                [creator_id],
            )
        )[0]
        for t in TABLES
    }


def _fan_key(fan: dict[str, Any]) -> tuple[str, str]:
    return fan.get("platform", "onlyfans"), fan["platform_fan_id"]


async def _all_fans(api: httpx.AsyncClient, auth: dict[str, str]) -> list[dict[str, Any]]:
    fans: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = await api.get(
            "/v1/fans", params={"limit": 50, **({"cursor": cursor} if cursor else {})}, headers=auth
        )
        assert r.status_code == 200, r.text
        fans += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if not cursor:
            return fans


async def _draft_for(api: httpx.AsyncClient, auth: dict[str, str], fan_id: str) -> dict[str, Any]:
    for _ in range(1200):
        r = await api.get("/v1/inbox", headers=auth)
        assert r.status_code == 200, r.text
        mine = [d for d in r.json()["items"] if d["fan"]["id"] == fan_id]
        if mine:
            [draft] = mine
            return dict(draft)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no draft for fan {fan_id}")


async def test_a_new_creator_from_nothing_imports_its_history_and_answers_live(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    fake_llm: FakeOpenAI,
    receiver: WebhookReceiver,
    tmp_path: Path,
) -> None:
    assert (await fetch("SELECT count(*) AS n FROM creators", []))[0]["n"] == 0  # an empty database
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": str(settings.database_url),
        # the test server has no Schedules: the command says the worker schedules the daily plan
        "TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "HUNTAZE_TASK_QUEUE": settings.task_queue,
        "HUNTAZE_DATA_DIR": str(tmp_path / "data"),
    }
    rc, out, err = await _huntaze(
        env, "creator", "create", "--handle", "juno", "--name", "Juno Vale", "--timezone", "Europe/Paris"
    )
    assert rc == 0, err
    created = json.loads(out[-1])
    creator_id, auth = created["creator_id"], {"Authorization": f"Bearer {created['owner_key']}"}

    # The history ends two days ago: its messages are outside any frequency cap's window.
    until = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    events = list(
        history_events(
            fans=FANS,
            events=EVENTS,
            until=until,
            prefix="juno",
            platform_item_ids=[item["platform_item_id"] for item in CATALOG],
        )
    )
    kinds = {e["kind"] for e in events}
    assert {"message", "creator_message", "subscription_started", "purchase", "tip", "ppv_unlock"} <= kinds
    assert {"refund", "chargeback"} <= kinds
    assert any("platform_item_id" in e for e in events if e["kind"] == "purchase")
    file_fans = {_fan_key(e["fan"]) for e in events}
    assert len(events) >= EVENTS and len(file_fans) == FANS
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))

    app = make_app(temporal_env, settings)
    try:
        async with client_for(app) as api:
            for item in CATALOG:
                r = await api.post("/v1/catalog", json=item, headers=auth)
                assert r.status_code == 201, r.text

            started = time.monotonic()
            rc, out, err = await _huntaze(env, "import", "--creator", creator_id, str(path))
            print(f"huntaze import of {len(events)} events: {time.monotonic() - started:.1f} s")
            assert rc == 0, "\n".join(out) + err
            assert json.loads(out[-1]) == {"imported": len(events), "duplicates": 0, "rejected": 0}

            # The whole period's money, to the cent, as the file says.
            gross = sum(e["amount_cents"] for e in events if e["kind"] in PAID)
            refunds = sum(e["amount_cents"] for e in events if e["kind"] == "refund")
            chargebacks = sum(e["amount_cents"] for e in events if e["kind"] == "chargeback")
            first_day = min(e["occurred_at"] for e in events)[:10]
            r = await api.get(
                "/v1/analytics/overview", params={"from": first_day, "granularity": "month"}, headers=auth
            )
            assert r.status_code == 200, r.text
            assert r.json()["money"] == {
                "gross_cents": gross,
                "refunds_cents": refunds,
                "chargebacks_cents": chargebacks,
                "net_cents": gross - refunds - chargebacks,
            }
            listed = await _all_fans(api, auth)
            assert len(listed) == FANS
            assert {(f["platform"], f["platform_fan_id"]) for f in listed} == file_fans
            fan_ids = {(f["platform"], f["platform_fan_id"]): f["id"] for f in listed}

            # The same file again: every line a duplicate, not one row written.
            before = await _rows(creator_id)
            rc, out, err = await _huntaze(env, "import", "--creator", creator_id, str(path))
            assert rc == 0, "\n".join(out) + err
            assert json.loads(out[-1]) == {"imported": 0, "duplicates": len(events), "rejected": 0}
            assert await _rows(creator_id) == before
            assert before["drafts"]["n"] == 0  # history is stored, never answered

            # Live: fans whose subscription runs and who never took money back (no hand-off on them).
            def live_candidate(key: tuple[str, str]) -> bool:
                mine = [e for e in events if _fan_key(e["fan"]) == key]
                subs = [e["kind"] for e in mine if e["kind"].startswith("subscription")]
                said = [e for e in mine if e["kind"] == "message"]
                back = [e for e in mine if e["kind"] in ("refund", "chargeback")]
                return subs[-1] != "subscription_expired" and len(said) >= 5 and not back

            a, b, c = [k for k in sorted(file_fans) if live_candidate(k)][:3]
            ref = {k: {"platform": k[0], "platform_fan_id": k[1]} for k in (a, b, c)}

            async with build_worker(temporal_env.client, settings.task_queue):
                fake_llm.requests.clear()
                r = await api.post(
                    "/v1/events",
                    json={
                        "event_id": "live-a1",
                        "kind": "message",
                        "text": "still thinking of you",
                        "fan": ref[a],
                    },
                    headers=auth,
                )
                assert r.status_code == 202, r.text
                assert r.json()["fan_id"] == fan_ids[a]
                superseded = await _draft_for(api, auth, fan_ids[a])
                # The prompt carries the imported conversation (its last lines, in order) and the fan's spend.
                said = [
                    e
                    for e in events
                    if _fan_key(e["fan"]) == a and e["kind"] in ("message", "creator_message")
                ]
                tail = render_history(
                    [
                        {"direction": "in" if e["kind"] == "message" else "out", "text": e["text"]}
                        for e in said[-6:]
                    ]
                )
                spent = sum(
                    e["amount_cents"] for e in events if _fan_key(e["fan"]) == a and e["kind"] in PAID
                )
                prompts = [
                    "\n".join(str(m["content"]) for m in req["messages"]) for req in fake_llm.draft_requests()
                ]
                assert any(tail in p and f"spent so far: {spent} cents" in p for p in prompts), prompts

                # The creator answers herself on the platform: the pending draft is superseded, never sent.
                r = await api.post(
                    "/v1/events",
                    json={
                        "event_id": "live-a2",
                        "kind": "creator_message",
                        "text": "me too 💕",
                        "fan": ref[a],
                    },
                    headers=auth,
                )
                assert r.status_code == 202, r.text
                await wait_until("SELECT status = 'superseded' FROM drafts WHERE id = %s", [superseded["id"]])
                late = await api.post(
                    f"/v1/drafts/{superseded['id']}/approve", json={"version": 1}, headers=auth
                )
                assert late.status_code == 409, late.text
                r = await api.get("/v1/actions", params={"kind": "superseded"}, headers=auth)
                assert [x["draft_id"] for x in r.json()["items"]] == [superseded["id"]]

                # Two more fans write; both drafts approved and handed to the platform.
                sent = {}
                for key, event_id in ((b, "live-b1"), (c, "live-c1")):
                    r = await api.post(
                        "/v1/events",
                        json={
                            "event_id": event_id,
                            "kind": "message",
                            "text": "hey, you up?",
                            "fan": ref[key],
                        },
                        headers=auth,
                    )
                    assert r.status_code == 202, r.text
                    draft = await _draft_for(api, auth, fan_ids[key])
                    r = await api.post(f"/v1/drafts/{draft['id']}/approve", json={"version": 1}, headers=auth)
                    assert r.status_code == 200, r.text
                    await wait_until(
                        "SELECT status = 'delivered' FROM outbox WHERE draft_id = %s", [draft["id"]]
                    )
                    sent[key] = draft["id"]
                assert receiver.calls and all(call["signature_ok"] for call in receiver.calls)

                # The platform says one failed: a failed delivery and an action for a human.
                r = await api.post(
                    f"/v1/deliveries/{sent[b]}",
                    json={"status": "failed", "error": "fan blocked"},
                    headers=auth,
                )
                assert r.status_code == 200 and r.json()["status"] == "failed", r.text
                r = await api.get("/v1/deliveries", params={"status": "failed"}, headers=auth)
                assert [d["draft_id"] for d in r.json()["items"]] == [sent[b]]
                r = await api.get("/v1/actions", params={"kind": "delivery_failed"}, headers=auth)
                [failed] = r.json()["items"]
                assert failed["draft_id"] == sent[b] and "fan blocked" in failed["summary"]

                # ... and the other delivered, with the platform's message id kept.
                r = await api.post(
                    f"/v1/deliveries/{sent[c]}",
                    json={"status": "delivered", "platform_message_id": "of-msg-77"},
                    headers=auth,
                )
                assert r.status_code == 200, r.text
                r = await api.get(f"/v1/deliveries/{sent[c]}", headers=auth)
                assert (r.json()["status"], r.json()["platform_message_id"]) == ("delivered", "of-msg-77")
                r = await api.get("/v1/deliveries", params={"status": "delivered"}, headers=auth)
                assert [d["draft_id"] for d in r.json()["items"]] == [sent[c]]
    finally:
        await app.state.fresh_cache.close()
