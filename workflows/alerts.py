"""Sending a creator's alerts: each pending row of `alerts` (written, under its idempotency key, in the transaction
that recorded its event) is POSTed to the creator's alert webhook, signed like a delivery (connectors/webhook.py:
HMAC-SHA256 over `timestamp.body`, the alert's key as Idempotency-Key), after the egress check every creator URL
passes. A row is locked while it is sent and marked sent in the same transaction, so concurrent senders and retried
activities send it once; a worker that dies between the POST and the commit sends it again with the same key,
which the receiver dedupes.

Sending never fails the activity that called it: a failed try is kept on the row (`last_error`) and the row is
tried again the next time the creator's alerts are sent, or by the alert retry schedule once it is due
(`send_due_alerts`: HUNTAZE_ALERTS_RETRY_S after the try, doubled for each further one, up to an hour). The same
schedule sends an alert whose event committed in an activity that never got to send it (its worker died). Over the
creator's hourly limit (HUNTAZE_ALERTS_PER_CREATOR_PER_HOUR) an alert is dropped and marked rate_limited."""

from __future__ import annotations

import json
import logging
from typing import Any

from temporalio import activity

from connectors.email import MailError, SmtpServer, send_mail
from connectors.webhook import DeliveryError, post_signed
from core import db
from core.crypto import Sealed, alert_aad, keyring
from core.settings import Settings, get_settings
from core.store import alerts
from workflows.alert_retry import SEND_DUE_ALERTS

log = logging.getLogger(__name__)


async def send_pending(creator_id: str) -> int:
    """Send the creator's pending alerts, oldest first; stop at the first failed try. Returns how many were sent."""
    settings = get_settings()
    sent = 0
    async with db.pool().connection() as conn:
        while True:
            async with conn.transaction():
                config = await alerts.get_config(conn, creator_id)
                if config is None:
                    return sent
                batch = await alerts.lock_pending(conn, creator_id, limit=1)
                if not batch:
                    return sent
                [alert] = batch
                limit = settings.alerts_per_creator_per_hour
                if limit and await alerts.sent_within_hour(conn, creator_id) >= limit:
                    await alerts.mark(conn, creator_id, alert.id, "rate_limited")
                    log.warning("alert %s of creator %s dropped: over the hourly limit", alert.id, creator_id)
                    continue
                payload = {
                    **alert.payload,
                    "event": alert.event,
                    "alert_id": alert.idempotency_key,
                    "creator_id": creator_id,
                    "created_at": alert.created_at.isoformat(),
                }
                try:
                    await _send(settings, config, creator_id, alert, payload)
                except (DeliveryError, MailError) as exc:
                    await alerts.mark(
                        conn, creator_id, alert.id, "pending", str(exc), retry_s=settings.alerts_retry_s or 60
                    )
                    log.warning("alert %s of creator %s not sent: %s", alert.id, creator_id, exc)
                    return sent
                await alerts.mark(conn, creator_id, alert.id, "sent")
                sent += 1


async def _send(
    settings: Settings, config: alerts.Config, creator_id: str, alert: alerts.Alert, payload: dict[str, Any]
) -> None:
    if alert.channel == "email":
        if config.email_to is None:
            raise MailError("no e-mail address is configured")
        if settings.smtp_host is None:
            raise MailError("e-mail is not configured on this server")
        server = SmtpServer(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            settings.smtp_username,
            settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            settings.smtp_starttls,
            settings.webhook_timeout_s,
        )
        body = json.dumps(payload, indent=2, sort_keys=True)
        await send_mail(server, config.email_to, f"Huntaze alert: {alert.event}", body, alert.idempotency_key)
        return
    if config.webhook_url is None or not (config.key_id and config.secret_nonce and config.secret_sealed):
        raise DeliveryError("no webhook is configured")
    secret = keyring(settings).open(
        Sealed(config.key_id, bytes(config.secret_nonce), bytes(config.secret_sealed)), alert_aad(creator_id)
    )
    await post_signed(
        config.webhook_url,
        secret.decode(),
        payload,
        alert.idempotency_key,
        settings.webhook_timeout_s,
        allow_loopback=settings.allow_loopback_webhooks,
    )


async def send_pending_quietly(creator_id: str) -> None:
    """send_pending for an activity whose own work is done: an unexpected fault is logged, never raised."""
    try:
        await send_pending(creator_id)
    except Exception:
        log.exception("sending the alerts of creator %s failed; they stay pending", creator_id)


@activity.defn(name=SEND_DUE_ALERTS)
async def send_due_alerts() -> int:
    """The alert retry schedule's sweep: send the pending alerts of every creator that has one due. One creator's
    fault is logged and leaves the others to be sent. Returns how many were sent."""
    async with db.pool().connection() as conn:
        due = await alerts.due_creators(conn)
    sent = 0
    for creator_id in due:
        try:
            sent += await send_pending(creator_id)
        except Exception:
            log.exception("sending the alerts of creator %s failed; they stay pending", creator_id)
    return sent
