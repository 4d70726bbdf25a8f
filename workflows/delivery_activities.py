"""Delivery: an approved draft becomes one outbox row and one outbound message, then goes to the platform.

The draft id is the idempotency key: one outbox row, one message, ever, however often a step is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from connectors.base import Connector, Credential, Outbound, SendContext, SendFailed
from connectors.bridge import CONTRACT_VERSION, parse_receipt
from connectors.instagram import InstagramConnector
from connectors.webhook import DeliveryError, WebhookRefused, post_signed_reply
from core import db
from core.crypto import Sealed, connection_aad, keyring
from core.journal import append_audit, record_action
from core.settings import Settings, get_settings
from core.store import Conn, alerts, connections, drafts, messages, outbox
from core.types import DraftStatus
from policies.scoped import load_policy, send_window
from policies.timing import SendWindow
from workflows.alerts import send_pending_quietly
from workflows.followup_activities import ensure_followup
from workflows.memory_activities import learn_voice
from workflows.types import MARK_DELIVERY_FAILED, SEND_DRAFT, SendInput, SendResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    """The outcome of claiming a send: held until `not_before`, or the outbox row to deliver."""

    held: SendResult | None = None
    outbox_status: str = ""
    payload: dict[str, Any] | None = None
    offer: dict[str, Any] | None = None
    retries: int = 0


async def _held(conn: Conn, ref: SendInput, window: SendWindow, key: str) -> Claim:
    await record_action(
        conn,
        creator_id=ref.creator_id,
        fan_id=ref.fan_id,
        draft_id=ref.draft_id,
        kind="send_held",
        summary=f"approved message held until {window.not_before.isoformat()}",
        details={"not_before": window.not_before.isoformat(), "reasons": list(window.reasons)},
        dedupe_key=f"held:{key}:{window.not_before.isoformat()}",
    )
    return Claim(held=SendResult(ref.draft_id, False, window.not_before.timestamp(), list(window.reasons)))


async def claim_send(ref: SendInput, now: datetime) -> Claim:
    """Under the draft's row lock: refuse without a recorded approval; check quiet hours and caps under the
    creator's send lock; write the outbox row, the outbound message and the `sent` status once. A human's retry
    of a failed delivery (the outbox row pending again, `retries` > 0) is checked against quiet hours and caps
    as well, its own message left out of the counts: it is the same message, not one more."""
    async with db.pool().connection() as conn, conn.transaction():
        d = await drafts.get_to_send_for_update(conn, ref.creator_id, ref.draft_id)
        # The invariant: nothing leaves without a human approval recorded on the draft.
        if d is None or d.status not in (DraftStatus.APPROVED, DraftStatus.SENT) or d.decided_by is None:
            raise ApplicationError(
                f"draft {ref.draft_id} has no recorded approval; refusing to send",
                type="NotApproved",
                non_retryable=True,
            )
        if d.status == DraftStatus.APPROVED:
            # One sender at a time per creator, so two fans' sends cannot both slip under the hourly cap.
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 7))", [ref.creator_id])
            # A follow-up waits for the fan's best time; quiet hours and caps are then checked from there.
            at = max(now, d.send_after) if d.send_after else now
            window = await send_window(
                conn, ref.creator_id, ref.fan_id, at, await load_policy(ref.creator_id, conn)
            )
            if at > now:
                window = SendWindow(window.not_before, ("the fan's best time to read it", *window.reasons))
            if window.held:
                return await _held(conn, ref, window, ref.draft_id)
            await _record_send(conn, ref, d, now)
        box = await outbox.get(conn, ref.creator_id, ref.draft_id)
        assert box is not None
        if d.status == DraftStatus.SENT and box.status == "pending" and box.retries > 0:
            await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 7))", [ref.creator_id])
            window = await send_window(
                conn,
                ref.creator_id,
                ref.fan_id,
                now,
                await load_policy(ref.creator_id, conn),
                resending=ref.draft_id,
            )
            if window.held:
                return await _held(conn, ref, window, f"{ref.draft_id}/retry-{box.retries}")
    return Claim(outbox_status=box.status, payload=box.payload, offer=d.offer, retries=box.retries)


async def _record_send(conn: Conn, ref: SendInput, d: drafts.ToSend, now: datetime) -> None:
    # The platform gets the item and the price; the suggestion beside it was for the approver only.
    offer = {k: v for k, v in d.offer.items() if k != "suggested_price_cents"} if d.offer else d.offer
    if offer and offer.get("catalog_id"):
        # The platform knows the item by its own id (docs/bridge.md): the adapter sends that, at this price.
        cur = await conn.execute(
            "SELECT platform_item_id, title FROM catalog WHERE creator_id = %s AND id::text = %s",
            [ref.creator_id, str(offer["catalog_id"])],
        )
        item = await cur.fetchone()
        if item is not None:
            offer = {**offer, "platform_item_id": item["platform_item_id"], "title": item["title"]}
    payload = {
        "version": CONTRACT_VERSION,
        "draft_id": ref.draft_id,
        "creator_id": ref.creator_id,
        "platform": d.platform,
        "platform_fan_id": d.platform_fan_id,
        "text": d.body,
        "offer": offer,
    }
    await outbox.insert(
        conn, ref.creator_id, draft_id=ref.draft_id, fan_id=ref.fan_id, platform=d.platform, payload=payload
    )
    await messages.insert_outbound(
        conn,
        ref.creator_id,
        ref.fan_id,
        text=d.body,
        draft_id=ref.draft_id,
        sent_at=now,
        sent_by=d.decided_by,
    )
    await drafts.mark_sent(conn, ref.creator_id, ref.draft_id)
    await record_action(
        conn,
        creator_id=ref.creator_id,
        fan_id=ref.fan_id,
        draft_id=ref.draft_id,
        kind="sent",
        summary="approved message handed to the delivery connector",
        dedupe_key=f"sent:{ref.draft_id}",
    )
    # The audit entry names the credential the delivery will use (credential access is audited).
    cur = await conn.execute(
        "SELECT key_id FROM connections WHERE creator_id = %s AND platform = %s",
        [ref.creator_id, d.platform],
    )
    credential = await cur.fetchone()
    await append_audit(
        conn,
        creator_id=ref.creator_id,
        actor="system",
        action="draft.sent",
        subject=ref.draft_id,
        details={"credential": f"connection:{d.platform}", "key_id": credential["key_id"]}
        if credential
        else {},
    )


def idempotency_key(draft_id: str, retries: int) -> str:
    """The draft id; a human's retry of a failed delivery is a new attempt, so it gets a key of its own."""
    return draft_id if retries == 0 else f"{draft_id}/retry-{retries}"


