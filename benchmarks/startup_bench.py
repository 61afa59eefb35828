"""Start-up of the `journey` command: what a shell, a pre-commit hook or an editor pays per call.

    python benchmarks/startup_bench.py [--repeat 20] [--compare OTHER_CHECKOUT] [--only TEXT]

Times, as separate processes taking turns, `python -c pass` (the baseline: the interpreter
alone), `journey --version`, `journey --help`, `journey check` of one example (DSL and
YAML), the pre-commit hook's `journey lint` of three changed files, and `journey lsp` from
its start until it has answered `initialize` and exited. Prints the best and the median wall
time of the runs, the median CPU time, and each as a ratio to the baseline's; then the first
`journey check` with an empty grammar cache. Commands run as the installed console script
does (`from journeylang.cli import main`), with the journeylang found on PYTHONPATH (or
installed); with --compare, also with OTHER_CHECKOUT first on the path; with --only, only the
commands whose name holds TEXT (and the baseline).

    python benchmarks/startup_bench.py --phases [--repeat 20] [--compare OTHER_CHECKOUT]

Where the CPU time of `journey check` (the DSL example) goes instead, measured inside fresh
processes: the import of each library the check imports (click, networkx, lark, jinja2,
yaml, in this order, so each figure is what it adds to those before it), the model, the
rest of journeylang's modules, reading the cached parser, and the check itself.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from measure import Run, best, environment, load, median, run  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
JOURNEY = [sys.executable, "-c", "import sys; from journeylang.cli import main; sys.exit(main())"]
CHANGED = [EXAMPLES / "cart_recovery.journey", EXAMPLES / "vip_care.yaml",
           EXAMPLES / "welcome_activation.journey"]


def lsp_session() -> bytes:
    """What an editor sends to open and close a language server session."""
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"processId": None, "rootUri": None, "capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    ]
    framed = b""
    for message in messages:
        body = json.dumps(message).encode("utf-8")
        framed += b"Content-Length: %d\r\n\r\n" % len(body) + body
    return framed


LSP = "journey lsp: start, initialize, exit"


def commands() -> dict[str, list[str]]:
    return {
        "journey --version": JOURNEY + ["--version"],
        "journey --help": JOURNEY + ["--help"],
        "journey check (DSL example)": JOURNEY + ["check", str(CHANGED[0])],
        "journey check (YAML example)": JOURNEY + ["check", str(CHANGED[1])],
        "pre-commit: journey lint, 3 files": JOURNEY + ["lint", *map(str, CHANGED)],
    }


def measure(trees: dict[str, str | None], repeat: int, cache: Path, only: str = ""
            ) -> dict[str, list[Run]]:
    """Every command of every tree (those whose name holds ``only``), and the baseline,
    taking turns ``repeat`` times."""
    runs: dict[str, list[Run]] = {}
    session = lsp_session()
    timed = {name: command for name, command in commands().items() if only in name}
    for _ in range(repeat):
        runs.setdefault("python -c pass", []).append(run([sys.executable, "-c", "pass"]))
        for label, path in trees.items():
            env = environment(path, cache)
            for name, command in timed.items():
                runs.setdefault(f"{name}{label}", []).append(run(command, env))
            if only in LSP:
                runs.setdefault(f"{LSP}{label}", []).append(
                    run(JOURNEY + ["lsp"], env, stdin=session))
    return runs


LIBRARIES = ("click", "networkx", "lark", "jinja2", "yaml")  # in the order the phases take them

# imported one after the other inside a fresh process: each adds what it needs beyond the rest
PHASES = r'''
import json, sys, time
took, mark = {}, 0.0  # the CPU time of the process so far: its start included
def phase(name):
    global mark
    now = time.process_time()
    took[name] = now - mark
    mark = now
phase("interpreter start")
import click; phase("import click")  # with journeylang.cli, before `journey` starts its command
try:  # as `journey` does: the collector spares what start-up makes (where it does so)
    from journeylang.collector import long_lived, start_up
except ImportError:
    from contextlib import nullcontext as long_lived, nullcontext as start_up
try:  # as `journey` does: dataclasses' methods compiled by an earlier run (where it does so)
    from journeylang.compiled_methods import kept_between_runs
except ImportError:
    from contextlib import nullcontext
    kept_between_runs = lambda name: nullcontext()
starting = start_up()  # kept (and left when the process ends), as by `journey`
starting.__enter__()
with long_lived(), kept_between_runs("check"):
    for library in sys.argv[2].split(","):
        if library != "click":  # imported above
            __import__(library); phase(f"import {library}")
    import journeylang.ast; phase("import journeylang.ast (the model)")
    import journeylang.cli.check; phase("import the rest (journeylang, its rules)")
from journeylang.frontend.parser import parser
parser(); phase("read the cached parser")
from journeylang.cli import main
try:
    main(["check", sys.argv[1]])
except SystemExit:
    pass
phase("check the file (parse, rules, report)")
print(json.dumps(took))
'''

# which of LIBRARIES a check of the file imports
IMPORTED = r'''
import sys
from journeylang.cli import main
try:
    main(["check", sys.argv[1]])
except SystemExit:
    pass
print(",".join(name for name in sys.argv[2].split(",") if name in sys.modules))
'''


def _in_process(script: str, env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", script, *args], env=env, capture_output=True,
                          text=True, cwd=tempfile.gettempdir())
    return done.stdout.splitlines()[-1]


def phases(trees: dict[str, str | None], repeat: int, cache: Path) -> None:
    """The CPU time of each phase of `journey check` (the DSL example), in fresh processes
    (each tree's taking turns): the libraries that the check imports, each in a phase of
    its own."""
    path = str(CHANGED[0])
    envs = {label: environment(tree, cache) for label, tree in trees.items()}
    libraries = {label: _in_process(IMPORTED, env, path, ",".join(LIBRARIES))
                 for label, env in envs.items()}
    runs: dict[str, list[dict]] = {label: [] for label in trees}
    for _ in range(repeat):
        for label, env in envs.items():
            runs[label].append(json.loads(_in_process(PHASES, env, path, libraries[label])))
    for label, measured in runs.items():
        imported = libraries[label].split(",")
        print(f"\n{label or 'this tree'}: the check imports {', '.join(imported)}; not "
              f"{', '.join(name for name in LIBRARIES if name not in imported) or '-'}")
        total = statistics.median(sum(r.values()) for r in measured)
        width = max(map(len, measured[0]))
        print(f"{'phase of journey check (CPU, in process)':{width}}   best   median  "
              "share of the median total")
        for name in measured[0]:
            values = [r[name] for r in measured]
            print(f"{name:{width}}  {min(values) * 1000:5.1f} ms "
                  f"{statistics.median(values) * 1000:5.1f} ms  {statistics.median(values) / total:5.1%}")
        print(f"{'total':{width}}  {min(sum(r.values()) for r in measured) * 1000:5.1f} ms "
              f"{total * 1000:5.1f} ms")


def report(runs: dict[str, list[Run]]) -> None:
    base = runs["python -c pass"]
    width = max(map(len, runs))
    print(f"{'command':{width}}  best wall  median wall  median CPU   ratio to python -c pass "
          "(best wall, median CPU)")
    for name, measured in runs.items():
        if any(r.status not in (0, 1) for r in measured):
            print(f"{name:{width}}  failed (exit {measured[0].status})")
            continue
        print(f"{name:{width}}  {best(measured):8.3f} s  {median(measured):9.3f} s  "
              f"{median(measured, 'cpu'):8.3f} s   {best(measured) / best(base):6.1f}x  "
              f"{median(measured, 'cpu') / median(base, 'cpu'):6.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--compare", metavar="OTHER_CHECKOUT",
                        help="also time the commands with this checkout first on the path")
    parser.add_argument("--only", metavar="TEXT", default="",
                        help="time only the commands whose name holds TEXT (e.g. check)")
    parser.add_argument("--phases", action="store_true",
                        help="where the CPU time of `journey check` goes, phase by phase")
    args = parser.parse_args()
    trees: dict[str, str | None] = {"": None}  # the journeylang this Python imports
    if args.compare:
        trees[f" [{Path(args.compare).name}]"] = str(Path(args.compare).resolve())
    if args.phases:
        print(f"load average before: {load()}")
        with tempfile.TemporaryDirectory() as tmp:
            cache = Path(tmp) / "cache"
            for path in trees.values():  # each version's parser (and rulebook) cached first
                run(JOURNEY + ["check", str(CHANGED[0])], environment(path, cache))
            phases(trees, args.repeat, cache)
        print(f"load average after: {load()}")
        return
    print(f"load average before: {load()}  (2 cores are shared: compare within this run)")
    with tempfile.TemporaryDirectory() as tmp:
        cold = run(JOURNEY + ["check", str(CHANGED[0])], environment(None, Path(tmp) / "cold"))
        warm_cache = Path(tmp) / "cache"
        for path in trees.values():  # each version's cached files made before the timed runs
            for command in commands().values():
                run(command, environment(path, warm_cache))
        runs = measure(trees, args.repeat, warm_cache, args.only)
    report(runs)
    print(f"first journey check with an empty grammar cache (builds and saves it): "
          f"{cold.wall:.3f} s wall, {cold.cpu:.3f} s CPU")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
