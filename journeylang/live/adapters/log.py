"""Live stage: the fake channel: every action is appended to a JSON Lines file and counts as
delivered at once (demos, and trying journeys end to end before any provider is set up)."""
from __future__ import annotations

import json
import time
from pathlib import Path

from ...runtime.events import iso
from ...runtime.queues import Leased
from ..config import Option
from .base import DELIVERED, Adapter, Outcome, action_body


class LogAdapter(Adapter):
    OPTIONS = {"file": Option(str, required=True, path=True)}

    def __init__(self, route, client=None):
        super().__init__(route, client)
        self.path = Path(self.options["file"])
        self.path.parent.mkdir(parents=True, exist_ok=True)

    async def send(self, row: Leased) -> Outcome:
        line = {"delivered_at": iso(time.time()), **action_body(row)}
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        return Outcome(DELIVERED, provider_id=f"log-{row.id}")
