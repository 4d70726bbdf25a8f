"""Console routes: sign-in/out, inbox (approve, edit and approve, reject, bulk approve), fan page, actions feed,
analytics with the Daily Action List, eval runs; for an agency key, the creator switcher and the inbox of all its
creators."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit
from uuid import UUID

import httpx
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from psycopg.types.json import Jsonb

from agents.analytics.anomalies import NOTHING_TO_DO
from api.auth import CREATOR_HEADER, ROLE_RANK
from api.console.formatting import Formatter, negotiate_locale
from api.console.relay import relay
from api.deps import Runtime
from core import db
from core.crypto import Sealed, keyring
from core.keys import hash_key
from core.settings import Settings
from core.store import members
from core.types import ActionKind, Role

router = APIRouter(prefix="/console", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
STATIC_DIR = Path(__file__).parent / "static"
COOKIE = "hz_console"


@dataclass(frozen=True)
class Session:
    token_hash: bytes
    creator_id: str
    api_key: str
    csrf: str
    role: Role
    timezone: str  # the creator's: the console writes times there
    # An agency key's creators (core/store/members.py), by handle: the switcher offers them; () for other keys.
    creators: tuple[members.CreatorRole, ...] = ()

    def may(self, role: Role) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    @property
    def creator(self) -> members.CreatorRole | None:
        """The creator this session acts for, as the switcher names it (agency keys only)."""
        return next((c for c in self.creators if c.creator_id == self.creator_id), None)


def _aad(token_hash: bytes) -> str:
    return f"console-session:{token_hash.hex()}"


def _runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def _session(request: Request) -> Session | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    th = hashlib.sha256(token.encode()).digest()
    async with db.pool().connection() as conn:
        # The role on the session's creator: the key's member's, or for an agency key the person's row there.
        cur = await conn.execute(
            "SELECT s.creator_id::text AS creator_id, s.sealed_key, s.csrf_token, m.role, c.timezone, k.agency,"
            " k.member_id FROM console_sessions s JOIN api_keys k ON k.id = s.key_id"
            " JOIN members m ON m.creator_id = s.creator_id"
            "  AND (m.id = k.member_id OR (k.agency AND m.identity_id = k.member_id))"
            " JOIN creators c ON c.id = s.creator_id"
            " WHERE s.token_hash = %s AND s.expires_at > now() AND k.revoked_at IS NULL",
            [th],
        )
        row = await cur.fetchone()
        if row is None:
            # An agency key's role on the creator it worked for was taken back: back to the key's own creator.
            cur = await conn.execute(
                "UPDATE console_sessions s SET creator_id = k.creator_id FROM api_keys k WHERE s.token_hash = %s"
                " AND k.id = s.key_id AND k.agency AND s.creator_id <> k.creator_id AND s.expires_at > now()"
                " AND k.revoked_at IS NULL RETURNING s.token_hash",
                [th],
            )
            if await cur.fetchone() is not None:
                await conn.commit()
                return await _session(request)
        creators = tuple(await members.roles_of(conn, row["member_id"])) if row and row["agency"] else ()
    if row is None:
        return None
    sk = row["sealed_key"]
    sealed = Sealed(sk["key_id"], base64.b64decode(sk["nonce"]), base64.b64decode(sk["ciphertext"]))
    key = keyring(_runtime(request).settings).open(sealed, _aad(th)).decode()
    return Session(
        th, row["creator_id"], key, row["csrf_token"], Role(row["role"]), row["timezone"], creators
    )


def _api(request: Request, s: Session) -> httpx.AsyncClient:
    """The public API, in process, as the signed-in member."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=request.app),
        base_url="http://console.internal",
        headers={"Authorization": f"Bearer {s.api_key}", CREATOR_HEADER: s.creator_id},
        timeout=60,
    )


_WILDCARD_OR_LOOPBACK = {"", "0.0.0.0", "::", "127.0.0.1", "localhost", "::1"}
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(scheme: str, host: str, port: int | None) -> str:
    """An origin as a browser writes it: lower case, IPv6 in brackets, no default port."""
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + ("" if port in (None, _DEFAULT_PORTS[scheme]) else f":{port}")


def public_origins(settings: Settings) -> frozenset[str]:
    """The origins console forms may come from: HUNTAZE_PUBLIC_ORIGIN, else derived from the bind address (a
    loopback or wildcard bind: the loopback names). Never the request's own Host header, which the client sets."""
    if settings.public_origin:
        url = urlsplit(settings.public_origin.lower())
        return frozenset({_origin(url.scheme, url.hostname or "", url.port)})
    host = settings.api_host.lower().strip("[]")
    hosts = ["127.0.0.1", "localhost", "::1"] if host in _WILDCARD_OR_LOOPBACK else [host]
    return frozenset(_origin("http", h, settings.api_port) for h in hosts)


def _same_origin(request: Request) -> bool:
    """A console POST must come from a console page: its Origin (or, without one, its Referer) is the console's
    public origin."""
    allowed = public_origins(_runtime(request).settings)
    origin = request.headers.get("origin")
    if origin is not None:
        return origin in allowed
    referer = request.headers.get("referer", "")
    return any(referer == own or referer.startswith(own + "/") for own in allowed)


def _forbidden(request: Request, why: str) -> HTMLResponse:
    return templates.TemplateResponse(
        request, "error.html", {"title": "Refused", "message": why}, status_code=403
    )


async def _checked(request: Request, csrf: str | None) -> Session | Response:
    """The session behind a POST, or the response refusing it."""
    if not _same_origin(request):
        return _forbidden(request, "This form was not sent from the console.")
    s = await _session(request)
    if s is None:
        return RedirectResponse("/console/login", status_code=303)
    if not csrf or not hmac.compare_digest(csrf, s.csrf):
        return _forbidden(
            request, "The form's security token is missing or wrong: reload the page and try again."
        )
    return s


def _id(value: str) -> UUID | None:
    """An id from the address bar or a form as a UUID, or None: internal URLs are built from UUIDs only, so no
    "../", "?" or "#" typed into an id can reach one."""
    try:
        return UUID(value)
    except ValueError:
        return None


