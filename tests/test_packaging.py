"""An installed wheel carries its grammar and stdlib and works outside the checkout."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from journeylang import api

from conftest import EXAMPLES, ROOT


# the installed wheel must be what runs, not a checkout that PYTHONPATH points at
OUTSIDE = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def _run(*args, cwd=None):
    done = subprocess.run(args, capture_output=True, text=True, cwd=cwd, env=OUTSIDE)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv with the project's wheel installed (dependencies come from this interpreter)."""
    work = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(work / "dist"), str(ROOT))
    [wheel] = (work / "dist").glob("journeylang-*.whl")
    env_dir = work / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    _run(str(bindir / "python"), "-m", "pip", "install", "--no-deps", "--quiet", str(wheel))
    return bindir, work


def test_wheel_ships_grammar_and_stdlib(installed):
    bindir, work = installed
    code = ("import journeylang.resources as r, journeylang; "
            "print(journeylang.__file__); print(r.resource_dir('grammar')); print(r.resource_dir('stdlib'))")
    package, grammar, stdlib = _run(str(bindir / "python"), "-c", code, cwd=work).split()
    site = Path(package).parent
    assert Path(grammar) == site / "grammar" and (Path(grammar) / "journey.lark").is_file()
    assert Path(stdlib) == site / "stdlib"
    assert ROOT not in Path(package).parents  # not the checkout


# Examples the linter finds real faults in, until they are fixed; a fixed example fails the test
# below until its entry here goes.
KNOWN_FINDINGS: set[tuple[str, str]] = set()


def test_installed_console_script_checks_examples_from_elsewhere(installed):
    bindir, work = installed
    files = sorted(str(p) for p in EXAMPLES.iterdir() if p.suffix in (".journey", ".yaml"))
    out = subprocess.run([str(bindir / "journey"), "check", *files], capture_output=True, text=True,
                         cwd=work, env=OUTSIDE)
    assert out.returncode == 0, out.stdout + out.stderr
    found = {(Path(m[1]).name, m[2])
             for m in re.finditer(r"^(\S+?):\d+:\d+: (JL\d{3}) ", out.stdout, re.M)}
    assert found == KNOWN_FINDINGS, out.stdout
    summary = f"0 error(s), {len(KNOWN_FINDINGS)} warning(s)" if KNOWN_FINDINGS else "no problems"
    assert f"checked {len(files)} files: {summary}" in out.stderr


def _readme_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block and text.index(block.group(0)) < 200, "README must open with its set-up commands"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_two_commands_and_ci_runs_the_second():
    install_and_check, tests = _readme_commands()
    assert "pip install ." in install_and_check and "journey check examples/" in install_and_check
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for part in tests.split(" && "):
        assert part in ci


def test_readme_journey_example_is_clean():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```\n(journey .*?)```", text, re.S).group(1)
    assert api.check_text(example, "readme.journey").diagnostics == []
