"""The creator's assistant through the API, on the time-skipping Temporal server and the loopback LLM fake
speaking native tool calls: a viewer asks, the supervisor delegates to two agents in turn, the answer keeps only
numbers the tools returned, every delegation is in the actions feed, and the proposal it returns does nothing
until a manager sends it to the campaigns endpoint; its messages are drafts that go out only once approved."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from api.deps import Runtime
from api.routers import assistant as assistant_router
from core import db
from core.store import assistant_turns
from tests.api.test_assistant_stream import events
from tests.factories import make_tenant
from tests.fakes.openai_server import FakeOpenAI, tool_calls
from tests.workflows.helpers import fetch, wait_for, wait_until
from workflows import assistant_stream
from workflows.assistant import assistant_workflow_id


def _delegation(body: dict[str, object]) -> bool:
    fmt = body.get("response_format") or {}
    return isinstance(fmt, dict) and fmt.get("json_schema", {}).get("name") == "Delegation"


async def test_a_viewer_asks_and_a_proposal_executes_only_through_approval(
    api: httpx.AsyncClient, fake_llm: FakeOpenAI
) -> None:
    t = await make_tenant("asst")
    async with (
        db.pool().connection() as conn
    ):  # every hour is a good hour: an approved draft goes out at once
        await conn.execute(
            "UPDATE creators SET followup_config = %s WHERE id = %s",
            [json.dumps({"default_best_hours": list(range(24))}), t.creator_id],
        )
    fake_llm.script(
        {"agents": ["segmentation", "followup"]},
        tool_calls(("segment_sizes", {})),
        "You have 999 whales. Segments are not computed yet.",
        tool_calls(("propose_start_sequence", {"kind": "win_back", "segment": "all"})),
        "I propose a win-back campaign.",
    )
    r = await api.post(
        "/v1/assistant/messages", json={"text": "win back my lapsed fans"}, headers=t.auth("viewer")
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["agents"] == ["segmentation", "followup"]
    assert [(s["agent"], s["tool"]) for s in out["steps"]] == [
        ("segmentation", "segment_sizes"),
        ("followup", "propose_start_sequence"),
    ]
    assert "999" not in out["answer"] and "Segments are not computed yet." in out["answer"]
    [proposal] = out["proposals"]
    assert proposal["kind"] == "campaign" and proposal["requires_role"] == "manager"
    assert proposal["allowed"] is False  # a viewer may ask, not send
    assert proposal["audience"]["recipients"] == 2
    # the supervisor was asked once, and the tools were offered natively
    assert sum(1 for b in fake_llm.requests if _delegation(b)) == 1
    # every delegation is an agent action; nothing was written to a fan, nothing was created
    feed = (await api.get("/v1/actions", params={"kind": "assistant_delegated"}, headers=t.auth())).json()
    assert sorted(a["summary"] for a in feed["items"]) == [
        "assistant → followup: propose_start_sequence",
        "assistant → segmentation: segment_sizes",
    ]
    for table in ("campaigns", "drafts", "outbox", "events", "followups"):
        assert await fetch(f"SELECT 1 FROM {table} WHERE creator_id = %s", [t.creator_id]) == [], table

    req = proposal["request"]
    r = await api.request(req["method"], req["path"], json=req["body"], headers=t.auth("viewer"))
    assert r.status_code == 403
    r = await api.request(req["method"], req["path"], json=req["body"], headers=t.auth("manager"))
    assert r.status_code == 202, r.text
    campaign = r.json()["id"]
    await wait_until(
        "SELECT count(*) = 2 FROM drafts WHERE campaign_id = %s AND status = 'pending_review'", [campaign]
    )
    outbox = "SELECT 1 FROM outbox o JOIN drafts d ON d.id = o.draft_id WHERE d.campaign_id = %s"
    assert await fetch(outbox, [campaign]) == []  # drafted, not sent: a human has not approved
    r = await api.post("/v1/drafts/approve", json={"campaign_id": campaign}, headers=t.auth("chatter"))
    assert r.status_code == 200 and r.json()["approved"] == 2
    await wait_until("SELECT count(*) = 2 FROM drafts WHERE campaign_id = %s AND status = 'sent'", [campaign])
    assert len(await fetch(outbox, [campaign])) == 2


async def test_a_thread_remembers_its_requests_and_belongs_to_its_creator(
    api: httpx.AsyncClient, fake_llm: FakeOpenAI
) -> None:
    a, b = await make_tenant("tha"), await make_tenant("thb")
    fake_llm.script({"agents": ["analytics"]}, tool_calls(("campaign_results", {})), "No campaigns yet.")
    r = await api.post("/v1/assistant/messages", json={"text": "how did my campaigns do?"}, headers=a.auth())
    assert r.status_code == 200, r.text
    thread = r.json()["thread_id"]
    assert r.json()["steps"][0]["summary"] == '{"campaigns":[]}' and r.json()["steps"][0]["mode"] == "native"

    def last_supervisor_prompt() -> str:
        return json.dumps([b for b in fake_llm.requests if _delegation(b)][-1]["messages"])

    fake_llm.script({"agents": ["analytics"]}, tool_calls(("anomalies", {"days": 7})), "Nothing unusual.")
    r = await api.post(
        "/v1/assistant/messages", json={"text": "and this week?", "thread_id": thread}, headers=a.auth()
    )
    assert r.status_code == 200 and r.json()["thread_id"] == thread
    assert "how did my campaigns do?" in last_supervisor_prompt()
    # B naming A's thread gets a thread of its own: A's requests are not in its prompt
    fake_llm.script({"agents": ["dm"]}, tool_calls(("search_catalog", {"query": ""})), "Two items.")
    r = await api.post(
        "/v1/assistant/messages", json={"text": "what do I sell?", "thread_id": thread}, headers=b.auth()
    )
    assert r.status_code == 200, r.text
    assert "campaigns" not in last_supervisor_prompt() and "this week" not in last_supervisor_prompt()
    assert a.catalog[0] not in r.text and b.catalog[0] in r.text


async def test_a_keyed_request_sent_again_while_it_runs_is_asked_once(
    api: httpx.AsyncClient, fake_llm: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a request with an Idempotency-Key (and no thread id: the key names its new thread) waits for the
    model, the same request as a stream joins it and follows its progress; the same key with another text is
    refused. Both get the one answer; the thread stores one turn."""
    following = asyncio.Event()

    def follow(*args: Any) -> AsyncIterator[tuple[str, Any]]:
        following.set()  # the stream's request was handed over (joined) and is followed
        return assistant_stream.follow(*args)

    monkeypatch.setattr(assistant_router, "follow", follow)
    t = await make_tenant("inflight")
    fake_llm.script({"agents": ["analytics"]}, tool_calls(("campaign_results", {})), "No campaigns yet.")
    fake_llm.hold("how did my campaigns do?")  # the supervisor's call waits
    ask, keyed = {"text": "how did my campaigns do?"}, t.auth("viewer") | {"Idempotency-Key": "q-1"}
    first = asyncio.create_task(api.post("/v1/assistant/messages", json=ask, headers=keyed))
    try:
        await wait_for(lambda: fake_llm.calls >= 1, "the request reached the model")
        joined = asyncio.create_task(
            api.post("/v1/assistant/messages", json=ask, headers=keyed | {"Accept": "text/event-stream"})
        )
        await asyncio.wait_for(following.wait(), 60)
        other = await api.post("/v1/assistant/messages", json={"text": "and my fans?"}, headers=keyed)
        assert other.status_code == 409, other.text
        assert other.json()["error"]["code"] == "idempotency_conflict"
    finally:
        fake_llm.release_held()
    r, streamed = await first, await joined
    assert r.status_code == 200, r.text
    got = events(streamed.text)
    assert [e for e, _ in got] == ["thread", "agents", "step", "answer"], streamed.text
    assert got[0][1] == {"thread_id": r.json()["thread_id"]} and got[3][1] == r.json()
    assert sum(1 for b in fake_llm.requests if _delegation(b)) == 1
    turns = (await api.get(f"/v1/assistant/threads/{r.json()['thread_id']}", headers=t.auth())).json()[
        "items"
    ]
    assert [x["text"] for x in turns] == [ask["text"]]


