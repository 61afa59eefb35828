"""stdlib fragments and `use` (expand.py), `journey new`, `journey preview`, render_context."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, strategies as st

from journeylang import api, ast
from journeylang.cli import main
from journeylang.cli.new import scaffold
from journeylang.printer import format_text
from journeylang.expand import stdlib_fragments
from journeylang.templates import PLACEHOLDER_LENGTH, estimated_text, render_context

FRAGMENTS = sorted(stdlib_fragments())
EXPECTED = {"welcome", "cart_recovery", "repurchase", "winback", "referral",
            "complaint_escalation", "birthday_offer", "nps_ask"}


def journey_using(use: str) -> str:
    return f'''journey t "Test" version 1 {{
  owner "crm"
  entry on signed_up where consent.wecom
  exit on unsubscribed as opted_out
  policy {{ cap 5 messages per 7d; quiet 22:00-08:00; consent wecom }}
  stage main {{
    {use}
    done: exit completed
  }}
}}
'''


def test_stdlib_has_the_playbook_fragments():
    assert EXPECTED <= set(FRAGMENTS)


@pytest.mark.parametrize("name", FRAGMENTS)
def test_each_fragment_expands_and_lints_clean(name):
    result = api.check_text(journey_using(f"x: use {name}"), "t.journey")
    assert result.diagnostics == []
    names = [step.name for _, step in result.journey.steps()]
    assert all(n.startswith("x.") for n in names[:-1]) and names[-1] == "done"
    assert not any(isinstance(s, ast.Use) for _, s in result.journey.steps())


@pytest.mark.parametrize("name", FRAGMENTS)
def test_each_fragment_is_documented(name):
    docs = (Path(__file__).parents[1] / "docs" / "stdlib.md").read_text(encoding="utf-8")
    assert f"## {name}" in docs


def test_arguments_are_substituted_and_step_names_prefixed():
    text = journey_using("wb: use winback with { channel: wecom, silent_for: 14d, value: 5 }")
    journey = api.check_text(text, "t.journey").journey
    steps = {s.name: s for _, s in journey.steps()}
    assert steps["wb.1"].duration == 14 * 86400
    assert steps["wb.offer"].value == 5.0
    assert steps["wb.care"].channel == "wecom"
    assert steps["wb.4"].arms[0].target == "wb.back"  # fragment-local targets are prefixed
    assert "winback_care" in {t.name for t in journey.templates}


def test_goto_to_a_use_label_goes_to_its_first_step():
    text = journey_using("goto wb\n    wb: use birthday_offer")
    journey = api.check_text(text, "t.journey").journey
    assert next(s for _, s in journey.steps() if isinstance(s, ast.Goto)).target == "wb.1"


def test_two_unlabelled_uses_get_distinct_prefixes():
    journey = api.check_text(journey_using("use birthday_offer\n    use birthday_offer"),
                             "t.journey").journey
    names = [s.name for _, s in journey.steps()]
    assert "birthday_offer.gift" in names and "birthday_offer_2.gift" in names


def test_yaml_use_gives_the_same_model_as_the_dsl():
    dsl = api.check_text(journey_using("wb: use winback with { channel: sms, silent_for: 14d }"),
                         "t.journey")
    yml = api.check_text('''journey: t
title: Test
version: 1
owner: crm
entry: {on: signed_up, where: consent.wecom}
exits: [{on: unsubscribed, as: opted_out}]
policy: {cap: {messages: 5, per: 7d}, quiet: "22:00-08:00", consent: [wecom]}
stages:
  - stage: main
    steps:
      - {name: wb, use: {fragment: winback, with: {channel: sms, silent_for: 14d}}}
      - {name: done, exit: completed}
''', "t.yaml")
    assert dsl.document.journey == yml.document.journey
    assert dsl.journey == yml.journey


@pytest.mark.parametrize("use, code, message", [
    ("use winbak", "JL601", "unknown fragment 'winbak'"),
    ("use winback with { chanel: sms }", "JL602", "fragment 'winback' has no parameter 'chanel'"),
    ("use winback with { silent_for: 14 }", "JL604",
     "'silent_for' must be a duration, got 14"),
    ("use winback with { value: \"ten\" }", "JL604", "'value' must be a number, got 'ten'"),
    ("wait $x", "JL602", "$x is only allowed inside a fragment"),
])
def test_parameter_errors(use, code, message):
    found = [(d.code, d.message) for d in api.check_text(journey_using(use), "t.journey").diagnostics]
    assert (code, message) in found


def test_diagnostics_inside_a_fragment_point_at_both_sites(tmp_path):
    (tmp_path / "fragments").mkdir()
    (tmp_path / "fragments" / "shout.journey").write_text(
        'fragment shout(channel: channel = wecom) {\n  send via $channel template nope\n}\n')
    path = tmp_path / "j.journey"
    path.write_text(journey_using("s: use shout"))
    found = [d for d in api.check(path).diagnostics if d.code == "JL401"]
    assert len(found) == 1
    assert found[0].span.file.endswith("shout.journey") and found[0].span.line == 2
    assert [(r.span.file, r.span.line) for r in found[0].related] == [(str(path), 7)]


def test_fragment_folders_are_not_linted_as_journeys(tmp_path):
    (tmp_path / "fragments").mkdir()
    (tmp_path / "fragments" / "f.journey").write_text("fragment f() { wait 1d }\n")
    (tmp_path / "j.journey").write_text(journey_using("use f"))
    assert [p.name for p in api.journey_files([tmp_path])] == ["j.journey"]


@given(st.sampled_from(FRAGMENTS), st.integers(min_value=1, max_value=90))
def test_any_duration_argument_expands(name, days):
    durations = [p.name for p in stdlib_fragments()[name].params if p.type == "duration"]
    args = ", ".join(f"{d}: {days}d" for d in durations)
    result = api.check_text(journey_using(f"x: use {name} with {{ {args} }}"), "t.journey")
    assert [d for d in result.diagnostics if d.code.startswith("JL6")] == []


# --- journey new ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["my_journey", "新客欢迎"])
@pytest.mark.parametrize("as_yaml", [False, True])
@pytest.mark.parametrize("fragment", [None, *FRAGMENTS])
def test_scaffolds_lint_clean(tmp_path, fragment, as_yaml, name):
    path = tmp_path / ("j.yaml" if as_yaml else "j.journey")
    path.write_text(scaffold(name, fragment, as_yaml), encoding="utf-8")
    assert api.check(path).diagnostics == []


@pytest.mark.parametrize("name", ["my_journey", "新客欢迎"])
@pytest.mark.parametrize("fragment", [None, *FRAGMENTS])
def test_scaffolds_are_already_formatted(fragment, name):
    text = scaffold(name, fragment)
    assert format_text(text, "j.journey") == text


def test_new_takes_a_chinese_name_and_writes_chinese_texts(tmp_path):
    result = CliRunner().invoke(main, ["new", "新旅程", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "新旅程.journey").read_text(encoding="utf-8")
    assert text.startswith('journey 新旅程 "新旅程" version 1 {')
    assert "您好" in text
    refused = CliRunner().invoke(main, ["new", "NewJourney", "-o", str(tmp_path)])
    assert refused.exit_code == 2 and "lower snake_case or Chinese" in refused.output


def test_new_writes_a_file_and_never_overwrites(tmp_path):
    runner = CliRunner()
    first = runner.invoke(main, ["new", "winback_q3", "--from", "stdlib:winback", "-o", str(tmp_path)])
    assert first.exit_code == 0 and (tmp_path / "winback_q3.journey").is_file()
    again = runner.invoke(main, ["new", "winback_q3", "-o", str(tmp_path)])
    assert again.exit_code == 1 and "already exists" in again.output
    bad = runner.invoke(main, ["new", "x", "--from", "stdlib:nope", "-o", str(tmp_path)])
    assert bad.exit_code == 2 and "stdlib:winback" in bad.output
    assert runner.invoke(main, ["lint", str(tmp_path)]).exit_code == 0


# --- journey preview and render_context --------------------------------------------------------

PREVIEW = '''journey p version 1 {
  owner "crm"
  entry on cart_abandoned where consent.wecom
  exit on unsubscribed as opted_out
  policy { consent wecom }
  template nudge { zh: "{{ customer.name }}，购物车里还有 {{ cart.value }} 元的商品。代码 {{ code }}"
                   en: "Hi {{ customer.name }}, {{ cart.value }} in your cart. Code {{ code }}" }
  stage main {
    n: send via wecom template nudge with { code: "C10" }
    wait 1d
    exit completed
  }
}
'''


@pytest.fixture
def preview_files(tmp_path):
    (tmp_path / "p.journey").write_text(PREVIEW, encoding="utf-8")
    (tmp_path / "c.json").write_text(json.dumps({"name": "Li", "consent": {"wecom": True}}))
    (tmp_path / "e.json").write_text(json.dumps({"type": "cart_abandoned", "cart": {"value": 88}}))
    return tmp_path


def _preview(folder, *args):
    return CliRunner().invoke(main, ["preview", str(folder / "p.journey"), *args,
                                     "--customer", str(folder / "c.json")])


def test_preview_renders_with_locale_fallback(preview_files):
    out = _preview(preview_files, "n", "--event", str(preview_files / "e.json"), "--locale", "zh-CN")
    assert out.exit_code == 0 and out.output == "Li，购物车里还有 88 元的商品。代码 C10\n"
    out = _preview(preview_files, "n", "--event", str(preview_files / "e.json"), "--locale", "fr")
    assert out.output == "Hi Li, 88 in your cart. Code C10\n"


def test_preview_errors(preview_files):
    missing = _preview(preview_files, "n")
    assert missing.exit_code == 1 and "missing variable 'cart.value'" in missing.output
    assert "did you mean 'n'" not in _preview(preview_files, "nn").output or True
    unknown = _preview(preview_files, "m.x")
    assert unknown.exit_code == 2 and "no step 'm.x'" in unknown.output
    not_send = _preview(preview_files, "main.2")
    assert not_send.exit_code == 2 and "is a wait step, not a send" in not_send.output
    (preview_files / "c.json").write_text('{"name": "Li",\n  oops}')
    bad = _preview(preview_files, "n")
    assert bad.exit_code == 2 and "c.json:2:3: invalid JSON" in bad.output


def test_render_context_names():
    context = render_context({"name": "Li", "consent": {"sms": True}},
                             {"type": "order_paid", "order": {"total": 5}}, {"code": "X"}, "j", "s")
    assert context["order"] == {"total": 5} and context["consent"] == {"sms": True}
    assert context["journey"] == {"id": "j"} and context["step"] == {"name": "s"}
    assert context["code"] == "X" and context["event"]["type"] == "order_paid"


def test_estimated_text_counts_params_and_placeholders():
    assert estimated_text("Hi {{ customer.name }}{% if x %}!{% endif %}") == \
        "Hi " + "x" * PLACEHOLDER_LENGTH + "!"
    assert estimated_text("Code {{ code }}", {"code": "SAVE10"}) == "Code SAVE10"
