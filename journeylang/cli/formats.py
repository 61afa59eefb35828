"""Machine-readable renderings of diagnostics: JSON, SARIF 2.1.0 (sarif.py), GitHub annotations,
JUnit XML."""
from __future__ import annotations

import json
from pathlib import PurePath

from .. import __version__
from ..diagnostics import Diagnostic, Severity
from .sarif import to_sarif

_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def counts(diagnostics: list[Diagnostic]) -> dict[str, int]:
    return {str(level): sum(d.severity is level for d in diagnostics)
            for level in (Severity.ERROR, Severity.WARNING, Severity.INFO)}


def _span_dict(span) -> dict:
    return {"file": span.file, "line": span.line, "column": span.column,
            "end_line": span.end_line, "end_column": span.end_column}


def to_json(diagnostics: list[Diagnostic], files: list[str]) -> str:
    data = {
        "tool": "journeylang", "version": __version__, "files": files,
        "summary": counts(diagnostics),
        "diagnostics": [
            {**_span_dict(d.span), "code": d.code, "severity": str(d.severity),
             "message": d.message, "hint": d.hint,
             "related": [{**_span_dict(r.span), "message": r.message} for r in d.related]}
            for d in diagnostics],
    }
    return json.dumps(data, indent=2, ensure_ascii=False)


def _uri(file: str) -> str:
    return PurePath(file).as_posix()


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_lines(diagnostics: list[Diagnostic]) -> list[str]:
    """One GitHub Actions workflow command (an annotation) per diagnostic."""
    lines = []
    for d in diagnostics:
        props = (f"file={_escape_property(_uri(d.span.file))},line={d.span.line},"
                 f"col={d.span.column},endLine={d.span.end_line},endColumn={d.span.end_column},"
                 f"title={_escape_property(d.code)}")
        message = d.message + (f" (hint: {d.hint})" if d.hint else "")
        lines.append(f"::{_GITHUB_LEVEL[d.severity]} {props}::{_escape_data(message)}")
    return lines


def to_github(diagnostics: list[Diagnostic], files: list[str]) -> str:
    """GitHub Actions workflow commands: one annotation per diagnostic."""
    return "\n".join(github_lines(diagnostics))


def to_junit(diagnostics: list[Diagnostic], files: list[str]) -> str:
    """JUnit XML: a test suite per file, a failing test case per diagnostic."""
    from xml.etree import ElementTree as ET  # only for this format: `journey check` never asks
    root = ET.Element("testsuites", name="journeylang")
    by_file: dict[str, list[Diagnostic]] = {}
    for d in diagnostics:
        by_file.setdefault(d.span.file, []).append(d)
    for file in files:
        found = by_file.get(file, [])
        failing = [d for d in found if d.severity is Severity.ERROR]
        suite = ET.SubElement(root, "testsuite", name=file, tests=str(max(1, len(found))),
                              failures=str(len(failing)), errors="0")
        if not found:
            ET.SubElement(suite, "testcase", classname=file, name="journeylang check")
        for d in found:
            case = ET.SubElement(suite, "testcase", classname=file,
                                 name=f"{d.code} at {d.span.line}:{d.span.column}")
            tag = "failure" if d.severity is Severity.ERROR else "system-out"
            element = ET.SubElement(case, tag)
            if tag == "failure":
                element.set("message", d.message)
                element.set("type", str(d.severity))
            element.text = f"{d.span}: {d.code} {d.severity}: {d.message}" + (
                f"\nhint: {d.hint}" if d.hint else "")
    root.set("tests", str(sum(int(s.get("tests")) for s in root)))
    root.set("failures", str(sum(int(s.get("failures")) for s in root)))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


FORMATTERS = {"json": to_json, "sarif": to_sarif, "github": to_github, "junit": to_junit}
