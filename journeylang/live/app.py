"""Live stage: the ingestion service's HTTP interface (Starlette).

``POST /v1/track``, ``/v1/identify``, ``/v1/batch`` (the tracking-API calls), ``/v1/events``
(the runtime's own event form) and ``/v1/receipts`` (delivery reports), each authenticated by
a bearer token (or HTTP Basic with the token as user name, as tracking libraries send a write
key) or an HMAC signature. A 2xx answer means the events are committed to the inbox. Refusals
say why: 400 (the body, field by field), 401, 413, 429 (the backlog is full) and 503 (stopping,
too many requests waiting, or the state unreachable), the last two with Retry-After.
``GET /health`` and ``GET /metrics`` (Prometheus) need no credentials.
"""
from __future__ import annotations

import base64
import hmac
import json
import logging
import threading
import time
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..runtime.database import StoreError, database_errors, describe
from ..runtime.queues import Outbox, connect_queues, receipt, reconnect
from ..semantics import MESSAGE_DELIVERED, MESSAGE_FAILED
from . import signing
from .applier import Applier
from .committer import Busy, Committer
from .config import LiveConfig
from .intake import Limits, PayloadError, events_from
from .metrics import ServeMetrics

log = logging.getLogger("journeylang.serve")
CALLS = ("track", "identify", "batch", "events")
REPORTS = {"delivered": MESSAGE_DELIVERED, "failed": MESSAGE_FAILED}


class TooLarge(Exception):
    pass


class Service:
    """The parts of a running ingestion service: committer, applier, credentials, limits."""

    def __init__(self, config: LiveConfig, tables: list, metrics: ServeMetrics | None = None):
        self.config, self.metrics = config, metrics or ServeMetrics()
        serve, auth = config.serve, config.auth
        tokens = (auth.get("tokens") or "").replace("\n", ",").split(",")
        self.tokens = [t.strip().encode("utf-8") for t in tokens if t.strip()]
        self.secret = auth.get("hmac_secret")
        self.limits = Limits(serve["max_batch"], serve["future_tolerance"])
        self.stopping = False
        self.applier = Applier(config, tables, self.metrics,
                               on_taken=lambda count: self.committer.taken(count))
        self.committer = Committer(config.state, serve["max_pending"],
                                   on_commit=lambda new: self.applier.wake.set())
        self._reader = connect_queues(config.state)  # reports, health and metrics queries
        self._reader_lock = threading.Lock()
        self.on_stop = []  # more to stop (a delivery worker in the same process)

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self.committer.start()
        self.applier.start()

    def stop(self) -> None:
        """Refuse new events, commit those waiting, finish the applier's turn, close."""
        self.stopping = True
        for stop in self.on_stop:
            stop()
        self.committer.close(self.config.serve["shutdown_grace"])
        self.applier.stop(self.config.serve["shutdown_grace"])
        self._reader.close()
        log.info("stopped: every acknowledged event is in the state (%d waiting in the inbox "
                 "for the next start)", self.committer.backlog)

    # --- checks -------------------------------------------------------------------------------

    def refusal(self, request: Request, body: bytes) -> str | None:
        """Why the request's credentials are refused, or None."""
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and self.tokens:
            return None if _known(value.strip().encode("utf-8"), self.tokens) else "unknown token"
        if scheme.lower() == "basic" and self.tokens:
            try:
                user = base64.b64decode(value.strip(), validate=True).decode("utf-8").split(":")[0]
            except (ValueError, UnicodeDecodeError):
                return "malformed Basic credentials"
            return None if _known(user.encode("utf-8"), self.tokens) else "unknown token"
        if self.secret and signing.SIGNATURE in request.headers:
            return signing.check(self.secret, request.headers.get(signing.TIMESTAMP),
                                 request.headers.get(signing.SIGNATURE), body, time.time(),
                                 self.config.auth["max_skew"])
        return "no credentials: send Authorization: Bearer TOKEN" + \
            (f", or sign the body ({signing.SIGNATURE})" if self.secret else "")

    def read_with(self, call):
        """``call(connection)`` on the service's own connection (opened again after an error)."""
        with self._reader_lock:
            try:
                return call(self._reader)
            except database_errors():
                self._reader = reconnect(self._reader, self.config.state)
                raise