def _formatter(request: Request, s: Session | None) -> Formatter:
    """Money in the creator's currency, the browser's language, times in the creator's timezone."""
    return Formatter(negotiate_locale(request.headers.get("accept-language")), s.timezone if s else "UTC")


def _page(request: Request, name: str, s: Session | None, status: int = 200, **ctx: Any) -> HTMLResponse:
    fmt = _formatter(request, s)
    return templates.TemplateResponse(
        request,
        name,
        {"session": s, "Role": Role, "csrf": s.csrf if s else "", "fmt": fmt, **ctx},
        status_code=status,
        headers={"Content-Language": str(fmt.locale).replace("_", "-")},
    )


# --- sign-in ---------------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> HTMLResponse:
    return _page(request, "login.html", None)


@router.post("/login", response_model=None)
async def login(request: Request, api_key: Annotated[str, Form()] = "") -> Response:
    if not _same_origin(request):
        return _forbidden(request, "This form was not sent from the console.")
    key = api_key.strip()
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT k.id::text AS key_id, k.creator_id::text AS creator_id FROM api_keys k"
            " WHERE k.key_hash = %s AND k.revoked_at IS NULL",
            [hash_key(key)],
        )
        row = await cur.fetchone()
        if not key or row is None:
            return _page(
                request,
                "login.html",
                None,
                401,
                error={"code": "unauthorized", "message": "Unknown or revoked API key."},
            )
        settings = _runtime(request).settings
        token = secrets.token_urlsafe(32)
        th = hashlib.sha256(token.encode()).digest()
        sealed = keyring(settings).seal(key.encode(), _aad(th))
        await conn.execute(
            "DELETE FROM console_sessions WHERE expires_at < now()"  # housekeeping on each sign-in
        )
        await conn.execute(
            "INSERT INTO console_sessions (token_hash, creator_id, key_id, sealed_key, csrf_token, expires_at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [
                th,
                row["creator_id"],
                row["key_id"],
                Jsonb(
                    {
                        "key_id": sealed.key_id,
                        "nonce": base64.b64encode(sealed.nonce).decode(),
                        "ciphertext": base64.b64encode(sealed.ciphertext).decode(),
                    }
                ),
                secrets.token_urlsafe(32),
                datetime.now(UTC) + timedelta(seconds=settings.console_session_ttl_s),
            ],
        )
    resp = RedirectResponse("/console/inbox", status_code=303)
    resp.set_cookie(
        COOKIE,
        token,
        max_age=settings.console_session_ttl_s,
        path="/console",
        httponly=True,
        secure=settings.console_secure_cookie,
        samesite="strict",
    )
    return resp


@router.post("/logout", response_model=None)
async def logout(request: Request, csrf: Annotated[str | None, Form()] = None) -> Response:
    s = await _checked(request, csrf)
    if not isinstance(s, Session):
        return s
    async with db.pool().connection() as conn:
        await conn.execute("DELETE FROM console_sessions WHERE token_hash = %s", [s.token_hash])
    resp = RedirectResponse("/console/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/console")
    return resp


@router.get("", response_model=None)
async def home(request: Request) -> Response:
    return RedirectResponse("/console/inbox", status_code=303)


# --- inbox -----------------------------------------------------------------------------------------------


def highlighted(text: str, report: dict[str, Any]) -> list[dict[str, Any]]:
    """The draft cut into pieces, the spans the policy objected to marked with why (overlapping or touching
    spans are merged into one mark that gives every reason)."""
    spans = sorted(
        (int(f["span"][0]), int(f["span"][1]), f"{f['rule']}: {f['reason']}")
        for f in report.get("findings", [])
        if f.get("span") and int(f["span"][1]) > int(f["span"][0])
    )
    merged: list[list[Any]] = []
    for start, end, why in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            merged[-1][2] += f"; {why}"
        else:
            merged.append([start, end, why])
    out, at = [], 0
    for start, end, why in merged:
        if start > at:
            out.append({"text": text[at:start], "mark": None})
        out.append({"text": text[start:end], "mark": why})
        at = end
    if at < len(text):
        out.append({"text": text[at:], "mark": None})
    return out


PAGE_SIZE = 20  # drafts per inbox page (`?limit=`, 1 to 100)


def _page_size(limit: str | None) -> int:
    return min(max(int(limit), 1), 100) if limit and limit.isdigit() else PAGE_SIZE


async def _inbox(
    request: Request,
    s: Session,
    status: int = 200,
    cursor: str | None = None,
    limit: str | None = None,
    **ctx: Any,
) -> HTMLResponse:
    """One keyset page of the inbox (oldest first, as the API pages it), with the fans handed to a human and the
    fans whose messages got no draft above the first page."""
    size = _page_size(limit)
    params: dict[str, Any] = {"limit": size} | ({"cursor": cursor} if cursor else {})
    async with _api(request, s) as api:
        r = await api.get("/v1/inbox", params=params)
        handoffs = await api.get("/v1/inbox/handoffs") if not cursor else None
        failures = await api.get("/v1/inbox/failures") if not cursor else None
    body = r.json()
    if r.status_code != 200:  # e.g. a cursor that is not one of the API's
        ctx.setdefault("error", body.get("error", {}))
        status = r.status_code if status == 200 else status
    items = body.get("items", []) if r.status_code == 200 else []
    for d in items:
        d["pieces"] = highlighted(d["text"], d["policy_report"])
    nxt = body.get("next_cursor") if r.status_code == 200 else None
    return _page(
        request,
        "inbox.html",
        s,
        status,
        items=items,
        next_page=f"/console/inbox?{urlencode({'cursor': nxt, 'limit': size})}" if nxt else None,
        first_page=f"/console/inbox?{urlencode({'limit': size})}" if cursor else None,
        handoffs=handoffs.json()["items"] if handoffs is not None and handoffs.status_code == 200 else [],
        failures=failures.json()["items"] if failures is not None and failures.status_code == 200 else [],
        **ctx,
    )


