"""Durability: a `journey run` killed with SIGKILL mid-run and restarted over the same events ends
in exactly the state (and outbox) of a run that was never interrupted."""
from __future__ import annotations

import importlib.util
import os
import re
import signal
import subprocess
import sys

import pytest

from journeylang.compile import write_json
from journeylang.runtime.database import connect

import pg
from conftest import EXAMPLES, ROOT
from runtime_kit import compile_text, dump

TABLES = ("meta", "versions", "customers", "runs", "timers", "history", "outbox", "events")


def _bench():
    spec = importlib.util.spec_from_file_location("runtime_bench", ROOT / "benchmarks" / "runtime_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _command(tables, events, db, *extra):
    return [sys.executable, "-m", "journeylang.cli", "run", "--tables", str(tables), "--events",
            str(events), "--db", str(db), "--batch", "400", "--seed", "11",
            "--until", "2026-03-20T00:00:00Z", *extra]


def _count(target, table: str) -> int:
    connection = connect(target)
    try:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        connection.close()


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("store", ["sqlite", "postgres"])
def test_kill_9_then_restart_equals_an_uninterrupted_run(tmp_path, store, request):
    bench = _bench()
    tables = tmp_path / "cart.json"
    write_json(compile_text((EXAMPLES / "cart_recovery.journey").read_text(encoding="utf-8"),
                            "cart_recovery.journey"), tables)
    events = tmp_path / "events.jsonl"
    generated = bench.generate(2500, seed=5, behaviour=4.0)
    bench.write(generated, events)
    total = len(generated)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    if store == "sqlite":
        clean, crashed = tmp_path / "clean.sqlite", tmp_path / "crashed.sqlite"
    else:
        server = request.getfixturevalue("postgres_server")
        clean, crashed = pg.fresh_schema(server), pg.fresh_schema(server)
    subprocess.run(_command(tables, events, clean), check=True, capture_output=True, env=env)

    process = subprocess.Popen(_command(tables, events, crashed, "--progress"), env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    commits = 0
    for line in process.stderr:
        if line.startswith("committed"):
            commits += 1
            if commits == 6:
                break
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    applied = _count(crashed, "events")
    assert 0 < applied < total  # killed in the middle: some batches in, some not

    again = subprocess.run(_command(tables, events, crashed), capture_output=True, text=True, env=env)
    assert again.returncode == 0, again.stderr
    # the writer process forked by the killed run may still land the transaction it had in
    # flight (it holds the lock the restart waits for), so at least `applied` are done
    done = re.search(r"(\d+) already applied", again.stderr)
    assert done and applied <= int(done.group(1)) < total, again.stderr

    expected, found = dump(clean, TABLES), dump(crashed, TABLES)
    for table in TABLES:
        assert found[table] == expected[table], f"table {table} differs after the restart"
    assert len(expected["outbox"]) > 1000 and len(expected["events"]) == total
