"""The operations lint rules beyond the fixtures: the wording rulebook and its configuration, the
placing of phrases in template texts, and the path bound behind the capacity rule."""
from __future__ import annotations

from pathlib import Path

import marshal
import re

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from journeylang import api, cache_folder
from journeylang.config import BUILTIN_CATEGORIES, ConfigError, load_config
from journeylang.diagnostics import Severity
from journeylang.graph import build_graph
from journeylang.lint.flow import heaviest_path
from journeylang.lint import wording
from journeylang.lint.wording import builtin_rules, find_hits, phrase_pattern
from journeylang.resources import resource_dir

HEAD = 'journey j "J" version 1 {\n  owner "o"\n  policy { consent wecom }\n'


def _journey(templates: str, sends: str = "send via wecom template t") -> str:
    return f"{HEAD}{templates}\n  stage a {{\n    {sends}\n    exit completed\n  }}\n}}\n"


def _found(result, code):
    return [(d.span.line, d.span.column, d.severity, d.message)
            for d in result.diagnostics if d.code == code]


# --- the rulebook -------------------------------------------------------------------------

def test_rulebook_ships_in_stdlib_with_the_configured_categories():
    book = yaml.safe_load((resource_dir("stdlib") / "content" / "rulebook.yaml").read_text("utf-8"))
    assert tuple(book["categories"]) == BUILTIN_CATEGORIES
    for category in book["categories"].values():
        assert category["message"] and category["hint"] and set(category["phrases"]) == {"en", "zh"}
    assert all(r.severity is Severity.WARNING for r in builtin_rules()["induced_sharing"])


@pytest.mark.parametrize("phrase, text, hit", [
    ("guaranteed", "GUARANTEED results", True),
    ("guaranteed", "unguaranteed", False),
    ("forward to", "forwarded to you", False),
    ("forward to", "Forward\n  to a friend", True),
    ("before it's gone", "before it’s gone", True),
    ("100%有效", "满减100%有效", True),
    ("第一", "全网第一！", True),
])
def test_phrase_matching(phrase, text, hit):
    assert bool(phrase_pattern(phrase).search(text)) is hit


def _with_look_arounds(phrase: str) -> re.Pattern:
    """A phrase as one expression, its word boundaries written as look-arounds."""
    latin = "0-9A-Za-z_\u00c0-\u024f"
    body = phrase_pattern(phrase).body.pattern
    if re.match(f"[{latin}]", phrase.strip()[0]):
        body = f"(?<![{latin}])" + body
    if re.match(f"[{latin}]", phrase.strip()[-1]):
        body += f"(?![{latin}])"
    return re.compile(body, re.IGNORECASE)


_ALPHABET = "aA ’'_1É第\u212a\u017fk"


@settings(max_examples=500, deadline=None)
@given(st.text(_ALPHABET, min_size=1, max_size=4).filter(str.strip),
       st.text(_ALPHABET, max_size=16))
@example("a第a", "1a第a第a").via("a match that fails its boundary overlaps the next")
@example("k", "\u212a").via("the Kelvin sign is a k to a case-insensitive expression")
def test_phrases_match_where_their_expression_with_look_arounds_does(phrase, text):
    expected = [m.span() for m in _with_look_arounds(phrase).finditer(text)]
    assert [m.span() for m in phrase_pattern(phrase).finditer(text)] == expected


@settings(max_examples=500, deadline=None)
@given(st.text(_ALPHABET + "第一\u0130i\u0131sS%", min_size=1, max_size=4).filter(str.strip),
       st.text(_ALPHABET + "第一\u0130i\u0131sS%", max_size=16))
@example("sk", "\u017f\u212a").via("ſ and K, the Kelvin sign, are s and k ignoring case")
@example("第 一", "第\n一").via("white space between the pieces")
def test_a_phrase_ruled_out_by_its_pieces_never_matches(phrase, text):
    if not wording._may_occur(text)(phrase):
        assert list(phrase_pattern(phrase).finditer(text)) == []


