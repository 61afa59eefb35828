"""libyaml (fast path) and PyYAML's pure-Python loader place every node at the same spot."""
from __future__ import annotations

import pytest

from journeylang import api
from journeylang.frontend import yaml as yaml_frontend

from conftest import EXAMPLES, FIXTURES

FILES = sorted(EXAMPLES.glob("*.yaml")) + sorted(FIXTURES.rglob("*.yaml"))


def _spans(node, found):
    """Every span in a model tree, in traversal order."""
    if isinstance(node, (list, tuple)):
        for item in node:
            _spans(item, found)
    elif hasattr(node, "__dataclass_fields__"):
        found.append(getattr(node, "span", None))
        for name in node.__dataclass_fields__:
            if name != "span":
                _spans(getattr(node, name), found)
    return found


@pytest.mark.skipif(yaml_frontend.FAST_LOADER is None, reason="PyYAML built without libyaml")
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_fast_and_pure_loaders_agree(path, monkeypatch):
    fast = api.check(path)
    monkeypatch.setattr(yaml_frontend, "FAST_LOADER", None)
    pure = api.check(path)
    assert fast.document.journey == pure.document.journey
    assert _spans(fast.document.journey, []) == _spans(pure.document.journey, [])
    assert [(d.code, d.span) for d in fast.diagnostics] == [(d.code, d.span) for d in pure.diagnostics]


def test_cjk_text_before_a_node_keeps_columns(tmp_path):
    path = tmp_path / "cjk.yaml"
    path.write_text('journey: u\nstages:\n  - stage: one\n    steps:\n'
                    '      - send: {template: "中文中文", via: wecom, bogus: 1}\n'
                    '      - exit: completed\n', encoding="utf-8")
    [diagnostic] = [d for d in api.check(path).diagnostics if d.code == "JL004"]
    assert (diagnostic.span.line, diagnostic.span.column) == (5, 46)