def _known(token: bytes, tokens: list[bytes]) -> bool:
    found = False
    for known in tokens:  # every one compared: the time taken says nothing about which matched
        found |= hmac.compare_digest(token, known)
    return found


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _refuse(service: Service, reason: str, status: int, message, retry_after: float | None = None):
    service.metrics.rejected.labels(reason).inc()
    headers = {"Retry-After": str(int(max(1, retry_after)))} if retry_after else {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="journeylang"'
    body = {"success": False, "error": message} if isinstance(message, str) else \
        {"success": False, "errors": message}
    return JSONResponse(body, status, headers=headers)


async def _authorized_body(service: Service, request: Request):
    """The request's body, or the response refusing it."""
    if service.stopping:
        return None, _refuse(service, "stopping", 503, "the service is stopping", 5)
    try:
        body = await _body(request, service.config.serve["max_body"])
    except TooLarge:
        return None, _refuse(service, "too_large", 413,
                             f"the body is over {service.config.serve['max_body']} bytes")
    why = service.refusal(request, body)
    if why is not None:
        return None, _refuse(service, "unauthorized", 401, why)
    return body, None


def ingest(service: Service, call: str):
    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        body, refused = await _authorized_body(service, request)
        if refused is not None:
            return refused
        received = time.time()
        try:
            events = events_from(call, body, received, service.limits)
        except PayloadError as exc:
            errors = [{"field": where, "message": message} for where, message in exc.errors]
            return _refuse(service, "invalid", 400, errors)
        backlog, limit = service.committer.backlog, service.config.serve["max_backlog"]
        if backlog + len(events) > limit:
            return _refuse(service, "backlog", 429, f"{backlog} events wait to be applied "
                                                    f"(at most {limit}): try again later", 2)
        try:
            new = await service.committer.submit(events, received)
        except Busy as exc:
            return _refuse(service, "busy", 503, f"busy: {exc}", 1)
        except database_errors() as exc:
            return _refuse(service, "store", 503, "the state cannot be written now", 5)
        service.metrics.received.labels(call).inc(len(events))
        service.metrics.repeated.inc(max(0, len(events) - new))
        service.metrics.request_seconds.labels(call).observe(time.perf_counter() - started)
        return JSONResponse({"success": True, "accepted": len(events)})
    return endpoint


def report(service: Service):
    async def endpoint(request: Request) -> Response:
        body, refused = await _authorized_body(service, request)
        if refused is not None:
            return refused
        try:
            action, status, reason = parse_report(body)
        except ValueError as exc:
            return _refuse(service, "invalid", 400, [{"field": "", "message": str(exc)}])
        detail = {"reason": reason} if status == "failed" else {}
        try:
            done = await run_in_threadpool(service.read_with, lambda db: Outbox(db).report(
                action, status, time.time(),
                lambda row, at: receipt(row, REPORTS[status], at, **detail)))
        except (StoreError, *database_errors()):
            return _refuse(service, "store", 503, "the state cannot be written now", 5)
        if done == "unknown":
            return JSONResponse({"success": False, "error": f"no message {action}"}, 404)
        if done == "pending":
            return _refuse(service, "pending", 409, f"message {action} is still being sent: "
                                                    f"report it again", 5)
        if done == "recorded":
            service.applier.wake.set()
        return JSONResponse({"success": True, "recorded": done == "recorded"})
    return endpoint


def parse_report(body: bytes) -> tuple[int, str, str]:
    """A delivery report: ``{"action": ID, "status": "delivered" | "failed", "reason": ...}``."""
    try:
        raw = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("the body is not JSON") from None
    if not isinstance(raw, dict) or type(raw.get("action")) is not int:
        raise ValueError("expected {\"action\": ID, \"status\": \"delivered\" or \"failed\"}")
    if raw.get("status") not in REPORTS:
        raise ValueError(f"'status' must be delivered or failed, not {raw.get('status')!r}")
    reason = raw.get("reason")
    return raw["action"], raw["status"], \
        str(reason)[:200] if reason is not None else "reported failed by the provider"


def create_app(service: Service) -> Starlette:
    async def health(request: Request) -> Response:
        committer, applier = service.committer, service.applier
        healthy = not service.stopping and committer.error is None and applier.role != "error"
        body = {"status": "ok" if healthy else "stopping" if service.stopping else "error",
                "role": applier.role, "backlog": committer.backlog,
                "state": describe(service.config.state),
                "errors": [e for e in (committer.error, applier.error) if e]}
        return JSONResponse(body, 200 if healthy else 503)

    async def metrics(request: Request) -> Response:
        try:
            rows = await run_in_threadpool(service.read_with, lambda db: Outbox(db).depth())
            service.metrics.outbox(rows, time.time())
        except (StoreError, *database_errors()):
            pass  # the gauges keep their last values; /health says what is wrong
        service.metrics.backlog.set(service.committer.backlog)
        return Response(service.metrics.text(), media_type="text/plain; version=0.0.4")

    @asynccontextmanager
    async def lifespan(app):
        service.start()
        try:
            yield
        finally:
            await run_in_threadpool(service.stop)

    routes = [Route(f"/v1/{call}", ingest(service, call), methods=["POST"]) for call in CALLS]
    routes += [Route("/v1/receipts", report(service), methods=["POST"]),
               Route("/health", health, methods=["GET"]),
               Route("/metrics", metrics, methods=["GET"])]
    return Starlette(routes=routes, lifespan=lifespan)
