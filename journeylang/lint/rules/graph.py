"""Graph rules (JL2xx): how customers can move through the steps."""
from __future__ import annotations

import networkx as nx

from ...ast import WAIT_KINDS, Branch, Exit, Split
from ...diagnostics import Related, Severity
from ..registry import Issue, LintContext, rule


def _cycles(graph: nx.MultiDiGraph) -> list[set[str]]:
    """Strongly connected components that contain a cycle (including self-loops)."""
    return [component for component in nx.strongly_connected_components(graph)
            if len(component) > 1 or graph.has_edge(*(next(iter(component)),) * 2)]


def _loop_issue(ctx: LintContext, component: set[str], message: str, hint: str, severity=None):
    names = ctx.graph.in_source_order(component)
    first = ctx.graph.step(names[0])
    related = tuple(Related(ctx.graph.step(n).span, f"'{n}' is part of the loop") for n in names[1:])
    return Issue(message.format(steps=", ".join(f"'{n}'" for n in names)), first.span, hint=hint,
                 related=related, severity=severity)


@rule("JL201", "dead-end", Severity.ERROR, "A step that is not an exit has no way on.")
def dead_end(ctx: LintContext):
    """Every path must end in ``exit``. A customer who reaches a step with nowhere to go
    would stay there forever, neither converted nor counted as completed.

    Bad: a stage whose last step is a ``send`` with no stage after it.

    Good: end the journey with ``exit completed`` (or another outcome), or ``goto`` a step.
    """
    unresolved = {id(step) for step, _ in ctx.graph.unresolved}
    for name in ctx.graph.in_source_order(ctx.graph.graph.nodes):
        step = ctx.graph.step(name)
        if isinstance(step, (Exit, Branch, Split)) or id(step) in unresolved:
            continue  # branches and splits without a way on are reported by JL205/JL206
        if ctx.graph.graph.out_degree(name) == 0:
            yield Issue(f"step '{step.name}' is a dead end: nothing follows it and it is not an exit",
                        step.span, hint="add `exit completed` (or another outcome) after it")


@rule("JL202", "unreachable-step", Severity.WARNING, "No path from the journey's start reaches a step.")
def unreachable_step(ctx: LintContext):
    """A step no customer can reach is dead weight and usually a missing ``goto`` or arm.
    Reported once per unreachable region, at its first step.

    Bad::

        exit converted
        reminder: send via sms template "r"   # after an exit, nothing leads here

    Good: point a branch arm, wait outcome or goto at ``reminder``, or delete it.
    """
    graph = ctx.graph.graph
    unreachable = set(graph.nodes) - ctx.graph.reachable()
    regions = nx.weakly_connected_components(graph.subgraph(unreachable))
    for region in sorted(regions, key=lambda r: min(graph.nodes[n]["order"] for n in r)):
        names = ctx.graph.in_source_order(region)
        more = f" (and {len(names) - 1} step(s) after it)" if len(names) > 1 else ""
        head = ctx.graph.step(names[0])
        yield Issue(f"step '{head.name}' is unreachable{more}", head.span,
                    hint="point a goto, branch arm or wait outcome at it, or delete it")


@rule("JL203", "loop-without-wait", Severity.ERROR, "A loop can repeat without ever waiting.")
def loop_without_wait(ctx: LintContext):
    """A loop that passes no ``wait`` step spins instantly: it would send or act
    again and again in the same moment.

    Bad::

        again: send via wecom template "nudge"
        goto again

    Good::

        again: send via wecom template "nudge"
        wait 3d
        goto again
    """
    graph = ctx.graph.graph
    busy = [n for n in graph.nodes if not isinstance(ctx.graph.step(n), WAIT_KINDS)]
    for component in _cycles(graph.subgraph(busy)):
        yield _loop_issue(ctx, component, "loop through {steps} never waits",
                          "put a wait step inside the loop")


@rule("JL204", "loop-without-exit", Severity.ERROR, "From a loop no exit step can be reached.")
def loop_without_exit(ctx: LintContext):
    """Customers caught in a loop with no path to an ``exit`` stay in the journey for ever.
    It is an error when the journey also has no goals and no exit rules, which are then the
    only way out; otherwise a warning.

    Bad::

        weekly: wait 7d
        send via group template "digest"
        goto weekly

    Good: branch out of the loop (``when customer.silent_days > 60 -> done``).
    """
    graph = ctx.graph.graph
    exits = {n for n in graph.nodes if isinstance(ctx.graph.step(n), Exit)}
    escape = ctx.journey.goals or ctx.journey.exits
    for component in _cycles(graph):
        onward = set(component)
        for name in component:
            onward |= nx.descendants(graph, name)
        if not onward & exits:
            yield _loop_issue(
                ctx, component, "no exit can be reached from the loop through {steps}",
                "add a branch arm that leaves the loop to an exit",
                severity=Severity.WARNING if escape else None)


@rule("JL205", "branch-without-default", Severity.ERROR, "A branch has no `else` arm.")
def branch_without_default(ctx: LintContext):
    """When no ``when`` condition holds, the branch takes its ``else`` arm; without one the
    customer would be stuck.

    Bad::

        branch { when customer.tier == "vip" -> vip }

    Good::

        branch { when customer.tier == "vip" -> vip; else -> standard }
    """
    for _, step in ctx.journey.steps():
        if isinstance(step, Branch) and not step.default:
            yield Issue(f"branch '{step.name}' has no else arm", step.span,
                        hint="add `else -> <step>` as its last arm")


@rule("JL206", "split-not-100", Severity.ERROR, "The arms of a split do not add up to 100%.")
def split_not_100(ctx: LintContext):
    """A random split sends each customer down one arm; the arms' percentages must add up
    to exactly 100%.

    Bad::

        split { control 50% -> a; variant 40% -> b }

    Good::

        split { control 50% -> a; variant 50% -> b }
    """
    for _, step in ctx.journey.steps():
        if isinstance(step, Split):
            total = sum(arm.percent for arm in step.arms)
            if abs(total - 100) > 1e-9:
                yield Issue(f"split '{step.name}' arms add up to {total:g}%, not 100%", step.span,
                            hint="adjust the percentages so they sum to 100%")
