"""Templates under resource limits: the same limited sandbox renders in preview and at run time;
a template past a limit fails its own message (outbox and history say why), never the run."""
from __future__ import annotations

import json
import time

import pytest
from click.testing import CliRunner

from journeylang.cli import main
from journeylang.limits import MAX_OUTPUT_CHARS, MAX_RENDER_SECONDS
from journeylang.sandbox import RenderError
from journeylang.template_limits import limit_problems
from journeylang.templates import MessageTemplate

from runtime_kit import T0, Kit, journey

HANGS = [  # each stalled ingestion for every customer, or queued a 100 MB message
    "{{ ''|center(10**9) }}",
    "{{ ''|center(1000000000) }}",
    "{% set x = [1]*10**8 %}{{ x|length }}",
    "{{ '{:>1000000000}'.format(1) }}",
    "{{ 'a'*10**8 }}",
    "{{ '%1000000000d' % 1 }}",
    "{{ '%*d'|format(1000000000, 1) }}",
    "{{ 'x'.ljust(10**9) }}",
    "{{ (1).to_bytes(10**9, 'big') }}",
    "{{ 10 ** 100000000 }}",
    "{% set s = 'x' * 100000 %}{{ s.replace('', s) }}",
    "{% set s = 'x' * 100000 %}{{ s|replace('x', s) }}",
    "{% set s = 'x' * 100000 %}{{ s.join(range(100000)|map('string')) }}",
    "{% set n = namespace(s='ab') %}{% for i in range(40) %}{% set n.s = n.s ~ n.s %}{% endfor %}",
    "{% set s = ['x'] %}{% for i in range(40) %}{% set _ = s.extend(s) %}{% endfor %}",
    "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
    "{{ range(10**6)|list|length }}",
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
    "{{ 'x'|indent(10**9) }}",
    "{{ 'xx'|wordwrap(1, wrapstring='y' * 100000) }}",
    "{{ [1]|batch(10**9, 0)|list }}",
    "{{ [1]|slice(10**9)|list }}",
    "{{ {'a': 'b' * 100000}|tojson(indent=100000) }}",
]


@pytest.mark.parametrize("text", HANGS)
def test_templates_past_a_limit_fail_fast(text):
    started = time.perf_counter()
    with pytest.raises(RenderError) as caught:
        MessageTemplate(text).render({})
    assert time.perf_counter() - started < MAX_RENDER_SECONDS + 1.0
    assert caught.value.message.startswith(("over a template limit", "SecurityError",
                                            "OverflowError")), caught.value.message


def test_every_failure_is_a_render_error():
    for text, message in [("{{ 1 / 0 }}", "ZeroDivisionError: division by zero"),
                          ("{% include 'other' %}",
                           "TypeError: no loader for this environment specified"),
                          ("{{ missing }}", "'missing' is undefined"),
                          ("{{ x.__class__ }}", "'x.__class__' is undefined"),
                          ("{{ ''.__class__.__mro__ }}", "access to attribute '__class__' of "
                                                         "'str' object is unsafe."),
                          ("{% for %}", "Expected an expression, got 'end of statement block'")]:
        with pytest.raises(RenderError) as caught:
            MessageTemplate(text).render({})
        assert caught.value.message == message


def test_the_line_of_a_failure_is_known():
    with pytest.raises(RenderError) as caught:
        MessageTemplate("first\nsecond {{ 1 / 0 }}\n").render({})
    assert caught.value.line == 2


