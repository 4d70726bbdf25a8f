"""The console for an agency key in a real browser (headless Chromium, as tests/console/test_console_browser.py):
the creator switcher in the header (the role held on each creator), the page of all creators with what waits on
each and one inbox across them (a third creator's drafts absent), Review switching to a draft's creator and
opening its inbox there, all by keyboard."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from core import db
from core.store import members
from tests.console.test_console_browser import _shot, _sign_in, no_csp_refusals, served
from tests.console.test_console_workspace import _accessible
from tests.factories import Tenant, make_agency_key, make_tenant
from tests.workflows.helpers import fetch

__all__ = ["no_csp_refusals", "served"]  # fixtures, used by name


async def _draft(t: Tenant, fan: str, said: str, text: str, ago: str) -> str:
    await fetch("UPDATE fans SET display_name = %s WHERE id = %s RETURNING id", [fan, t.fans[0]])
    await fetch(
        "INSERT INTO messages (creator_id, fan_id, direction, text, sent_at) VALUES (%s, %s, 'in', %s,"
        " now() - %s::interval) RETURNING id",
        [t.creator_id, t.fans[0], said, ago],
    )
    [row] = await fetch(
        "INSERT INTO drafts (creator_id, fan_id, source_key, workflow_id, status, text, policy_report, expires_at,"
        " created_at) VALUES (%s, %s, %s, 'wf', 'pending_review', %s, '{}', now() + interval '1 day',"
        " now() - %s::interval) RETURNING id::text AS id",
        [t.creator_id, t.fans[0], f"k-{fan}", text, ago],
    )
    return str(row["id"])


async def test_switcher_and_the_inbox_of_all_creators(served: str, browser: Browser) -> None:
    mia, luna, zoe = await make_tenant("mia"), await make_tenant("luna"), await make_tenant("zoe")
    key = await make_agency_key(mia, "manager", {luna.creator_id: "chatter"})
    await _draft(mia, "Jules", "any new pics?", "Fresh set tonight, just for you", "2 hours")
    luna_draft = await _draft(luna, "Sam", "miss you", "Missed you too! How was your week?", "3 hours")
    await _draft(zoe, "Noor", "hello", "zoe-secret-draft", "1 hour")

    page = await _sign_in(browser, served, key)
    await expect(page.locator("header .who")).to_have_text("signed in as manager of Mia")
    switcher = page.get_by_label("Creator")
    await expect(switcher.locator("option")).to_have_text(["Luna (chatter)", "Mia (manager)"])
    await expect(switcher).to_have_value(mia.creator_id)
    await expect(page.locator("article.draft")).to_have_count(1)  # Mia's inbox: her draft only
    await _accessible(page)

    await page.get_by_role("link", name="All creators").click()
    await expect(page.get_by_role("heading", name="All creators")).to_be_visible()
    rows = page.locator("table.creators tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_contain_text("Luna")
    await expect(rows.nth(0)).to_contain_text("chatter")
    await expect(rows.nth(1)).to_contain_text("working for")
    drafts = page.locator("article.draft")
    await expect(drafts).to_have_count(2)  # oldest first: Luna's fan has waited longer
    await expect(drafts.nth(0)).to_contain_text("Luna")
    await expect(drafts.nth(0)).to_contain_text("Missed you too! How was your week?")
    await expect(drafts.nth(1)).to_contain_text("Mia")
    assert "zoe-secret-draft" not in await page.content() and "Zoe" not in await page.content()
    await page.screenshot(path=_shot("console-agency.png"), full_page=True)
    await _accessible(page)

    # Review, by keyboard: the session now works for Luna, as her chatter, at that draft
    await drafts.nth(0).get_by_role("button", name="Review in Luna's inbox").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    await expect(page.get_by_role("status")).to_have_text("Now working for Luna (as chatter)")
    assert page.url.endswith(f"#draft-{luna_draft}")
    await expect(page.locator("header .who")).to_have_text("signed in as chatter of Luna")
    await expect(page.locator(f"#draft-{luna_draft}")).to_be_visible()
    # and back with the switcher
    await page.get_by_label("Creator").select_option(mia.creator_id)
    await page.get_by_role("button", name="Switch").click()
    await expect(page.locator("header .who")).to_have_text("signed in as manager of Mia")
    await expect(page.locator("article.draft")).to_have_count(1)
    # working for Luna when her role is taken back: the next page is Mia's again, without the switcher
    await page.get_by_label("Creator").select_option(luna.creator_id)
    await page.get_by_role("button", name="Switch").click()
    await expect(page.locator("header .who")).to_have_text("signed in as chatter of Luna")
    async with db.pool().connection() as conn:
        await members.revoke(conn, mia.members["manager"], luna.creator_id)
    await page.get_by_role("link", name="Inbox").click()
    await expect(page.locator("header .who")).to_have_text("signed in as manager of Mia")
    await expect(page.get_by_label("Creator")).to_have_count(0)
    await expect(page.locator("article.draft")).to_contain_text("Fresh set tonight, just for you")


async def test_a_creator_without_a_role_is_not_found_and_plain_keys_have_no_switcher(
    served: str, browser: Browser
) -> None:
    mia, zoe = await make_tenant("mia"), await make_tenant("zoe")
    key = await make_agency_key(mia, "viewer", {})
    page = await _sign_in(browser, served, key)
    await expect(page.get_by_label("Creator")).to_have_count(0)  # one creator: nothing to switch
    # a switch to a creator the key holds no role on, forged from a console page: not found, nothing changes
    csrf = await page.locator("header input[name=csrf]").input_value()
    r = await page.request.post(
        f"{served}/console/creator",
        form={"csrf": csrf, "creator_id": zoe.creator_id},
        headers={"Origin": served},
    )
    assert r.status == 404
    [s] = await fetch("SELECT creator_id::text AS c FROM console_sessions", [])
    assert s["c"] == mia.creator_id
    plain = await _sign_in(browser, served, mia.keys["owner"])
    await expect(plain.get_by_label("Creator")).to_have_count(0)
    await expect(plain.get_by_role("link", name="All creators")).to_have_count(0)
