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


@cache
def docs_base() -> str | None:
    """Where the docs folder is, ending in '/': the ``Documentation`` URL the installed project
    declares, else the docs shipped beside the code (a file URI); None when neither exists."""
    from importlib import metadata  # slow to import, and only SARIF output asks
    try:
        urls = metadata.metadata("journeylang").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        urls = []
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "documentation" and url.strip():
            return url.strip().rstrip("/") + "/"
    try:
        return resource_dir("docs").as_uri() + "/"
    except FileNotFoundError:
        return None