@router.get("/inbox", response_model=None)
async def inbox(
    request: Request, done: str | None = None, cursor: str | None = None, limit: str | None = None
) -> Response:
    s = await _session(request)
    if s is None:
        return RedirectResponse("/console/login", status_code=303)
    return await _inbox(request, s, cursor=cursor, limit=limit, notice=done)


async def _decided(request: Request, s: Session, r: httpx.Response, notice: str) -> Response:
    if r.status_code == 200:
        return RedirectResponse(f"/console/inbox?{urlencode({'done': notice})}", status_code=303)
    err = r.json().get("error", {})
    return await _inbox(request, s, r.status_code, error=err)


@router.post("/drafts/{draft_id}/approve", response_model=None)
async def approve(
    request: Request,
    draft_id: str,
    version: Annotated[int, Form()],
    csrf: Annotated[str | None, Form()] = None,
    text: Annotated[str | None, Form()] = None,
) -> Response:
    s = await _checked(request, csrf)
    if not isinstance(s, Session):
        return s
    did = _id(draft_id)
    if did is None:
        return _not_found(request, s, "draft")
    body: dict[str, Any] = {"version": version}
    if text is not None and text.strip():
        body["text"] = text
    async with _api(request, s) as api:
        r = await api.post(f"/v1/drafts/{did}/approve", json=body)
    return await _decided(request, s, r, "edited and approved" if "text" in body else "approved")


@router.post("/drafts/{draft_id}/reject", response_model=None)
async def reject(
    request: Request,
    draft_id: str,
    version: Annotated[int, Form()],
    reason: Annotated[str, Form()] = "",
    csrf: Annotated[str | None, Form()] = None,
) -> Response:
    s = await _checked(request, csrf)
    if not isinstance(s, Session):
        return s
    did = _id(draft_id)
    if did is None:
        return _not_found(request, s, "draft")
    async with _api(request, s) as api:
        r = await api.post(f"/v1/drafts/{did}/reject", json={"version": version, "reason": reason})
    return await _decided(request, s, r, "rejected")


@router.post("/drafts/approve", response_model=None)
async def approve_many(
    request: Request,
    draft: Annotated[list[str] | None, Form()] = None,
    csrf: Annotated[str | None, Form()] = None,
) -> Response:
    """Bulk approval: each checked draft travels as "id:version"."""
    s = await _checked(request, csrf)
    if not isinstance(s, Session):
        return s
    chosen = []
    for value in draft or []:
        raw, _, ver = value.partition(":")
        did = _id(raw)
        if did is None or not ver.isdigit():
            return await _inbox(
                request, s, 422, error={"code": "bad_selection", "message": "A selected draft is not valid."}
            )
        chosen.append({"id": str(did), "version": int(ver)})
    if not chosen:
        return await _inbox(
            request, s, 422, error={"code": "nothing_selected", "message": "Select drafts first."}
        )
    async with _api(request, s) as api:
        r = await api.post("/v1/drafts/approve", json={"drafts": chosen})
    if r.status_code != 200:
        return await _inbox(request, s, r.status_code, error=r.json().get("error", {}))
    out = r.json()
    failures = [x for x in out["results"] if not x["ok"]]
    if failures:
        # Each failure by its fan's name: the drafts still undecided are in the inbox (at most 200 were sent).
        async with _api(request, s) as api:
            r = await api.get("/v1/inbox", params={"limit": 200, "status": ["pending_review", "blocked"]})
        waiting = r.json().get("items", []) if r.status_code == 200 else []
        names = {d["id"]: d["fan"]["display_name"] or d["fan"]["platform_fan_id"] for d in waiting}
        return await _inbox(
            request,
            s,
            409,
            notice=f"{out['approved']} approved",
            error={
                "code": "some_failed",
                "message": f"{out['failed']} not approved: "
                + "; ".join(f"{names.get(x['id'], 'a draft')}: {x['error']['message']}" for x in failures),
            },
        )
    done = f"{out['approved']} approved"
    return RedirectResponse(f"/console/inbox?{urlencode({'done': done})}", status_code=303)


async def _get(request: Request, s: Session, path: str, **params: Any) -> tuple[int, Any]:
    async with _api(request, s) as api:
        r = await api.get(path, params={k: v for k, v in params.items() if v not in (None, "")})
    return r.status_code, r.json()


def _failed(request: Request, s: Session, status: int, body: Any) -> HTMLResponse:
    err = body.get("error", {}) if isinstance(body, dict) else {}
    return _page(request, "error.html", s, status, title="Not available", message=err.get("message", "error"))


def _not_found(request: Request, s: Session, what: str) -> HTMLResponse:
    return _page(request, "error.html", s, 404, title="Not found", message=f"No such {what}.")


def _bad_id(request: Request, s: Session, what: str) -> HTMLResponse:
    return _page(request, "error.html", s, 422, title="Not available", message=f"That is not a {what} id.")


# --- fan page --------------------------------------------------------------------------------------------


@router.get("/fans/{fan_id}", response_model=None)
async def fan_page(request: Request, fan_id: str, done: str | None = None) -> Response:
    s = await _session(request)
    if s is None:
        return RedirectResponse("/console/login", status_code=303)
    fid = _id(fan_id)
    if fid is None:
        return _not_found(request, s, "fan")
    return await _fan(request, s, fid, notice=done)


async def _fan(request: Request, s: Session, fid: UUID, code: int = 200, **ctx: Any) -> Response:
    status, fan = await _get(request, s, f"/v1/fans/{fid}")
    if status != 200:
        return _failed(request, s, status, fan)
    _, feed = await _get(request, s, "/v1/actions", fan_id=fid, limit=30)
    _, followups = await _get(request, s, "/v1/followups", fan_id=fid, limit=20)
    _, msgs = await _get(request, s, f"/v1/fans/{fid}/messages", limit=30)
    return _page(
        request,
        "fan.html",
        s,
        code,
        fan=fan,
        actions=feed.get("items", []),
        followups=followups.get("items", []),
        messages=list(reversed(msgs.get("items", []))),
        compose_key=secrets.token_urlsafe(16),  # the send's Idempotency-Key: a form sent twice sends once
        **ctx,
    )


