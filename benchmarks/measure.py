"""Timing child processes for the benchmarks: wall time, CPU time and peak memory of each run,
read from the kernel (os.wait4), and the machine's load while they ran."""
from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Run:
    wall: float      # seconds
    cpu: float       # user + system seconds of the process (and of its children it waited for)
    peak_kib: int    # peak resident set size
    status: int      # exit status


def run(command: list[str], env: dict | None = None, stdin: bytes | None = None,
        cwd: str | None = None) -> Run:
    """Run ``command`` to the end, its output discarded (in ``cwd``: by default the system's
    temporary folder, so that ``python -c`` finds no package in the working folder)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                               env=env, cwd=cwd or tempfile.gettempdir())
    if stdin is not None:
        process.stdin.write(stdin)
        process.stdin.close()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return Run(time.perf_counter() - started, usage.ru_utime + usage.ru_stime,
               usage.ru_maxrss, process.returncode)


def environment(tree: str | None, cache: Path) -> dict:
    """The environment a timed `journey` runs in: the parser cached in ``cache``, modules
    loaded from their .pyc as when installed, and ``tree`` (a checkout) first on the path."""
    env = dict(os.environ, JOURNEYLANG_CACHE_DIR=str(cache))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if tree:
        env["PYTHONPATH"] = os.pathsep.join([tree, *filter(None, [env.get("PYTHONPATH")])])
    return env


def load() -> str:
    """The load averages over 1, 5 and 15 minutes."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def best(runs: list[Run], what: str = "wall") -> float:
    return min(getattr(r, what) for r in runs)


def median(runs: list[Run], what: str = "wall") -> float:
    return statistics.median(getattr(r, what) for r in runs)


def alternate(commands: dict[str, list[str]], repeat: int, env: dict | None = None
              ) -> dict[str, list[Run]]:
    """Each command ``repeat`` times, taking turns (so that a change of load on a shared
    machine hits every command alike)."""
    runs: dict[str, list[Run]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            runs[name].append(run(command, env))
    return runs
