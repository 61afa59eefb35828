"""YAML frontend, comments: the ``#`` comments of a YAML text (PyYAML's loaders drop them),
for ``journey convert``. Between two tokens there is only white space and comments; every
``#`` there starts a comment that runs to the end of its line."""
from __future__ import annotations

import yaml

from ..diagnostics import Span
from . import Comment


def yaml_comments(text: str, file: str) -> list[Comment]:
    """Every comment of ``text`` in order; none when the text is not valid YAML."""
    try:
        tokens = list(yaml.scan(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    except yaml.YAMLError:
        return []
    found, start = [], 0
    for token in tokens:
        found += _in_gap(text, start, token.start_mark.index, file)
        start = max(start, token.end_mark.index)
    return found + _in_gap(text, start, len(text), file)


def _in_gap(text: str, start: int, end: int, file: str) -> list[Comment]:
    found = []
    hash_at = text.find("#", start, end)
    while hash_at >= 0:
        stop = text.find("\n", hash_at, end)
        stop = end if stop < 0 else stop
        line = text.count("\n", 0, hash_at) + 1
        column = hash_at - (text.rfind("\n", 0, hash_at) + 1) + 1
        comment = text[hash_at:stop].rstrip("\r")
        found.append(Comment(comment, Span(file, line, column, line, column + len(comment))))
        hash_at = text.find("#", stop, end)
    return found