async def _fan_change(
    request: Request, fan_id: str, csrf: str | None, method: str, path: str, body: Any, done: str
) -> Response:
    """A note or the tag set, through the fan's own endpoint; back to the fan page, or the page with the
    refusal (the form's text kept)."""
    s = await _checked(request, csrf)
    if not isinstance(s, Session):
        return s
    fid = _id(fan_id)
    if fid is None:
        return _not_found(request, s, "fan")
    async with _api(request, s) as api:
        r = await api.request(method, f"/v1/fans/{fid}/{path}", json=body)
    if r.status_code in (200, 201):
        return RedirectResponse(f"/console/fans/{fid}?{urlencode({'done': done})}", status_code=303)
    if r.status_code == 404:
        return _failed(request, s, 404, r.json())
    kept = {"note_text": body["text"]} if path == "notes" else {"tags_text": ", ".join(body["tags"])}
    return await _fan(request, s, fid, r.status_code, error=r.json().get("error", {}), **kept)


def _idempotency(key: str) -> dict[str, str]:
    """A form's key as the API's Idempotency-Key header (none when the form's key is not one)."""
    return {"Idempotency-Key": key} if re.fullmatch(r"[\x21-\x7e]{1,200}", key) else {}


def _sent_notice(out: dict[str, Any], fmt: Formatter) -> str:
    if (
        out["state"] in ("held", "failed") and not out["not_before"]
    ):  # the delivery failed, for a human to retry
        return f"message not sent: {', '.join(out['held_because'])} (see Deliveries)"
    if out["state"] == "held":
        why = ", ".join(out["held_because"])
        return f"message held until {fmt.when(out['not_before'])}" + (f" ({why})" if why else "")
    return "message sent" if out["state"] == "sent" else "message queued: it is sent as soon as it can be"


@router.post("/fans/{fan_id}/messages", response_model=None)
async def write_message(
    request: Request,
    fan_id: str,
    text: Annotated[str, Form()] = "",
    key: Annotated[str, Form()] = "",
    csrf: Annotated[str | None, Form()] = None,
) -> Response:
    """A message of the member's own (`POST /v1/fans/{id}/messages`): the same policy, caps, quiet hours and send
    path as an approved draft; a refusal (e.g. `policy_blocked` with its findings) keeps the text for editing."""
    s = await _checked(request, csrf)
    if not isinstance(s, Session):
        return s
    fid = _id(fan_id)
    if fid is None:
        return _not_found(request, s, "fan")
    async with _api(request, s) as api:
        r = await api.post(f"/v1/fans/{fid}/messages", json={"text": text}, headers=_idempotency(key))
    if r.status_code == 201:
        done = _sent_notice(r.json(), _formatter(request, s))
        return RedirectResponse(f"/console/fans/{fid}?{urlencode({'done': done})}", status_code=303)
    if r.status_code == 404:
        return _failed(request, s, 404, r.json())
    err = r.json().get("error", {})
    findings = ((err.get("details") or {}).get("policy") or {}).get("findings", [])
    return await _fan(request, s, fid, r.status_code, error=err, compose_text=text, findings=findings)


@router.post("/fans/{fan_id}/notes", response_model=None)
async def add_note(
    request: Request,
    fan_id: str,
    text: Annotated[str, Form()] = "",
    csrf: Annotated[str | None, Form()] = None,
) -> Response:
    return await _fan_change(request, fan_id, csrf, "POST", "notes", {"text": text}, "note added")


@router.post("/fans/{fan_id}/tags", response_model=None)
async def set_tags(
    request: Request,
    fan_id: str,
    tags: Annotated[str, Form()] = "",
    csrf: Annotated[str | None, Form()] = None,
) -> Response:
    """The whole tag set, written comma-separated (an empty field clears it)."""
    listed = [t.strip() for t in tags.split(",") if t.strip()]
    return await _fan_change(request, fan_id, csrf, "PUT", "tags", {"tags": listed}, "tags saved")


# --- actions feed ----------------------------------------------------------------------------------------


@router.get("/actions", response_model=None)
async def actions_page(request: Request, kind: str | None = None, fan_id: str | None = None) -> Response:
    """The agents' actions, newest first, with filters; the page refreshes itself every 10 s (no script)."""
    s = await _session(request)
    if s is None:
        return RedirectResponse("/console/login", status_code=303)
    fid = _id(fan_id) if fan_id else None
    if fan_id and fid is None:
        return _bad_id(request, s, "fan")
    status, feed = await _get(request, s, "/v1/actions", kind=kind, fan_id=fid, limit=100)
    if status != 200:
        return _failed(request, s, status, feed)
    return _page(
        request,
        "actions.html",
        s,
        items=feed["items"],
        kinds=[k.value for k in ActionKind],
        kind=kind or "",
        fan_id=fan_id or "",
    )


# --- analytics -------------------------------------------------------------------------------------------


def _nice_step(top: float, ticks: int = 4) -> int:
    """A round step (1, 2 or 5 times a power of ten, in minor units of at least one whole unit) that covers
    `top` in about `ticks` steps."""
    raw = max(top / ticks, 100.0)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    return int(step)


