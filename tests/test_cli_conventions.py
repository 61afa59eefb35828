"""Conventions every command keeps: examples in --help, --quiet, - for standard input with
--stdin-filename, colour on a terminal (NO_COLOR, FORCE_COLOR), exit 130 on Ctrl-C."""
from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from journeylang.cli import main
from journeylang.cli.commands import COMMANDS
from journeylang.cli.console import colour_from_environment

from conftest import EXAMPLES
from tools import needs
import importlib.util

CART = EXAMPLES / "cart_recovery.journey"
VIP = EXAMPLES / "vip_care.yaml"
BROKEN = 'journey b "B" version 1 {\n  owner "crm"\n  stage a {\n    send via wechat template t\n  }\n}\n'
UNFORMATTED = 'journey u {\nstage a {  wait 72h\n exit completed }\n}\n'
ANSI = "\x1b["


def run(*args, input=None, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input, env=env,
                              catch_exceptions=False)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_examples_and_quiet_in_its_help(command):
    text = run(command, "--help").stdout
    assert "Examples:" in text and f"journey {command}" in text.split("Examples:")[1]
    assert "-q, --quiet" in text


STDIN_COMMANDS = ["check", "lint", "fmt", "convert", "graph", "compile", "preview"]


@pytest.mark.parametrize("command", STDIN_COMMANDS)
def test_stdin_commands_document_the_dash_and_stdin_filename(command):
    text = run(command, "--help").stdout
    assert "--stdin-filename" in text and "standard input" in text


def test_check_reads_standard_input_under_the_given_name():
    result = run("check", "-", "--stdin-filename", "journeys/b.journey", input=BROKEN)
    assert result.exit_code == 1
    assert "journeys/b.journey:4:5: JL104 error: unknown channel 'wechat'" in result.stdout
    assert "checked 1 file: " in result.stderr


