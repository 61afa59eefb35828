"""Operations rules (JL70x schedules, JL71x roles and capacity, JL722 promo budget, JL73x KPIs)."""
from __future__ import annotations

import re

from ...ast import MONTHS, Handoff, Schedule, WaitSchedule
from ...diagnostics import Related, Severity
from ...expressions import schedule_text
from ...units import format_duration, format_number, format_time
from ..flow import DAY, heaviest_path
from ..schedules import mean_gap, shortest_gap
from ..shares import over_budget
from ..placement import setting_span
from ..registry import Issue, LintContext, rule
from .names import did_you_mean

_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February: 29 in leap years
_MONTHS_OF = {"month": tuple(range(1, 13)), "quarter": (1, 4, 7, 10)}


def _schedules(ctx: LintContext):
    """(schedule, what it starts) for the scheduled entry and every ``wait until next``."""
    entry = ctx.journey.entry
    if entry is not None and entry.schedule is not None:
        yield entry.schedule, "the scheduled entry"
    for _, step in ctx.journey.steps():
        if isinstance(step, WaitSchedule):
            yield step.schedule, f"wait '{step.name}'"


@rule("JL701", "schedule-impossible-date", Severity.ERROR,
      "A schedule names a day that never occurs, or one that some months lack.")
def schedule_impossible_date(ctx: LintContext):
    """A schedule on day 32, on February 30 or on April 31 never fires (an error). A monthly
    schedule on day 29-31 (or a quarterly one on day 31, or a yearly one on February 29)
    skips the months that lack that day: there the runtime uses the month's last day (a
    warning, so that the shift is a decision).

    Bad::

        entry every year on feb 30 at 10:00
        wait until next month on day 31 at 10:00

    Good::

        entry every year on feb 28 at 10:00
        wait until next month on day 1 at 10:00
    """
    for schedule, what in _schedules(ctx):
        problem = _date_problem(schedule)
        if problem:
            severity, reason, hint = problem
            yield Issue(f"{what}: '{schedule_text(schedule)}' {reason}", schedule.span, hint=hint,
                        severity=severity)


def _date_problem(schedule: Schedule):
    """(severity, reason, hint) when the schedule's day is impossible or not in every month."""
    if schedule.every == "year":
        if not 1 <= (schedule.month or 0) <= 12:
            return Severity.ERROR, f"names month {schedule.month}, which does not exist", None
        months = (schedule.month,)
    elif schedule.every in _MONTHS_OF:
        months = _MONTHS_OF[schedule.every]
    else:
        return None
    day = schedule.day or 0
    longest = max(_DAYS[m - 1] + (m == 2) for m in months)
    if not 1 <= day <= longest:
        reason = (f"{MONTHS[months[0] - 1]} has no day {day}" if len(months) == 1
                  else f"no month has a day {day}")
        return (Severity.ERROR, f"never occurs: {reason}",
                f"pick a day from 1 to {longest}")
    lacking = [MONTHS[m - 1] for m in months if _DAYS[m - 1] < day]
    if lacking == ["feb"] and day == 29 and schedule.every == "year":
        return (Severity.WARNING, "occurs only in leap years: in other years it fires on feb 28",
                "use feb 28 or mar 1 to fire on the same day every year")
    if lacking:
        verb = "does" if len(lacking) == 1 else "do"
        return (Severity.WARNING, f"falls on day {day}, which {', '.join(lacking)} {verb} not "
                                  "have: there it fires on the month's last day",
                "use day 28 or earlier to fire on the same day every month")
    return None


@rule("JL702", "schedule-in-quiet-hours", Severity.WARNING,
      "A scheduled entry or wait-until-next fires inside the policy's quiet hours.")
def schedule_in_quiet_hours(ctx: LintContext):
    """When a schedule fires inside quiet hours, the sends that follow it are deferred to the
    end of the window: the message goes out hours later than the schedule says.

    Bad::

        policy { quiet 22:00-08:00 }
        entry every wednesday at 22:30

    Good::

        entry every wednesday at 20:00
    """
    quiet = ctx.journey.policy.quiet
    if quiet is None:
        return
    for schedule, what in _schedules(ctx):
        if quiet.contains(schedule.time):
            yield Issue(f"{what} fires at {format_time(schedule.time)}, inside quiet hours "
                        f"{format_time(quiet.start)}-{format_time(quiet.end)}; its sends wait "
                        f"until {format_time(quiet.end)}", schedule.span,
                        hint="schedule it outside quiet hours",
                        related=(Related(quiet.span, "quiet hours"),))


@rule("JL703", "scheduled-entry-without-reentry", Severity.WARNING,
      "A scheduled entry's reentry rule lets customers in only once, or skips occurrences.")
