"""`huntaze bridge run --config FILE` refuses a bad configuration naming the file and the field, before it serves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main

GOOD = {
    "service_url": "https://huntaze.example",
    "creator_id": "7d1c2f4e-9a55-4a39-8c1e-2f0e4b3c9d10",
    "platform": "onlyfans",
    "secret": "bridge-secret-0123456789",
    "client": {"kind": "http", "base_url": "https://platform.example", "api_key": "k"},
}


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({k: v for k, v in GOOD.items() if k != "creator_id"}, "creator_id"),
        ({**GOOD, "secret": "short"}, "secret"),
        ({**GOOD, "contract_version": 2}, "contract_version 2"),
        ({**GOOD, "client": {"kind": "http"}}, "client.base_url"),
        ({**GOOD, "client": {"kind": "ftp"}}, "client.kind"),
        ({**GOOD, "client": {"kind": "class", "class": "no.such.module:Client"}}, "no.such"),
        ({**GOOD, "platform": "Only Fans"}, "platform"),
        ("not json", "not JSON"),
    ],
)
def test_a_bad_configuration_is_named(tmp_path: Path, config: object, named: str) -> None:
    path = tmp_path / "bridge.json"
    path.write_text(config if isinstance(config, str) else json.dumps(config), encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["bridge", "run", "--config", str(path)])
    message = str(exc.value.code)
    assert message.startswith("bridge run: --config") and named in message, message
    with pytest.raises(SystemExit) as exc:
        main(["bridge", "run", "--config", str(tmp_path / "missing.json")])
    assert "cannot be read" in str(exc.value.code)
