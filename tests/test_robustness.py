"""Bad input never crashes the parser or the checker: only diagnostics come out."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings, strategies as st

from journeylang import api
from journeylang.diagnostics import Diagnostic

from conftest import EXAMPLES, FIXTURES

SEEDS = sorted(
    [p for p in EXAMPLES.glob("*") if p.suffix in (".journey", ".yaml", ".yml")]
    + list((FIXTURES / "rules").glob("*/*.journey")) + list(FIXTURES.glob("pair/*")),
    key=str)
TOKENS = ["{", "}", "->", ":", ";", "-", "%", '"', '"""', "#", "wait", "send", "goto", "exit",
          "branch", "split", "when", "else", "2h", "99%", "25:99", "\n", "  ", "\t", "[", "]",
          "- ", "steps:", "stage:", "journey:", "&a", "*a", "!!python/object", "\x00", "é", "中"]


def _check(text: str, suffix: str) -> None:
    result = api.check_text(text, f"fuzz{suffix}")
    assert all(isinstance(d, Diagnostic) for d in result.diagnostics)
    for d in result.diagnostics:
        assert d.span.line >= 1 and d.span.column >= 1, d


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([".journey", ".yaml"]))
def test_random_bytes(data, suffix):
    _check(data.decode("utf-8", errors="replace"), suffix)


@st.composite
def mutated(draw, seeds=SEEDS, pieces=st.one_of(st.sampled_from(TOKENS), st.text(max_size=5))):
    """A seed file with a few pieces deleted, inserted (from ``pieces``) or repeated."""
    path = draw(st.sampled_from(seeds))
    text = path.read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["delete", "insert", "duplicate"]))
        if action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        elif action == "insert":
            text = text[:at] + draw(pieces) + text[at:]
        else:
            end = min(len(text), at + draw(st.integers(1, 80)))
            text = text[:end] + text[at:end] + text[end:]
    return text, path.suffix


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_journeys(case):
    text, suffix = case
    _check(text, suffix)


def test_seeds_exist():
    assert len(SEEDS) >= 10
