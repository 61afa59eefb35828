"""The docs and examples point at things that exist: files, sections, install commands."""
from __future__ import annotations

import re

import pytest

from conftest import ROOT

TEXTS = sorted(p for folder in ("docs", "examples", "stdlib") for p in (ROOT / folder).rglob("*")
               if p.is_file() and p.suffix in (".md", ".yaml", ".journey", ".toml")) + [
    ROOT / "README.md", ROOT / ".pre-commit-hooks.yaml"]


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_cited_docs_exist(path):
    text = path.read_text(encoding="utf-8")
    for cited in re.findall(r"(?<![\w/.])(docs/[\w.-]+\.md)", text):
        assert (ROOT / cited).is_file(), f"{path.name} cites {cited}, which does not exist"
    for cited, section in re.findall(r"(docs/[\w.-]+\.md), \"([^\"]+)\"", text):
        headings = re.findall(r"^#+ (.+)$", (ROOT / cited).read_text(encoding="utf-8"), re.M)
        assert any(h == section or h.startswith(section + " (") for h in headings), \
            f"{path.name} cites a section {section!r} of {cited}"
    assert "../shared/" not in text


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_install_from_a_package_index_or_release_tag(path):
    """journeylang is installed from a clone or its git repository: it is not on a package
    index and has no release tags yet."""
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"pip install (-U )?['\"]?journeylang\b(?!\s*@)", text), path.name
    assert not re.search(r"\brev: v\d", text) and "pypi.org" not in text, path.name