def test_ordinary_templates_render_as_before():
    context = {"customer": {"name": "Li", "tags": ["a", "b"]}, "cart": {"items": "2 mugs"},
               "items": [{"n": i} for i in range(500)]}
    cases = {
        "Hi {{ customer.name }}, {{ cart.items }}": "Hi Li, 2 mugs",
        "{{ cart['items'] }}": "2 mugs",
        "{% for t in customer.tags %}{{ t|upper }}{% if not loop.last %}, {% endif %}{% endfor %}":
            "A, B",
        "{{ items|length }} {{ items|map(attribute='n')|sum }}": "500 124750",
        "{{ '=' * 10 }} {{ 'x'|center(5) }} {{ '%05.1f' % 3.14159 }} {{ '{:>4}'.format(7) }}":
            "========== " + "  x   003.1    7",
        "{{ customer.name ~ '!' ~ 3 }} {{ 2 ** 10 }} {{ [1, 2] + [3] }}": "Li!3 1024 [1, 2, 3]",
        "{% for a in range(300) %}{% for b in range(300) %}{% endfor %}{% endfor %}done": "done",
    }
    for text, expected in cases.items():
        assert MessageTemplate(text).render(context) == expected, text


def test_a_message_longer_than_the_limit_fails_on_the_fast_path_too():
    template = MessageTemplate("{{ customer.bio }}")
    assert template.pieces is not None  # a plain substitution: filled without Jinja
    assert template.render({"customer": {"bio": "x" * MAX_OUTPUT_CHARS}}) == "x" * MAX_OUTPUT_CHARS
    with pytest.raises(RenderError, match="a message of more than 100,000"):
        template.render({"customer": {"bio": "x" * (MAX_OUTPUT_CHARS + 1)}})


# --- at run time: one message fails, every other event goes on ------------------------------------

HEADER = '  entry on signup\n  template bad "{{ customer.pad * 100000000 }}"'
FAILING = journey("  stage s {\n    send via wecom template bad\n    send via wecom template a\n"
                  "    exit completed\n  }", header=HEADER)


def test_a_template_past_a_limit_fails_its_message_and_the_run_goes_on():
    kit = Kit(FAILING)
    started = time.perf_counter()
    for n in range(1, 4):
        kit.send("signup", customer=f"c{n}", attributes={"name": f"N{n}", "pad": "ab"})
    assert time.perf_counter() - started < 5
    for n in range(1, 4):
        bad, good = kit.messages(f"c{n}")
        assert bad.status == "failed" and bad.text is None
        assert bad.payload["error"].startswith("over a template limit: a text or list of more "
                                               "than 100,000")
        assert (good.status, good.text) == ("queued", f"A N{n}")
        assert [r[5] for r in kit.history(f"c{n}") if r[4] == "s.1"] == ["failed"]
        assert kit.runs(f"c{n}")[0].outcome == "completed"


def test_a_failed_message_is_in_the_state_file_and_status(tmp_path):
    from journeylang.compile import write_json
    from runtime_kit import compile_text
    tables = tmp_path / "t.json"
    write_json(compile_text(FAILING), tables)
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(
        {"id": f"e{n}", "type": "signup", "customer": f"c{n}", "at": "2026-03-02T10:00:00Z",
         "attributes": {"name": "Li", "pad": "ab"}}) + "\n" for n in range(50)))
    runner = CliRunner()
    result = runner.invoke(main, ["run", "--tables", str(tables), "--events", str(events)])
    assert result.exit_code == 0, result.output
    again = runner.invoke(main, ["run", "--tables", str(tables), "--events", str(events)])
    assert again.exit_code == 0 and "50 already applied" in again.output  # never blocked
    out = runner.invoke(main, ["status", "--tables", str(tables), "--outbox", "--status",
                               "failed", "--json", "--limit", "100"])
    rows = json.loads(out.stdout)
    assert len(rows) == 50 and all(r["payload"]["error"].startswith("over a template limit")
                                   for r in rows)
    customer = json.loads(runner.invoke(main, ["status", "--tables", str(tables), "--customer",
                                               "c7", "--json"]).stdout)
    assert [(h["step"], h["what"]) for h in customer["history"]][:3] == [
        (None, "entered"), ("s.1", "failed"), ("s.2", "sent")] or \
        ("s.1", "failed") in [(h["step"], h["what"]) for h in customer["history"]]


# --- preview: exactly the runtime's rendering, failures as diagnostics ----------------------------

