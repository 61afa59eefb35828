"""Graph rules (JL2xx): how customers can move through the steps."""
from __future__ import annotations

import networkx as nx

from ...ast import Branch, Exit, Split, WaitEvent
from ...semantics import STANDARD_OUTCOMES, makes_time_pass
from ...diagnostics import Related, Severity
from ..logic import implies
from ..registry import Issue, LintContext, rule
from .names import did_you_mean


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

    ``wait 0m`` and ``wait for ... within 0m`` do not count: they go on at once.
    """
    graph = ctx.graph.graph
    busy = [n for n in graph.nodes if not _waits(ctx.graph.step(n))]
    for component in _cycles(graph.subgraph(busy)):
        yield _loop_issue(ctx, component, "loop through {steps} never waits",
                          "put a wait step inside the loop")


def _waits(step) -> bool:
    """Whether a step makes time pass (the runtime's rule: zero-length waits do not)."""
    return makes_time_pass(step.kind, getattr(step, "duration", None), getattr(step, "within", None))


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


@rule("JL207", "shadowed-branch-arm", Severity.WARNING,
      "A branch arm can never be taken because an earlier arm always wins.")
def shadowed_branch_arm(ctx: LintContext):
    """Arms are tried in order and the first that holds wins. When every customer who
    satisfies a later arm also satisfies an earlier one, the later arm is dead.

    Bad::

        branch {
          when cart.value >= 100 -> big
          when cart.value >= 200 -> huge     # never: 200+ is already 100+
          else -> small
        }

    Good: order arms from the most specific to the most general (``>= 200`` first).
    """
    for _, step in ctx.journey.steps():
        if not isinstance(step, Branch):
            continue
        for later_index, later in enumerate(step.arms):
            for earlier in step.arms[:later_index]:
                if implies(later.condition, earlier.condition):
                    yield Issue(f"this arm of branch '{step.name}' can never be taken: "
                                f"an earlier arm holds whenever it does", later.span,
                                hint="move the more specific arm first, or merge them",
                                related=(Related(earlier.span, "this earlier arm wins"),))
                    break


@rule("JL208", "wait-without-timeout", Severity.WARNING, "A wait for an event has no `within` timeout.")
def wait_without_timeout(ctx: LintContext):
    """A customer who never does the awaited event waits for ever: every wait-for-reply
    needs a timeout arm (the playbooks' 24 h / 72 h no-reply follow-ups).

    Bad::

        wait for replied -> thanks

    Good::

        wait for replied within 72h -> thanks timeout -> follow_up
    """
    for _, step in ctx.journey.steps():
        if isinstance(step, WaitEvent) and step.within is None:
            events = ", ".join(arm.event for arm in step.arms) or "an event"
            yield Issue(f"step '{step.name}' waits for {events} with no timeout", step.span,
                        hint="add `within <duration>` and a `timeout ->` target")


@rule("JL209", "unknown-goal-event", Severity.WARNING,
      "A goal, milestone or exit rule listens for an event that is neither declared nor emitted.")
def unknown_goal_event(ctx: LintContext):
    """A goal (or milestone) whose event never arrives can never convert anyone, so the
    journey's conversion would read 0%. Checked when ``[tool.journeylang.schema] events`` is
    declared: the event must be declared there or emitted by a step.

    Bad::

        goal purchased on order_payed within 7d

    Good::

        goal purchased on order_paid within 7d
    """
    known = ctx.known_events
    if known is None:
        return
    for kind, rules in (("goal", ctx.journey.goals), ("milestone", ctx.journey.milestones)):
        for goal in rules:
            if goal.event not in known:
                yield Issue(f"{kind} '{goal.name}' listens for '{goal.event}', which is not "
                            "declared and no step emits", goal.span,
                            hint=did_you_mean(goal.event, known))
    for exit_rule in ctx.journey.exits:
        if exit_rule.event not in known:
            yield Issue(f"exit rule listens for '{exit_rule.event}', which is not declared and "
                        "no step emits", exit_rule.span, hint=did_you_mean(exit_rule.event, known))


@rule("JL210", "empty-stage", Severity.WARNING, "A stage has no steps.")
def empty_stage(ctx: LintContext):
    """An empty stage shows up in funnels with nobody in it and usually means steps were
    moved or forgotten.

    Bad: ``stage retain { }``. Good: add its steps or delete the stage.
    """
    for stage in ctx.journey.stages:
        if not stage.steps:
            yield Issue(f"stage '{stage.name}' has no steps", stage.span,
                        hint="add steps or remove the stage")


@rule("JL215", "empty-journey", Severity.ERROR, "A journey has no steps.")
def empty_journey(ctx: LintContext):
    """A journey without steps does nothing for the customers who enter it: it would compile
    to tables that run nothing, quietly.

    Bad::

        journey welcome "Welcome" version 1 {
          owner "crm"
          entry on signed_up
        }

    Good::

        journey welcome "Welcome" version 1 {
          owner "crm"
          entry on signed_up
          stage greet { send via wecom template hi; exit completed }
        }
    """
    if not any(True for _ in ctx.journey.steps()):
        yield Issue(f"journey '{ctx.journey.id}' has no steps", ctx.journey.span,
                    hint="add a stage with steps")


@rule("JL216", "no-entry", Severity.WARNING, "A journey has steps but no entry.")
def no_entry(ctx: LintContext):
    """Customers start a journey only through its entry (``entry on <event>`` or ``entry every
    <schedule>``). A journey with steps and no entry compiles and deploys, and then nobody
    ever starts it.

    Bad::

        journey welcome "Welcome" version 1 {
          owner "crm"
          stage greet { send via wecom template hi; exit completed }
        }

    Good::

        journey welcome "Welcome" version 1 {
          owner "crm"
          entry on signed_up
          stage greet { send via wecom template hi; exit completed }
        }
    """
    if ctx.journey.entry is None and any(True for _ in ctx.journey.steps()):
        yield Issue(f"journey '{ctx.journey.id}' has no entry: no customer ever starts it",
                    ctx.journey.span,
                    hint="add `entry on <event>` or `entry every <schedule>`")


@rule("JL211", "undeclared-outcome", Severity.ERROR, "An exit uses an outcome that is not declared.")
def undeclared_outcome(ctx: LintContext):
    """Outcomes feed reports, so they must be spelled consistently. The standard ones are
    converted, completed, churned, opted_out, expired and escalated; any other must be
    declared with ``outcomes``.

    Bad::

        exit convertd

    Good::

        outcomes saved
        ...
        exit saved
    """
    declared = set(STANDARD_OUTCOMES) | set(ctx.journey.outcomes)
    for _, step in ctx.journey.steps():
        if isinstance(step, Exit) and step.outcome not in declared:
            yield Issue(f"outcome '{step.outcome}' is not declared", step.span,
                        hint=did_you_mean(step.outcome, declared)
                        or f"declare it with `outcomes {step.outcome}`")
    for exit_rule in ctx.journey.exits:
        if exit_rule.outcome not in declared:
            yield Issue(f"outcome '{exit_rule.outcome}' is not declared", exit_rule.span,
                        hint=did_you_mean(exit_rule.outcome, declared)
                        or f"declare it with `outcomes {exit_rule.outcome}`")


@rule("JL212", "timeout-without-within", Severity.ERROR,
      "A wait names a timeout target but sets no `within` duration.")
def timeout_without_within(ctx: LintContext):
    """Without ``within`` the wait never times out, so its ``timeout ->`` target is never
    taken.

    Bad::

        wait for replied -> thanks timeout -> nudge

    Good::

        wait for replied within 24h -> thanks timeout -> nudge
    """
    for _, step in ctx.journey.steps():
        if isinstance(step, WaitEvent) and step.within is None and step.next:
            yield Issue(f"step '{step.name}' has a timeout target but no `within` duration",
                        step.span, hint="add `within <duration>`")
