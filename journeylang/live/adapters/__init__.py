"""Live stage: the channel adapters a delivery worker can use, by the name a configuration gives."""
from __future__ import annotations

from .base import DELIVERED, FAILED, RETRY, SENT, Adapter, Outcome
from .log import LogAdapter
from .sms import SmsGatewayAdapter
from .smtp import SmtpAdapter
from .webhook import WebhookAdapter
from .wecom import WecomAdapter

ADAPTERS: dict[str, type[Adapter]] = {
    "log": LogAdapter, "webhook": WebhookAdapter, "smtp": SmtpAdapter, "wecom": WecomAdapter,
    "sms": SmsGatewayAdapter,
}

__all__ = ["ADAPTERS", "DELIVERED", "FAILED", "RETRY", "SENT", "Adapter", "Outcome"]