async def deliver(ref: SendInput, payload: dict[str, Any], retries: int = 0) -> None:
    """POST the outbox row's payload to the creator's connection (or the service-wide webhook), signed; record
    the outcome on the outbox row. Without any webhook the outbox row is the hand-off to the platform adapter.
    A creator's URL whose address is not allowed fails for good (retrying cannot change that). A retried
    delivery carries `retry` (how many times a human retried it) and its own idempotency key. A connection to a
    platform's own API (Instagram) goes through that platform's connector instead."""
    async with db.pool().connection() as conn:
        connection = await connections.get(conn, ref.creator_id, payload["platform"])
    if connection is not None and connection.kind != "webhook":
        await deliver_by_connector(ref, payload, connection, retries)
        return
    target = await _delivery_target(ref.creator_id, payload["platform"])
    if target is None:
        return
    url, secret, own = target
    settings = get_settings()
    try:
        _, reply = await post_signed_reply(
            url,
            secret,
            {**payload, "retry": retries} if retries else payload,
            idempotency_key(ref.draft_id, retries),
            settings.webhook_timeout_s,
            check_egress=own,  # the operator's service-wide webhook is configuration, not creator input
            allow_loopback=settings.allow_loopback_webhooks,
        )
    except Exception as exc:
        # Owners read this (fan export): a category only, never an address or a connection message.
        error = str(exc) if isinstance(exc, DeliveryError) else "webhook delivery failed"
        async with db.pool().connection() as conn, conn.transaction():
            await outbox.record_failure(conn, ref.creator_id, ref.draft_id, error)
        if isinstance(exc, WebhookRefused):
            log.warning("delivery of draft %s refused: %s", ref.draft_id, exc.reason)
            # Never tried again on its own: failed, for a human to retry (after fixing the connection) or discard.
            async with db.pool().connection() as conn, conn.transaction():
                if await outbox.mark_failed(conn, ref.creator_id, ref.draft_id, error, datetime.now(UTC)):
                    await note_failure(conn, ref.creator_id, ref.fan_id, ref.draft_id, error, retries)
            raise ApplicationError(error, type="WebhookRefused", non_retryable=True) from None
        raise
    receipt = parse_receipt(reply)
    async with db.pool().connection() as conn, conn.transaction():
        await outbox.mark_delivered(conn, ref.creator_id, ref.draft_id, datetime.now(UTC))
        if own:
            await connections.note_send(conn, ref.creator_id, payload["platform"], datetime.now(UTC))
        if receipt is not None:
            await _record_reply_receipt(
                conn, ref, receipt.status, receipt.platform_message_id, receipt.error, retries
            )


