"""Alert e-mail through the SMTP server in the settings (stdlib smtplib, in a thread). Errors name a category only
("mail server unreachable", "mail server refused the message"), never an address or a server's reply."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

ALERT_ID_HEADER = "X-Huntaze-Alert-Id"


class MailError(RuntimeError):
    """The message was not accepted; the caller tries again later. The message is safe to show owners."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_s: float = 10.0


def _send(server: SmtpServer, msg: EmailMessage) -> None:
    try:
        with smtplib.SMTP(server.host, server.port, timeout=server.timeout_s) as smtp:
            if server.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if server.username:
                smtp.login(server.username, server.password or "")
            smtp.send_message(msg)
    except smtplib.SMTPResponseException as exc:
        raise MailError("mail server refused the message") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError("mail server unreachable") from exc


async def send_mail(server: SmtpServer, to: str, subject: str, body: str, alert_id: str) -> None:
    msg = EmailMessage()
    msg["From"] = server.sender
    msg["To"] = to
    msg["Subject"] = subject
    msg[ALERT_ID_HEADER] = alert_id
    msg.set_content(body)
    await asyncio.to_thread(_send, server, msg)