def revenue_chart(
    series: list[dict[str, Any]],
    fmt: Formatter,
    granularity: str = "day",
    width: int = 720,
    height: int = 240,
) -> dict[str, Any]:
    """Bars of revenue per period with a value axis (round amounts in the currency, grid lines) and a time axis
    (at most 8 dates), as numbers for a server-rendered SVG (no charting library, no script)."""
    left, right, top_pad, bottom = 72, 12, 12, 44
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    peak = max((p["revenue_cents"] for p in series), default=0)
    step = _nice_step(peak)
    axis_top = max(step * math.ceil(peak / step), step)
    n = max(len(series), 1)
    slot = plot_w / n

    def y(v: float) -> float:
        return round(top_pad + plot_h - v / axis_top * plot_h, 1)

    bars = []
    for i, p in enumerate(series):
        h = round(p["revenue_cents"] / axis_top * plot_h, 1)
        bars.append(
            {
                "x": round(left + i * slot + 1, 1),
                "y": round(top_pad + plot_h - h, 1),
                "w": round(max(slot - 2, 1), 1),
                "h": h,
                "label": fmt.day(p["period_start"]),
                "value": fmt.money(p["revenue_cents"]),
            }
        )
    y_ticks = [{"y": y(v), "label": fmt.money_whole(v)} for v in range(0, axis_top + 1, step)]
    every = max(math.ceil(len(series) / 8), 1)
    x_ticks = [
        {"x": round(left + (i + 0.5) * slot, 1), "label": fmt.day_short(p["period_start"], granularity)}
        for i, p in enumerate(series)
        if i % every == 0
    ]
    return {
        "width": width,
        "height": height,
        "left": left,
        "bottom": top_pad + plot_h,
        "right": width - right,
        "top": top_pad,
        "bars": bars,
        "y_ticks": y_ticks,
        "x_ticks": x_ticks,
        "y_title": f"Revenue ({fmt.currency})",
        "x_title": {"day": "Day", "week": "Week starting", "month": "Month"}.get(granularity, granularity),
        "peak": fmt.money(peak),
    }


def _worth_doing(plan: dict[str, Any] | None) -> dict[str, Any] | None:
    """The Daily Action List without "nothing to do" items (plans stored before anomalies said so included
    them)."""
    if plan is None:
        return None
    keep = [
        a
        for a in plan["actions"]
        if a["kind"] != "anomaly"
        or (a["data"].get("metric"), a["data"].get("direction")) not in NOTHING_TO_DO
    ]
    return {**plan, "actions": keep}


@router.get("/analytics", response_model=None)
async def analytics_page(
    request: Request, start: str | None = None, to: str | None = None, granularity: str = "day"
) -> Response:
    s = await _session(request)
    if s is None:
        return RedirectResponse("/console/login", status_code=303)
    params: dict[str, Any] = {"from": start, "to": to, "granularity": granularity}
    async with _api(request, s) as api:
        r = await api.get(
            "/v1/analytics/overview", params={k: v for k, v in params.items() if v not in (None, "")}
        )
        plan = await api.get("/v1/agents/unified/actions")
    if r.status_code != 200:
        return _failed(request, s, r.status_code, r.json())
    body = r.json()
    fmt = _formatter(request, s)
    anomalies = [a for a in body["anomalies"] if a["actionable"]]
    return _page(
        request,
        "analytics.html",
        s,
        o=body,
        chart=revenue_chart(body["series"], fmt, body["period"]["granularity"]),
        anomalies=anomalies,
        quiet_anomalies=len(body["anomalies"]) - len(anomalies),
        plan=_worth_doing(plan.json()) if plan.status_code == 200 else None,
    )


# --- evals -----------------------------------------------------------------------------------------------


@router.get("/evals", response_model=None)
async def evals_page(request: Request) -> Response:
    s = await _session(request)
    if s is None:
        return RedirectResponse("/console/login", status_code=303)
    status, runs = await _get(request, s, "/v1/evals/runs", limit=50)
    if status != 200:
        return _failed(request, s, status, runs)
    return _page(request, "evals.html", s, runs=runs["items"])


@router.get("/evals/compare", response_model=None)
async def evals_compare(request: Request, a: str = "", b: str = "") -> Response:
    from evals.compare import compare

    s = await _session(request)
    if s is None:
        return RedirectResponse("/console/login", status_code=303)
    ra_id, rb_id = _id(a), _id(b)
    if ra_id is None or rb_id is None:
        return _bad_id(request, s, "run")
    sa, ra = await _get(request, s, f"/v1/evals/runs/{ra_id}")
    sb, rb = await _get(request, s, f"/v1/evals/runs/{rb_id}")
    if sa != 200 or sb != 200:
        return _failed(request, s, sa if sa != 200 else sb, ra if sa != 200 else rb)
    return _page(request, "compare.html", s, a=str(ra_id), b=str(rb_id), diff=compare(ra, rb))


@router.get("/evals/{run_id}", response_model=None)
async def eval_run_page(request: Request, run_id: str) -> Response:
    """The run's own HTML report (the same file `huntaze eval run` writes), served inside the console."""
    from evals.report import html_report

    s = await _session(request)
    if s is None:
        return RedirectResponse("/console/login", status_code=303)
    rid = _id(run_id)
    if rid is None:
        return _not_found(request, s, "eval run")
    status, result = await _get(request, s, f"/v1/evals/runs/{rid}")
    if status != 200:
        return _failed(request, s, status, result)
    html = html_report(result)
    return HTMLResponse(html, headers={"Content-Security-Policy": report_csp(html)})


_STYLE = re.compile(r"<style>(.*?)</style>", re.S)


def report_csp(html: str) -> str:
    """The eval report is one self-contained file with its own <style>: that stylesheet is allowed by its hash,
    nothing else inline, and no script at all."""
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(m.encode()).digest()).decode()}'"
        for m in _STYLE.findall(html)
    )
    return (
        f"default-src 'none'; style-src 'self'{hashes}; img-src 'self' data:; script-src 'none'; base-uri 'none';"
        " form-action 'none'; frame-ancestors 'none'"
    )


# --- deliveries ------------------------------------------------------------------------------------------


@router.get("/deliveries", response_model=None)
async def deliveries_page(request: Request, status: str = "failed", done: str | None = None) -> Response:
    """Deliveries the platform reported failed (or of another status): a human retries or discards each."""
    s = await _session(request)
    if s is None:
        return RedirectResponse("/console/login", status_code=303)
    return await _deliveries(request, s, status, notice=done)


async def _deliveries(request: Request, s: Session, status: str, code: int = 200, **ctx: Any) -> Response:
    got, page = await _get(request, s, "/v1/deliveries", status=status, limit=100)
    if got != 200:
        return _failed(request, s, got, page)
    return _page(request, "deliveries.html", s, code, items=page["items"], shown=status, **ctx)


