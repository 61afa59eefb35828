"""Lint 1,000 generated YAML journeys (~40 steps each) with journeylang and with yamllint.

    python benchmarks/lint_bench.py [--count 1000] [--repeat 3]

Both tools run as the command a CI job would run, on the same files, in the same run; the
median wall time of the repeats is reported. yamllint is not a dependency of journeylang:
`pip install yamllint` first.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from generate import write_journeys  # noqa: E402


def timed(command: list[str], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    journey = shutil.which("journey")
    yamllint = shutil.which("yamllint")
    if not journey or not yamllint:
        sys.exit("needs `journey` (pip install .) and `yamllint` (pip install yamllint) on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "journeys"
        files = write_journeys(folder, args.count, args.steps)
        lines = sum(p.read_text(encoding="utf-8").count("\n") for p in files)
        ours = timed([journey, "lint", "-q", str(folder)], args.repeat)
        theirs = timed([yamllint, str(folder)], args.repeat)
    print(f"{args.count} journeys, {args.steps} steps each, {lines:,} YAML lines")
    print(f"journey lint : {ours:6.2f} s  ({args.count / ours:,.0f} files/s)")
    print(f"yamllint     : {theirs:6.2f} s  ({args.count / theirs:,.0f} files/s)")
    print(f"ratio journey/yamllint: {ours / theirs:.2f} (below 1 is faster)")


if __name__ == "__main__":
    main()
