"""`journey convert` carries every comment, next to the item it was written beside, and so
every suppression: on the bundled examples, the pair fixtures and random journeys."""
from __future__ import annotations

from dataclasses import replace

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeylang import api
from journeylang.frontend import parse_source
from journeylang.frontend.yaml_comments import yaml_comments
from journeylang.printer import convert_document, print_journey
from journeylang.printer.comments import END, HEADER, LEADING, TRAILING
from journeylang.printer.format import source_comments
from journeylang.source import Source

from conftest import EXAMPLES, FIXTURES
from journeys_strategy import journeys

FILES = (sorted(EXAMPLES.glob("*.journey")) + sorted(EXAMPLES.glob("*.yaml"))
         + sorted((FIXTURES / "pair").glob("*")))
OTHER = {".journey": "yaml", ".yaml": "journey"}


def _document(text: str, name: str):
    document = parse_source(Source(name, text))
    assert document.diagnostics == [], text
    return document


def _anchored(document) -> list[tuple]:
    """Each comment with the item it sits beside (its anchor key) and whether it is on a
    line of its own before it, on one of its lines, or at its end (an item on one line in
    one form may take several in the other)."""
    where = {LEADING: "before", HEADER: "on", TRAILING: "on", END: "end"}
    return sorted((key, where[slot], comment.text) for key, slot, comment
                  in source_comments(document)[1].entries())


def _converted(path, text: str | None = None) -> tuple[str, str]:
    """The file converted to the other form (its name, its text)."""
    text = path.read_text(encoding="utf-8") if text is None else text
    name = f"{path.stem}.{OTHER[path.suffix]}"
    return name, convert_document(_document(text, path.name), OTHER[path.suffix], name)


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_comment_stays_beside_its_item_both_ways(path):
    source = _document(path.read_text(encoding="utf-8"), path.name)
    name, converted = _converted(path)
    there = _document(converted, name)
    assert _anchored(there) == _anchored(source)
    back = convert_document(there, path.suffix[1:], path.name)
    assert _anchored(_document(back, path.name)) == _anchored(source)
    assert len(_anchored(source)) > 0


def test_a_yaml_text_with_comments_reads_them_all():
    text = ("# top\njourney: j  # id\ndescription: |\n  not # a comment\n# after the text\n"
            "stages: [] # a list\nx: \"quoted # not\"  # yes\n")
    assert [c.text for c in yaml_comments(text, "j.yaml")] == [
        "# top", "# id", "# after the text", "# a list", "# yes"]


# --- suppressions ------------------------------------------------------------------------

STRICT = {"naming": "^zz$"}  # every name breaks it: a JL505 on journeys, stages, steps, arms...


def _strict(path):
    return replace(api.config_for(path), **STRICT)


def _findings(path, config) -> list:
    """The JL505 findings in the file itself (not in the fragments it uses)."""
    return [d for d in api.check(path, config).diagnostics
            if d.code == "JL505" and d.span.file == str(path)]


def _suppressed(path, trailing: bool) -> str:
    """The file with a directive for each of its JL505 findings: at the end of the line
    where a comment may stand there, else on a line of its own before it."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    found = {d.span.line for d in _findings(path, _strict(path))}
    assert found, path
    closed = _lines_that_may_end_in_a_comment(text, path.suffix)
    for line in sorted(found, reverse=True):
        if trailing and line in closed and "#" not in lines[line - 1]:
            lines[line - 1] += "  # journeylang: disable=JL505"
        else:
            indent = len(lines[line - 1]) - len(lines[line - 1].lstrip())
            lines.insert(line - 1, " " * indent + "# journeylang: disable=JL505")
    return "\n".join(lines)


def _lines_that_may_end_in_a_comment(text: str, suffix: str) -> set[int]:
    lines = set(range(1, text.count("\n") + 2))
    if suffix == ".yaml":
        for token in yaml.scan(text, Loader=yaml.SafeLoader):
            if isinstance(token, yaml.ScalarToken):
                lines -= set(range(token.start_mark.line + 1, token.end_mark.line + 1))
        return lines
    opened = False
    for number, line in enumerate(text.split("\n"), start=1):
        if opened or '"""' in line:
            lines.discard(number)
        opened ^= line.count('"""') % 2 == 1
    return lines


@pytest.mark.parametrize("trailing", [True, False], ids=["trailing", "own-line"])
@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_converted_files_show_nothing_the_source_suppressed(tmp_path, path, trailing):
    source = tmp_path / path.name
    source.write_text(_suppressed(path, trailing), encoding="utf-8")
    assert _findings(source, _strict(path)) == []
    name, converted = _converted(source)
    target = tmp_path / name
    target.write_text(converted, encoding="utf-8")
    assert [d.message for d in _findings(target, _strict(path))] == []


# --- random journeys, random comments ------------------------------------------------------

PROPERTY = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def commented_journeys(draw):
    """A printed random journey with comments at the end of some lines and on lines of their
    own between others."""
    text = print_journey(draw(journeys()))
    lines = text.rstrip("\n").split("\n")
    closed = _lines_that_may_end_in_a_comment(text, ".journey")
    out = []
    for number, line in enumerate(lines, start=1):
        if number > 1 and number in closed and draw(st.integers(0, 4)) == 0:
            indent = len(line) - len(line.lstrip())
            out.append(" " * indent + f"# before {number}")
        out.append(line + (f"  # at {number}" if number in closed and
                           draw(st.integers(0, 3)) == 0 else ""))
    return "\n".join(out) + "\n"


@PROPERTY
@given(commented_journeys())
def test_random_comments_survive_both_ways_beside_their_items(text):
    source = _document(text, "j.journey")
    converted = convert_document(source, "yaml", "j.yaml")
    there = _document(converted, "j.yaml")
    assert there.journey == source.journey
    assert sorted(c.text for c in yaml_comments(converted, "j.yaml")) == \
        sorted(c.text for c in source.comments)
    back = _document(convert_document(there, "journey", "j.journey"), "j.journey")
    assert back.journey == source.journey
    assert sorted(c.text for c in back.comments) == sorted(c.text for c in source.comments)
