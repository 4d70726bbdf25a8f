"""`huntaze voice index`: the backfill of a creator's past replies (an imported history) as voice examples;
a bad or unknown creator named with exit 2, nothing written."""

from __future__ import annotations

import json

from core.settings import Settings
from tests.cli.test_members_grant import _huntaze
from tests.factories import make_tenant
from tests.workflows.helpers import fetch


async def test_index_backfills_one_creator_and_refuses_a_bad_one(settings: Settings) -> None:
    t, other = await make_tenant("vo-a", fans=1), await make_tenant("vo-b", fans=1)
    for tenant in (t, other):
        await fetch(
            "INSERT INTO messages (creator_id, fan_id, direction, text, sent_at) VALUES"
            " (%s, %s, 'in', 'hey gorgeous', now() - interval '2 minutes'),"
            " (%s, %s, 'out', 'heyyy you 💋', now() - interval '1 minute') RETURNING id",
            [tenant.creator_id, tenant.fans[0], tenant.creator_id, tenant.fans[0]],
        )
    code, out, err = await _huntaze(settings, "voice", "index", "--creator", t.creator_id)
    assert code == 0, err
    result = json.loads(out.splitlines()[-1])
    assert result["indexed"] == 1 and result["by_creator"] == {t.creator_id: 1}
    rows = await fetch("SELECT creator_id::text AS c, fan_text, reply_text FROM voice_examples", [])
    assert rows == [{"c": t.creator_id, "fan_text": "hey gorgeous", "reply_text": "heyyy you 💋"}]
    code, out, err = await _huntaze(settings, "voice", "index", "--creator", other.fans[0])
    assert code == 2 and "--creator: no creator" in err
    code, out, err = await _huntaze(settings, "voice", "index", "--creator", "nope")
    assert code == 2 and "--creator" in err
    code, out, err = await _huntaze(settings, "voice", "index", "--batch", "0")
    assert code == 2 and "--batch" in err
    assert len(await fetch("SELECT 1 FROM voice_examples", [])) == 1
