"""One line for an expected failure (a model's late or malformed answer): what went wrong, without tracebacks or
pydantic's documentation links."""

from __future__ import annotations

from pydantic import ValidationError


def brief(exc: BaseException, limit: int = 200) -> str:
    """`Type: what`, on one line: a validation error lists its first fields, messages and the values given."""
    inner: BaseException | None = exc
    while inner is not None and not isinstance(inner, ValidationError):
        inner = inner.__cause__ or inner.__context__
    if isinstance(inner, ValidationError):
        fields = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']} (got {_short(e.get('input'))})"
            for e in inner.errors(include_url=False)[:3]
        )
        what = f"invalid answer ({inner.error_count()} error(s): {fields})"
    else:
        what = " ".join(str(exc).split()) or "no detail"
    return f"{type(exc).__name__}: {what}"[:limit]


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