async def _delivery_decision(
    request: Request, draft_id: str, csrf: str | None, action: str, body: Any
) -> Response:
    s = await _checked(request, csrf)
    if not isinstance(s, Session):
        return s
    did = _id(draft_id)
    if did is None:
        return _not_found(request, s, "delivery")
    async with _api(request, s) as api:
        r = await api.post(f"/v1/deliveries/{did}/{action}", json=body)
    if r.status_code in (200, 202):
        done = "retry started" if action == "retry" else "discarded"
        return RedirectResponse(f"/console/deliveries?{urlencode({'done': done})}", status_code=303)
    return await _deliveries(request, s, "failed", r.status_code, error=r.json().get("error", {}))


@router.post("/deliveries/{draft_id}/retry", response_model=None)
async def retry_delivery(
    request: Request, draft_id: str, csrf: Annotated[str | None, Form()] = None
) -> Response:
    return await _delivery_decision(request, draft_id, csrf, "retry", None)


@router.post("/deliveries/{draft_id}/discard", response_model=None)
async def discard_delivery(
    request: Request,
    draft_id: str,
    reason: Annotated[str, Form()] = "",
    csrf: Annotated[str | None, Form()] = None,
) -> Response:
    return await _delivery_decision(request, draft_id, csrf, "discard", {"reason": reason})


# --- conversations ---------------------------------------------------------------------------------------

CONVERSATION_STATES = ("needs_reply", "draft_pending", "handed_off", "waiting_on_fan", "opted_out")
CONVERSATION_SORTS = {"waiting": "waiting longest", "value": "highest value", "recent": "latest activity"}


@router.get("/conversations", response_model=None)
async def conversations_page(
    request: Request,
    state: str = "",
    sort: str = "waiting",
    cursor: str | None = None,
    limit: str | None = None,
) -> Response:
    """The fans with recent activity (`GET /v1/conversations`): where each conversation stands, in the API's
    keyset pages; a state or sort the API does not know is its 422, shown as the page's alert."""
    s = await _session(request)
    if s is None:
        return RedirectResponse("/console/login", status_code=303)
    size = _page_size(limit)
    status, page = await _get(
        request, s, "/v1/conversations", state=state, sort=sort, cursor=cursor, limit=size
    )
    ok = status == 200
    nxt = page.get("next_cursor") if ok else None
    keep = {k: v for k, v in {"state": state, "sort": sort, "limit": size}.items() if v}
    return _page(
        request,
        "conversations.html",
        s,
        status,
        items=page["items"] if ok else [],
        states=CONVERSATION_STATES,
        sorts=CONVERSATION_SORTS,
        state=state,
        sort=sort,
        next_page=f"/console/conversations?{urlencode({**keep, 'cursor': nxt})}" if nxt else None,
        first_page=f"/console/conversations?{urlencode(keep)}" if cursor else None,
        error=None if ok else page.get("error", {}),
    )


# --- hand-offs -------------------------------------------------------------------------------------------


@router.get("/handoffs", response_model=None)
async def handoffs_page(
    request: Request, status: str = "open", cursor: str | None = None, done: str | None = None
) -> Response:
    """The hand-off queue (`GET /v1/handoffs`, newest first, keyset pages): a manager assigns one, the assigned
    chatter or a manager resolves it with a reason, unfreezing the fan or keeping it frozen."""
    s = await _session(request)
    if s is None:
        return RedirectResponse("/console/login", status_code=303)
    return await _handoffs(request, s, status, cursor, notice=done)


async def _handoffs(
    request: Request, s: Session, shown: str, cursor: str | None = None, code: int = 200, **ctx: Any
) -> Response:
    got, page = await _get(request, s, "/v1/handoffs", status=shown, cursor=cursor, limit=PAGE_SIZE)
    if got != 200:
        return _failed(request, s, got, page)
    # The members to assign to, for a manager or owner (GET /v1/members; without it, a member id is typed).
    members: list[dict[str, Any]] = []
    if s.may(Role.MANAGER):
        _, listed = await _get(request, s, "/v1/members")
        rank = {Role.OWNER: 0, Role.MANAGER: 1, Role.CHATTER: 2}
        # by role, then e-mail: members added together share a creation time, so the API's order can vary
        members = sorted(
            (m for m in listed.get("items", []) if m["role"] != Role.VIEWER),
            key=lambda m: (rank.get(m["role"], len(rank)), m["email"] or ""),
        )
    nxt = page.get("next_cursor")
    return _page(
        request,
        "handoffs.html",
        s,
        code,
        items=page["items"],
        shown=shown,
        members=members,
        next_page=f"/console/handoffs?{urlencode({'status': shown, 'cursor': nxt})}" if nxt else None,
        first_page=f"/console/handoffs?{urlencode({'status': shown})}" if cursor else None,
        **ctx,
    )


async def _handoff_action(request: Request, s: Session, handoff_id: str, action: str, body: Any) -> Response:
    hid = _id(handoff_id)
    if hid is None:
        return _not_found(request, s, "hand-off")
    async with _api(request, s) as api:
        r = await api.post(f"/v1/handoffs/{hid}/{action}", json=body)
    if r.status_code == 200:
        out = r.json()
        fan = (out.get("handoff") or out)["display_name"]
        done = f"{fan}: " + (
            "resolved, " + ("unfrozen" if body["unfreeze"] else "kept frozen")
            if action == "resolve"
            else ("assigned" if body["member_id"] else "unassigned")
        )
        return RedirectResponse(f"/console/handoffs?{urlencode({'done': done})}", status_code=303)
    return await _handoffs(request, s, "open", code=r.status_code, error=r.json().get("error", {}))


@router.post("/handoffs/{handoff_id}/assign", response_model=None)
async def assign_handoff(
    request: Request,
    handoff_id: str,
    member_id: Annotated[str, Form()] = "",
    csrf: Annotated[str | None, Form()] = None,
) -> Response:
    s = await _checked(request, csrf)
    if not isinstance(s, Session):
        return s
    member = member_id.strip()
    if member and _id(member) is None:
        return await _handoffs(
            request, s, "open", code=422, error={"code": "bad_member", "message": "That is not a member id."}
        )
    return await _handoff_action(request, s, handoff_id, "assign", {"member_id": member or None})


