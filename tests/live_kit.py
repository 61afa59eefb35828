"""Helpers for the live tests: configuration files, `journey serve` as a real process, and small
HTTP servers standing in for providers (they record every request and answer as told)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from journeylang.runtime.database import connect

from conftest import ROOT

TOKEN = "test-token-1"
ENV = {"JOURNEY_TOKENS": f"{TOKEN},other-token", "JOURNEY_HMAC": "hmac-secret",
       "WEBHOOK_SECRET": "hook-secret", "WECOM_SECRET": "corp-secret", "SMS_TOKEN": "sms-token"}
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def toml_value(value) -> str:
    return json.dumps(value, ensure_ascii=False)  # TOML strings, numbers, booleans, arrays


def write_config(folder: Path, state, journeys=(), serve=None, routes=None, deliver=None,
                 name: str = "live.toml") -> Path:
    """A configuration file; ``routes`` maps ``channels.NAME`` / ``actions.KIND`` to options."""
    lines = [f"state = {toml_value(str(state))}", f"journeys = {toml_value([str(j) for j in journeys])}",
             'timezone = "Asia/Shanghai"', "seed = 7", "",
             "[auth]", 'tokens_env = "JOURNEY_TOKENS"', 'hmac_secret_env = "JOURNEY_HMAC"', ""]
    for section, options in (("serve", {"port": free_port(), "poll": 0.1, **(serve or {})}),
                             ("deliver", {"poll": 0.1, **(deliver or {})})):
        lines.append(f"[{section}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in options.items()]
        lines.append("")
    for section, options in (routes or {}).items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {toml_value(value)}" for key, value in options.items()]
        lines.append("")
    path = folder / name
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def port_of(config: Path) -> int:
    import tomllib
    return tomllib.loads(config.read_text(encoding="utf-8"))["serve"]["port"]


class Serve:
    """`journey serve --config FILE` as a subprocess, started and ready."""

    def __init__(self, config: Path, *extra: str, env=None, wait: bool = True):
        self.config, self.port = config, port_of(config)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = config.parent / f"serve-{self.port}-{time.monotonic_ns()}.log"
        self._log = open(self.log, "w", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "journeylang.cli", "serve", "--config", str(config), *extra],
            stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT,
            env={**os.environ, **ENV, "PYTHONPATH": str(ROOT), **(env or {})})
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code in (200, 503):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"serve did not start:\n{self.output()}")

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout)
        self._log.close()
        return self.process.returncode


def post(url: str, path: str, body, headers=None, client=None) -> httpx.Response:
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    sender = client or httpx
    return sender.post(f"{url}{path}", content=data, timeout=10.0,
                       headers={"Content-Type": "application/json", **AUTH, **(headers or {})})


def track(message_id: str, user: str, event: str, properties=None, traits=None, **more) -> dict:
    body = {"type": "track", "messageId": message_id, "userId": user, "event": event}
    if properties is not None:
        body["properties"] = properties
    if traits is not None:
        body["traits"] = traits
    body.update(more)
    return body


def query(state, sql: str, args=()) -> list[tuple]:
    db = connect(state)
    try:
        return [tuple(r) for r in db.execute(sql, args)]
    finally:
        db.close()


def wait_for(check, timeout: float = 15.0, every: float = 0.05):
    """The first true value of ``check()`` within ``timeout`` seconds (else AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {check}")
        time.sleep(every)


class Provider:
    """A local HTTP server standing in for a provider. ``answer(request) -> (status, body,
    headers)`` decides each answer; every request is kept in ``requests`` (method, path, query,
    headers, body bytes)."""

    def __init__(self, answer):
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                split = urlsplit(self.path)
                request = {"method": self.command, "path": split.path,
                           "query": {k: v[0] for k, v in parse_qs(split.query).items()},
                           "headers": {k.lower(): v for k, v in self.headers.items()},
                           "body": self.rfile.read(length) if length else b""}
                with provider.lock:
                    provider.requests.append(request)
                    status, body, headers = answer(request)
                data = json.dumps(body, ensure_ascii=False).encode() if not isinstance(body, bytes) else body
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def json_bodies(self, path: str | None = None) -> list:
        return [json.loads(r["body"]) for r in self.requests
                if r["body"] and (path is None or r["path"] == path)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
