"""The console's assistant page in a real browser (headless Chromium, as tests/console/test_console_browser.py): a
viewer asks, sees the answer with the steps behind it and a proposal it may not send, asks a follow-up in the
same thread; a blank question is refused with the field named."""

from __future__ import annotations

import json

from playwright.async_api import Browser, expect

from tests.console.test_console_browser import _shot, _sign_in, no_csp_refusals, served
from tests.console.test_console_workspace import _accessible
from tests.factories import make_tenant
from tests.fakes.openai_server import FakeOpenAI, tool_calls
from tests.workflows.helpers import fetch

__all__ = ["no_csp_refusals", "served"]  # fixtures, used by name


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
    await page.get_by_label("Your question").fill("what gym content do I sell? nudge quiet fans")
    await page.get_by_role("button", name="Ask").click()
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
    delegations = [b for b in fake_llm.requests if "Delegation" in json.dumps(b.get("response_format"))]
    assert "what gym content do I sell?" in json.dumps(delegations[-1]["messages"])  # the same thread

    await page.get_by_label("Ask a follow-up").fill(" ")
    await page.get_by_label("Ask a follow-up").evaluate("e => e.removeAttribute('required')")
    await page.get_by_role("button", name="Ask").click()
    await expect(page.locator("p.alert")).to_contain_text("text")
