"""Simulation stage: exact expectations for memoryless behaviour models, as an absorbing Markov chain.

When customers react at once (every response has delay 0) and nothing happens without a touch
(no baseline events, no opt-outs, no fatigue), a run's future depends only on where it is, how
long it has been inside, the reactions still queued at this instant and the milestones it has
reached. Those states form an absorbing Markov chain; the fundamental matrix N = (I - Q)^-1
gives expected visits per step, and B = N R the probability of each way out (conversion, exits,
still inside at the horizon) and of the milestones reached on the way. Anything outside that
class is refused with the reason, never approximated.
"""
from __future__ import annotations

import random
from itertools import product

import numpy as np

from ..semantics import OPT_OUT_EVENTS
from ..runtime.program import Program
from ..runtime.scope import RunScope
from .cohort import Cohort, Segment

WAITING = ("wait", "wait_event")
PASSING = ("tag", "untag", "coupon", "handoff", "webhook", "goto", "split", "send", "exit")
SAMPLES = 64  # profiles drawn to check a condition does not depend on the customer
MAX_STATES = 3000  # dense linear algebra: a larger chain is refused rather than slow


class NotMemoryless(ValueError):
    """The journey or cohort is outside the class the exact computation covers."""


def expectation(program: Program, cohort: Cohort, days: float, arrival: float | None = None) -> dict:
    """Expected goal conversion of treated runs, the probability of each outcome and of
    reaching each milestone, and expected visits per step."""
    _check_journey(program)
    arrival = cohort.arrival if arrival is None else arrival
    limit = days * 86400.0 - arrival  # every run has at least this long before the horizon
    total, visits, outcomes, milestones = 0.0, {}, {}, {}
    for segment in cohort.segments:
        if segment.weight <= 0 or not _enters(program, segment):
            continue
        chain = _Chain(program, segment, limit)
        result = chain.solve()
        total += segment.weight
        for found, key in ((outcomes, "outcomes"), (visits, "visits"), (milestones, "milestones")):
            for name, p in result[key].items():
                found[name] = found.get(name, 0.0) + segment.weight * p
    if total == 0:
        raise NotMemoryless("no segment enters the journey")
    outcomes = {k: v / total for k, v in sorted(outcomes.items())}
    conversion = outcomes.get("converted", 0.0)
    return {"conversion": conversion, "outcomes": outcomes,
            "visits": {s: visits.get(s, 0.0) / total for s in program.steps},
            "milestones": {m.name: milestones.get(m.name, 0.0) / total for m in program.milestones}}


def _check_journey(program: Program) -> None:
    if program.quiet is not None or program.caps:
        raise NotMemoryless("quiet hours and caps depend on the clock")
    kinds = {step.kind for step in program.steps.values()} - set(WAITING) - set(PASSING)
    if kinds:
        raise NotMemoryless(f"steps of kind {', '.join(sorted(kinds))} are not covered")
    if program.handlers:
        raise NotMemoryless("always-on event handlers act wherever a run is, between steps")
    if program.history:
        raise NotMemoryless("event history in conditions depends on each customer's past")
    if any(arm.holdout for step in program.steps.values() for arm in step.arms):
        raise NotMemoryless("a split's control group is followed until its goal window ends")


def _profiles(segment: Segment) -> list[tuple[dict, dict]]:
    rng = random.Random(0)
    return [(segment.profile(rng), segment.entry_data(rng)) for _ in range(SAMPLES)]


def _same_everywhere(test, scopes, what: str) -> bool:
    answers = {test(scope) is True for scope in scopes}
    if len(answers) > 1:
        raise NotMemoryless(f"{what} holds for some customers of a segment and not for others")
    return answers.pop()


