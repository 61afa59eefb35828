"""A throwaway PostgreSQL server for the tests that need one (and the live benchmarks).

`.ci/run` starts one and passes its URL in JOURNEYLANG_TEST_POSTGRES; without it, a test session
starts its own from the PostgreSQL binaries on this machine (PATH, or /usr/lib/postgresql/*/bin)
on a Unix socket in a temporary folder, and stops it at the end. Each test gets its own schema.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote

ENV = "JOURNEYLANG_TEST_POSTGRES"
PORT = 5433


class Unavailable(Exception):
    """Why no PostgreSQL server could be had (the tests that need one skip with this)."""


def binaries() -> Path:
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(os.path.realpath(found)).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "pg_ctl").exists() and Path(folder, "initdb").exists():
            return Path(folder)
    raise Unavailable("PostgreSQL is not installed (no initdb and pg_ctl on PATH or in "
                      "/usr/lib/postgresql/*/bin); .ci/run installs it")


class Server:
    """A PostgreSQL cluster in a temporary folder, reached on a Unix socket there."""

    def __init__(self):
        self.bin = binaries()
        self.folder = Path(tempfile.mkdtemp(prefix="journeylang-pg-"))
        self.data = self.folder / "data"
        self.as_root = os.geteuid() == 0  # the server refuses to run as root
        if self.as_root:
            shutil.chown(self.folder, "postgres")
            os.chmod(self.folder, 0o755)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-w", "-o",
                  f"-k {self.folder} -c listen_addresses= -p {PORT} -c max_connections=200",
                  "start")
        self.url = f"postgresql:///postgres?host={self.folder}&port={PORT}&user=postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = self.folder / "log"
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise Unavailable(f"{tool} failed: {done.stderr.strip() or done.stdout.strip()} {detail}")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def fresh_schema(url: str) -> str:
    """A URL whose connections work in a new, empty schema of the server at ``url``."""
    import psycopg
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options={quote(f'-csearch_path={name}')}"
