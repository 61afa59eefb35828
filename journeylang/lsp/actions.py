"""Language server: quick fixes for the diagnostics under the cursor: a did-you-mean
replacement, an `else` for a branch without one (JL205), a `within` for a wait without a
timeout (JL208, JL212)."""
from __future__ import annotations

import re

import yaml
from lark import Tree
from lark.exceptions import LarkError
from lsprotocol import types
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .. import ast
from ..frontend.text import parse_tree
from .analysis import Analysis
from .diagnostics import SOURCE
from .positions import Lines

TIMEOUT = "24h"  # the playbooks' usual wait for a reply before the next touch
_MEANT = re.compile(r"did you mean '([^']+)'")
_QUOTED = re.compile(r"'([^']+)'")


def code_actions(analysis: Analysis, lines: Lines,
                 params: types.CodeActionParams) -> list[types.CodeAction]:
    found = []
    for diagnostic in params.context.diagnostics:
        if diagnostic.source != SOURCE:
            continue
        found += did_you_mean(analysis, lines, diagnostic)
        if diagnostic.code == "JL205":
            found += add_else(analysis, lines, diagnostic)
        if diagnostic.code in ("JL208", "JL212"):
            found += add_within(analysis, lines, diagnostic)
    return found


def _fix(title: str, analysis: Analysis, diagnostic, edits, preferred=False) -> types.CodeAction:
    return types.CodeAction(title=title, kind=types.CodeActionKind.QuickFix,
                            diagnostics=[diagnostic], is_preferred=preferred,
                            edit=types.WorkspaceEdit(changes={analysis.uri: edits}))


# --- did you mean ---------------------------------------------------------------------------------

def did_you_mean(analysis: Analysis, lines: Lines, diagnostic) -> list[types.CodeAction]:
    """Replace the unknown name the message quotes by the one its hint suggests."""
    meant = _MEANT.search(diagnostic.message)
    wrong = _QUOTED.search(diagnostic.message.split("\n")[0])
    if not meant or not wrong or meant.group(1) == wrong.group(1):
        return []
    where = _find_word(lines, diagnostic.range, wrong.group(1))
    if where is None:
        return []
    right = meant.group(1)
    return [_fix(f"Change '{wrong.group(1)}' to '{right}'", analysis, diagnostic,
                 [types.TextEdit(where, right)], preferred=True)]


def _find_word(lines: Lines, where: types.Range, word: str) -> types.Range | None:
    """The first whole-word ``word`` inside ``where`` (or on its first line)."""
    start, end = lines.offset(where.start), lines.offset(where.end)
    if end <= start:
        end = lines.starts[where.start.line] + len(lines.line(where.start.line))
    found = re.compile(rf"(?<![\w.]){re.escape(word)}(?![\w])").search(lines.text, start, end)
    if found is None:
        return None
    return types.Range(lines.at(found.start()), lines.at(found.end()))


# --- JL205: add an else ------------------------------------------------------------------------------

def add_else(analysis: Analysis, lines: Lines, diagnostic) -> list[types.CodeAction]:
    step, stage = _step_at(analysis, diagnostic.range)
    if not isinstance(step, ast.Branch):
        return []
    actions = []
    for target in _else_targets(analysis.model, stage, step):
        edit = (_yaml_else if analysis.source.is_yaml else _dsl_else)(analysis, lines, step, target)
        if edit is not None:
            actions.append(_fix(f"Add `else -> {target}`", analysis, diagnostic, [edit],
                                preferred=not actions))
    return actions


def _step_at(analysis: Analysis, where: types.Range):
    journey = analysis.model
    for stage, step in journey.steps() if journey else ():
        if step.span.line == where.start.line + 1:
            return step, stage
    return None, None


def _else_targets(journey: ast.Journey, stage: ast.Stage, branch: ast.Branch) -> list[str]:
    """Where an else could lead: the step after the branch, the journey's exits, later stages."""
    steps = list(stage.steps)
    after = steps[steps.index(branch) + 1:] if branch in steps else []
    found = [s.name for s in after[:1] if not s.is_auto_named]
    found += [s.name for _, s in journey.steps() if isinstance(s, ast.Exit) and not s.is_auto_named]
    names = [s.name for s in journey.stages]
    found += names[names.index(stage.name) + 1:] if stage.name in names else []
    return list(dict.fromkeys(found))[:3] or names[:1]


