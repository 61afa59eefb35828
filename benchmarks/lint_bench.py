"""`journey lint` against yamllint on the same YAML journeys, in the same run.

    python benchmarks/lint_bench.py [--count 1000] [--repeat 3] [--corpus examples]
    python benchmarks/lint_bench.py --memory 1000,5000      # peak memory by number of files
    python benchmarks/lint_bench.py --compare OTHER_CHECKOUT # also time another journeylang

The corpus (``--corpus``): ``examples`` (the default), YAML journeys derived from every bundled
example (benchmarks/corpus.py: renamed ids, varied numbers, their caps, loops, quiet hours and
day waits kept); ``generated``, the ~40-step journeys of benchmarks/generate.py; ``mixed``,
half of each. Both tools run as the command a CI job would run, on the same folder, taking
turns; the CPU time (user + system, from the kernel) is the figure that counts on a shared
machine, wall time is shown beside it. Before timing, one `journey lint --format json` run
counts the findings and the path searches cut short (the info notes of JL213, JL214, JL301 and
JL302). yamllint is not a dependency of journeylang: it comes with the `bench` extra
(`pip install yamllint`).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from corpus import write_corpus  # noqa: E402
from generate import write_journeys  # noqa: E402
from measure import Run, best, environment, load, median, run  # noqa: E402

JOURNEY = [sys.executable, "-c", "import sys; from journeylang.cli import main; sys.exit(main())"]
YAMLLINT = [sys.executable, "-m", "yamllint"]
CUT_SHORT = "the path search for"


def write(folder: Path, corpus: str, count: int) -> list[Path]:
    if corpus == "examples":
        return write_corpus(folder, count)
    if corpus == "generated":
        return write_journeys(folder, count)
    derived = write_corpus(folder / "derived", count - count // 2)
    return derived + write_journeys(folder / "generated", count // 2)


def findings(folder: Path, env: dict) -> tuple[Counter, int]:
    """Diagnostics by code, and how many path searches were cut short."""
    done = subprocess.run(JOURNEY + ["lint", "--format", "json", str(folder)], env=env,
                          capture_output=True, text=True, cwd=tempfile.gettempdir())
    diagnostics = json.loads(done.stdout)["diagnostics"]
    cut = sum(d["severity"] == "info" and d["message"].startswith(CUT_SHORT) for d in diagnostics)
    return Counter(d["code"] for d in diagnostics), cut


def timing(folder: Path, trees: dict[str, dict], repeat: int) -> dict[str, list[Run]]:
    runs: dict[str, list[Run]] = {}
    for _ in range(repeat):
        for label, env in trees.items():
            runs.setdefault(f"journey lint{label}", []).append(
                run(JOURNEY + ["lint", "-q", str(folder)], env))
        runs.setdefault("yamllint", []).append(run(YAMLLINT + [str(folder)]))
    return runs


def report(runs: dict[str, list[Run]], count: int) -> None:
    width = max(map(len, runs))
    print(f"{'tool':{width}}  median CPU  best CPU  median wall  files/s (CPU)  peak memory")
    for name, measured in runs.items():
        cpu = median(measured, "cpu")
        print(f"{name:{width}}  {cpu:8.2f} s  {best(measured, 'cpu'):6.2f} s  "
              f"{median(measured):9.2f} s  {count / cpu:12,.0f}  "
              f"{max(r.peak_kib for r in measured) / 1024:8.1f} MiB")
    theirs = runs["yamllint"]
    for name, measured in runs.items():
        if name != "yamllint":
            print(f"ratio {name}/yamllint, CPU: {median(measured, 'cpu') / median(theirs, 'cpu'):.2f} "
                  f"(median), {best(measured, 'cpu') / best(theirs, 'cpu'):.2f} (best)")


def memory(counts: list[int], corpus: str, trees: dict[str, dict]) -> None:
    """Peak resident memory (and CPU time) of one run of each tool, by number of files."""
    for count in counts:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "journeys"
            write(folder, corpus, count)
            runs = {f"journey lint{label}": run(JOURNEY + ["lint", "-q", str(folder)], env)
                    for label, env in trees.items()}
            runs["yamllint"] = run(YAMLLINT + [str(folder)])
        print(f"{count} files: " + "; ".join(
            f"{name} {r.peak_kib / 1024:.1f} MiB peak ({r.cpu:.1f} s CPU)"
            for name, r in runs.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpus", choices=["examples", "generated", "mixed"],
                        default="examples")
    parser.add_argument("--memory", metavar="COUNTS",
                        help="instead of timing, the peak memory at these numbers of files "
                             "(comma-separated, e.g. 1000,5000)")
    parser.add_argument("--compare", metavar="OTHER_CHECKOUT",
                        help="also time `journey lint` with this checkout first on the path")
    args = parser.parse_args()
    if subprocess.run(YAMLLINT + ["--version"], capture_output=True).returncode != 0:
        sys.exit("needs yamllint: pip install yamllint (the bench extra)")
    print(f"load average before: {load()}  (2 shared cores: compare within this run)")
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        env = environment(None, cache)
        trees = {"": env}
        if args.compare:
            trees[f" [{Path(args.compare).name}]"] = environment(str(Path(args.compare).resolve()),
                                                                 cache)
        if args.memory:
            memory([int(n) for n in args.memory.split(",")], args.corpus, trees)
            print(f"load average after: {load()}")
            return
        folder = Path(tmp) / "journeys"
        files = write(folder, args.corpus, args.count)
        lines = sum(p.read_text(encoding="utf-8").count("\n") for p in files)
        print(f"{len(files)} YAML journeys ({args.corpus}), {lines:,} lines")
        codes, cut = findings(folder, env)
        print(f"findings: {sum(codes.values())} ({', '.join(f'{c} {n}' for c, n in codes.most_common())}); "
              f"path searches cut short: {cut}")
        runs = timing(folder, trees, args.repeat)
    report(runs, len(files))
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