async def _record_reply_receipt(
    conn: Conn, ref: SendInput, status: str, platform_message_id: str | None, error: str | None, retries: int
) -> None:
    """A bridge adapter's receipt in its answer to the send (docs/bridge.md), recorded as POST
    /v1/deliveries/{id} would, unless a receipt for this attempt is already there."""
    box = await outbox.receipted(conn, ref.creator_id, ref.draft_id, lock=True)
    if box is None or box.receipt is not None or box.retries != retries:
        return
    await outbox.record_receipt(
        conn,
        ref.creator_id,
        ref.draft_id,
        receipt=status,
        platform_message_id=platform_message_id,
        error=error,
        at=datetime.now(UTC),
    )
    if status == "failed":
        await note_failure(conn, ref.creator_id, ref.fan_id, ref.draft_id, error or "failed", retries)
        return
    await record_action(
        conn,
        creator_id=ref.creator_id,
        fan_id=ref.fan_id,
        draft_id=ref.draft_id,
        kind="delivered",
        summary="the platform delivered the message",
        details={"platform_message_id": platform_message_id, "retries": retries},
        dedupe_key=f"delivered:{ref.draft_id}:{retries}",
    )


def connector_for(kind: str, settings: Settings) -> Connector:
    if kind == "instagram":
        return InstagramConnector(settings.instagram_graph_url, settings.webhook_timeout_s)
    raise RuntimeError(f"no connector for connections of kind {kind!r}")


async def _send_context(conn: Conn, ref: SendInput) -> SendContext:
    cur = await conn.execute(
        "SELECT (SELECT max(sent_at) FROM messages WHERE creator_id = %s AND fan_id = %s AND direction = 'in')"
        " AS last_in, (SELECT written_by IS NOT NULL FROM drafts WHERE creator_id = %s AND id = %s) AS human",
        [ref.creator_id, ref.fan_id, ref.creator_id, ref.draft_id],
    )
    row = await cur.fetchone()
    assert row is not None
    # The platform's clock is the real one (never the workflow's, which a test server may have moved ahead).
    return SendContext(datetime.now(UTC), row["last_in"], bool(row["human"]))


async def _give_up(ref: SendInput, platform: str, error: str, *, clear_mark: bool) -> ApplicationError:
    """The attempt failed for good: the error kept on the delivery and the connection, and the delivery failed for
    a human (an agent action and an alert, as for a webhook that keeps failing)."""
    now = datetime.now(UTC)
    async with db.pool().connection() as conn, conn.transaction():
        await outbox.record_failure(conn, ref.creator_id, ref.draft_id, error)
        if clear_mark:
            await outbox.clear_send_mark(conn, ref.creator_id, ref.draft_id)
        await connections.note_error(conn, ref.creator_id, platform, error, now)
        await _fail_pending(conn, ref, error)
    await send_pending_quietly(ref.creator_id)
    return ApplicationError(error, type="SendRefused", non_retryable=True)


