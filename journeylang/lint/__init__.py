"""Checks: registered rules run over a journey's model and graph."""
from __future__ import annotations

from .registry import REGISTRY, Issue, LintContext, Rule, rule, run_rules
from . import rules  # noqa: E402,F401  (registers every rule)

__all__ = ["REGISTRY", "Issue", "LintContext", "Rule", "rule", "run_rules"]
