"""Start-up: commands imported when they run, a light `--version` and `--help`, and the DSL
parser cached between runs (and rebuilt from a bad cache)."""
from __future__ import annotations

import importlib
import inspect
import io
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from click.utils import make_default_short_help

from lark import Lark
from lark.parsers.lalr_analysis import Reduce

from journeylang import cache_folder
from journeylang.cli import main
from journeylang.cli.commands import COMMANDS
from journeylang.frontend import parser_cache
from journeylang.frontend.parser import _on_comment
from journeylang.resources import grammar_text

from conftest import EXAMPLES, ROOT

HEAVY = ("numpy", "networkx", "jinja2", "lark", "yaml", "journeylang.api", "journeylang.lint",
         "journeylang.runtime", "journeylang.sim")


def _modules_after(*args: str, env: dict | None = None) -> set[str]:
    """The modules a fresh interpreter holds after running `journey ARGS`."""
    code = ("import sys\nfrom journeylang.cli import main\n"
            f"try:\n    main({list(args)!r})\nexcept SystemExit:\n    pass\n"
            "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, cwd=ROOT)
    return set(done.stderr.split())


@pytest.mark.parametrize("args", [["--version"], ["--help"], []])
def test_version_and_help_import_no_parser_numpy_or_networkx(args):
    loaded = _modules_after(*args)
    assert "journeylang.cli" in loaded  # the check ran
    assert [m for m in HEAVY if m in loaded] == []
    assert not any(m.startswith("journeylang.cli.") and m not in (
        "journeylang.cli.commands", "journeylang.cli.console") for m in loaded)


def test_a_command_imports_only_its_own_module():
    loaded = _modules_after("rules")
    assert "journeylang.cli.rules" in loaded
    assert "journeylang.cli.simulate" not in loaded and "numpy" not in loaded


def test_checking_a_clean_file_does_not_load_the_width_tables():
    loaded = _modules_after("check", str(EXAMPLES / "cart_recovery.journey"))
    assert "journeylang.api" in loaded  # the check ran
    assert "wcwidth" not in loaded


def test_checking_a_dsl_file_imports_no_yaml_parser_once_the_rulebook_is_cached(tmp_path):
    env = dict(os.environ, JOURNEYLANG_CACHE_DIR=str(tmp_path))
    first = _modules_after("check", str(EXAMPLES / "cart_recovery.journey"), env=env)
    assert "yaml" in first  # the rulebook read from its YAML, then cached
    loaded = _modules_after("check", str(EXAMPLES / "cart_recovery.journey"), env=env)
    assert "journeylang.api" in loaded and "yaml" not in loaded
    assert "yaml" in _modules_after("check", str(EXAMPLES / "vip_care.yaml"), env=env)


def _collector_after(*calls: str) -> list[tuple[int, bool]]:
    """After each call in a fresh process: how many objects are frozen, and whether the
    collector runs."""
    code = "import gc\nfrom click.testing import CliRunner\nfrom journeylang.cli import main\n"
    for call in calls:
        code += (f"try:\n    {call}\nexcept SystemExit:\n    pass\n"
                 "print('collector:', gc.get_freeze_count(), gc.isenabled())\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    return [(int(frozen), enabled == "True") for _, frozen, enabled in
            (line.split() for line in done.stdout.splitlines() if line.startswith("collector:"))]


def test_the_journey_process_spares_its_start_up_from_the_collector():
    journey = str(EXAMPLES / "cart_recovery.journey")
    [(frozen, enabled)] = _collector_after(f"main(['check', {journey!r}], standalone_mode=False)")
    assert frozen > 10_000 and enabled  # the imports and the parser frozen; collecting again
    [(frozen, enabled), second] = _collector_after(
        f"main(['check', {journey!r}], standalone_mode=False)", "main(['rules', '--help'])")
    assert second == (frozen, True)  # a second command in the process: the collector as usual
    assert _collector_after(f"CliRunner().invoke(main, ['check', {journey!r}])") == [(0, True)]


def _ending_after(call: str, argv: list[str]) -> tuple[str, int]:
    """(what a fresh process printed, its exit status) after ``call``, with the process's
    command line ``argv`` and ``collector.end_now`` reporting instead of ending."""
    code = ("import sys\nimport journeylang.cli.console as console\n"
            "console.end_now = lambda code: print('ending with', code)\n"
            "from click.testing import CliRunner\nfrom journeylang.cli import main\n"
            f"sys.argv = {argv!r}\n{call}\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    return done.stdout, done.returncode


def test_a_check_that_is_the_whole_process_ends_it_at_once():
    clean, broken = str(EXAMPLES / "cart_recovery.journey"), str(
        ROOT / "tests" / "fixtures" / "rules" / "JL101" / "fail.journey")
    assert _ending_after("main()", ["journey", "check", clean]) == ("ending with 0\n", 0)
    out, status = _ending_after("main()", ["journey", "lint", "--format", "json", broken])
    assert out.endswith("ending with 1\n") and '"JL101"' in out and status == 1
    # called with arguments, not standalone, from click's runner, or a command that may
    # hold something open: the process goes on (and exits as usual)
    for call in (f"main(['check', {clean!r}])", "main(standalone_mode=False)",
                 f"CliRunner().invoke(main, ['check', {clean!r}])"):
        out, _ = _ending_after(f"try:\n    {call}\nexcept SystemExit:\n    pass\n"
                               "print('went on')", ["journey", "check", clean])
        assert "ending" not in out and out.endswith("went on\n"), call
    assert "ending" not in _ending_after("main()", ["journey", "rules"])[0]


def _end_now_in(setup: str) -> subprocess.CompletedProcess:
    code = ("import atexit, sys, threading\nfrom journeylang.collector import end_now\n"
            "atexit.register(lambda: print('exit handler ran'))\n"
            f"{setup}\nprint('written', end='')\nend_now(3)\nprint(' and returned')\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)


def test_ending_at_once_runs_the_exit_handlers_and_flushes_the_output():
    done = _end_now_in("")
    assert (done.stdout, done.returncode) == ("writtenexit handler ran\n", 3)
    # a thread still running: the interpreter's own exit waits for it
    done = _end_now_in("import time\nthreading.Thread(target=time.sleep, args=(0.2,)).start()")
    assert done.stdout.startswith("written and returned\n") and done.returncode == 0


def test_help_lists_every_command_with_its_short_help():
    out = CliRunner().invoke(main, ["--help"], terminal_width=80).stdout
    listing = out.split("Commands:")[1].split("Examples:")[0]
    rows = dict(line.split(None, 1) for line in listing.strip().splitlines())
    assert sorted(rows) == sorted(COMMANDS)
    for name in COMMANDS:
        command = main.get_command(click.Context(main), name)
        assert rows[name] == command.get_short_help_str(80 - 6 - max(map(len, COMMANDS)))


def _defined_commands() -> dict[str, click.Command]:
    """Every click command in the CLI's modules, by name."""
    found = {}
    for path in (ROOT / "journeylang" / "cli").glob("[!_]*.py"):
        module = importlib.import_module(f"journeylang.cli.{path.stem}")
        for value in vars(module).values():
            if isinstance(value, click.Command) and value is not main and \
                    inspect.getmodule(value.callback) is module:
                found[value.name] = value
    return found


def test_the_registry_names_every_command_and_repeats_its_first_sentence():
    defined = _defined_commands()
    assert sorted(defined) == sorted(COMMANDS)
    for name, entry in COMMANDS.items():
        command = defined[name]
        assert entry.module == command.callback.__module__.rsplit(".", 1)[1]
        assert getattr(importlib.import_module(f"journeylang.cli.{entry.module}"),
                       entry.function) is command
        for width in (20, 45, 64, 200):  # what click shows at any terminal width
            assert make_default_short_help(entry.summary, width) == \
                command.get_short_help_str(width), name


def test_an_unknown_command_is_a_usage_error_with_a_suggestion():
    result = CliRunner().invoke(main, ["chek"])
    assert result.exit_code == 2 and "No such command 'chek'" in result.stderr
    assert "check" in result.stderr


# --- the parser cache --------------------------------------------------------------------

OPTIONS = dict(parser="lalr", propagate_positions=True, maybe_placeholders=True,
               start=["start", "expr", "schedule", "fragment_file"],
               lexer_callbacks={"COMMENT": _on_comment})
JOURNEY = 'journey cached "Cached" {  # a comment\n  stage one { exit completed }\n}\n'


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache_folder.CACHE_ENV, str(folder))
    return folder


def _cached_files(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"{parser_cache.PREFIX}*{parser_cache.SUFFIX}"))


def _never_built(monkeypatch):
    """Building a parser from the grammar fails from now on; loading one still works."""
    class Loaded(parser_cache.Lark):
        def __init__(self, *args, **kwargs):
            raise AssertionError("the parser was built again instead of read from the cache")
    monkeypatch.setattr(parser_cache, "Lark", Loaded)


def _parses(parser) -> bool:
    comments = []
    from journeylang.frontend.parser import _comment_sink
    reset = _comment_sink.set(comments)
    try:
        tree = parser.parse(JOURNEY, start="start")
    finally:
        _comment_sink.reset(reset)
    return tree.data == "start" and [str(c) for c in comments] == ["# a comment"]


def test_the_parser_is_cached_and_read_back(cache, monkeypatch):
    assert _parses(parser_cache.load_parser(grammar_text(), **OPTIONS))
    [cached] = _cached_files(cache)
    _never_built(monkeypatch)
    assert _parses(parser_cache.load_parser(grammar_text(), **OPTIONS))  # lexer callback kept
    assert _cached_files(cache) == [cached]


@pytest.mark.parametrize("damage", [b"", b"not a pickle at all", b"\x80\x05truncated"])
def test_a_corrupt_cache_file_is_rebuilt_and_replaced(cache, damage, monkeypatch):
    parser_cache.load_parser(grammar_text(), **OPTIONS)
    [cached] = _cached_files(cache)
    cached.write_bytes(damage)
    assert _parses(parser_cache.load_parser(grammar_text(), **OPTIONS))
    _never_built(monkeypatch)  # the file was replaced by a good one
    assert _parses(parser_cache.load_parser(grammar_text(), **OPTIONS))


def test_the_key_follows_the_grammar_text_and_options(cache):
    text = grammar_text()
    first = parser_cache.cache_file(text, OPTIONS)
    assert parser_cache.cache_file(text + "\n// changed\n", OPTIONS) != first
    assert parser_cache.cache_file(text, {**OPTIONS, "propagate_positions": False}) != first
    assert parser_cache.cache_file(text, dict(OPTIONS)) == first


def test_a_folder_that_cannot_be_written_is_not_used(tmp_path, monkeypatch):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(cache_folder.CACHE_ENV, str(blocker / "cache"))
    assert _parses(parser_cache.load_parser(grammar_text(), **OPTIONS))
    assert list(tmp_path.iterdir()) == [blocker]  # no stray temporary file either


def test_an_empty_cache_setting_turns_the_cache_off(tmp_path, monkeypatch):
    monkeypatch.setenv(cache_folder.CACHE_ENV, "")
    assert cache_folder.cache_dir() is None
    assert _parses(parser_cache.load_parser(grammar_text(), **OPTIONS))


def test_the_table_is_saved_and_read_back_whole():
    built = Lark(grammar_text(), **OPTIONS, _plugins={"LALR_Parser": parser_cache.QuickLoadLALR})
    saved = io.BytesIO()
    built.save(saved)
    assert b"actions" in saved.getvalue()  # the table in its own form
    saved.seek(0)
    read_back = Lark.load(saved).parser.parser
    assert type(read_back) is parser_cache.QuickLoadLALR
    table, original = read_back._parse_table, built.parser.parser._parse_table
    assert (table.start_states, table.end_states) == (original.start_states, original.end_states)
    assert table.states == original.states  # the same Shift and Reduce, equal rules
    assert sum(action is Reduce for moves in table.states.values()
               for action, _ in moves.values()) > 1000
    assert _parses(Lark.load(io.BytesIO(saved.getvalue())))


def test_processes_starting_together_share_one_cache_file(tmp_path):
    env = dict(os.environ, JOURNEYLANG_CACHE_DIR=str(tmp_path / "cache"))
    command = [sys.executable, "-m", "journeylang.cli", "check", "-q",
               str(EXAMPLES / "cart_recovery.journey")]
    started = [subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE) for _ in range(4)]
    assert [process.wait(timeout=120) for process in started] == [0] * 4
    assert len(_cached_files(tmp_path / "cache")) == 1
    assert list((tmp_path / "cache").glob(".*")) == []  # no temporary file left behind


