"""Live stage: HMAC signatures, the same scheme both ways (requests to the ingestion service,
and the webhooks the delivery worker sends).

The signature is ``sha256=`` and the hex HMAC-SHA256, keyed with the shared secret, of the
timestamp (Unix seconds, as sent in its header), a dot, and the raw body. The timestamp bounds
a replay: a receiver refuses a signature older (or newer) than its allowed skew.
"""
from __future__ import annotations

import hashlib
import hmac

SIGNATURE = "X-Journey-Signature"
TIMESTAMP = "X-Journey-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body,
                   hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, body: bytes, now: float) -> dict[str, str]:
    stamp = str(int(now))
    return {TIMESTAMP: stamp, SIGNATURE: sign(secret, stamp, body)}


def check(secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float,
          max_skew: float) -> str | None:
    """Why a signed request is refused, or None when the signature holds."""
    if not timestamp or not signature:
        return f"missing {TIMESTAMP} or {SIGNATURE}"
    try:
        moment = int(timestamp)
    except ValueError:
        return f"{TIMESTAMP} is not Unix seconds"
    if abs(now - moment) > max_skew:
        return f"{TIMESTAMP} is more than {max_skew:.0f} s away from the server's clock"
    if not hmac.compare_digest(sign(secret, timestamp, body), signature.strip()):
        return "the signature does not match the body"
    return None
