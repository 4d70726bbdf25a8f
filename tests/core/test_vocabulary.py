"""Every agent-action kind and audit action the source writes is in its vocabulary (core/types.py), which the API's
filters (`GET /v1/actions?kind=`, `GET /v1/audit?action=`) accept and nothing else: a kind written but missing
there could never be filtered on."""

from __future__ import annotations

import ast
from pathlib import Path

from core.types import ActionKind, AuditAction

ROOT = Path(__file__).resolve().parents[2]
WRITERS = {"record_action": ("kind", ActionKind), "append_audit": ("action", AuditAction)}


def _parse(source: str) -> ast.Module:
    # CPython 3.11's AST constructor can raise a spurious SystemError ("recursion depth mismatch") when another
    # thread of the test process builds an AST at the same time (python/cpython#106905); a second parse is exact.
    try:
        return ast.parse(source)
    except SystemError:
        return ast.parse(source)


def _written() -> list[tuple[str, str, str, set[str]]]:
    """(writer, where, the literal or f-string prefix, the vocabulary) for every call in the source."""
    found = []
    packages = [d for d in ROOT.iterdir() if d.is_dir() and not d.name.startswith(".") and d.name != "tests"]
    for file in (f for d in packages for f in d.glob("**/*.py")):
        rel = file.relative_to(ROOT)
        for node in ast.walk(_parse(file.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name not in WRITERS:
                continue
            arg, vocab = WRITERS[name]
            for kw in node.keywords:
                if kw.arg != arg:
                    continue
                where = f"{rel}:{node.lineno}"
                if isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                    found.append((name, where, kw.value.value, {v.value for v in vocab}))
                elif isinstance(kw.value, ast.JoinedStr):
                    head = kw.value.values[0]
                    prefix = str(head.value) if isinstance(head, ast.Constant) else ""
                    found.append((name, where, prefix + "*", {v.value for v in vocab}))
    return found


def test_every_written_kind_is_in_its_vocabulary() -> None:
    written = _written()
    assert len(written) > 30, written  # the walk found the writers
    missing = []
    for name, where, value, vocab in written:
        if value.endswith("*"):
            ok = any(v.startswith(value[:-1]) for v in vocab)
        else:
            ok = value in vocab
        if not ok:
            missing.append(f"{where}: {name} writes {value!r}")
    assert missing == [], "add these to core.types.ActionKind / AuditAction: " + "; ".join(missing)


def test_the_api_docs_list_every_value() -> None:
    doc = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    section = doc[doc.index("### Vocabularies") :]
    section = section[: section.index("\n## ")]
    unlisted = [
        f"{e.__name__}.{v.name}"
        for e in (ActionKind, AuditAction)
        for v in e
        if f"`{v.value}`" not in section
    ]
    assert unlisted == [], "list these in docs/api.md#vocabularies: " + ", ".join(unlisted)