async def test_bad_requests_are_refused_naming_the_field(api: httpx.AsyncClient) -> None:
    t = await make_tenant("asb")
    for body, field in (
        ({"text": ""}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "x" * 2001}, "text"),
        ({"text": "hi\u0000"}, "text"),
        ({"text": "hi", "thread_id": "../x"}, "thread_id"),
        ({"text": "hi", "thread_id": "a" * 65}, "thread_id"),
        ({"text": "hi", "creator_id": "x"}, "creator_id"),
        ({}, "text"),
    ):
        r = await api.post("/v1/assistant/messages", json=body, headers=t.auth("viewer"))
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["code"] == "validation_error"
        assert field in r.json()["error"]["details"]["fields"][0]["field"], r.text
    r = await api.post("/v1/assistant/messages", json={"text": "hi"})
    assert r.status_code == 401


async def test_a_thread_idle_past_its_close_keeps_its_turns(
    app: FastAPI, api: httpx.AsyncClient, fake_llm: FakeOpenAI, temporal_env: WorkflowEnvironment
) -> None:
    """Every answered request is stored; the thread's workflow completes after its idle time, and the next request
    starts a new run that reads the stored turns: the earlier request reaches the model, the turns go on being
    numbered (one set of actions per turn), and the threads endpoints list them (a viewer may read). A keyed
    request sent again after its run closed gets its stored turn."""
    rt: Runtime = app.state.runtime
    app.state.runtime = Runtime(rt.temporal, rt.settings.model_copy(update={"assistant_idle_close_s": 1.0}))
    t = await make_tenant("idle")
    fake_llm.script({"agents": ["analytics"]}, tool_calls(("campaign_results", {})), "No campaigns yet.")
    ask, keyed = {"text": "how did my campaigns do?"}, t.auth() | {"Idempotency-Key": "idle-1"}
    r = await api.post("/v1/assistant/messages", json=ask, headers=keyed)
    assert r.status_code == 200, r.text
    thread = r.json()["thread_id"]
    first_run = temporal_env.client.get_workflow_handle(assistant_workflow_id(t.creator_id, thread))
    assert await first_run.result() == 1  # idle past its close: the run completed with its one answer
    # The keyed request sent again after its run closed is answered from its stored turn, as JSON and as a stream,
    # without asking the model again; the same key with another text is refused.
    asked = fake_llm.calls
    again = await api.post("/v1/assistant/messages", json=ask, headers=keyed)
    assert again.status_code == 200 and again.json() == r.json(), again.text
    streamed = await api.post(
        "/v1/assistant/messages", json=ask, headers=keyed | {"Accept": "text/event-stream"}
    )
    assert [e for e, _ in events(streamed.text)] == ["thread", "answer"], streamed.text
    assert events(streamed.text)[1][1] == r.json()
    other = await api.post("/v1/assistant/messages", json={"text": "something else"}, headers=keyed)
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_conflict", other.text
    assert fake_llm.calls == asked

    fake_llm.script({"agents": ["analytics"]}, tool_calls(("anomalies", {"days": 7})), "Nothing unusual.")
    r = await api.post(
        "/v1/assistant/messages",
        json={"text": "and this week?", "thread_id": thread},
        headers=t.auth("viewer"),
    )
    assert r.status_code == 200, r.text
    supervisor = [b for b in fake_llm.requests if _delegation(b)][-1]
    assert "how did my campaigns do?" in json.dumps(
        supervisor["messages"]
    )  # the new run read the stored turn
    answered = await fetch(
        "SELECT details->>'turn' AS turn FROM agent_actions WHERE creator_id = %s AND kind = 'assistant_answered'"
        " ORDER BY id",
        [t.creator_id],
    )
    assert [a["turn"] for a in answered] == ["0", "1"]

    r = await api.get("/v1/assistant/threads", headers=t.auth("viewer"))
    assert r.status_code == 200, r.text
    [listed] = r.json()["items"]
    assert listed["thread_id"] == thread and listed["turns"] == 2
    assert listed["first_text"] == "how did my campaigns do?" and r.json()["next_cursor"] is None
    r = await api.get(f"/v1/assistant/threads/{thread}", headers=t.auth("viewer"))
    assert r.status_code == 200, r.text
    turns = r.json()["items"]
    assert [(x["turn"], x["text"]) for x in turns] == [(0, "how did my campaigns do?"), (1, "and this week?")]
    assert [x["steps"][0]["tool"] for x in turns] == ["campaign_results", "anomalies"]
    assert turns[1]["answer"].startswith("Nothing unusual.")
    assert turns[0]["member_id"] == t.members["owner"] and turns[1]["member_id"] == t.members["viewer"]


