"""Modules a process never needs, kept from being imported.

jsonschema (which guardrails imports) registers its optional `iri` and `iri-reference` format checkers by importing
rfc3987-syntax, which guardrails pulls in through `jsonschema[format-nongpl]`. That module builds 39 Earley parsers
as it is imported: measured on a 2-core machine, importing the worker's modules took 8.4 s of user and 3.7 s of
system CPU with it and 5.3 s and 0.5 s without, in every process that loads the policy engine (a worker, `huntaze
up`, the demo, most commands). Nothing here checks those two formats: guardrails and the evals' JSON grader
validate without a format checker. Marked absent, rfc3987-syntax is never imported and jsonschema leaves the two
formats unchecked, as it does when the extra is not installed.
"""

from __future__ import annotations

import sys

UNUSED = ("rfc3987_syntax",)


def leave_out_unused() -> None:
    """Call before the heavy imports (cli.main does). A module already imported stays as it is."""
    for name in UNUSED:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None: "not available" to the import system
