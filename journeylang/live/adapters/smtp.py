"""Live stage: e-mail over SMTP (stdlib smtplib, in a worker thread).

The Message-ID is made from the action id (``<journeylang-ID@domain>``), so a repeat after a
crash is the same message to the receiving systems. A 5xx refusal fails the message; 4xx
answers and connection errors are tried again.
"""
from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

from ...runtime.queues import Leased
from ..config import ConfigError, Option
from .base import FAILED, RETRY, SENT, Adapter, Outcome

SECURITY = ("starttls", "ssl", "none")


class SmtpAdapter(Adapter):
    """``subject``: the subject line (default: the text's first line, shortened)."""

    OPTIONS = {"host": Option(str, required=True), "port": Option(int, 587),
               "security": Option(str, "starttls"), "username": Option(str),
               "password_env": Option(str, secret=True), "sender": Option(str, required=True),
               "to_attribute": Option(str, "email"), "subject": Option(str)}

    def __init__(self, route, client=None):
        super().__init__(route, client)
        if self.options["security"] not in SECURITY:
            raise ConfigError(f"{route.section}.security: one of {', '.join(SECURITY)}")
        if not parseaddr(self.options["sender"])[1]:
            raise ConfigError(f"{route.section}.sender: not an e-mail address")
        self.domain = parseaddr(self.options["sender"])[1].rpartition("@")[2] or "journeylang"

    async def send(self, row: Leased) -> Outcome:
        to = self.recipient(row)
        if isinstance(to, Outcome):
            return to
        if "@" not in to:
            return Outcome(FAILED, error=f"the customer's {self.options['to_attribute']} is "
                                         f"not an e-mail address")
        return await asyncio.to_thread(self._send, self._message(row, to))

    def _message(self, row: Leased, to: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.options["sender"]
        message["To"] = to
        message["Subject"] = self.options.get("subject") or _first_line(row.text)
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = f"<journeylang-{row.id}@{self.domain}>"
        message["X-Journey-Action"] = str(row.id)
        message.set_content(row.text)
        return message

    def _send(self, message: EmailMessage) -> Outcome:
        options, timeout = self.options, self.route.retry["timeout"]
        try:
            if options["security"] == "ssl":
                smtp = smtplib.SMTP_SSL(options["host"], options["port"], timeout=timeout,
                                        context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(options["host"], options["port"], timeout=timeout)
            with smtp:
                if options["security"] == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if options.get("username"):
                    smtp.login(options["username"], options.get("password") or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code = min(c for c, _ in exc.recipients.values())
            return Outcome(FAILED if code >= 500 else RETRY, error=f"SMTP {code}: recipient refused")
        except smtplib.SMTPAuthenticationError as exc:  # ours, not the message's: try again
            return Outcome(RETRY, error=f"SMTP {exc.smtp_code}: authentication failed")
        except smtplib.SMTPResponseException as exc:
            return Outcome(FAILED if exc.smtp_code >= 500 else RETRY, error=f"SMTP {exc.smtp_code}")
        return Outcome(SENT, provider_id=message["Message-ID"])


def _first_line(text: str, limit: int = 60) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[:limit - 1] + "…"