def test_rules_and_terminals_are_saved_as_objects_and_read_back_equal(tmp_path):
    built = Lark(grammar_text(), **OPTIONS, _plugins={"LALR_Parser": parser_cache.QuickLoadLALR})
    saved = tmp_path / "parser.lark"
    with open(saved, "wb") as handle:
        parser_cache.save(built, handle)
    read_back = Lark.load(io.BytesIO(saved.read_bytes()))
    assert read_back.rules == built.rules and len(built.rules) > 500
    assert [(r.order, r.alias, vars(r.options)) for r in read_back.rules] == \
        [(r.order, r.alias, vars(r.options)) for r in built.rules]
    assert [(t.name, t.pattern.to_regexp(), t.priority) for t in read_back.terminals] == \
        [(t.name, t.pattern.to_regexp(), t.priority) for t in built.terminals]
    assert [[(type(s), s.name, getattr(s, "filter_out", None)) for s in (r.origin, *r.expansion)]
            for r in read_back.rules] == \
        [[(type(s), s.name, getattr(s, "filter_out", None)) for s in (r.origin, *r.expansion)]
         for r in built.rules]
    # equal symbols and options are one object each, read once
    symbols = [s for r in read_back.rules for s in (r.origin, *r.expansion)]
    assert len({id(s) for s in symbols}) == len(
        {(type(s), s.name, getattr(s, "filter_out", None)) for s in symbols}) < len(symbols) / 5
    assert len({id(r.options) for r in read_back.rules}) < len(read_back.rules) / 2
    assert _parses(read_back)
    # a rule keeps its hash, made from its symbols' names: read in a process hashing
    # strings with another seed, it is made again there
    code = ("import sys\nfrom lark import Lark\n"
            "rules = Lark.load(open(sys.argv[1], 'rb')).rules\n"
            "print(all(hash(r) == hash((r.origin, tuple(r.expansion))) for r in rules))")
    for seed in ("1", "2"):
        done = subprocess.run([sys.executable, "-c", code, str(saved)], capture_output=True,
                              text=True, env={**os.environ, "PYTHONHASHSEED": seed})
        assert done.stdout.strip() == "True", done.stderr