def _enters(program: Program, segment: Segment) -> bool:
    if segment.baseline or segment.opt_out or segment.fatigue != 1.0:
        raise NotMemoryless(f"segment {segment.name!r}: baseline events, opt-outs and fatigue "
                            f"depend on time or history")
    if any(not _instant(r) for r in segment.responses):
        raise NotMemoryless(f"segment {segment.name!r}: every response needs delay 0")
    for channel in program.consent:
        if segment.consent.get(channel, 0.0) not in (0.0, 1.0):
            raise NotMemoryless(f"segment {segment.name!r}: consent for {channel} is random")
    scopes = [RunScope(profile, data, {}, None, program.defaults)
              for profile, data in _profiles(segment)]
    entry = program.entry
    if entry is None:
        return False
    if any(r.event == entry.event for r in segment.responses):
        raise NotMemoryless(f"segment {segment.name!r}: a response is the entry event")
    for response in segment.responses:
        if response.event in OPT_OUT_EVENTS and not any(x.event == response.event for x in program.exits):
            raise NotMemoryless(f"segment {segment.name!r}: an opt-out without an exit rule on "
                                f"{response.event} changes later sends")
    return _same_everywhere(lambda s: entry.test(s) and program.audience(s), scopes,
                            "the entry condition and audience")


def _instant(response) -> bool:
    rng = random.Random(0)
    return all(response.delay(rng) == 0 for _ in range(8))


