"""`journey check` through click's runner and as a real subprocess."""
from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from journeylang import __version__
from journeylang.cli import main

HEAD = 'owner "crm"  entry on joined\n  template hi "Hi {{ customer.name }}"\n  policy { consent wecom }'
CLEAN = f'journey ok "OK" version 1 {{\n  {HEAD}\n  stage a {{\n    send via wecom template hi\n    exit completed\n  }}\n}}\n'
BROKEN = f'journey bad "Bad" version 1 {{\n  {HEAD}\n  stage a {{\n    send via wechat template hi\n  }}\n}}\n'


def run(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_clean_file_exits_0(write):
    result = run("check", str(write("ok.journey", CLEAN)))
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "checked 1 file: no problems" in result.stderr


def test_errors_exit_1_with_location_code_caret_and_hint(write):
    path = write("bad.journey", BROKEN)
    result = run("check", str(path))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:4] == [
        f"{path}:6:5: JL104 error: unknown channel 'wechat'",
        " 6 |     send via wechat template hi",
        "   |     ^~~~~~~~~~~~~~~~~~~~~~~~~~~",
        "  = hint: did you mean 'wecom'?",
    ]
    assert f"{path}:6:5: JL201 error: the send of hi in stage a (line 6) is a dead end" \
        in result.stdout
    assert "2 error(s), 0 warning(s)" in result.stderr


def test_carets_line_up_under_chinese_text_by_display_width(write):
    text = BROKEN.replace("stage a {", "stage 提醒 {").replace(
        "send via wechat template hi", "通知: send via wechat template hi")
    result = run("check", str(write("cn.journey", text)))
    source, caret = result.stdout.splitlines()[1:3]
    assert source == " 6 |     通知: send via wechat template hi"
    # each Chinese character takes two columns: the tildes end under the last character
    assert caret == "   |     ^~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~"
    assert len(caret) == len(source) + 2


def test_warnings_alone_exit_0(write):
    text = 'journey w {\n stage a {\n exit completed\n late: exit completed\n }\n}\n'
    result = run("check", str(write("w.journey", text)))
    assert result.exit_code == 0
    assert "JL202 warning: step 'late' is unreachable" in result.stdout


def test_syntax_error_shows_expected_tokens(write):
    path = write("s.journey", "journey s {\n  stage a {\n    send via wecom\n  }\n}\n")
    result = run("check", str(path))
    assert result.exit_code == 1
    assert f"{path}:4:3: JL001 error: unexpected '}}'; expected ',', 'template'" in result.stdout


def test_related_locations_are_notes(write):
    text = 'journey d {\n stage a {\n x: wait 1d\n x: exit completed\n }\n}\n'
    path = write("d.journey", text)
    result = run("check", str(path))
    assert f"  = note: {path}:3:2: first defined here" in result.stdout


def test_folders_are_searched_for_journey_files(tmp_path, write):
    write("one.journey", CLEAN)
    (tmp_path / "notes.txt").write_text("not a journey")
    (tmp_path / "cohorts").mkdir()
    (tmp_path / "cohorts" / "one.cohort.yaml").write_text("size: 10\nsegments: [{name: a}]\n")
    result = run("check", str(tmp_path))
    assert result.exit_code == 0 and "checked 1 file" in result.stderr


def test_usage_errors_exit_2(tmp_path):
    assert run("check").exit_code == 2
    assert run("check", str(tmp_path / "missing.journey")).exit_code == 2
    assert run("check", str(tmp_path)).exit_code == 2  # a folder without journeys
    assert run("no-such-command").exit_code == 2


def test_unreadable_file_is_a_diagnostic_not_a_traceback(write):
    path = write("latin1.journey", "")
    path.write_bytes(b"journey x { owner \"caf\xe9\" }")
    result = run("check", str(path))
    assert result.exit_code == 1
    assert f"{path}:1:23: JL000 error: file is not valid UTF-8 text" in result.stdout


def test_version():
    result = run("--version")
    assert result.exit_code == 0 and __version__ in result.stdout


def test_subprocess_console_script(write):
    path = write("bad.journey", BROKEN)
    done = subprocess.run([sys.executable, "-m", "journeylang.cli", "check", str(path)],
                          capture_output=True, text=True)
    assert done.returncode == 1
    assert "JL104 error: unknown channel 'wechat'" in done.stdout
    assert "Traceback" not in done.stderr


def test_fragment_files_are_checked_as_fragments(write):
    from conftest import ROOT
    result = run("check", str(ROOT / "stdlib" / "welcome.journey"),
                 str(ROOT / "stdlib" / "review_ask.yaml"))
    assert result.exit_code == 0, result.output
    broken = write("frag.journey", "fragment broken(x) {\n  send via wecom template hi\n}\n")
    result = run("check", str(broken))
    assert result.exit_code == 1 and "frag.journey:1:18: JL001" in result.stdout
    stdin = CliRunner().invoke(main, ["check", "-", "--stdin-filename", "fragments/w.journey"],
                               input=(ROOT / "stdlib" / "welcome.journey").read_text("utf-8"))
    assert stdin.exit_code == 0, stdin.output