@router.post("/handoffs/{handoff_id}/resolve", response_model=None)
async def resolve_handoff(
    request: Request,
    handoff_id: str,
    reason: Annotated[str, Form()] = "",
    unfreeze: Annotated[str | None, Form()] = None,
    age_signal_cleared: Annotated[str | None, Form()] = None,
    csrf: Annotated[str | None, Form()] = None,
) -> Response:
    s = await _checked(request, csrf)
    if not isinstance(s, Session):
        return s
    body = {
        "reason": reason,
        "unfreeze": unfreeze == "yes",
        "age_signal_cleared": age_signal_cleared == "yes",
    }
    return await _handoff_action(request, s, handoff_id, "resolve", body)


# --- team metrics ----------------------------------------------------------------------------------------


@router.get("/team", response_model=None)
async def team_page(
    request: Request,
    start: Annotated[str | None, Query(alias="from")] = None,
    to: str | None = None,
) -> Response:
    """Per member: drafts approved, edited and rejected, own messages, time to decision, revenue of approved offers
    bought within 72 h; the team's automation rate (`GET /v1/analytics/team`). A period the API refuses is its
    422, shown as the page's alert with the form kept."""
    s = await _session(request)
    if s is None:
        return RedirectResponse("/console/login", status_code=303)
    status, body = await _get(request, s, "/v1/analytics/team", **{"from": start, "to": to})
    if status not in (200, 422):
        return _failed(request, s, status, body)
    ok = status == 200
    return _page(
        request,
        "team.html",
        s,
        status,
        t=body if ok else None,
        start=body["period"]["from"] if ok else start or "",
        to=body["period"]["to"] if ok else to or "",
        error=None if ok else body.get("error", {}),
    )


# --- alert settings --------------------------------------------------------------------------------------

ALERT_EVENTS = {
    "handoff": "a fan is handed to a human",
    "delivery_failed": "an approved message could not be delivered",
    "drafts_expiring": "drafts expire before the next daily plan",
    "revenue_anomaly": "a day's revenue is an anomaly",
    "daily_plan_ready": "the daily plan is ready",
}


@router.get("/alerts", response_model=None)
async def alerts_page(request: Request, done: str | None = None) -> Response:
    """The creator's alert channels (`GET /v1/alerts/config`, manager or owner): the webhook, the e-mail address
    and the events; the form replaces them (`PUT /v1/alerts/config`, after a TOTP step-up)."""
    s = await _session(request)
    if s is None:
        return RedirectResponse("/console/login", status_code=303)
    return await _alerts(request, s, notice=done)


async def _alerts(request: Request, s: Session, code: int = 200, **ctx: Any) -> Response:
    status, config = await _get(request, s, "/v1/alerts/config")
    if status != 200:
        return _failed(request, s, status, config)
    _, listed = await _get(request, s, "/v1/members")  # who changed them, by e-mail
    emails = {m["id"]: m["email"] for m in listed.get("items", [])}
    changed_by = emails.get(config["updated_by"] or "", config["updated_by"])
    form = ctx.pop("form", None) or {
        "webhook_url": config["webhook_url"] or "",
        "email": config["email"] or "",
        "events": config["events"],
    }
    return _page(
        request,
        "alerts.html",
        s,
        code,
        config=config,
        changed_by=changed_by,
        form=form,
        events=ALERT_EVENTS,
        **ctx,
    )


@router.post("/alerts", response_model=None)
async def save_alerts(
    request: Request,
    webhook_url: Annotated[str, Form()] = "",
    secret: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    event: Annotated[list[str] | None, Form()] = None,
    code: Annotated[str, Form()] = "",
    csrf: Annotated[str | None, Form()] = None,
) -> Response:
    """Step up with the code when one is given (`POST /v1/me/step-up`), then replace the alert channels. A refusal
    (a wrong code, `step_up_required`, a URL the egress check refuses) keeps what was typed, except the secret."""
    s = await _checked(request, csrf)
    if not isinstance(s, Session):
        return s
    url, mail = webhook_url.strip(), email.strip()
    form = {"webhook_url": url, "email": mail, "events": event or []}
    body = {
        "webhook_url": url or None,
        "secret": secret if url else None,
        "email": mail or None,
        "events": event or [],
    }
    async with _api(request, s) as api:
        if code.strip():
            up = await api.post("/v1/me/step-up", json={"code": code.strip()})
            if up.status_code != 200:
                return await _alerts(request, s, up.status_code, error=up.json().get("error", {}), form=form)
        r = await api.put("/v1/alerts/config", json=body)
    if r.status_code == 200:
        return RedirectResponse(
            f"/console/alerts?{urlencode({'done': 'alert settings saved'})}", status_code=303
        )
    return await _alerts(request, s, r.status_code, error=r.json().get("error", {}), form=form)


# --- agencies --------------------------------------------------------------------------------------------


@router.get("/agency", response_model=None)
async def agency_page(request: Request, cursor: str | None = None, limit: str | None = None) -> Response:
    """Every creator the key acts for, with what waits there (`GET /v1/creators`), and the drafts awaiting a
    decision across them (`GET /v1/agency/inbox`, oldest first, keyset pages). A draft is decided in its
    creator's inbox: its Review button switches to that creator."""
    s = await _session(request)
    if s is None:
        return RedirectResponse("/console/login", status_code=303)
    size = _page_size(limit)
    async with _api(request, s) as api:
        creators = await api.get("/v1/creators")
        params: dict[str, Any] = {"limit": size} | ({"cursor": cursor} if cursor else {})
        r = await api.get("/v1/agency/inbox", params=params)
    ok = r.status_code == 200
    nxt = r.json().get("next_cursor") if ok else None
    return _page(
        request,
        "agency.html",
        s,
        r.status_code,
        creators=creators.json()["items"] if creators.status_code == 200 else [],
        items=r.json()["items"] if ok else [],
        next_page=f"/console/agency?{urlencode({'cursor': nxt, 'limit': size})}" if nxt else None,
        first_page=f"/console/agency?{urlencode({'limit': size})}" if cursor else None,
        error=None if ok else r.json().get("error", {}),
    )