def test_hits_are_the_same_with_every_phrase_tried(monkeypatch):
    rules = [rule for rules in builtin_rules().values() for rule in rules]
    texts = ["Guaranteed! Last chance, don’t miss out", "全网第一，第一次最好在最好，转发集赞",
             "\u017fhare to get it, \u212aeep it", "限时 100%有效 ACT NOW", "Hello {{ name }}"]
    found = {(text, locale): find_hits(text, locale, rules)
             for text in texts for locale in (None, "en", "zh")}
    assert sum(map(len, found.values())) > 10
    monkeypatch.setattr(wording, "_may_occur", lambda text: lambda phrase: True)
    assert found == {(text, locale): find_hits(text, locale, rules)
                     for text in texts for locale in (None, "en", "zh")}


def test_every_rulebook_phrase_matches_as_with_look_arounds():
    texts = ["Guaranteed! unguaranteed guarantees, a guarantee.", "act  now, ACT NOW2, "
             "react now", "don’t miss out; Don't miss outs", "全网第一，第一次最好在最好", ""]
    for rules in builtin_rules().values():
        for phrase in {p for rule in rules for p in rule.phrases + rule.allow}:
            for text in texts:
                assert [m.span() for m in phrase_pattern(phrase).finditer(text)] == \
                    [m.span() for m in _with_look_arounds(phrase).finditer(text)]


def test_the_rulebook_is_read_back_from_the_cache_without_yaml(tmp_path, monkeypatch):
    monkeypatch.setenv(cache_folder.CACHE_ENV, str(tmp_path))
    text = (resource_dir("stdlib") / "content" / "rulebook.yaml").read_text("utf-8")
    assert wording._read_rulebook(text) == yaml.safe_load(text)
    [cached] = tmp_path.glob("rulebook-*")
    monkeypatch.setattr(yaml, "safe_load", lambda text: pytest.fail("read the YAML again"))
    assert wording._read_rulebook(text) == yaml.load(text, yaml.SafeLoader)
    monkeypatch.undo()
    monkeypatch.setenv(cache_folder.CACHE_ENV, str(tmp_path))
    for damage in (b"\xff damaged", marshal.dumps(["not", "a", "rulebook"])):
        cached.write_bytes(damage)
        assert wording._read_rulebook(text) == yaml.safe_load(text)  # read again, replaced
        assert marshal.loads(cached.read_bytes()) == yaml.safe_load(text)
    edited = text.replace("guaranteed", "assured")
    assert "assured" in str(wording._read_rulebook(edited))  # another text, another file
    assert len(list(tmp_path.glob("rulebook-*"))) == 2


def test_jinja_expressions_never_match_and_allowed_phrases_are_kept():
    rules = [r for rules in builtin_rules().values() for r in rules]
    assert find_hits("{{ guaranteed }} {% if last_chance %}ok{% endif %}", None, rules) == []
    assert find_hits("欢迎第一次光临", "zh", rules) == []
    assert [(h.start, h.end) for h in find_hits("稳居第一", "zh", rules)] == [(2, 4)]


def test_locale_lists_apply_to_their_locale_its_regions_and_default_texts():
    rules = builtin_rules()["pressure"]
    assert find_hits("Last chance", "en-GB", rules) and find_hits("Last chance", None, rules)
    assert find_hits("Last chance", "fr", rules) == []
    assert find_hits("马上抢", "en", rules) == []


# --- positions in the journey file and in template files -------------------------------------

def test_dsl_escapes_and_check_text_without_a_file():
    text = _journey('  template t "Say \\"hi\\"\\tnow: LAST chance"')
    result = api.check_text(text, "<editor>.journey")
    assert _found(result, "JL721") == [
        (4, 32, Severity.WARNING,
         "template 't' says \"LAST chance\": pressure wording that rushes the customer")]


def test_template_files_are_checked_when_sent(write):
    path = write("j.journey", _journey("", "send via wecom template promo"))
    folder = path.parent / "templates"
    folder.mkdir()
    (folder / "promo.zh.j2").write_text("{{ customer.name }}，\n马上抢！", encoding="utf-8")
    (folder / "unused.j2").write_text("Guaranteed!", encoding="utf-8")
    found = [(Path(d.span.file).name, d.span.line, d.span.column)
             for d in api.check(path).diagnostics if d.code == "JL721"]
    assert found == [("promo.zh.j2", 2, 1)]


# --- configuration ------------------------------------------------------------------------

