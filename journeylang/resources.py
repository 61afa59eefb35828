"""Locate the bundled grammar and stdlib, from a checkout or an installed wheel."""
from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


@cache
def resource_dir(name: str) -> Path:
    """The ``grammar`` or ``stdlib`` folder: inside the package in a wheel, beside it in a checkout."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"journeylang is installed without its {name}/ folder")


def grammar_text() -> str:
    return (resource_dir("grammar") / "journey.lark").read_text(encoding="utf-8")
