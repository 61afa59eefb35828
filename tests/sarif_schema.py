"""The official SARIF 2.1.0 JSON schema, vendored under tests/fixtures/sarif (see its LICENSE)."""
from __future__ import annotations

import json
from pathlib import Path

SCHEMA = Path(__file__).parent / "fixtures" / "sarif" / "sarif-2.1.0-rtm.5.json"


def sarif_schema() -> dict:
    return json.loads(SCHEMA.read_text(encoding="utf-8"))