def _config(tmp_path, text: str):
    path = tmp_path / ".journeylang.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_operator_rules_categories_and_builtin_switch(tmp_path):
    config = _config(tmp_path, '[content]\ncategories = ["pressure"]\n'
                               '[[content.rules]]\nname = "brand"\nphrases = ["cheapest"]\n'
                               'locales = ["en"]\nseverity = "error"\nmessage = "brand words"\n')
    text = _journey('  template t "The cheapest, guaranteed. Last chance."')
    found = _found(api.check_text(text, "j.journey", config), "JL721")
    assert [(line, col, severity) for line, col, severity, _ in found] == [
        (4, 19, Severity.ERROR), (4, 41, Severity.WARNING)]
    assert found[0][3] == "template 't' says \"cheapest\": brand words"
    quiet = _config(tmp_path, "[content]\nbuiltin = false\n")
    assert _found(api.check_text(text, "j.journey", quiet), "JL721") == []


@pytest.mark.parametrize("table, message", [
    ("[content]\nbuiltn = true\n", "unknown key 'content.builtn'; did you mean 'content.builtin'?"),
    ("[content]\nbuiltin = 1\n", "content.builtin must be a bool, not int"),
    ("[content]\ncategories = [\"presure\"]\n",
     "content.categories: unknown category 'presure'; did you mean 'pressure'?"),
    ("[[content.rules]]\nname = \"x\"\n", "content.rules[0] needs 'phrases'"),
    ("[[content.rules]]\nname = \"x\"\nphrases = []\n",
     "content.rules[0].phrases must list at least one non-empty phrase"),
    ("[[content.rules]]\nname = \"x\"\nphrases = [\"a\"]\nseverity = \"off\"\n",
     "content.rules[0].severity must be error, warning or info, not 'off'"),
    ("[[content.rules]]\nname = \"x\"\nphrases = [\"a\"]\nlocale = [\"en\"]\n",
     "unknown key 'content.rules[0].locale'; did you mean 'content.rules[0].locales'?"),
])
def test_bad_content_config_names_the_file_and_key(tmp_path, table, message):
    with pytest.raises(ConfigError) as error:
        _config(tmp_path, table)
    assert str(error.value) == f"{tmp_path / '.journeylang.toml'}: {message}"


# --- the capacity bound -------------------------------------------------------------------

def _heaviest(steps: str, role: str = "r") -> float:
    result = api.check_text(f"journey j {{\n stage a {{\n{steps}\n }}\n}}\n")
    graph = build_graph(result.journey)
    return heaviest_path(graph, lambda node: float(getattr(graph.step(node), "role", "") == role))


def test_heaviest_path_weights_splits_takes_the_worst_branch_and_counts_loops_once():
    assert _heaviest("s: split { x 25% -> h; y 75% -> done }\nh: handoff to r\n"
                     "handoff to r\ndone: exit completed") == pytest.approx(0.5)
    assert _heaviest("b: branch { when cart.value > 1 -> h; else -> done }\n"
                     "h: handoff to r\nhandoff to r\ndone: exit completed") == 2
    assert _heaviest("h: handoff to r\nw: wait for replied within 1d -> done timeout -> h\n"
                     "done: exit completed") == 1


def test_capacity_message_names_role_expectation_and_capacity():
    text = ('journey j {\n expect 3000 entries per 1d\n role advisor capacity 80 per 1d\n'
            ' stage a {\n  s: split { x 10% -> h; y 90% -> done }\n'
            '  h: handoff to advisor within 1h\n  done: exit completed\n }\n}\n')
    assert _found(api.check_text(text), "JL713") == [
        (3, 2, Severity.WARNING, "role 'advisor' can expect up to 300 handoffs per 1d (3000 "
                                 "entries per 1d x 0.1 handoffs per entry on the busiest path), "
                                 "over its capacity of 80")]


@pytest.mark.parametrize("first, second", [("loop", "vip"), ("vip", "loop")])
def test_heaviest_path_does_not_depend_on_which_way_into_a_loop_is_searched_first(first, second):
    # vip -> w -> loop -> w: two handoffs on one path, whichever branch arm is written first
    steps = (f"b: branch {{ when customer.new -> {first}; else -> {second} }}\n"
             "vip: handoff to r\ngoto w\nloop: handoff to r\n"
             "w: wait for replied within 1d -> done timeout -> loop\ndone: exit completed")
    assert _heaviest(steps) == 2


