"""The console's assistant page in a real browser (headless Chromium, as tests/console/test_console_browser.py): a
viewer asks and sees each step as it arrives (the first agent's step while the second agent's model call is
held), then the answer with the steps behind it and a proposal it may not send; asks a follow-up in the same
thread and sees the first question among its earlier turns and in the list of threads; a blank question is
refused with the field named (the stream refuses it, the plain form shows why)."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.async_api import Browser, expect
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from tests.api.test_assistant_stream import SSE, events
from tests.console.test_console_browser import _shot, _sign_in, no_csp_refusals, served
from tests.console.test_console_security import ORIGIN, make_console, sign_in
from tests.console.test_console_security import browser as asgi_client
from tests.console.test_console_workspace import _accessible
from tests.factories import make_tenant
from tests.fakes.openai_server import FakeOpenAI, tool_calls
from tests.workflows.helpers import fetch
from workflows.worker import build_worker

__all__ = ["make_console", "no_csp_refusals", "served"]  # fixtures, used by name


async def test_a_viewer_asks_and_sees_the_answer_steps_and_a_proposal(
    served: str, browser: Browser, fake_llm: FakeOpenAI
) -> None:
    t = await make_tenant("cassist")
    page = await _sign_in(browser, served, t.keys["viewer"])
    await page.get_by_role("link", name="Assistant").click()
    await expect(page.get_by_role("heading", name="Assistant")).to_be_visible()
    await _accessible(page)
    fake_llm.script(
        {"agents": ["dm", "followup"]},
        tool_calls(("search_catalog", {"query": "gym"})),
        "You sell one gym video for 25.00 and 7 others.",
        tool_calls(("propose_start_sequence", {"kind": "inactive", "segment": "all"})),
        "Proposed.",
    )
    fake_llm.hold("What the other agents found")  # only the second agent's prompt says it
    await page.get_by_label("Your question").fill("what gym content do I sell? nudge quiet fans")
    await page.get_by_role("button", name="Ask").click()
    live = page.get_by_role("region", name="what gym content do I sell? nudge quiet fans")
    # the first step, while the second agent works (the test server answers the progress query in seconds)
    await expect(live.locator("tbody tr")).to_have_count(1, timeout=60_000)
    await expect(live.locator("tbody tr")).to_contain_text("search_catalog")
    await expect(page.get_by_role("status")).to_contain_text("dm → followup")
    await page.screenshot(path=_shot("console-assistant-live.png"), full_page=True)
    fake_llm.release_held()
    await expect(
        page.get_by_role("heading", name="what gym content do I sell? nudge quiet fans")
    ).to_be_visible()
    answer = page.locator("pre.answer")
    await expect(answer).to_contain_text("dm/search_catalog")
    await expect(answer).not_to_contain_text("7 others")  # a number no tool returned: the sentence is gone
    await expect(page.locator("table.steps tbody tr")).to_have_count(2)
    proposal = page.get_by_role("region", name="Proposal")
    await expect(proposal).to_contain_text("It needs the manager role")
    await expect(proposal).to_contain_text("POST /v1/campaigns")
    await page.screenshot(path=_shot("console-assistant.png"), full_page=True)
    assert await fetch("SELECT 1 FROM campaigns WHERE creator_id = %s", [t.creator_id]) == []

    fake_llm.script({"agents": ["analytics"]}, tool_calls(("campaign_results", {})), "None yet.")
    await page.get_by_label("Ask a follow-up").fill("and my campaigns?")
    await page.get_by_role("button", name="Ask").click()
    await expect(page.locator("pre.answer")).to_contain_text("None yet.")
    earlier = page.get_by_role("region", name="Earlier in this thread")
    await expect(
        earlier.get_by_role("heading", name="what gym content do I sell? nudge quiet fans")
    ).to_be_visible()
    await expect(earlier.locator("pre.earlier-answer")).to_contain_text("dm/search_catalog")
    threads = page.get_by_role("navigation", name="Your threads")
    await expect(
        threads.get_by_role("link", name="what gym content do I sell? nudge quiet fans")
    ).to_have_attribute("aria-current", "page")
    await expect(threads).to_contain_text("2 questions")
    delegations = [b for b in fake_llm.requests if "Delegation" in json.dumps(b.get("response_format"))]
    assert "what gym content do I sell?" in json.dumps(delegations[-1]["messages"])  # the same thread

    await page.get_by_label("Ask a follow-up").fill(" ")
    await page.get_by_label("Ask a follow-up").evaluate("e => e.removeAttribute('required')")
    await page.get_by_role("button", name="Ask").click()
    await expect(page.locator("p.alert")).to_contain_text("text")


async def test_the_stream_the_page_reads_relays_the_apis_events(
    make_console: Any, temporal_env: WorkflowEnvironment, settings: Settings, fake_llm: FakeOpenAI
) -> None:
    """POST /console/assistant/stream over ASGI: the session's question as the API's event stream (thread, agents,
    each step, the answer); a refused question is the API's JSON 422, a missing token or a foreign origin a 403,
    and a thread id in the address bar outside the thread alphabet never reaches the API."""
    app, seen = make_console()
    t = await make_tenant("cstream")
    fake_llm.script({"agents": ["dm"]}, tool_calls(("search_catalog", {"query": "gym"})), "One gym video.")
    async with build_worker(temporal_env.client, settings.task_queue), asgi_client(app) as http:
        s = await sign_in(http, t, "viewer")
        cookie = {"Cookie": s["Cookie"]}
        form = {"csrf": s["csrf"], "text": "what gym content?", "thread_id": ""}
        r = await http.post(
            "/console/assistant/stream", data=form, headers={**cookie, "Origin": ORIGIN, **SSE}, timeout=60
        )
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream"), r.text
        got = events(r.text)
        assert [e for e, _ in got] == ["thread", "agents", "step", "answer"]
        thread = got[0][1]["thread_id"]
        assert got[2][1]["tool"] == "search_catalog" and got[3][1]["answer"].startswith("One gym video.")
        # the page of that thread shows the stored turn as its answer
        page = await http.get("/console/assistant", params={"thread": thread}, headers=cookie)
        assert page.status_code == 200 and 'class="answer">One gym video.' in page.text

        r = await http.post(
            "/console/assistant/stream",
            data={**form, "text": " "},
            headers={**cookie, "Origin": ORIGIN, **SSE},
        )
        assert r.status_code == 422 and r.json()["error"]["details"]["fields"][0]["field"] == "text"
        for headers, data in (
            ({**cookie, "Origin": ORIGIN}, {**form, "csrf": "wrong"}),
            ({**cookie, "Origin": "https://evil.example"}, form),
        ):
            r = await http.post("/console/assistant/stream", data=data, headers={**headers, **SSE})
            assert r.status_code == 403 and "text/html" in r.headers["content-type"]
        seen.clear()
        r = await http.get("/console/assistant", params={"thread": "../keys"}, headers=cookie)
        assert r.status_code == 404 and seen == []
    assert [x["text"] for x in await fetch_turns(t.creator_id)] == ["what gym content?"]


async def fetch_turns(creator_id: str) -> list[dict[str, Any]]:
    return await fetch("SELECT text FROM assistant_turns WHERE creator_id = %s ORDER BY turn", [creator_id])


async def test_the_same_question_sent_again_with_the_pages_key_is_asked_once(
    make_console: Any, temporal_env: WorkflowEnvironment, settings: Settings, fake_llm: FakeOpenAI
) -> None:
    """The stream, then the plain form the page falls back to, with the page's key: one turn, the same thread; the
    key with another question is the API's 409, shown on the page; the page renders a new key each time."""
    app, _ = make_console()
    t = await make_tenant("ckey")
    fake_llm.script({"agents": ["dm"]}, tool_calls(("search_catalog", {"query": "gym"})), "One gym video.")
    async with build_worker(temporal_env.client, settings.task_queue), asgi_client(app) as http:
        s = await sign_in(http, t, "viewer")
        cookie = {"Cookie": s["Cookie"]}
        page = await http.get("/console/assistant", headers=cookie)
        keys = re.findall(r'name="key" value="([^"]+)"', page.text)
        again = re.findall(
            r'name="key" value="([^"]+)"', (await http.get("/console/assistant", headers=cookie)).text
        )
        assert len(keys) == 1 and len(again) == 1 and keys != again
        form = {"csrf": s["csrf"], "text": "what gym content?", "thread_id": "", "key": keys[0]}
        r = await http.post(
            "/console/assistant/stream", data=form, headers={**cookie, "Origin": ORIGIN, **SSE}, timeout=60
        )
        got = events(r.text)
        assert [e for e, _ in got][-1] == "answer", r.text
        thread = got[0][1]["thread_id"]
        r = await http.post("/console/assistant", data=form, headers={**cookie, "Origin": ORIGIN}, timeout=60)
        assert r.status_code == 303 and r.headers["location"].startswith(
            f"/console/assistant?thread={thread}"
        )
        r = await http.post(
            "/console/assistant", data={**form, "text": "and my fans?"}, headers={**cookie, "Origin": ORIGIN}
        )
        assert r.status_code == 409 and "another request" in r.text
        assert keys[0] not in r.text  # the refused key is not offered again
    assert [x["text"] for x in await fetch_turns(t.creator_id)] == ["what gym content?"]