def scheduled_entry_without_reentry(ctx: LintContext):
    """A scheduled journey tries to enter every matching customer at each occurrence, but
    with ``reentry never`` (the default) a customer enters only the first time: every later
    occurrence reaches only new customers. And with ``reentry after`` longer than the
    shortest time between two occurrences (3d for ``monday, thursday``, 28d for a monthly
    schedule), a customer who entered skips the occurrences that come too soon. Say how
    often a customer may come back.

    Bad::

        entry every wednesday at 20:00      # and no reentry line
        entry every monday, thursday at 19:30
        reentry after 6d                    # Thursday is only 3d after Monday

    Good::

        entry every wednesday at 20:00
        reentry after 6d
    """
    journey = ctx.journey
    entry, reentry = journey.entry, journey.reentry
    if entry is None or entry.schedule is None or reentry.mode == "always":
        return
    gap, written = shortest_gap(entry.schedule), reentry.span.line > 0
    if reentry.mode == "never":
        message = (f"the journey enters customers every {entry.schedule.every} but with "
                   "`reentry never`: each customer enters once, at the first occurrence")
    elif (reentry.after or 0) > gap:
        message = (f"`reentry after {format_duration(reentry.after)}` is longer than the shortest "
                   "time between two occurrences of the scheduled entry "
                   f"({format_duration(gap)}): a customer who entered skips occurrences")
    else:
        return
    below = gap - DAY if gap > DAY else gap - 3600  # a clock change may shorten a gap by 1h
    yield Issue(message, reentry.span if written else entry.span,
                hint=f"{'write' if written else 'add'} `reentry after "
                     f"{format_duration(below)}` (or `reentry always`)",
                related=(Related(entry.span, "the scheduled entry"),) if written else ())


@rule("JL712", "undeclared-role", Severity.WARNING,
      "A handoff names a role that the journey does not declare.")
def undeclared_role(ctx: LintContext):
    """When a journey declares roles (``role advisor capacity 80 per 1d``), every handoff
    should go to one of them: a misspelt role sends customers to a queue nobody works, and
    its capacity is not checked. Journeys that declare no roles are not checked.

    Bad::

        role advisor capacity 80 per 1d
        handoff to advisr within 30m

    Good::

        handoff to advisor within 30m
    """
    declared = {role.name for role in ctx.journey.roles}
    if not declared:
        return
    for _, step in ctx.journey.steps():
        if isinstance(step, Handoff) and step.role not in declared:
            place = setting_span(ctx.file_text(step.span.file), step.span, "to",
                                 rf"{re.escape(step.role)}(?![\w.-])", "value")
            yield Issue(f"handoff '{step.name}' goes to role '{step.role}', which the journey "
                        "does not declare", place,
                        hint=did_you_mean(step.role, declared)
                        or f"declare it: `role {step.role} capacity N per 1d`")


@rule("JL713", "capacity-exceeded", Severity.WARNING,
      "The expected handoffs to a role exceed its capacity.")
def capacity_exceeded(ctx: LintContext):
    """With ``expect N entries per P``, a role can expect at most that volume (scaled to the
    role's window) times the most handoffs to it on one path: a split arm counts by its
    percent, a branch or wait takes its worst way, a loop counts each of its steps once
    (wherever the path enters it). When that bound is above the role's capacity, customers
    queue and deadlines are breached.

    Bad::

        expect 3000 entries per 1d
        role advisor capacity 80 per 1d
        split { a 10% -> call; b 90% -> done }   # 300 handoffs a day
        call: handoff to advisor within 1h

    A scheduled entry (``entry every wednesday at 20:00``) brings the customers of a whole gap
    between occurrences at once, so a role whose window is shorter than that gap is checked
    against one occurrence's customers.

    Good: raise the capacity, or hand fewer customers to the role.
    """
    volume = ctx.journey.volume
    if volume is None or volume.per <= 0:
        return
    entry = ctx.journey.entry
    burst = mean_gap(entry.schedule) if entry is not None and entry.schedule else 0
    for role in ctx.journey.roles:
        per_entry = heaviest_path(ctx.graph, lambda node, name=role.name: _hands_to(ctx, node, name))
        # a scheduled entry brings a whole gap's customers at once: a window shorter than the
        # gap still sees them all
        window = max(role.per, burst)
        expected = volume.entries * window / volume.per * per_entry
        if expected > role.capacity + 1e-9:
            at_once = (", all entering at each occurrence of the schedule" if burst > role.per
                       else "")
            yield Issue(f"role '{role.name}' can expect up to {_rounded(expected)} handoffs per "
                        f"{format_duration(role.per)} ({volume.entries} entries per "
                        f"{format_duration(volume.per)}{at_once} x {_rounded(per_entry)} "
                        f"handoff{'' if per_entry == 1 else 's'} per entry on the busiest path), "
                        f"over its capacity of {role.capacity}",
                        role.span,
                        hint="raise the capacity, or hand fewer customers to this role",
                        related=(Related(volume.span, "the expected volume"),))


def _hands_to(ctx: LintContext, node: str, role: str) -> float:
    step = ctx.graph.step(node)
    return 1.0 if isinstance(step, Handoff) and step.role == role else 0.0


