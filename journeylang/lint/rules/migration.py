"""Migration rules (JL80x): a new version's ``migrate from version N`` block, checked against
the earlier versions' compiled tables (``journey check --against``, or the configuration's
``versions``)."""
from __future__ import annotations

from collections import Counter

from ...diagnostics import Severity
from ..registry import Issue, LintContext, rule


def _findings(ctx: LintContext):
    """(migration, problem) for every migration block of the journey."""
    from ...migration import (ERROR, INCOMPLETE, UNSOUND, WARNING, Plan, Problem, check_against,
                              check_targets, shape_of_journey)
    journey = ctx.journey
    new = shape_of_journey(journey)
    versions = Counter(m.from_version for m in journey.migrations)
    older = [v for v in ctx.older if v.journey_id == journey.id]
    for migration in journey.migrations:
        plan = Plan.of(migration)
        if versions[migration.from_version] > 1:
            yield migration, Problem(UNSOUND, ERROR, f"two migrations from version "
                                                     f"{migration.from_version}: keep one")
        for problem in check_targets(plan, new):
            yield migration, problem
        matching = [v for v in older if v.version == migration.from_version]
        if older and not matching:
            known = ", ".join(sorted({str(v.version) for v in older}))
            yield migration, Problem(INCOMPLETE, WARNING, f"no version {migration.from_version} "
                                                          f"of '{journey.id}' among the earlier "
                                                          f"versions given (versions {known}): "
                                                          "the migration is not checked")
        for old in matching:
            for problem in check_against(plan, old, new):
                yield migration, problem


def _issues(ctx: LintContext, kind: str):
    """The problems of the ``kind`` named (a name in migration.py: INCOMPLETE, UNSOUND) as
    issues; the checking module is imported only for a journey with a migration block."""
    if not ctx.journey.migrations:
        return
    from ... import migration as checking
    kind, seen = getattr(checking, kind), set()
    for migration, problem in _findings(ctx):
        if problem.rule != kind:
            continue
        moves = migration.moves
        span = (moves[problem.move].span if problem.move is not None and problem.move < len(moves)
                else migration.span)
        key = (problem.message, span)
        if key in seen:  # several stored versions of one number can say the same
            continue
        seen.add(key)
        yield Issue(f"migrate from version {migration.from_version}: {problem.message}", span,
                    hint=problem.hint,
                    severity=Severity.ERROR if problem.severity == checking.ERROR
                    else Severity.WARNING)


@rule("JL801", "migration-incomplete", Severity.ERROR,
      "A migration leaves runs of the older version at a step it does not map.")
def migration_incomplete(ctx: LintContext):
    """When a new version is loaded, its ``migrate from version N`` block says where the runs
    still inside version N go. Every step where such a run can be waiting (a wait, a wait for
    events, a send held for quiet hours) must be mapped, by its name, its stage's name or
    ``other``; otherwise the runtime would not know what to do with them. The older versions
    come from ``journey check --against`` (tables, journey files or a state file) or the
    configuration's ``versions``; without them only the targets are checked (JL802).

    Bad (version 1 also waits at ``remind.2``)::

        migrate from version 1 {
          wait_reply -> wait_reply
        }

    Good::

        migrate from version 1 {
          wait_reply -> wait_reply
          other -> drain          # the rest finish on version 1
        }
    """
    yield from _issues(ctx, "INCOMPLETE")


@rule("JL802", "migration-unsound", Severity.ERROR,
      "A migration moves runs somewhere they cannot go, or loses what they carry.")
def migration_unsound(ctx: LintContext):
    """A migration must name steps that exist: old steps of version N (a label, an automatic
    name such as ``remind.2``, or a stage) and targets of this version (a step, a stage,
    ``stop`` or ``drain``); it must migrate from an earlier version number, once per version.
    A run-local variable that both versions declare must keep its type (error). Warnings:
    a variable this version drops, a run waiting for time or events moved to a step that
    does not wait (it goes on at once), a send held for quiet hours moved to a step that is
    not a send (the message is not sent), a move from a step where no run waits.

    Bad::

        migrate from version 1 {
          wait_reply -> wait_replies    # no such step here
          other -> drain
        }

    Good::

        migrate from version 1 {
          wait_reply -> wait_reply
          other -> drain
        }
    """
    yield from _issues(ctx, "UNSOUND")
