"""The assistant's progress as server-sent events (`Accept: text/event-stream` on POST /v1/assistant/messages), on
the time-skipping Temporal server and the loopback LLM fake: the thread, the supervisor's choice, each tool call
in order, then the same answer as the JSON endpoint (its bad input: tests/api/test_bad_input.py); a step reaches
the client while the next agent is still working."""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from typing import Any

import httpx
from fastapi import FastAPI

from tests.factories import make_tenant
from tests.fakes.openai_server import FakeOpenAI, tool_calls
from tests.workflows.helpers import fetch

SSE = {"Accept": "text/event-stream"}


def events(body: str) -> list[tuple[str, Any]]:
    """(event, data) of each server-sent event; comment lines skipped."""
    out = []
    for block in body.split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith(":")]
        if not lines:
            continue
        fields = dict(line.split(": ", 1) for line in lines)
        out.append((fields["event"], json.loads(fields["data"])))
    return out


async def test_a_viewer_sees_each_step_then_the_answer(api: httpx.AsyncClient, fake_llm: FakeOpenAI) -> None:
    t = await make_tenant("stream")
    fake_llm.script(
        {"agents": ["segmentation", "followup"]},
        tool_calls(("segment_sizes", {})),
        "Segments are not computed yet.",
        tool_calls(("propose_start_sequence", {"kind": "win_back", "segment": "all"})),
        "I propose a win-back campaign.",
    )
    r = await api.post(
        "/v1/assistant/messages",
        json={"text": "win back my lapsed fans"},
        headers={**t.auth("viewer"), **SSE},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/event-stream")
    got = events(r.text)
    assert [e for e, _ in got] == ["thread", "agents", "step", "step", "answer"]
    thread = got[0][1]["thread_id"]
    assert got[1][1] == {"agents": ["segmentation", "followup"]}
    assert [(d["agent"], d["tool"], d["mode"]) for _, d in got[2:4]] == [
        ("segmentation", "segment_sizes", "native"),
        ("followup", "propose_start_sequence", "native"),
    ]
    assert got[3][1]["summary"].startswith("proposal: ")
    answer = got[4][1]
    assert answer["thread_id"] == thread and answer["agents"] == ["segmentation", "followup"]
    # the streamed steps are the answer's steps
    assert [d for _, d in got[2:4]] == answer["steps"]
    [proposal] = answer["proposals"]
    assert proposal["allowed"] is False  # a viewer may ask, not send
    for table in ("campaigns", "drafts", "outbox"):
        assert await fetch(f"SELECT 1 FROM {table} WHERE creator_id = %s", [t.creator_id]) == [], table

    # the same thread again, as JSON: the thread goes on (the stream's request is its history)
    fake_llm.script({"agents": ["analytics"]}, tool_calls(("campaign_results", {})), "No campaigns yet.")
    r = await api.post(
        "/v1/assistant/messages",
        json={"text": "and my campaigns?", "thread_id": thread},
        headers=t.auth("viewer"),
    )
    assert r.status_code == 200 and r.json()["thread_id"] == thread
    assert any("win back my lapsed fans" in json.dumps(b) for b in list(fake_llm.requests)[-3:]), (
        "the thread's history reaches the model"
    )


async def test_a_step_reaches_the_client_while_the_next_agent_is_still_working(
    app: FastAPI, api: httpx.AsyncClient, fake_llm: FakeOpenAI
) -> None:
    """Driven at the ASGI level, chunk by chunk (httpx's ASGI transport buffers a whole response): the first
    agent's step is sent while the second agent's model call is held, and the answer only once it is released."""
    t = await make_tenant("stream4")
    fake_llm.script(
        {"agents": ["dm", "analytics"]},
        tool_calls(("search_catalog", {"query": "beach"})),
        "One item.",
        tool_calls(("campaign_results", {})),
        "No campaigns.",
    )
    fake_llm.hold("What the other agents found")  # only the second agent's prompt says it
    body = json.dumps({"text": "what do I sell, and how did my campaigns do?"}).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/assistant/messages",
        "raw_path": b"/v1/assistant/messages",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"api"),
            (b"content-type", b"application/json"),
            (b"accept", b"text/event-stream"),
            (b"authorization", t.auth()["Authorization"].encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("api", 80),
    }
    chunks: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    gone = asyncio.Event()
    sent_body = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        await chunks.put(dict(message))

    task = asyncio.create_task(app(scope, receive, send))
    try:
        start = await asyncio.wait_for(chunks.get(), 60)
        assert start["type"] == "http.response.start" and start["status"] == 200
        text = ""
        while '"tool":"search_catalog"' not in text:
            text += (await asyncio.wait_for(chunks.get(), 60))["body"].decode()
        assert "event: answer" not in text and fake_llm.hold_text is not None  # the second agent waits
        fake_llm.release_held()
        while True:
            message = await asyncio.wait_for(chunks.get(), 60)
            text += message.get("body", b"").decode()
            if not message.get("more_body", False):
                break
        assert [e for e, _ in events(text)] == ["thread", "agents", "step", "step", "answer"]
    finally:
        fake_llm.release_held()
        gone.set()
        await asyncio.wait_for(task, 30)
