"""`journey fmt` and `journey convert` on files: golden layout, --check, --diff, refusals."""
from __future__ import annotations

import shutil

from click.testing import CliRunner

from journeylang.api import parse
from journeylang.cli import main
from journeylang.printer import format_text

from conftest import EXAMPLES, FIXTURES

MESSY = FIXTURES / "fmt" / "messy.journey"
EXPECTED = FIXTURES / "fmt" / "messy.expected.journey"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_fmt_rewrites_to_the_golden_layout_keeping_every_comment(tmp_path):
    path = tmp_path / "messy.journey"
    shutil.copy(MESSY, path)
    result = run("fmt", path)
    assert result.exit_code == 0
    assert "reformatted" in result.stderr
    assert path.read_text(encoding="utf-8") == EXPECTED.read_text(encoding="utf-8")
    assert parse(path).journey == parse(MESSY).journey
    assert sorted(c.text.rstrip() for c in parse(path).comments) == \
        sorted(c.text.rstrip() for c in parse(MESSY).comments)


def test_formatted_file_is_left_untouched(tmp_path):
    path = tmp_path / "done.journey"
    shutil.copy(EXPECTED, path)
    before = path.stat().st_mtime_ns
    result = run("fmt", "--check", path)
    assert result.exit_code == 0
    assert run("fmt", path).exit_code == 0
    assert path.stat().st_mtime_ns == before


def test_check_exits_1_writes_nothing_and_diff_shows_the_change(tmp_path):
    path = tmp_path / "messy.journey"
    shutil.copy(MESSY, path)
    result = run("fmt", "--check", "--diff", path)
    assert result.exit_code == 1
    assert path.read_text(encoding="utf-8") == MESSY.read_text(encoding="utf-8")
    assert "+  outcomes a, b  # b trailing" in result.stdout
    assert f"would reformat {path}" in result.stderr


def test_diff_alone_writes_nothing_and_exits_0(tmp_path):
    path = tmp_path / "messy.journey"
    shutil.copy(MESSY, path)
    result = run("fmt", "--diff", path)
    assert result.exit_code == 0
    assert path.read_text(encoding="utf-8") == MESSY.read_text(encoding="utf-8")
    assert "+  outcomes a, b  # b trailing" in result.stdout


def test_every_bundled_journey_is_formatted():
    """CI keeps the examples (and so what users copy) in the formatter's layout."""
    result = run("fmt", "--check", EXAMPLES)
    assert result.exit_code == 0, result.stderr
    assert "0 file(s) would be reformatted" in result.stderr


def test_durations_keep_the_authors_spelling():
    text = ("journey d {\n  stage a {\n    wait 72h\n    wait 3d\n    wait 60m\n"
            "    wait for replied within 72h -> b timeout -> b\n    b: exit completed\n  }\n}\n")
    formatted = format_text(text.replace("    wait 3d", "  wait   3d"), "d.journey")
    assert formatted == text


def test_syntax_errors_are_refused(tmp_path):
    path = tmp_path / "bad.journey"
    text = "journey bad {\n  stage a {\n    send via wecom\n  }\n}\n"
    path.write_text(text, encoding="utf-8")
    result = run("fmt", path)
    assert result.exit_code == 1
    assert "JL001" in result.stderr and "has syntax errors" in result.stderr
    assert path.read_text(encoding="utf-8") == text


def test_convert_round_trip_and_no_overwrite(tmp_path):
    yaml_path = tmp_path / "cart.yaml"
    result = run("convert", EXAMPLES / "cart_recovery.journey", "--to", "yaml", "-o", yaml_path)
    assert result.exit_code == 0
    back = tmp_path / "cart.journey"
    assert run("convert", yaml_path, "--to", "journey", "-o", back).exit_code == 0
    assert parse(back).journey == parse(EXAMPLES / "cart_recovery.journey").journey
    assert [c.text for c in parse(back).comments] == \
        [c.text for c in parse(EXAMPLES / "cart_recovery.journey").comments]

    result = run("convert", EXAMPLES / "vip_care.yaml", "--to", "journey", "-o", back)
    assert result.exit_code == 1
    assert "exists; use --force" in result.stderr
    assert run("convert", EXAMPLES / "vip_care.yaml", "--to", "journey", "-o", back,
               "--force").exit_code == 0
    assert parse(back).journey == parse(EXAMPLES / "vip_care.yaml").journey


def test_convert_output_suffix_must_match_the_form(tmp_path):
    for to, wrong in (("yaml", "out.journey"), ("yaml", "out.txt"), ("journey", "out.yaml")):
        result = run("convert", MESSY, "--to", to, "-o", tmp_path / wrong)
        assert result.exit_code == 2 and "must end in" in result.stderr, result.stderr
        assert not (tmp_path / wrong).exists()


def test_convert_refuses_what_the_dsl_cannot_write(tmp_path):
    path = tmp_path / "neg.yaml"
    path.write_text("journey: j\nversion: -1\n", encoding="utf-8")  # out of range in both forms
    result = run("convert", path, "--to", "journey")
    assert result.exit_code == 1
    assert "JL002 error: 'version' in journey must be a whole number between 1" in result.stderr
