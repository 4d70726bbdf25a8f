"""The console's workspace pages in a real browser (headless Chromium, as tests/console/test_console_browser.py):
conversations (fan names linked to the fan page, value as money, waiting time, state filter, keyset pages) and
the hand-off queue (the age-signal badge, assign, resolve with a reason: the resolved hand-off leaves the open
list and the fan is unfrozen)."""

from __future__ import annotations

import re

from playwright.async_api import Browser, Page, expect

from core import db
from tests.console.test_console_browser import _shot, _sign_in, no_csp_refusals, served
from tests.factories import Tenant, make_tenant
from tests.workflows.helpers import fetch

__all__ = ["no_csp_refusals", "served"]  # fixtures, used by name


async def _accessible(page: Page) -> None:
    """As on every console page: each visible form control labelled, one main landmark and one h1, and tab order
    starting at the skip link."""
    unlabelled = await page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), textarea, select')]
             .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name)"""
    )
    assert unlabelled == [], (page.url, unlabelled)
    assert await page.locator("main").count() == 1 and await page.locator("h1").count() == 1, page.url
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.className") == "skip", page.url


async def _workspace(handle: str) -> Tenant:
    """Jules waits 3 hours and has spent $23,944.58; Sam (on Instagram) was answered last; Kiddo is handed off
    with an age signal."""
    t = await make_tenant(handle, fans=3)
    jules, sam, kid = t.fans
    async with db.pool().connection() as conn:
        await conn.execute("UPDATE fans SET display_name = 'Jules' WHERE id = %s", [jules])
        await conn.execute(
            "UPDATE fans SET display_name = 'Sam', platform = 'instagram' WHERE id = %s", [sam]
        )
        await conn.execute(
            "UPDATE fans SET display_name = 'Kiddo', handoff_at = now() - interval '1 hour',"
            " handoff_reason = 'possible_minor', age_signal_at = now() - interval '1 hour',"
            " age_signal_text = 'i''m 15 is that ok' WHERE id = %s",
            [kid],
        )
        for fan, direction, text, ago in (
            (jules, "in", "any new pics?", "3 hours 10 minutes"),
            (sam, "in", "hello", "2 days"),
            (sam, "out", "hi Sam, how was your day?", "1 day"),
            (kid, "in", "i'm 15 is that ok", "1 hour"),
        ):
            await conn.execute(
                "INSERT INTO messages (creator_id, fan_id, direction, text, sent_at)"
                " VALUES (%s, %s, %s, %s, now() - %s::interval)",
                [t.creator_id, fan, direction, text, ago],
            )
        await conn.execute(
            "INSERT INTO transactions (creator_id, fan_id, kind, amount_cents, occurred_at)"
            " VALUES (%s, %s, 'tip', 2394458, now())",
            [t.creator_id, jules],
        )
        await conn.execute(
            "INSERT INTO handoffs (creator_id, fan_id, reason, opened_at) VALUES (%s, %s, 'possible_minor',"
            " now() - interval '1 hour')",
            [t.creator_id, kid],
        )
    return t


async def test_conversations_page_lists_fans_by_waiting_time_with_value_and_filters(
    served: str, browser: Browser
) -> None:
    t = await _workspace("ws-conv")
    page = await _sign_in(browser, served, t.keys["chatter"])
    await page.get_by_role("link", name="Conversations").click()
    await expect(page.get_by_role("heading", name="Conversations")).to_be_visible()
    rows = page.locator("table.conversations tbody tr")
    await expect(rows).to_have_count(3)
    # waiting longest first: Jules (3 hours), Kiddo (1 hour), then Sam, who is not waiting
    await expect(rows.nth(0).get_by_role("link", name="Jules")).to_be_visible()
    await expect(rows.nth(0).locator(".waiting")).to_have_text("3 hours")
    await expect(rows.nth(0).locator(".value")).to_contain_text("$23,944.58")
    await expect(rows.nth(0)).to_contain_text("needs reply")
    await expect(rows.nth(1).get_by_role("link", name="Kiddo")).to_be_visible()
    await expect(rows.nth(1)).to_contain_text("handed off")
    await expect(rows.nth(2).get_by_role("link", name="Sam")).to_be_visible()
    await expect(rows.nth(2).locator(".waiting")).to_have_text("not waiting")
    # each conversation names its fan's platform
    await expect(rows.nth(0).locator(".badge.platform")).to_have_text("onlyfans")
    await expect(rows.nth(2).locator(".badge.platform")).to_have_text("instagram")
    await expect(rows.nth(2)).to_contain_text("hi Sam, how was your day?")
    await page.screenshot(path=_shot("console-conversations.png"), full_page=True)
    await _accessible(page)

    # the state filter, by keyboard: the select is labelled and the form submits
    await page.get_by_label("State").select_option("handed_off")
    await page.get_by_role("button", name="Show").press("Enter")
    await expect(rows).to_have_count(1)
    await expect(rows.first.get_by_role("link", name="Kiddo")).to_be_visible()
    # sorted by value, in keyset pages of one: Jules's value first, the next page holds the others
    await page.goto(f"{served}/console/conversations?sort=value&limit=1")
    await expect(rows).to_have_count(1)
    await expect(rows.first.get_by_role("link", name="Jules")).to_be_visible()
    await page.get_by_role("link", name="Next page").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first.get_by_role("link", name="Jules")).to_have_count(0)
    await expect(page.get_by_role("link", name="First page")).to_be_visible()
    # a fan's name leads to the fan page
    await page.goto(f"{served}/console/conversations")
    await rows.first.get_by_role("link", name="Jules").click()
    await expect(page.get_by_role("heading", name="Jules", exact=False).first).to_be_visible()
    assert re.search(rf"/console/fans/{t.fans[0]}$", page.url), page.url
    # a sort the API does not know is its 422, shown as an alert
    await page.goto(f"{served}/console/conversations?sort=loudest")
    await expect(page.get_by_role("alert")).to_contain_text("validation")


async def test_handoffs_page_assigns_and_resolves_a_handoff(served: str, browser: Browser) -> None:
    t = await _workspace("ws-hand")
    [h] = await fetch("SELECT id::text AS id FROM handoffs WHERE creator_id = %s", [t.creator_id])
    # a chatter sees the queue and the age signal, and cannot assign
    chatter = await _sign_in(browser, served, t.keys["chatter"])
    await chatter.get_by_role("link", name="Hand-offs").click()
    card = chatter.locator(f"#handoff-{h['id']}")
    await expect(card.get_by_role("link", name="Kiddo")).to_be_visible()
    await expect(card.locator(".badge", has_text="age signal")).to_be_visible()
    await expect(card.locator(".badge", has_text="hand-off: possible minor")).to_be_visible()
    await expect(card.locator("blockquote")).to_have_text("i'm 15 is that ok")
    await expect(card.get_by_role("button", name="Assign")).to_have_count(0)

    # a manager assigns it to the chatter (a select of the members who can answer: no viewer), then resolves
    # it, unfreezing the fan
    owner = await _sign_in(browser, served, t.keys["manager"])
    await owner.goto(f"{served}/console/handoffs")
    card = owner.locator(f"#handoff-{h['id']}")
    options = await card.get_by_label("Assign to").locator("option").all_inner_texts()
    assert options == [
        "nobody",
        "owner@ws-hand.example (owner)",
        "manager@ws-hand.example (manager)",
        "chatter@ws-hand.example (chatter)",
    ]
    await card.get_by_label("Assign to").select_option(label="chatter@ws-hand.example (chatter)")
    await card.get_by_role("button", name="Assign").click()
    await expect(owner.get_by_role("status")).to_have_text("Kiddo: assigned")
    await expect(card).to_contain_text("assigned to chatter@ws-hand.example")
    await owner.screenshot(path=_shot("console-handoffs.png"), full_page=True)
    await _accessible(owner)
    # unfreezing without clearing the age signal is the API's refusal, shown with its code
    await card.get_by_label("Reason").fill("checked their ID: 24")
    await card.get_by_label("Unfreeze the fan").check()
    await card.get_by_role("button", name="Resolve").click()
    await expect(owner.get_by_role("alert")).to_contain_text("age_signal_not_cleared")
    # with the age checked (keyboard only: tab to the box, space, enter on the button)
    card = owner.locator(f"#handoff-{h['id']}")
    await card.get_by_label("Reason").fill("checked their ID: 24")
    await card.get_by_label("Unfreeze the fan").check()
    await card.get_by_label("Age checked (clears the age signal)").focus()
    await owner.keyboard.press("Space")
    await owner.keyboard.press("Tab")
    await owner.keyboard.press("Enter")
    await expect(owner.get_by_role("status")).to_have_text("Kiddo: resolved, unfrozen")
    await expect(owner.locator(f"#handoff-{h['id']}")).to_have_count(0)
    await expect(owner.get_by_text("No open hand-off.")).to_be_visible()
    await owner.get_by_label("Status").select_option("resolved")
    await owner.get_by_role("button", name="Show").click()
    await expect(owner.locator(f"#handoff-{h['id']}")).to_contain_text("Resolution: checked their ID: 24")
    [fan] = await fetch(
        "SELECT handoff_at IS NULL AS unfrozen, age_signal_at IS NULL AS cleared FROM fans WHERE id = %s",
        [t.fans[2]],
    )
    assert fan == {"unfrozen": True, "cleared": True}


async def test_the_fan_page_adds_a_note_and_sets_tags(served: str, browser: Browser) -> None:
    t = await _workspace("ws-notes")
    jules = t.fans[0]
    page = await _sign_in(browser, served, t.keys["chatter"])
    await page.goto(f"{served}/console/fans/{jules}")
    await expect(page.get_by_text("No note yet.")).to_be_visible()
    # keyboard only: the labelled note box, then Tab to its button
    await page.get_by_label("Add a note").fill("birthday in May <b>not bold</b>")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_have_text("note added")
    notes = page.locator("section[aria-labelledby=notes] li")
    await expect(notes).to_have_count(1)
    await expect(notes.first).to_contain_text("chatter@ws-notes.example")
    await expect(notes.first).to_contain_text("birthday in May <b>not bold</b>")  # as text, never markup
    await page.get_by_label("Tags (comma-separated").fill("VIP, likes beach, vip")
    await page.get_by_role("button", name="Save tags").click()
    await expect(page.get_by_role("status")).to_have_text("tags saved")
    tags = page.locator("[aria-label=tags] .badge")
    await expect(tags).to_have_text(["likes beach", "vip"])
    await expect(page.get_by_label("Tags (comma-separated")).to_have_value("likes beach, vip")
    await page.screenshot(path=_shot("console-fan-notes.png"), full_page=True)
    await _accessible(page)
    # a tag too long is the API's 422, shown as an alert; the field keeps what was typed, the set is unchanged
    await page.get_by_label("Tags (comma-separated").fill("vip, " + "x" * 300)
    await page.get_by_role("button", name="Save tags").click()
    await expect(page.get_by_role("alert")).to_contain_text("validation")
    await expect(page.get_by_label("Tags (comma-separated")).to_have_value("vip, " + "x" * 300)
    [fan] = await fetch("SELECT tags FROM fans WHERE id = %s", [jules])
    assert fan == {"tags": ["likes beach", "vip"]}
    # a viewer reads them, without the forms
    viewer = await _sign_in(browser, served, t.keys["viewer"])
    await viewer.goto(f"{served}/console/fans/{jules}")
    await expect(viewer.locator("section[aria-labelledby=notes] li")).to_have_count(1)
    await expect(viewer.get_by_label("Add a note")).to_have_count(0)
    await expect(viewer.get_by_label("Tags (comma-separated")).to_have_count(0)


async def test_a_chatter_writes_to_a_fan_from_the_fan_page(served: str, browser: Browser) -> None:
    t = await make_tenant("ws-compose", fans=1, forbidden=["cashapp"])
    fan, chatter = t.fans[0], t.members["chatter"]
    page = await _sign_in(browser, served, t.keys["chatter"])
    await page.goto(f"{served}/console/fans/{fan}")
    box = page.get_by_label("Write to Fan 0 yourself", exact=False)
    # a message that breaks the policy: refused with its findings, the text kept, nothing sent
    await box.fill("just pay me on cashapp babe")
    await page.get_by_role("button", name="Send message").click()
    await expect(page.get_by_role("alert")).to_contain_text("policy_blocked")
    await expect(page.get_by_role("note")).to_contain_text("Not sent: the policy blocked it")
    await expect(box).to_have_value("just pay me on cashapp babe")
    assert await fetch("SELECT 1 FROM drafts WHERE creator_id = %s", [t.creator_id]) == []
    # edited, by keyboard: sent through the approved send path, recorded as the chatter's, shown in the thread
    await box.fill("thanks for being here, see you tonight")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_have_text("message sent")
    await expect(page.locator("ol.thread li.out")).to_have_text(
        re.compile("thanks for being here, see you tonight")
    )
    await expect(box).to_have_value("")
    await page.screenshot(path=_shot("console-fan-compose.png"), full_page=True)
    await _accessible(page)
    sent = await fetch(
        "SELECT text, sent_by::text AS sent_by FROM messages WHERE creator_id = %s AND direction = 'out'",
        [t.creator_id],
    )
    assert sent == [{"text": "thanks for being here, see you tonight", "sent_by": chatter}]
    # a viewer gets no compose box
    viewer = await _sign_in(browser, served, t.keys["viewer"])
    await viewer.goto(f"{served}/console/fans/{fan}")
    await expect(viewer.get_by_role("button", name="Send message")).to_have_count(0)
