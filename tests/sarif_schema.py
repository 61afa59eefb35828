"""The official SARIF 2.1.0 JSON schema, taken from an npm package (cached under tests/.cache)."""
from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "@microsoft/jest-sarif@1.0.0-beta.0"  # ships the OASIS schema, sarif-2.1.0-rtm.5
MEMBER = "package/lib/schemas/sarif-2.1.0-rtm.5.json"
CACHE = Path(__file__).parent / ".cache" / "sarif-2.1.0-rtm.5.json"


def sarif_schema() -> dict:
    """Load the schema, fetching it with `npm pack` the first time."""
    if not CACHE.is_file():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed once to fetch the SARIF schema (npm pack " + PACKAGE + ")")
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run([npm, "pack", PACKAGE, "--silent"], cwd=tmp,
                                  capture_output=True, text=True, timeout=300)
            if done.returncode != 0:
                raise RuntimeError(f"npm pack {PACKAGE} failed: {done.stderr}")
            [archive] = Path(tmp).glob("*.tgz")
            with tarfile.open(archive) as tar:
                data = tar.extractfile(MEMBER).read()
        CACHE.parent.mkdir(exist_ok=True)
        CACHE.write_bytes(data)
    return json.loads(CACHE.read_text(encoding="utf-8"))