async def test_threads_are_paged_newest_first(api: httpx.AsyncClient) -> None:
    """Stored turns of three threads (written as the turn activity writes them): pages of the list and of one
    thread's turns follow their cursors to the end."""
    t = await make_tenant("pages")
    for thread, count in (("t-old", 1), ("t-mid", 3), ("t-new", 1)):
        async with db.pool().connection() as conn:  # a transaction per thread: its own now()
            for n in range(count):
                await assistant_turns.add(
                    conn,
                    t.creator_id,
                    thread,
                    n,
                    member_id="cli",
                    text=f"{thread} {n}",
                    answer="ok",
                    agents=[],
                    steps=[],
                    proposals=[],
                )
            assert not await assistant_turns.add(
                conn,
                t.creator_id,
                thread,
                0,
                member_id="cli",
                text="again",
                answer="",
                agents=[],
                steps=[],
                proposals=[],
            )  # a turn is stored once
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await api.get("/v1/assistant/threads", params=params, headers=t.auth("viewer"))).json()
        seen += [x["thread_id"] for x in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["t-new", "t-mid", "t-old"]
    texts: list[str] = []
    after = None
    while True:
        params = {"limit": 2} | ({"cursor": after} if after is not None else {})
        page = (await api.get("/v1/assistant/threads/t-mid", params=params, headers=t.auth())).json()
        texts += [x["text"] for x in page["items"]]
        after = page["next_cursor"]
        if after is None:
            break
    assert texts == ["t-mid 0", "t-mid 1", "t-mid 2"]
    r = await api.get("/v1/assistant/threads/t-none", headers=t.auth())
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
