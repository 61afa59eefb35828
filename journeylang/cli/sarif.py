"""SARIF 2.1.0 output for code-scanning tools: rules with their docs, results relative to SRCROOT."""
from __future__ import annotations

import json
from pathlib import Path, PurePath
from urllib.parse import quote

from .. import __version__
from ..diagnostics import Diagnostic, Severity
from ..lint import REGISTRY
from ..lint.reference import rule_url
from ..resources import docs_base

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "SRCROOT"  # the base id code-scanning services (GitHub's upload-sarif) map to a checkout
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def artifact_location(file: str, root: Path) -> dict:
    """A path relative to ``root`` (SRCROOT) when it is inside it, else an absolute file URI."""
    path = Path(file)
    if path.is_absolute():
        try:
            path = path.relative_to(root)
        except ValueError:
            return {"uri": path.as_uri()}
    return {"uri": quote(PurePath(path).as_posix()), "uriBaseId": SRCROOT}


def _rule(code: str, base: str | None) -> dict:
    rule = REGISTRY[code]
    described = {"id": code, "name": rule.name, "shortDescription": {"text": rule.summary},
                 "fullDescription": {"text": rule.doc or rule.summary},
                 "defaultConfiguration": {"level": _LEVEL[rule.severity]},
                 "help": {"text": rule.doc or rule.summary}}
    if base:
        described["helpUri"] = rule_url(code)
    return described


def _location(span, root: Path, message: str | None = None, index: int | None = None) -> dict:
    location = {"physicalLocation": {
        "artifactLocation": artifact_location(span.file, root),
        "region": {"startLine": span.line, "startColumn": span.column,
                   "endLine": span.end_line, "endColumn": span.end_column}}}
    if index is not None:
        location["id"] = index
    if message:
        location["message"] = {"text": message}
    return location


def _result(d: Diagnostic, codes: list[str], root: Path) -> dict:
    result = {"ruleId": d.code, "level": _LEVEL[d.severity],
              "message": {"text": d.message + (f" ({d.hint})" if d.hint else "")},
              "locations": [_location(d.span, root)]}
    if d.code in REGISTRY:
        result["ruleIndex"] = codes.index(d.code)
    if d.related:
        result["relatedLocations"] = [_location(r.span, root, r.message, i)
                                      for i, r in enumerate(d.related)]
    return result


def to_sarif(diagnostics: list[Diagnostic], files: list[str], root: Path | None = None) -> str:
    """The SARIF log of one lint run; paths are relative to ``root`` (the working folder)."""
    root = (root or Path.cwd()).resolve()
    codes, base = sorted(REGISTRY), docs_base()
    driver = {"name": "journeylang", "version": __version__,
              "rules": [_rule(code, base) for code in codes]}
    if base:
        driver["informationUri"] = base + "rules.md"
    log = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [{
        "tool": {"driver": driver},
        "originalUriBaseIds": {SRCROOT: {"uri": root.as_uri() + "/"}},
        # our columns count characters (code points), not SARIF's default UTF-16 units
        "columnKind": "unicodeCodePoints",
        "artifacts": [{"location": artifact_location(f, root)} for f in files],
        "results": [_result(d, codes, root) for d in diagnostics]}]}
    return json.dumps(log, indent=2, ensure_ascii=False)