async def deliver_by_connector(
    ref: SendInput, payload: dict[str, Any], connection: connections.Connection, retries: int = 0
) -> None:
    """Send through the platform's API, at most once per delivery attempt: the platform's rules first (message
    window, tag), then the attempt is marked (committed) before the call. A retry that finds the mark without an
    outcome (the worker stopped during the call) does not call again: whether the message reached the fan is
    unknown, so the delivery waits for a human. The receipt (the platform's message id) is stored at once."""
    settings = get_settings()
    connector = connector_for(connection.kind, settings)
    platform = payload["platform"]
    marked = False
    async with db.pool().connection() as conn, conn.transaction():
        decision = connector.rules(await _send_context(conn, ref))
        if decision.allowed:
            marked = await outbox.mark_send_started(conn, ref.creator_id, ref.draft_id)
    if not decision.allowed:
        raise await _give_up(ref, platform, decision.reason, clear_mark=False)
    if not marked:
        async with db.pool().connection() as conn:
            box = await outbox.get(conn, ref.creator_id, ref.draft_id)
        if box is None or box.status != "pending":
            return  # an earlier attempt finished
        raise await _give_up(
            ref,
            platform,
            f"the send to {platform} was interrupted (the worker stopped during the call): it may or may not"
            " have reached the fan; check the conversation on the platform, then retry or discard",
            clear_mark=False,
        )
    msg = Outbound(
        ref.draft_id, payload["platform_fan_id"], payload["text"], payload.get("offer"), decision.tag
    )
    try:
        receipt = await connector.send(
            Credential(connection.account_id or "", connection.secret(keyring(settings))), msg
        )
    except SendFailed as exc:
        if exc.retryable:
            async with db.pool().connection() as conn, conn.transaction():
                await outbox.record_failure(conn, ref.creator_id, ref.draft_id, str(exc))
                await outbox.clear_send_mark(conn, ref.creator_id, ref.draft_id)
                await connections.note_error(conn, ref.creator_id, platform, str(exc), datetime.now(UTC))
            raise DeliveryError(str(exc)) from None
        raise await _give_up(ref, platform, str(exc), clear_mark=not exc.outcome_unknown) from None
    now = datetime.now(UTC)
    async with db.pool().connection() as conn, conn.transaction():
        await outbox.record_receipt(
            conn,
            ref.creator_id,
            ref.draft_id,
            receipt="delivered",
            platform_message_id=receipt.platform_message_id,
            error=None,
            at=now,
        )
        await conn.execute(
            "UPDATE outbox SET attempts = attempts + 1, last_error = NULL WHERE creator_id = %s AND draft_id = %s",
            [ref.creator_id, ref.draft_id],
        )
        await connections.note_send(conn, ref.creator_id, platform, now)
        await record_action(
            conn,
            creator_id=ref.creator_id,
            fan_id=ref.fan_id,
            draft_id=ref.draft_id,
            kind="delivered",
            summary=f"{platform} delivered the message",
            details={"platform_message_id": receipt.platform_message_id, "tag": decision.tag},
            dedupe_key=f"delivered:{ref.draft_id}:{retries}",
        )


async def note_failure(
    conn: Conn, creator_id: str, fan_id: str, draft_id: str, error: str, retries: int
) -> None:
    """A delivery failed for good: an agent action (the actions feed, the console) and an audit entry; the
    delivery waits for a human (`POST /v1/deliveries/{id}/retry` or `/discard`)."""
    await record_action(
        conn,
        creator_id=creator_id,
        fan_id=fan_id,
        draft_id=draft_id,
        kind="delivery_failed",
        summary=f"the message was not delivered: {error[:200]}; retry or discard it",
        details={"error": error, "retries": retries},
        dedupe_key=f"delivery_failed:{draft_id}:{retries}",
    )
    await append_audit(
        conn,
        creator_id=creator_id,
        actor="system",
        action="delivery.failed",
        subject=draft_id,
        details={"error": error[:500], "retries": retries},
    )