def _dsl_else(analysis, lines: Lines, step: ast.Branch, target: str) -> types.TextEdit | None:
    start = lines.offset(lines.position(step.span.line, step.span.column))
    end = lines.offset(lines.position(step.span.end_line, step.span.end_column))
    brace = lines.text.rfind("}", start, end)
    if brace < 0:
        return None
    line_start = lines.text.rfind("\n", 0, brace) + 1
    if lines.text[line_start:brace].strip():  # `branch { when ... -> x }` on one line
        space = "" if lines.text[brace - 1].isspace() else " "
        return types.TextEdit(types.Range(lines.at(brace), lines.at(brace)),
                              f"{space}else -> {target} ")
    arm = re.search(r"\n([ \t]*)when\b", lines.text[start:brace])
    indent = arm.group(1) if arm else lines.text[line_start:brace] + "  "
    return types.TextEdit(types.Range(lines.at(line_start), lines.at(line_start)),
                          f"{indent}else -> {target}\n")


def _yaml_else(analysis, lines: Lines, step, target: str) -> types.TextEdit | None:
    node = _yaml_value_at(analysis, step.span.line, "branch")
    if not isinstance(node, SequenceNode) or not node.value:
        return None
    return _append(lines, node, f"{{else: {target}}}", f"- else: {target}",
                   node.value[-1].start_mark.column - 2)


# --- JL208 / JL212: add a within -------------------------------------------------------------------

def add_within(analysis: Analysis, lines: Lines, diagnostic) -> list[types.CodeAction]:
    step, _ = _step_at(analysis, diagnostic.range)
    if not isinstance(step, ast.WaitEvent):
        return []
    edit = (_yaml_within if analysis.source.is_yaml else _dsl_within)(analysis, lines, step)
    if edit is None:
        return []
    where = "the timeout target" if step.next else "the following step"
    return [_fix(f"Add a timeout: `within {TIMEOUT}` (then {where})", analysis, diagnostic,
                 [edit], preferred=True)]


def _dsl_within(analysis, lines: Lines, step: ast.WaitEvent) -> types.TextEdit | None:
    tree = _step_tree(analysis.source.text, step.span)
    if tree is None:
        return None
    body = tree.children[-1]
    if body.data == "wait_for":
        event, where = body.children[0], body.children[1]
        at = where.meta.end_pos if isinstance(where, Tree) else event.end_pos
    elif body.data == "wait_block":
        at = body.meta.start_pos + len("wait")
    else:
        return None
    return types.TextEdit(types.Range(lines.at(at), lines.at(at)), f" within {TIMEOUT}")


def _step_tree(text: str, span) -> Tree | None:
    try:
        tree = parse_tree(text)
    except LarkError:
        return None
    for subtree in tree.find_data("step"):
        if (subtree.meta.line, subtree.meta.column) == (span.line, span.column):
            return subtree
    return None


def _yaml_within(analysis, lines: Lines, step) -> types.TextEdit | None:
    node = _yaml_value_at(analysis, step.span.line, "wait")
    if not isinstance(node, MappingNode) or not node.value:
        return None
    return _append(lines, node, f"within: {TIMEOUT}", f"within: {TIMEOUT}",
                   node.value[0][0].start_mark.column)


# --- YAML nodes -------------------------------------------------------------------------------------

def _yaml_value_at(analysis: Analysis, line: int, key: str):
    """The value of ``key`` in the step mapping that starts on 1-based ``line``."""
    try:
        root = yaml.compose(analysis.source.text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, MappingNode):
            if node.start_mark.line + 1 == line:
                for k, value in node.value:
                    if isinstance(k, ScalarNode) and k.value == key:
                        return value
            stack += [value for _, value in node.value]
        elif isinstance(node, SequenceNode):
            stack += node.value
    return None


def _append(lines: Lines, node, flow: str, block: str, column: int) -> types.TextEdit:
    """Add an entry to a YAML collection: ``, flow`` before its closing bracket when it is
    written inline, else ``block`` on a new line at ``column`` after its last line."""
    if node.flow_style:
        at = node.end_mark.index - 1
        text = f", {flow}"
    else:
        at = _end_of_line(lines, _last_mark(node).index)
        text = f"\n{' ' * column}{block}"
    return types.TextEdit(types.Range(lines.at(at), lines.at(at)), text)


def _last_mark(node):
    """Where a node's text ends (a block collection's end mark is the next token's start)."""
    while isinstance(node, (MappingNode, SequenceNode)) and not node.flow_style and node.value:
        node = node.value[-1][1] if isinstance(node, MappingNode) else node.value[-1]
    return node.end_mark


def _end_of_line(lines: Lines, offset: int) -> int:
    """The end of the last non-blank line at or before ``offset``."""
    text = lines.text
    offset = min(offset, len(text))
    while offset > 0 and text[offset - 1] in " \t\n\r":
        offset -= 1
    end = text.find("\n", offset)
    return len(text) if end < 0 else end
