"""The language server in a real LSP session over stdio (Content-Length framed JSON-RPC)."""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time

import pytest

pytest.importorskip("pygls")

BROKEN = ('journey bad {\n  owner "crm"\n  template hi "Hi"\n  policy { consent wecom }\n'
          '  stage a {\n    send via wechat template hi\n    exit completed\n  }\n}\n')
FIXED = BROKEN.replace("wechat", "wecom")
YAML_BROKEN = "journey: y\nstagse: []\n"
DEADLINE = 60  # seconds for the whole session


class Client:
    """A minimal LSP client: frames messages, reads them on a thread, waits with a deadline."""

    def __init__(self, cwd):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "journeylang.cli", "lsp"], cwd=cwd, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ | {"PYTHONUTF8": "1"})
        self.messages: queue.Queue = queue.Queue()
        self.next_id = 0
        self.started = time.monotonic()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        stream = self.process.stdout
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            self.messages.put(json.loads(stream.read(length).decode("utf-8")))

    def send(self, method, params=None, request=False):
        message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        if request:
            self.next_id += 1
            message["id"] = self.next_id
        body = json.dumps(message).encode("utf-8")
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()
        return message.get("id")

    def wait_for(self, match):
        while True:
            left = DEADLINE - (time.monotonic() - self.started)
            if left <= 0:
                raise AssertionError("the language server did not answer in time")
            try:
                message = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if match(message):
                return message

    def request(self, method, params=None):
        ident = self.send(method, params, request=True)
        return self.wait_for(lambda m: m.get("id") == ident and "method" not in m)

    def diagnostics(self, uri):
        message = self.wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                                and m["params"]["uri"] == uri)
        return message["params"]["diagnostics"]

    def close(self):
        try:
            self.process.stdin.close()
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()


@pytest.fixture
def client(tmp_path):
    client = Client(tmp_path)
    yield client
    if client.process.poll() is None:
        client.close()


def _open(client, uri, language, text):
    client.send("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": language, "version": 1, "text": text}})


def test_session_publishes_lint_diagnostics(client, tmp_path):
    uri = (tmp_path / "bad.journey").as_uri()  # never written: the server lints the buffer
    result = client.request("initialize", {"processId": None, "rootUri": tmp_path.as_uri(),
                                           "capabilities": {}})["result"]
    sync = result["capabilities"]["textDocumentSync"]
    assert sync["openClose"] is True and sync["change"] in (1, 2)
    assert result["serverInfo"]["name"] == "journeylang"
    client.send("initialized", {})

    _open(client, uri, "journey", BROKEN)
    found = client.diagnostics(uri)
    channel = next(d for d in found if d["code"] == "JL104")
    assert channel["severity"] == 1 and channel["source"] == "journeylang"
    assert channel["range"] == {"start": {"line": 5, "character": 4},
                                "end": {"line": 5, "character": 31}}
    assert channel["message"] == "unknown channel 'wechat'\nhint: did you mean 'wecom'?"

    client.send("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                           "contentChanges": [{"text": FIXED}]})
    assert [d["code"] for d in client.diagnostics(uri) if d["code"] == "JL104"] == []

    yaml_uri = (tmp_path / "y.yaml").as_uri()
    _open(client, yaml_uri, "yaml", YAML_BROKEN)
    structure = next(d for d in client.diagnostics(yaml_uri) if d["code"] == "JL004")
    assert "unknown key 'stagse'" in structure["message"]
    assert structure["range"]["start"] == {"line": 1, "character": 0}

    client.send("textDocument/didSave", {"textDocument": {"uri": uri}})
    assert all(d["code"] != "JL104" for d in client.diagnostics(uri))

    assert client.request("shutdown")["result"] is None
    client.send("exit")
    assert client.process.wait(timeout=10) == 0
