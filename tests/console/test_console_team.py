"""The console's manager pages in a real browser (headless Chromium, as tests/console/test_console_browser.py): team
metrics (each member's decisions, own messages, time to decision and offer revenue over a chosen period, the
automation rate) and alert settings (the webhook, the e-mail address and the events, saved after a TOTP step-up
typed into the form; refusals shown with the API's code, the typed values kept)."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pyotp
import pytest
from playwright.async_api import Browser, expect

from core.settings import Settings, configure
from tests.api.test_team_metrics import _seed
from tests.console.test_console_browser import _shot, _sign_in, no_csp_refusals, served
from tests.console.test_console_workspace import _accessible
from tests.factories import make_tenant
from tests.workflows.helpers import fetch

__all__ = ["no_csp_refusals", "served"]  # fixtures, used by name

SECRET = "alert-secret-0123456789"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """An SMTP server in the settings, so an alert e-mail address is accepted (nothing is mailed here)."""
    s = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": 2525})
    configure(s)
    return s


async def test_team_page_shows_each_members_figures_for_a_period(served: str, browser: Browser) -> None:
    t, lo, hi = await _seed()  # the seeded story of tests/api/test_team_metrics.py
    page = await _sign_in(browser, served, t.keys["manager"])
    await page.get_by_role("link", name="Team").click()
    await expect(page.get_by_role("heading", name="Team", exact=False)).to_be_visible()
    # the period, by keyboard: the labelled date fields, then Enter
    await page.get_by_label("From").fill(lo.date().isoformat())
    await page.get_by_label("To", exact=True).fill((hi - timedelta(days=1)).date().isoformat())
    await page.get_by_label("To", exact=True).press("Enter")
    await expect(page.get_by_role("heading", name="Automation rate: 72.7%")).to_be_visible()
    await expect(page.locator("#automation ~ p")).to_contain_text("8 of the 11 messages sent")

    async def row(role: str) -> list[str]:
        cells = page.locator(f"#member-{t.members[role]} td")
        return [c.strip() for c in await cells.all_inner_texts()]

    # approved, edited, rejected, own messages, median, p90, offer revenue
    assert (await row("manager"))[:5] == ["4", "1", "1", "0", "7 minutes"]
    assert (await row("manager"))[6] == "$15.00"
    assert (await row("chatter"))[:5] == ["3", "0", "2", "0", "20 minutes"]
    assert (await row("chatter"))[6] == "$25.00"
    assert (await row("owner"))[:5] == ["1", "1", "0", "0", "6 minutes"]
    assert (await row("owner"))[6] == "$25.00"
    assert await row("viewer") == ["0", "0", "0", "0", "n/a", "n/a", "$0.00"]
    await expect(page.locator(f"#member-{t.members['manager']} th")).to_contain_text("manager@team.example")
    await page.screenshot(path=_shot("console-team.png"), full_page=True)
    await _accessible(page)
    # a period the API refuses is its 422, shown with the field; the form keeps it
    await page.goto(f"{served}/console/team?from=2026-05-10&to=2026-05-01")
    await expect(page.get_by_role("alert")).to_contain_text("validation_error")
    await expect(page.get_by_role("alert")).to_contain_text("query.from: must not be after 'to'")
    await expect(page.get_by_label("From")).to_have_value("2026-05-10")
    await expect(page.locator("table.team")).to_have_count(0)
    # a chatter has neither the link nor the page
    chatter = await _sign_in(browser, served, t.keys["chatter"])
    await expect(chatter.get_by_role("link", name="Team")).to_have_count(0)
    r = await chatter.goto(f"{served}/console/team")
    assert r is not None and r.status == 403


async def test_alert_settings_are_saved_after_a_step_up_typed_in_the_form(
    served: str, browser: Browser
) -> None:
    t = await make_tenant("alertpage", fans=0, stepped_up=False)
    # the manager sets up TOTP (as with any authenticator app)
    async with httpx.AsyncClient(base_url=served, timeout=30) as http:
        r = await http.post("/v1/me/totp", headers=t.auth("manager"))
        assert r.status_code == 201, r.text
        otp = pyotp.TOTP(r.json()["secret"])
        code = otp.at(time.time() - 30)  # the previous step's: the step-up below uses the current one
        ok = await http.post("/v1/me/totp/confirm", json={"code": code}, headers=t.auth("manager"))
        assert ok.status_code == 200, ok.text

    page = await _sign_in(browser, served, t.keys["manager"])
    await page.get_by_role("link", name="Alerts").click()
    await expect(page.get_by_role("heading", name="Alerts", exact=True)).to_be_visible()
    await expect(page.get_by_text("No alert channel yet")).to_be_visible()

    async def fill(code: str) -> None:
        await page.get_by_label("Webhook URL").fill("https://alerts.example/hook")
        await page.get_by_label("Webhook secret").fill(SECRET)
        await page.get_by_label("E-mail address").fill("team@alertpage.example")
        await page.get_by_label("a fan is handed to a human").check()
        await page.get_by_label("an approved message could not be delivered").check()
        await page.get_by_label("Authenticator code").fill(code)

    # without a code: the API's step_up_required, the typed values kept (never the secret)
    await fill("")
    await page.get_by_role("button", name="Save alert settings").click()
    await expect(page.get_by_role("alert")).to_contain_text("step_up_required")
    await expect(page.get_by_label("Webhook URL")).to_have_value("https://alerts.example/hook")
    await expect(page.get_by_label("E-mail address")).to_have_value("team@alertpage.example")
    await expect(page.get_by_label("a fan is handed to a human")).to_be_checked()
    await expect(page.get_by_label("Webhook secret")).to_have_value("")
    # a wrong code
    wrong = "000000" if otp.now() != "000000" else "111111"
    await fill(wrong)
    await page.get_by_role("button", name="Save alert settings").click()
    await expect(page.get_by_role("alert")).to_contain_text("totp_invalid")
    assert await fetch("SELECT 1 FROM alert_configs WHERE creator_id = %s", [t.creator_id]) == []
    # the right one, by keyboard: Enter in the code field sends the form
    await fill(otp.now())
    await page.get_by_label("Authenticator code").press("Enter")
    await expect(page.get_by_role("status")).to_have_text("alert settings saved")
    await expect(page.locator("dd.webhook")).to_contain_text("https://alerts.example/hook")
    await expect(page.locator("dd.email")).to_have_text("team@alertpage.example")
    await expect(page.locator("dd.events")).to_have_text("delivery failed, handoff")
    await expect(page.get_by_text("by manager@alertpage.example")).to_be_visible()
    await expect(page.get_by_label("a fan is handed to a human")).to_be_checked()
    await expect(page.get_by_label("the daily plan is ready")).not_to_be_checked()
    await page.screenshot(path=_shot("console-alerts.png"), full_page=True)
    await _accessible(page)
    [row] = await fetch(
        "SELECT webhook_url, email_to, events, updated_by::text AS by FROM alert_configs WHERE creator_id = %s",
        [t.creator_id],
    )
    assert row == {
        "webhook_url": "https://alerts.example/hook",
        "email_to": "team@alertpage.example",
        "events": ["delivery_failed", "handoff"],
        "by": t.members["manager"],
    }
    actions = await fetch("SELECT action FROM audit_log WHERE creator_id = %s ORDER BY id", [t.creator_id])
    assert [a["action"] for a in actions][-2:] == ["step_up", "alerts.config_updated"]
    # stepped up now: a refused URL needs no code, and is shown with the field it names
    await page.get_by_label("Webhook URL").fill("http://10.0.0.7/hook")
    await page.get_by_label("Webhook secret").fill(SECRET)
    await page.get_by_role("button", name="Save alert settings").click()
    await expect(page.get_by_role("alert")).to_contain_text("webhook_url_not_allowed")
    await expect(page.get_by_label("Webhook URL")).to_have_value("http://10.0.0.7/hook")
    [row] = await fetch("SELECT webhook_url FROM alert_configs WHERE creator_id = %s", [t.creator_id])
    assert row["webhook_url"] == "https://alerts.example/hook"
    # turning the webhook off: an empty URL (and no secret)
    await page.get_by_label("Webhook URL").fill("")
    await page.get_by_role("button", name="Save alert settings").click()
    await expect(page.get_by_role("status")).to_have_text("alert settings saved")
    await expect(page.locator("dd.webhook")).to_have_text("none")
    # without the form's token, or from another origin: refused, nothing changed
    token = await page.locator("input[name=csrf]").first.input_value()
    form: dict[str, str | float | bool] = {
        "webhook_url": "https://evil.example/hook",
        "secret": SECRET,
        "event": "handoff",
    }
    no_token = await page.request.post(f"{served}/console/alerts", form=form, headers={"Origin": served})
    elsewhere = await page.request.post(
        f"{served}/console/alerts", form={**form, "csrf": token}, headers={"Origin": "http://evil.example"}
    )
    assert no_token.status == 403 and elsewhere.status == 403
    [row] = await fetch("SELECT webhook_url FROM alert_configs WHERE creator_id = %s", [t.creator_id])
    assert row["webhook_url"] is None
    # a chatter has neither the link nor the page
    chatter = await _sign_in(browser, served, t.keys["chatter"])
    await expect(chatter.get_by_role("link", name="Alerts")).to_have_count(0)
    refused = await chatter.goto(f"{served}/console/alerts")
    assert refused is not None and refused.status == 403