def test_lint_reads_yaml_from_standard_input_as_json():
    result = run("lint", "-", "--stdin-filename", "vip.yaml", "--format", "json",
                 input=VIP.read_text(encoding="utf-8"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["files"] == ["vip.yaml"]


def test_standard_input_is_named_stdin_journey_by_default_and_read_once():
    assert "stdin.journey:4:5: JL104" in run("check", "-", input=BROKEN).stdout
    twice = run("check", "-", "-", input=BROKEN)
    assert twice.exit_code == 2 and "read only once" in twice.stderr
    alone = run("check", str(CART), "--stdin-filename", "x.journey")
    assert alone.exit_code == 2 and "give - as the file" in alone.stderr


def test_fmt_formats_standard_input_to_standard_output():
    result = run("fmt", "-", input=UNFORMATTED)
    assert result.exit_code == 0
    assert result.stdout == "journey u {\n  stage a {\n    wait 72h\n    exit completed\n  }\n}\n"
    checked = run("fmt", "--check", "-", input=UNFORMATTED)
    assert checked.exit_code == 1 and checked.stdout == ""
    assert "would reformat stdin.journey" in checked.stderr
    diff = run("fmt", "--diff", "-", "--stdin-filename", "u.journey", input=UNFORMATTED)
    assert "+++ u.journey (formatted)" in diff.stdout


def test_convert_graph_compile_and_preview_read_standard_input(tmp_path):
    text = CART.read_text(encoding="utf-8")
    converted = run("convert", "-", "--to", "yaml", "--stdin-filename", "cart.journey", input=text)
    assert converted.exit_code == 0 and "\njourney: cart_recovery\n" in converted.stdout
    graph = run("graph", "-", "--stdin-filename", "vip.yaml", input=VIP.read_text(encoding="utf-8"))
    assert graph.exit_code == 0 and graph.stdout.startswith("flowchart TD")
    out = tmp_path / "cart.json"
    compiled = run("compile", "-", "-o", out, "--stdin-filename", "cart.journey", input=text,
                   env={"SOURCE_DATE_EPOCH": None})
    assert compiled.exit_code == 0, compiled.output
    assert json.loads(out.read_text(encoding="utf-8"))["journey"][0]["compiled_at"] == \
        "1970-01-01T00:00:00Z"
    customer = tmp_path / "c.json"
    customer.write_text(json.dumps({"name": "王芳", "consent": {"wecom": True}}), encoding="utf-8")
    event = tmp_path / "e.json"
    event.write_text(json.dumps({"cart": {"value": 120, "items": "推车"}}), encoding="utf-8")
    preview = run("preview", "-", "nudge", "--customer", customer, "--event", event,
                  "--stdin-filename", str(CART), input=text)
    assert preview.exit_code == 0, preview.output
    assert "王芳" in preview.stdout


def test_quiet_keeps_results_and_drops_notes(tmp_path):
    clean = run("check", "-q", CART)
    assert clean.exit_code == 0 and clean.stdout == "" and clean.stderr == ""
    broken = run("check", "--quiet", "-", input=BROKEN)
    assert "JL104" in broken.stdout and broken.stderr == ""
    out = tmp_path / "cart.json"
    assert run("compile", CART, "-o", out, "-q").stderr == ""
    assert run("new", "quiet_one", "-o", tmp_path, "-q").stderr == ""
    assert run("fmt", "-q", "--check", CART).stderr == ""


def test_colour_follows_the_environment_and_the_terminal():
    assert colour_from_environment({}) is None
    assert colour_from_environment({"NO_COLOR": "1"}) is False
    assert colour_from_environment({"NO_COLOR": ""}) is None  # no-color.org: set and non-empty
    assert colour_from_environment({"FORCE_COLOR": "1", "NO_COLOR": "1"}) is True
    assert colour_from_environment({"FORCE_COLOR": "0"}) is None
    plain = run("check", "-", input=BROKEN, env={"NO_COLOR": None, "FORCE_COLOR": None})
    assert ANSI not in plain.stdout + plain.stderr  # not a terminal
    forced = run("check", "-", input=BROKEN, env={"FORCE_COLOR": "1"})
    assert "\x1b[31m" in forced.stdout and "\x1b[1m" in forced.stdout  # red severity, bold place


def _on_a_terminal(*args, env=None):
    """Run the CLI with its standard output on a pseudo-terminal; (exit code, output)."""
    leader, follower = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    done = subprocess.run([sys.executable, "-m", "journeylang.cli", *map(str, args)],
                          stdout=follower, stderr=subprocess.PIPE, env=environ | (env or {}),
                          timeout=60)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return done.returncode, b"".join(chunks).decode("utf-8")


def test_a_terminal_gets_colour_unless_no_color_is_set(tmp_path):
    path = tmp_path / "b.journey"
    path.write_text(BROKEN, encoding="utf-8")
    code, output = _on_a_terminal("check", path)
    assert code == 1 and ANSI in output
    code, output = _on_a_terminal("check", path, env={"NO_COLOR": "1"})
    assert code == 1 and ANSI not in output and "JL104" in output


def _wait_until_reading_a_pipe(pid: int, timeout: float = 60.0) -> None:
    """Wait until the process is blocked reading its standard input (Linux names the kernel
    function it sleeps in), so that Ctrl-C reaches the command, not the interpreter starting."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/wchan", encoding="ascii") as wchan:
                if "pipe_read" in wchan.read():
                    return
        except OSError:  # no /proc: give the command time to start
            time.sleep(3)
            return
        time.sleep(0.05)
    pytest.fail("the command never read its standard input")


def test_ctrl_c_exits_130_without_a_traceback():
    process = subprocess.Popen([sys.executable, "-m", "journeylang.cli", "check", "-"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    _wait_until_reading_a_pipe(process.pid)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130
    assert "Traceback" not in stderr and "interrupted" in stderr


@needs(importlib.util.find_spec("pygls") is not None, "the Python package pygls is not installed")
def test_ctrl_c_stops_the_language_server_with_130():
    process = subprocess.Popen([sys.executable, "-m", "journeylang.cli", "lsp"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                       "params": {"processId": None, "rootUri": None, "capabilities": {}}})
    process.stdin.write(f"Content-Length: {len(body)}\r\n\r\n{body}".encode())
    process.stdin.flush()
    assert process.stdout.readline().startswith(b"Content-Length")  # serving
    process.send_signal(signal.SIGINT)
    try:  # its input still open, as a terminal or an editor that has not hung up keeps it
        process.wait(timeout=30)
    finally:
        process.kill()
        process.stdin.close()
    stderr = process.stderr.read()
    assert process.returncode == 130
    assert b"Traceback" not in stderr and b"interrupted" in stderr


def test_diagnostics_come_in_one_order_whatever_the_hash_seed():
    """Two diagnostics at one place with one code and message (JL304 on this fixture) keep
    their order from run to run: CI output and baselines do not flicker."""
    fixture = EXAMPLES.parent / "tests" / "fixtures" / "pair" / "cart_recovery.yaml"
    outputs = {subprocess.run([sys.executable, "-m", "journeylang.cli", "lint", "--format", "json",
                               str(fixture)], capture_output=True, text=True,
                              env=os.environ | {"PYTHONHASHSEED": str(seed)}).stdout
               for seed in range(1, 7)}
    assert len(outputs) == 1 and '"JL304"' in outputs.pop()
