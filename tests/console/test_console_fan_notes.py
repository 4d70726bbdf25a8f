"""The console's fan page shows the fan's tags and the team's notes (escaped: a note is text, never markup)."""

from __future__ import annotations

from typing import Any

from core import db
from tests.console.test_console_security import browser, make_console, sign_in
from tests.factories import make_tenant

__all__ = ["make_console"]  # the fixture, used by name


async def test_the_fan_page_shows_tags_and_notes(make_console: Any) -> None:
    app, _ = make_console()
    t = await make_tenant("consolenotes")
    fan = t.fans[0]
    async with db.pool().connection() as conn:
        await conn.execute("UPDATE fans SET tags = '{vip,likes beach}' WHERE id = %s", [fan])
        await conn.execute(
            "INSERT INTO fan_notes (creator_id, fan_id, author, text) VALUES (%s, %s, %s, %s)",
            [t.creator_id, fan, t.members["chatter"], "birthday in May <script>alert(1)</script>"],
        )
    async with browser(app) as http:
        s = await sign_in(http, t, "viewer")
        r = await http.get(f"/console/fans/{fan}", headers={"Cookie": s["Cookie"]})
        other = await http.get(f"/console/fans/{t.fans[1]}", headers={"Cookie": s["Cookie"]})
    assert r.status_code == 200, r.text
    assert '<span class="badge">vip</span>' in r.text and '<span class="badge">likes beach</span>' in r.text
    assert "birthday in May &lt;script&gt;alert(1)&lt;/script&gt;" in r.text and "<script>alert" not in r.text
    assert "chatter@consolenotes.example" in r.text
    assert other.status_code == 200 and "No note yet" in other.text and 'aria-label="tags"' not in other.text