@router.post("/creator", response_model=None)
async def switch_creator(
    request: Request,
    creator_id: Annotated[str, Form()] = "",
    draft_id: Annotated[str, Form()] = "",
    csrf: Annotated[str | None, Form()] = None,
) -> Response:
    """Act for another of the key's creators from now on (this session only); then its inbox, at `draft_id`
    when one is given. A creator the key holds no role on is refused as not found."""
    s = await _checked(request, csrf)
    if not isinstance(s, Session):
        return s
    cid, did = _id(creator_id), _id(draft_id) if draft_id else None
    chosen = next((c for c in s.creators if cid is not None and c.creator_id == str(cid)), None)
    if chosen is None or (draft_id and did is None):
        return _not_found(request, s, "creator" if chosen is None else "draft")
    async with db.pool().connection() as conn:
        await conn.execute(
            "UPDATE console_sessions SET creator_id = %s WHERE token_hash = %s",
            [chosen.creator_id, s.token_hash],
        )
    done = urlencode({"done": f"Now working for {chosen.display_name} (as {chosen.role})"})
    return RedirectResponse(f"/console/inbox?{done}" + (f"#draft-{did}" if did else ""), status_code=303)


# --- assistant -------------------------------------------------------------------------------------------


THREAD = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


async def _assistant(
    request: Request, s: Session, thread_id: str, status: int = 200, **ctx: Any
) -> HTMLResponse:
    """The assistant page: the creator's recent threads, and the thread's turns (the newest as the answer, the
    others above it as the thread so far)."""
    turns: list[dict[str, Any]] = []
    async with _api(request, s) as api:
        threads = await api.get("/v1/assistant/threads", params={"limit": 10})
        if thread_id:  # a thread id from the address bar reaches the API only in the thread alphabet
            r = await api.get(f"/v1/assistant/threads/{thread_id}", params={"limit": 200})
            if r.status_code == 200:
                turns = r.json()["items"]
    out = None if ctx.get("error") or not turns else turns[-1]
    return _page(
        request,
        "assistant.html",
        s,
        status,
        threads=threads.json()["items"] if threads.status_code == 200 else [],
        thread_id=thread_id,
        earlier=turns[:-1] if out else turns,
        out=out,
        **{"text": "", "error": None, "ask_key": secrets.token_urlsafe(16), **ctx},
    )


@router.get("/assistant", response_model=None)
async def assistant_page(request: Request, thread: str = "") -> Response:
    """Ask the assistant: a question, its answer, the steps behind it and any proposals (not executed here);
    with `thread`, that thread's earlier turns, and the next question continues it."""
    s = await _session(request)
    if s is None:
        return RedirectResponse("/console/login", status_code=303)
    if thread and not THREAD.match(thread):
        return _not_found(request, s, "thread")
    return await _assistant(request, s, thread)


def _ask_body(text: str, thread_id: str) -> dict[str, Any]:
    return {"text": text} | ({"thread_id": thread_id} if thread_id else {})


def _refusal(r: httpx.Response) -> str:
    err = r.json().get("error", {})
    fields = (err.get("details") or {}).get("fields") or []
    return f"{fields[0]['field']}: {fields[0]['message']}" if fields else str(err.get("message", "error"))


@router.post("/assistant", response_model=None)
async def assistant_ask(
    request: Request,
    text: Annotated[str, Form()] = "",
    thread_id: Annotated[str, Form()] = "",
    key: Annotated[str, Form()] = "",
    csrf: Annotated[str | None, Form()] = None,
) -> Response:
    """The question as a plain form (the page without script, or when the stream could not be read): waits for
    the JSON reply, then shows the thread. The page's key goes as the Idempotency-Key: the same question sent again
    (the form after a stream that broke, a form sent twice) is asked once."""
    s = await _checked(request, csrf)
    if isinstance(s, Response):
        return s
    async with _api(request, s) as api:
        api.timeout = httpx.Timeout(1200)  # a local model may take minutes for one request
        r = await api.post(
            "/v1/assistant/messages", json=_ask_body(text, thread_id), headers=_idempotency(key)
        )
    if r.status_code != 200:
        shown = thread_id if THREAD.match(thread_id) else ""
        # a request still under way keeps its key, so asking again joins it; a refused one gets a new key
        kept = {"ask_key": key} if r.status_code == 503 and _idempotency(key) else {}
        return await _assistant(request, s, shown, r.status_code, text=text, error=_refusal(r), **kept)
    return RedirectResponse(
        f"/console/assistant?{urlencode({'thread': r.json()['thread_id']})}#answer", status_code=303
    )


@router.post("/assistant/stream", response_model=None)
async def assistant_stream(
    request: Request,
    text: Annotated[str, Form()] = "",
    thread_id: Annotated[str, Form()] = "",
    key: Annotated[str, Form()] = "",
    csrf: Annotated[str | None, Form()] = None,
) -> Response:
    """The page's script asks here: the API's event stream of the request (`thread`, `agents`, each `step`,
    then `answer` or `error`), relayed as it comes. A refused question is the API's JSON error, not a stream (the
    script then sends the plain form)."""
    s = await _checked(request, csrf)
    if isinstance(s, Response):
        return s
    answer = await relay(
        request.app,
        "POST",
        "/v1/assistant/messages",
        {
            "Authorization": f"Bearer {s.api_key}",
            CREATOR_HEADER: s.creator_id,
            "Accept": "text/event-stream",
            "Content-Type": "application/json",
            **_idempotency(key),
        },
        json.dumps(_ask_body(text, thread_id)).encode(),
    )
    if answer.status != 200 or not answer.headers.get("content-type", "").startswith("text/event-stream"):
        body = b"".join([chunk async for chunk in answer.chunks])
        return Response(body, answer.status, media_type=answer.headers.get("content-type"))
    return StreamingResponse(
        answer.chunks,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