PREVIEW = journey("  stage s {\n    n: send via wecom template t with { n: 0 }\n"
                  "    exit completed\n  }", header='  entry on cart_abandoned\n'
                  '  template t "{{ cart.items }} and {{ cart.value / n }}"')


def _preview(tmp_path, text, event=None):
    (tmp_path / "p.journey").write_text(text, encoding="utf-8")
    (tmp_path / "c.json").write_text(json.dumps({"name": "Li"}))
    (tmp_path / "e.json").write_text(json.dumps(event or {"cart": {"items": "2 mugs",
                                                                     "value": 10}}))
    return CliRunner().invoke(main, ["preview", str(tmp_path / "p.journey"), "n", "--customer",
                                     str(tmp_path / "c.json"), "--event", str(tmp_path / "e.json")])


def test_preview_renders_business_objects_as_the_runtime_does(tmp_path):
    text = PREVIEW.replace("{{ cart.value / n }}", "{{ cart.value }}")
    result = _preview(tmp_path, text)
    assert result.exit_code == 0 and result.stdout == "2 mugs and 10\n"
    kit = Kit(text.replace("entry on cart_abandoned", "entry on cart_abandoned"))
    kit.send("cart_abandoned", attributes={"name": "Li"},
             data={"cart": {"items": "2 mugs", "value": 10}})
    assert kit.messages()[0].text == "2 mugs and 10"


@pytest.mark.parametrize("template, message", [
    ("{{ cart.items }} and {{ cart.value / n }}", "ZeroDivisionError: division by zero"),
    ("{{ range(10**9)|list }}", "OverflowError: Range too big. The sandbox blocks ranges larger "
                                "than MAX_RANGE (100000)."),
    ("{% include 'x' %}", "TypeError: no loader for this environment specified"),
    ("{{ 'a' * 10**8 }}", "over a template limit: a text or list of more than 100,000 "
                          "characters or items"),
])
def test_preview_reports_every_failure_as_a_diagnostic(tmp_path, template, message):
    result = _preview(tmp_path, PREVIEW.replace("{{ cart.items }} and {{ cart.value / n }}",
                                                template))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    line = result.output.splitlines()[0]
    assert line == (f"{tmp_path / 'p.journey'}:4:14: JL407 error: template 't' cannot be "
                    f"rendered: {message}")


# --- the checker tells what it can ----------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("{{ '=' * 10**8 }}", [(1, "a render would go past a limit: a text or list of more than "
                               "100,000 characters or items")]),
    ("\n{{ x|center(10**9) }}", [(2, "a render would go past a limit: a text or list of more "
                                     "than 100,000 characters or items")]),
    ("{{ '{:>1000000000}'.format(x) }}", [(1, "a render would go past a limit: a formatted "
                                              "field of more than 100,000 characters or items")]),
    ("{{ '%1000000000d' % x }}", [(1, "a render would go past a limit: a formatted field of "
                                      "more than 100,000 characters or items")]),
    ("{{ 10 ** 100000000 }}", [(1, "a render would go past a limit: a number of more than 4,096 "
                                 "bits")]),
    ("{% for i in range(200000) %}{% endfor %}", [(1, "a render would go past a limit: a range "
                                                     "of more than 100,000 numbers")]),
    ("{% for i in range(1000) %}\n{% for j in range(1000) %}{% endfor %}{% endfor %}",
     [(2, "a render would go past a limit: nested loops of more than 100,000 iterations")]),
    ("{% extends 'base' %}", [(1, "'extends' cannot work: a message template stands alone (no "
                                  "other template can be loaded)")]),
    ("x" * 100_001, [(1, "it is 100,001 characters long; a template is at most 100,000")]),
    ("{{ '=' * 40 }}{{ x|center(80) }}{% for i in range(100) %}{% endfor %}", []),
    ("{{ x * 10**9 }}{{ x|center(n) }}", []),  # not constants: only a render can tell
])
def test_the_checker_flags_what_it_can_tell(text, expected):
    assert limit_problems(text) == expected