class _Chain:
    """States: (step, seconds inside, queued reactions, milestones reached); absorbing:
    ("end", outcome, milestones reached)."""

    def __init__(self, program: Program, segment: Segment, limit: float):
        self.program, self.segment, self.limit = program, segment, limit
        profiles = _profiles(segment)
        self.scopes = lambda data: [RunScope(p, data, d, dict(program.variables), program.defaults)
                                    for p, d in profiles]

    def holds(self, test, data, what) -> bool:
        return _same_everywhere(test, self.scopes(data), what)

    # --- transitions ----------------------------------------------------------------------

    def moves(self, state) -> list[tuple[float, tuple]]:
        step_id, age, queued, reached = state
        if step_id is None:
            return [(1.0, ("end", "completed", reached))]
        if age > self.limit:
            raise NotMemoryless("some runs may still be inside at the horizon: the result would "
                                "depend on when each customer arrived (give more days)")
        step = self.program.steps[step_id]
        if step.kind in WAITING:
            if queued:
                return [(1.0, self.react(step_id, age, queued, reached))]
            if step.kind == "wait":
                return [(1.0, (step.next, age + step.params["duration"], (), reached))]
            within = step.params.get("within")
            if within is None:
                return [(1.0, ("end", "inside", reached))]
            return [(1.0, (step.timeout or step.next, age + within, (), reached))]
        if step.kind == "exit":
            return [(1.0, ("end", step.params["outcome"], reached))]
        if step.kind == "split":
            total = sum(a.weight for a in step.arms) or 100.0
            return [(a.weight / total, (a.to, age, queued, reached)) for a in step.arms if a.weight]
        if step.kind == "send":
            return self.send(step, age, queued, reached)
        return [(1.0, (step.next, age, queued, reached))]

    def send(self, step, age, queued, reached) -> list[tuple[float, tuple]]:
        """The first of the step's channels (then its fallbacks) with consent sends: consent
        is certain or absent per segment (quiet hours and caps are refused, so a transactional
        send is an ordinary one here)."""
        params = step.params
        channel = next((c for c in (params["channel"], *params.get("fallback", ()))
                        if c not in self.program.consent
                        or self.segment.consent.get(c, 0.0) == 1.0), None)
        if channel is None:
            return [(1.0, (step.next, age, queued, reached))]  # skipped for want of consent
        action = _Action(params["template"], channel, step.id)
        matching = [r for r in self.segment.responses if r.matches(action)]
        moves = []
        for fired in product((False, True), repeat=len(matching)):
            p = 1.0
            for response, yes in zip(matching, fired):
                p *= response.p if yes else 1.0 - response.p
            if p > 0:
                events = tuple((r.event, _data(r)) for r, yes in zip(matching, fired) if yes)
                moves.append((p, (step.next, age, queued + events, reached)))
        return moves

    def react(self, step_id, age, queued, reached):
        """The first queued reaction, applied as the executor applies an event: milestones
        first, then goals, exit rules and the wait's arms."""
        (kind, frozen), rest = queued[0], queued[1:]
        data = frozen.value
        new = {m.name for m in self.program.milestones
               if m.event == kind and m.name not in reached
               and (m.within is None or age <= m.within)
               and self.holds(m.test, data, f"milestone {m.name}")}
        reached = tuple(sorted(set(reached) | new))
        for goal in self.program.goals:
            if goal.event == kind and (goal.within is None or age <= goal.within) and \
                    self.holds(goal.test, data, f"goal {goal.name}"):
                return ("end", "converted", reached)
        for rule in self.program.exits:
            if rule.event == kind and self.holds(rule.test, data, f"exit on {kind}"):
                return ("end", rule.outcome, reached)
        if kind in OPT_OUT_EVENTS:
            raise NotMemoryless(f"an opt-out on {kind!r} that no exit rule ends leaves the "
                                "customer inside with later sends skipped")
        step = self.program.steps[step_id]
        if step.kind == "wait_event":
            for arm in step.arms:
                if arm.event == kind and self.holds(arm.test, data, f"arm {arm.label}"):
                    return (arm.to, age, rest, reached)
        return (step_id, age, rest, reached)

    # --- solving ---------------------------------------------------------------------------

    def solve(self) -> dict:
        start = (self.program.start, 0.0, (), ())
        index, order, edges = {start: 0}, [start], []
        position = 0
        while position < len(order):
            state = order[position]
            for p, target in (self.moves(state) if len(state) == 4 else ()):
                if target not in index:
                    index[target] = len(order)
                    order.append(target)
                edges.append((position, index[target], p))
            position += 1
            if len(order) > MAX_STATES:
                raise NotMemoryless("too many states (loops over a long horizon)")
        transient = [i for i, s in enumerate(order) if len(s) == 4]
        absorbing = [i for i, s in enumerate(order) if len(s) == 3]
        t_at = {i: k for k, i in enumerate(transient)}
        a_at = {i: k for k, i in enumerate(absorbing)}
        q = np.zeros((len(transient), len(transient)))
        r = np.zeros((len(transient), len(absorbing)))
        for origin, target, p in edges:
            if target in t_at:
                q[t_at[origin], t_at[target]] += p
            else:
                r[t_at[origin], a_at[target]] += p
        # row 0 of the fundamental matrix N = (I - Q)^-1: expected visits from the start state
        start_row = np.linalg.solve((np.eye(len(transient)) - q).T, np.eye(len(transient))[0])
        ends = start_row @ r
        outcomes: dict[str, float] = {}
        milestones: dict[str, float] = {}
        for k, i in enumerate(absorbing):
            _, outcome, reached = order[i]
            outcomes[outcome] = outcomes.get(outcome, 0.0) + float(ends[k])
            for name in reached:
                milestones[name] = milestones.get(name, 0.0) + float(ends[k])
        # expected entries of a step: the expected uses of every move into it from elsewhere
        visits: dict[str, float] = {order[0][0]: 1.0}
        for origin, target, p in edges:
            step = order[target][0]
            if target in t_at and step != order[origin][0] and step is not None:
                visits[step] = visits.get(step, 0.0) + float(start_row[t_at[origin]]) * p
        return {"outcomes": outcomes, "visits": visits, "milestones": milestones}


class _Action:
    __slots__ = ("template", "channel", "step")

    def __init__(self, template, channel, step):
        self.template, self.channel, self.step = template, channel, step


def _data(response) -> tuple:
    """A reaction's data, which must be the same every time (a constant)."""
    rng = random.Random(0)
    first = response.data(rng)
    if any(response.data(rng) != first for _ in range(4)):
        raise NotMemoryless(f"the data of response {response.event!r} is random")
    return _Frozen(first)


class _Frozen(tuple):
    """Hashable wrapper of a JSON value (states are dict keys)."""

    def __new__(cls, value):
        import json
        obj = super().__new__(cls, (json.dumps(value, sort_keys=True),))
        obj.value = value
        return obj