@activity.defn(name=SEND_DRAFT)
async def send_draft(ref: SendInput) -> SendResult:
    """Deliver an approved draft: claim it (or learn that quiet hours or a cap hold it until `not_before`), start
    its PPV reminder, then deliver it unless an earlier attempt already did."""
    claim = await claim_send(ref, max(datetime.fromtimestamp(ref.now, UTC), datetime.now(UTC)))
    if claim.held is not None:
        return claim.held
    await learn_voice(ref.creator_id, ref.fan_id)
    if claim.offer:
        await _remind_unpurchased(ref, claim.offer)
    if claim.outbox_status == "pending" and claim.payload is not None:
        await deliver(ref, claim.payload, claim.retries)
    return SendResult(ref.draft_id, True)


async def _delivery_target(creator_id: str, platform: str) -> tuple[str, str, bool] | None:
    """(url, secret, is the creator's own): the creator's own connection for the platform (secret unsealed here,
    only for signing), else the service-wide webhook from settings, else None."""
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT webhook_url, key_id, secret_nonce, secret_sealed FROM connections"
            " WHERE creator_id = %s AND platform = %s",
            [creator_id, platform],
        )
        row = await cur.fetchone()
    settings = get_settings()
    if row is not None:
        sealed = Sealed(row["key_id"], bytes(row["secret_nonce"]), bytes(row["secret_sealed"]))
        secret = keyring(settings).open(sealed, connection_aad(creator_id, platform)).decode()
        return row["webhook_url"], secret, True
    if settings.webhook_url:
        return (
            settings.webhook_url,
            settings.webhook_secret.get_secret_value() if settings.webhook_secret else "",
            False,
        )
    return None


async def _remind_unpurchased(ref: SendInput, offer: dict[str, Any]) -> None:
    """A sent PPV offer starts its reminder sequence (stopped when the fan buys that item or replies). Idempotent:
    keyed by the draft, so every retry of this send finds the same sequence."""
    async with db.pool().connection() as conn:
        cur = await conn.execute(
            "SELECT max(id) AS id FROM events WHERE creator_id = %s AND fan_id = %s",
            [ref.creator_id, ref.fan_id],
        )
        last = await cur.fetchone()
    await ensure_followup(
        activity.client(),
        ref.creator_id,
        ref.fan_id,
        "ppv_reminder",
        trigger=f"d{ref.draft_id}",
        trigger_event_id=last["id"] if last else None,
        trigger_draft_id=ref.draft_id,
        catalog_id=offer.get("catalog_id"),
    )


@activity.defn(name=MARK_DELIVERY_FAILED)
async def mark_delivery_failed(ref: SendInput) -> bool:
    """The send's retries ran out (a day of webhook failures): a delivery still pending becomes failed, with the
    last error kept on the row (a category, never an address), for a human to retry or discard. False when
    there is nothing to mark (no delivery: the send was refused; or it is no longer pending)."""
    async with db.pool().connection() as conn, conn.transaction():
        marked = await _fail_pending(conn, ref, None)
    # Sent after the commit; a retried activity finds nothing to mark and sends what is still pending.
    await send_pending_quietly(ref.creator_id)
    return marked


async def _fail_pending(conn: Conn, ref: SendInput, error: str | None) -> bool:
    """A delivery still pending becomes failed (with `error`, else its last error), an agent action and an alert
    (one per failure: a human's retry that fails again is a new one). False when it was not pending."""
    cur = await conn.execute(
        "SELECT last_error, retries FROM outbox WHERE creator_id = %s AND draft_id = %s AND status = 'pending'"
        " FOR UPDATE",
        [ref.creator_id, ref.draft_id],
    )
    row = await cur.fetchone()
    if row is None:
        return False
    error = error or row["last_error"] or "webhook delivery failed"
    await outbox.mark_failed(conn, ref.creator_id, ref.draft_id, error, datetime.now(UTC))
    await note_failure(conn, ref.creator_id, ref.fan_id, ref.draft_id, error, row["retries"])
    await alerts.enqueue(
        conn,
        ref.creator_id,
        alerts.DELIVERY_FAILED,
        f"delivery_failed:{ref.draft_id}:{row['retries']}",
        {"fan_id": ref.fan_id, "draft_id": ref.draft_id, "error": error, "retries": row["retries"]},
    )
    return True


DELIVERY_ACTIVITIES: list[Callable[..., Any]] = [send_draft, mark_delivery_failed]