def _rounded(value: float) -> str:
    return format_number(round(value, 1))


@rule("JL722", "promo-budget", Severity.WARNING,
      "A customer can receive more promotional messages than the policy's promo budget allows.")
def promo_budget(ctx: LintContext):
    """``policy { promo 30% }`` caps the share of promotional messages (``send promo via ...``)
    among the messages a customer receives. Each way through the journey is counted on its
    own: a send is one message whatever its fallback channels, alternative branches (an SMS
    and a WeCom version of one offer) are not added up, a loop counts each time round, and
    transactional sends, exempt from the budget, are not counted. The warning says whether
    every customer who gets messages is over the budget or only some can be, with the path (or
    loop) that shows it. A journey without a promo budget is not checked.

    Bad::

        policy { promo 30% }
        send via group template tips
        send promo via group template flash
        # 1 of the 2 messages on every path (50%) is promo

    Good: make the journey's messages mostly useful ones, or raise the budget.
    """
    budget = ctx.journey.policy.promo
    found = None if budget is None else over_budget(ctx.graph, budget)
    if found is None:
        return
    always, walk = found
    shown = _rounded(100 * walk.share)
    counted = f"{walk.promos} of the {walk.messages} messages"
    sends = _sends(walk.sends)
    if always:
        message = (f"every customer who gets this journey's messages receives more promotions "
                   f"than the promo budget of {format_number(budget)}% allows: even on the path "
                   f"that sends {sends}, {counted} are promo ({shown}%)")
    else:
        where = "each time round the loop" if walk.loop else "on the path"
        message = (f"a customer can receive more promotions than the promo budget of "
                   f"{format_number(budget)}% allows: {counted} {where} that sends {sends} are "
                   f"promo ({shown}%)")
    policy = ctx.journey.policy.span
    yield Issue(message, setting_span(ctx.file_text(policy.file), policy, "promo"),
                hint="send fewer promotions, more useful messages, or raise the budget",
                related=tuple(Related(ctx.graph.step(n).span, "a promo send on this path")
                              for n in walk.promo_steps))


def _sends(templates: tuple[str, ...], shown: int = 8) -> str:
    """The templates a walk sends, in order (the first few of a long one)."""
    if len(templates) <= shown:
        return ", ".join(templates)
    return f"{', '.join(templates[:shown])} and {len(templates) - shown} more"


@rule("JL731", "kpi-unknown-step", Severity.ERROR,
      "A KPI is measured from a step that its stage does not have.")
def kpi_unknown_step(ctx: LintContext):
    """``kpi ... at STEP`` measures from a step of the KPI's own stage; any other name is
    a mistake (a step of another stage belongs to that stage's KPIs).

    Bad::

        stage onboard {
          kpi d7 on app_open within 7d baseline 28% target 40% at welcom
          welcome: send via wecom template hello
        }

    Good: ``at welcome``.
    """
    owner = {step.name: stage.name for stage, step in ctx.journey.steps()}
    for stage in ctx.journey.stages:
        names = [step.name for step in stage.steps]
        for kpi in stage.kpis:
            if kpi.step is None or kpi.step in names:
                continue
            elsewhere = owner.get(kpi.step)
            hint = (f"step '{kpi.step}' is in stage '{elsewhere}': move the KPI there"
                    if elsewhere else did_you_mean(kpi.step, names))
            place = setting_span(ctx.file_text(kpi.span.file), kpi.span, "at",
                                 rf"{re.escape(kpi.step)}(?![\w.-])", "value")
            yield Issue(f"KPI '{kpi.name}' is measured at step '{kpi.step}', which stage "
                        f"'{stage.name}' does not have", place, hint=hint)


@rule("JL732", "kpi-invalid", Severity.ERROR,
      "A KPI's baseline or target is not a percent from 0 to 100, or its target is its baseline.")
def kpi_invalid(ctx: LintContext):
    """Baseline and target are shares of customers, so 0-100%; a target equal to the
    baseline says neither what success is nor which way is better (a target below the
    baseline means lower is better).

    Bad::

        kpi d7 on app_open within 7d baseline 28% target 28%

    Good::

        kpi d7 on app_open within 7d baseline 28% target 40%
    """
    for stage in ctx.journey.stages:
        for kpi in stage.kpis:
            yield from _kpi_problems(ctx, kpi)


def _kpi_problems(ctx: LintContext, kpi):
    text = ctx.file_text(kpi.span.file)
    for field in ("baseline", "target"):
        value = getattr(kpi, field)
        if not 0 <= value <= 100:
            yield Issue(f"KPI '{kpi.name}': {field} {format_number(value)}% is not a percent "
                        "from 0 to 100", setting_span(text, kpi.span, field))
    if kpi.target == kpi.baseline:
        yield Issue(f"KPI '{kpi.name}': the target equals the baseline "
                    f"({format_number(kpi.target)}%)", setting_span(text, kpi.span, "target"),
                    hint="set the target you aim for: above the baseline, or below it when "
                         "lower is better")
