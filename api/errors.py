"""Every error answers with one machine-readable shape: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging
import re
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

# Ids and cursors are Postgres bigints: a larger number is a bad request, not a database error.
BIGINT_MAX = 2**63 - 1
# Seconds a client waits before retrying while the database is unreachable (a restart takes a few).
DATABASE_RETRY_AFTER_S = 5

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers


def malformed_cursor() -> ApiError:
    """A 422 in the same shape as request validation errors, naming the cursor parameter."""
    return ApiError(
        422,
        "validation_error",
        "the request is invalid",
        {"fields": [{"field": "cursor", "message": "malformed cursor", "type": "value_error"}]},
    )


def _body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def _field_error(e: Any, body: Any) -> dict[str, Any]:
    """One entry of details.fields: the field's dotted path, pydantic's message and error type; a malformed JSON
    body says where (line and column, from 1) instead of a character offset; a value outside an enumeration lists
    the allowed values."""
    if e["type"] == "json_invalid":
        pos = e["loc"][-1] if isinstance(e["loc"][-1], int) else 0
        doc = body if isinstance(body, str) else ""
        line = doc.count("\n", 0, pos) + 1
        column = pos - (doc.rfind("\n", 0, pos) + 1) + 1
        why = (e.get("ctx") or {}).get("error", "not JSON")
        return {
            "field": "body",
            "message": f"malformed JSON at line {line}, column {column}: {why}",
            "type": "json_invalid",
            "line": line,
            "column": column,
        }
    out = {"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"], "type": e["type"]}
    if e["type"] in ("enum", "literal_error"):
        out["allowed"] = re.findall(r"'((?:[^'\\]|\\.)*)'", str((e.get("ctx") or {}).get("expected", "")))
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            _body(exc.code, exc.message, exc.details), status_code=exc.status, headers=exc.headers
        )

    @app.exception_handler(psycopg.DataError)
    async def _nul(_: Request, exc: psycopg.DataError) -> JSONResponse:
        # psycopg refuses text with NUL characters before anything reaches the database (a transaction in
        # progress is rolled back): the request was bad, not the server.
        # (inside jsonb, the server refuses the same character: "\\u0000 cannot be converted to text")
        if "NUL" not in str(exc) and "\\u0000" not in str(exc):
            raise exc
        return JSONResponse(
            _body("validation_error", "text fields cannot contain NUL (\\u0000) characters", {"fields": []}),
            status_code=422,
        )

    @app.exception_handler(psycopg.OperationalError)
    async def _database_unavailable(request: Request, exc: psycopg.OperationalError) -> JSONResponse:
        # The server went away (restart, failover) or the pool found no live connection in time (PoolTimeout
        # is an OperationalError): transient, so say when to retry. A transaction in progress was rolled back.
        log.warning("database unavailable during %s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(
            _body(
                "database_unavailable",
                "the database is unavailable; retry the request shortly (nothing was changed unless the same"
                " request already succeeded)",
                {"retry_after_s": DATABASE_RETRY_AFTER_S},
            ),
            status_code=503,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [_field_error(e, exc.body) for e in exc.errors()]
        return JSONResponse(
            _body("validation_error", "the request is invalid", {"fields": fields}), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        bad_text = exc.__cause__
        if exc.status_code == 400 and isinstance(bad_text, UnicodeDecodeError):
            # FastAPI's "There was an error parsing the body": a JSON body that is not UTF-8 text; say where.
            field = {
                "field": "body",
                "message": f"the body is not UTF-8 text (byte {bad_text.start + 1}): {bad_text.reason}",
                "type": "unicode_error",
                "byte": bad_text.start + 1,
            }
            return JSONResponse(
                _body("validation_error", "the request is invalid", {"fields": [field]}), status_code=422
            )
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(
            exc.status_code, "http_error"
        )
        return JSONResponse(_body(code, str(exc.detail)), status_code=exc.status_code)
