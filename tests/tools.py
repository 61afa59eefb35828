"""External tools some tests need (Chromium, Graphviz, the language server's packages).

Where a tool is missing a test is skipped on a developer's machine, but fails under CI=true:
CI installs every tool (.ci/run), so a skip there would hide a broken set-up and let the
browser, Graphviz or LSP tests pass without running.
"""
from __future__ import annotations

import importlib
import os
import shutil

import pytest

CI = os.environ.get("CI", "").strip().lower() == "true"


def missing(reason: str, module_level: bool = False):
    """Skip (or, under CI=true, fail) the running test or module: ``reason`` says what is missing."""
    if CI:
        pytest.fail(f"{reason} (CI=true: CI must install it, so this fails instead of skipping)",
                    pytrace=False)
    pytest.skip(reason, allow_module_level=module_level)


def needs(available: bool, reason: str) -> pytest.MarkDecorator:
    """A mark for tests that need a tool; conftest.py skips or fails them when it is missing."""
    return pytest.mark.needs(available=available, reason=reason)


def needs_program(name: str, what: str) -> pytest.MarkDecorator:
    return needs(shutil.which(name) is not None, f"{what} ('{name}') is not installed")


def import_or_skip(module: str):
    """``pytest.importorskip`` that fails under CI=true (call it at a test module's top)."""
    try:
        return importlib.import_module(module)
    except ImportError:
        missing(f"the Python package {module} is not installed", module_level=True)


needs_dot = needs_program("dot", "Graphviz")
