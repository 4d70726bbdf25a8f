"""`huntaze` leaves out the modules nothing uses (core/imports.py): in a fresh process, after the CLI's entry point
ran, jsonschema is imported without rfc3987-syntax and still validates (only the unused `iri` formats are gone)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import contextlib, io, json, sys
from cli.main import main
with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):
    main(["--help"])
import jsonschema
schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
jsonschema.validate({"n": 1}, schema)
try:
    jsonschema.validate({"n": "one"}, schema)
    refused = False
except jsonschema.ValidationError:
    refused = True
print(json.dumps({
    "loaded": sys.modules.get("rfc3987_syntax", "never imported") is not None,
    "refused": refused,
    "formats": sorted(set(jsonschema.FormatChecker.checkers) & {"iri", "iri-reference", "email", "uri"}),
}))
"""


def test_the_cli_never_imports_rfc3987_syntax_and_jsonschema_still_validates() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"loaded": False, "refused": True, "formats": ["email", "uri"]}, (got, out.stderr[-2000:])
