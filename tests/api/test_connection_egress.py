"""Connection webhook URLs go only to public addresses: refused when saved (422 `webhook_url_not_allowed`, nothing
stored) and again when a message is sent, with an error on the outbox row that names no address."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from connectors import egress
from core import db
from core.crypto import connection_aad, keyring
from core.settings import Settings
from tests.api.conftest import client_for, make_app
from tests.factories import make_tenant
from tests.workflows.helpers import drafted, fetch, wait_until
from workflows.conversation import ConversationWorkflow
from workflows.types import Decision

SECRET = "whsec-egress-signing-value-0123"
NOT_ALLOWED = [
    "http://127.0.0.1:8233/",
    "http://2130706433/",
    "http://0x7f.1/",
    "http://017700000001:8233/",
    "http://127.1/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://localhost:8233/",
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/",
    "http://[fd00:ec2::254]/",
    "http://10.0.0.5/",
    "http://172.16.0.1/",
    "https://192.168.1.10/hook",
    "http://100.64.0.1/",
    "http://0.0.0.0:8000/",
    "http://0/",
    "http://[::]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://240.0.0.1/",
    "http://[64:ff9b::a9fe:a9fe]/",
]


@pytest.fixture
async def strict_api(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """The API as deployed: loopback webhooks not allowed."""
    app = make_app(temporal_env, settings.model_copy(update={"allow_loopback_webhooks": False}))
    async with client_for(app) as client:
        yield client
    await app.state.fresh_cache.close()


async def _put(api: httpx.AsyncClient, headers: dict[str, str], url: str) -> httpx.Response:
    return await api.put(
        "/v1/connections/onlyfans", json={"webhook_url": url, "secret": SECRET}, headers=headers
    )


def _assert_refused(r: httpx.Response, url: str) -> None:
    assert r.status_code == 422, (url, r.text)
    error = r.json()["error"]
    assert error["code"] == "webhook_url_not_allowed", url
    [field] = error["details"]["fields"]
    assert field["field"] == "webhook_url" and field["type"] == "webhook_url_not_allowed"
    host = httpx.URL(url).host
    assert host not in r.text and "resolves" not in r.text, url  # nothing about the address comes back


async def test_non_public_webhook_urls_are_refused_when_saved(strict_api: httpx.AsyncClient) -> None:
    t = await make_tenant()
    for url in NOT_ALLOWED:
        _assert_refused(await _put(strict_api, t.auth(), url), url)
    assert await fetch("SELECT * FROM connections", []) == []
    assert await fetch("SELECT * FROM audit_log WHERE action = 'connection.updated'", []) == []


async def test_a_name_that_resolves_to_a_private_address_is_refused(
    strict_api: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = {"hooks.inside.test": ["93.184.216.34", "10.20.30.40"], "hooks.outside.test": ["93.184.216.34"]}

    async def resolve(host: str, port: int) -> list[egress.IPAddress]:
        return [ipaddress.ip_address(a) for a in answers[host]]

    monkeypatch.setattr(egress, "resolve", resolve)
    t = await make_tenant()
    _assert_refused(
        await _put(strict_api, t.auth(), "https://hooks.inside.test/of"), "https://hooks.inside.test/of"
    )
    assert await fetch("SELECT * FROM connections", []) == []
    ok = await _put(strict_api, t.auth(), "https://hooks.outside.test/of")
    assert ok.status_code == 200, ok.text
    assert [r["webhook_url"] for r in await fetch("SELECT webhook_url FROM connections", [])] == [
        "https://hooks.outside.test/of"
    ]


async def test_the_development_setting_allows_loopback_only(
    strict_api: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    t = await make_tenant()
    for url in ("http://127.0.0.1:9000/hook", "http://[::1]:9000/hook", "http://localhost:9000/hook"):
        _assert_refused(await _put(strict_api, t.auth(), url), url)
        r = await _put(api, t.auth(), url)  # the suite's settings: HUNTAZE_ALLOW_LOOPBACK_WEBHOOKS=true
        assert r.status_code == 200, (url, r.text)
    for url in NOT_ALLOWED:
        host = httpx.URL(url).host
        if host in (
            "127.0.0.1",
            "2130706433",
            "0x7f.1",
            "017700000001",
            "127.1",
            "::1",
            "::ffff:127.0.0.1",
            "localhost",
        ):
            continue
        _assert_refused(await _put(api, t.auth(), url), url)


async def test_a_stored_url_is_refused_at_send_and_the_error_names_no_address(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    """A URL that got into the table some other way (older versions, SQL) is checked again at send: the delivery
    fails for good, once (failed, for a human to retry or discard), and the owner sees a category, not the address
    or port."""
    url = "http://169.254.169.254:8233/latest/meta-data/"
    app = make_app(temporal_env, settings)
    try:
        async with drafted(temporal_env, settings) as (t, h, p):
            sealed = keyring(settings).seal(SECRET.encode(), connection_aad(t.creator_id, "onlyfans"))
            async with db.pool().connection() as conn:
                await conn.execute(
                    "INSERT INTO connections (creator_id, platform, webhook_url, key_id, secret_nonce, secret_sealed)"
                    " VALUES (%s, 'onlyfans', %s, %s, %s, %s)",
                    [t.creator_id, url, sealed.key_id, sealed.nonce, sealed.ciphertext],
                )
            decision = Decision(p.draft_id, p.version, "approve", t.members["owner"])
            await h.execute_update(ConversationWorkflow.decide, decision)
            await wait_until("SELECT last_error IS NOT NULL FROM outbox WHERE draft_id = %s", [p.draft_id])
            await asyncio.sleep(2.5)  # a retry would come after 1 s, then 2 s
            async with client_for(app) as api:
                export = await api.get(f"/v1/fans/{t.fans[0]}/export", headers=t.auth())
        [box] = await fetch(
            "SELECT status, attempts, last_error FROM outbox WHERE draft_id = %s", [p.draft_id]
        )
        failed = await fetch(
            "SELECT summary FROM agent_actions WHERE kind = 'delivery_failed' AND draft_id = %s", [p.draft_id]
        )
    finally:
        await app.state.fresh_cache.close()
    # Not retried: a refused address stays refused.
    assert box == {
        "status": "failed",
        "attempts": 1,
        "last_error": "refused: the webhook address is not allowed",
    }
    assert len(failed) == 1 and "refused: the webhook address is not allowed" in failed[0]["summary"]
    assert "169.254" not in failed[0]["summary"]
    assert export.status_code == 200, export.text
    [delivery] = export.json()["deliveries"]
    assert delivery["last_error"] == "refused: the webhook address is not allowed"
    shown = json.dumps(delivery)
    assert "169.254" not in shown and "8233" not in shown