# --- scheduled entry and reentry ----------------------------------------------------------

@pytest.mark.parametrize("schedule, reentry, message, hint", [
    ("monday, thursday at 10:00", "", "the journey enters customers every week but with "
     "`reentry never`: each customer enters once, at the first occurrence",
     "add `reentry after 2d` (or `reentry always`)"),
    ("wednesday at 20:00", "reentry after 10d\n", "`reentry after 10d` is longer than the "
     "shortest time between two occurrences of the scheduled entry (7d): a customer who entered "
     "skips occurrences", "write `reentry after 6d` (or `reentry always`)"),
    ("quarter on day 31 at 10:00", "reentry after 90d\n", "`reentry after 90d` is longer than "
     "the shortest time between two occurrences of the scheduled entry (89d): a customer who "
     "entered skips occurrences", "write `reentry after 88d` (or `reentry always`)"),
])
def test_reentry_of_a_scheduled_entry_fits_the_shortest_gap(schedule, reentry, message, hint):
    text = (f'journey j "J" version 1 {{\n owner "o"\n entry every {schedule}\n {reentry}'
            ' stage a {\n  exit completed\n }\n}\n')
    found = [(d.message, d.hint) for d in api.check_text(text).diagnostics if d.code == "JL703"]
    assert found == [(message, hint)]


@pytest.mark.parametrize("schedule, reentry", [
    ("wednesday at 20:00", "6d"), ("wednesday at 20:00", "7d"), ("day at 09:00", "23h"),
    ("month on day 1 at 10:00", "28d"), ("quarter on day 1 at 10:00", "89d"),
    ("year on feb 29 at 10:00", "365d")])
def test_reentry_within_the_shortest_gap_is_clean(schedule, reentry):
    text = (f'journey j "J" version 1 {{\n owner "o"\n entry every {schedule}\n'
            f' reentry after {reentry}\n stage a {{\n  exit completed\n }}\n}}\n')
    assert [d for d in api.check_text(text).diagnostics if d.code == "JL703"] == []


# --- the promo budget along paths -----------------------------------------------------------

RULES = Path(__file__).parent / "fixtures" / "rules"


@pytest.mark.parametrize("fixture, message, related", [
    ("fail.journey", "every customer who gets this journey's messages receives more promotions "
     "than the promo budget of 30% allows: even on the path that sends tips, flash, bundle, 2 of "
     "the 3 messages are promo (66.7%)", [12, 14]),
    ("fail_path.journey", "a customer can receive more promotions than the promo budget of 40% "
     "allows: 1 of the 2 messages on the path that sends tips, flash are promo (50%)", [17]),
    ("fail_loop.journey", "every customer who gets this journey's messages receives more "
     "promotions than the promo budget of 30% allows: even on the path that sends tips, flash, 1 "
     "of the 2 messages are promo (50%)", [12]),
    ("fail_transactional.journey", "every customer who gets this journey's messages receives "
     "more promotions than the promo budget of 40% allows: even on the path that sends tips, "
     "flash, 1 of the 2 messages are promo (50%)", [17]),
])
def test_the_promo_budget_counts_the_messages_of_each_path(fixture, message, related):
    diagnostic, = [d for d in api.check(RULES / "JL722" / fixture).diagnostics
                   if d.code == "JL722"]
    assert diagnostic.message == message
    assert [r.span.line for r in diagnostic.related] == related


def test_a_loop_of_promotions_is_over_the_budget_each_time_round():
    text = (RULES / "JL722" / "fail_loop.journey").read_text(encoding="utf-8")
    text = text.replace("send via group template tips", "send via group template tips\n"
                        "    wait 1d\n    send via group template tips")
    text = text.replace("promo 30%", "promo 40%")
    diagnostic, = [d for d in api.check_text(text, "loop.journey").diagnostics
                   if d.code == "JL722"]
    assert diagnostic.message == (
        "a customer can receive more promotions than the promo budget of 40% allows: 1 of the 1 "
        "messages each time round the loop that sends flash are promo (100%)")


def test_alternative_versions_of_one_offer_count_once():
    found = [d for d in api.check(RULES / "JL722" / "pass_alternatives.journey").diagnostics
             if d.code == "JL722"]
    assert found == []
