"""Bundled examples as straightforward SimPy models, for comparison (``sim_bench.py --examples``).

    python benchmarks/simpy_examples.py checkin_streak --customers 20000   # check against the engine
    python benchmarks/simpy_examples.py weekly_community_activity --engine reference
    python benchmarks/simpy_examples.py weekly_community_activity --engine-customers 200000

Each is written as ``simpy_model.py`` writes the benchmark journey: one SimPy process per
customer, ``env.timeout`` for waits, ``AnyOf`` for a wait with a timeout, a process per delayed
reaction and per baseline event stream; a goal or exit rule ends a run through the "ended"
event every wait of the run listens to (``simpy_model.Walk``). Each model is the example's
journey (``examples/X.journey``) with its bundled cohort (``examples/cohorts/X.cohort.yaml``):
the same steps, waits, branches and policies, the cohort's segments, responses, baseline events
and opt-outs. Every cohort starts at midnight UTC in zones at UTC+8 all year, so local time is
a fixed offset. Where a model leaves a construct out because it cannot change any figure with
this cohort (a cap that never binds, say), its class says so.

Each model counts per customer the figures the engine's results report (runs, messages,
outcomes, policies, milestones), so ``agreement`` compares them with the engine's as rates per
customer, within sampling error (the spread estimated from the model's own customers).
Checked at 20,000 customers (``live_stream_reminders``: the model on 4,000-40,000, the
engines on 20,000-200,000, five seeds; ``weekly_community_activity`` also at 200,000 on the
vectorised engine and 20,000 on the reference engine), every figure agrees (|z| < 2;
``live_stream_reminders``, whose runs per customer vary most, up to 3.2). The model of
``weekly_community_activity`` found a bug of the vectorised engine this way: it counted about
7% fewer sends skipped for an opt-out than the model and the reference engine, because it
missed opt-outs made between two scheduled runs; fixed, it agrees (|z| 0.44 at 1,000,000).
"""
from __future__ import annotations

import argparse
import math
import random
import sys
from collections import Counter, deque
from pathlib import Path

import simpy
from simpy_model import DAY, HOUR, Ended, Walk

POLICIES = ("opt_outs", "cap_skips", "consent_skips", "opted_out_skips", "quiet_deferrals")
OPT_OUT_DELAY = 60.0


class Person:
    """A customer of a model: their segment and draws, the events that happen to them (``on``),
    and the figures counted for them."""

    def __init__(self, model: Model, rng: random.Random):
        self.model, self.env, self.rng = model, model.env, rng
        self.counts: Counter = Counter()
        self.runs: list[Run] = []             # the runs in progress
        self.entered_at: float | None = None  # of the last run
        self.received = 0                     # messages: fatigue lowers each response
        self.opted_out = False                # an opt-out drawn (its event comes a minute later)
        self.unsubscribed = False             # the opt-out event happened: sends are skipped
        self.unsubscribe = model.env.event()  # ... as an event, for a send held by quiet hours
        self.sends: deque = deque()           # times of the sends a cap counts

    def stream(self, event: str, per_day: float):
        """A baseline stream: ``event`` at ``per_day`` (Poisson) from arrival to the horizon."""
        while True:
            delay = self.rng.expovariate(per_day / DAY)
            if self.env.now + delay > self.model.horizon:
                return
            yield self.env.timeout(delay)
            self.on(event)

    def later(self, delay: float, event: str):
        yield self.env.timeout(delay)
        self.on(event)

    def on(self, event: str) -> None:
        if event == "unsubscribed":
            self.unsubscribed = True
            if not self.unsubscribe.triggered:
                self.unsubscribe.succeed()
        self.react(event)

    def react(self, event: str) -> None:
        """What the example's journey does with ``event``."""
        raise NotImplementedError

    def may_send(self, caps: tuple = (), channel: str = "") -> bool:
        """Whether a message may go now: not opted out (else counted as skipped), not over a
        rolling cap of ``caps`` ((messages, per seconds, the channels it is on or None for
        all), the longest window first) of the sends counted so far (else skipped); a send
        that goes counts."""
        if self.unsubscribed:
            self.counts["opted_out_skips"] += 1
            return False
        if caps:
            while self.sends and self.sends[0][0] <= self.env.now - caps[0][1]:
                self.sends.popleft()
            for messages, per, channels in caps:
                if channels is not None and channel not in channels:
                    continue
                if sum(1 for at, ch in self.sends if at > self.env.now - per
                       and (channels is None or ch in channels)) >= messages:
                    self.counts["cap_skips"] += 1
                    return False
            self.sends.append((self.env.now, channel))
        return True

    @property
    def run(self) -> Run | None:
        """The run in progress (of a journey without concurrent runs), if any."""
        return self.runs[-1] if self.runs else None

    def start(self, run: Run) -> None:
        """A run starts: counted, and its outcome counted when it ends."""
        self.runs.append(run)
        self.entered_at = self.env.now
        self.counts["holdout_runs" if run.holdout else "runs"] += 1
        self.env.process(self._follow(run))

    def _follow(self, run: Run):
        self.env.process(run.journey())
        outcome = yield run.ended
        self.counts[f"{'holdout' if run.holdout else 'ended'}:{outcome}"] += 1
        self.runs.remove(run)

    def delivered(self, p_response: float, delay, event: str) -> None:
        """A message reached the customer: a response with ``p_response`` (less the fatigue)
        after ``delay()``, and the segment's opt-out."""
        self.counts["messages"] += 1
        factor = self.segment.get("fatigue", 1.0) ** self.received
        self.received += 1
        if p_response and self.rng.random() < p_response * factor:
            self.env.process(self.later(delay(), event))
        if not self.opted_out and self.rng.random() < self.segment.get("opt_out", 0.0):
            self.opted_out = True
            self.counts["opt_outs"] += 1
            self.env.process(self.later(OPT_OUT_DELAY, "unsubscribed"))


class Run(Walk):
    """One run of a journey for ``person``; ``steps`` (a generator) returns its outcome."""

    def __init__(self, person: Person, holdout: bool = False):
        super().__init__(person.env)
        self.person, self.holdout = person, holdout
        self.awaiting: dict = {}    # event -> its SimPy event, while the run waits for it

    def wait_for(self, events: tuple[str, ...], within: float):
        """Wait up to ``within`` for one of ``events`` (``deliver`` hands them over): the one
        that came, or None at the timeout."""
        self.awaiting = {name: self.env.event() for name in events}
        yield self.env.any_of([self.env.timeout(within), self.ended, *self.awaiting.values()])
        came = next((name for name, event in self.awaiting.items() if event.triggered), None)
        self.awaiting = {}
        if self.ended.triggered:
            raise Ended
        return came

    def deliver(self, event: str) -> None:
        """``event`` reaches the run: it takes it if it waits for it."""
        waiting = self.awaiting.get(event)
        if waiting is not None and not waiting.triggered:
            waiting.succeed()

    def journey(self):
        try:
            outcome = yield from self.steps()
        except Ended:
            return
        self.end(outcome)

    def steps(self):
        raise NotImplementedError

    def checks(self, quiet: tuple[float, float] | None = None, caps: tuple = (),
               channel: str = "", consent: bool = True):
        """The send checks in the engine's order (opt-out, ``consent`` to the channel, quiet
        hours, caps): whether a message may go. In ``quiet`` hours (start, end; local) the
        send waits for their end, unless the customer opts out first, then is checked again."""
        person = self.person
        if not person.unsubscribed and not consent:
            person.counts["consent_skips"] += 1
            return False
        local = (self.env.now + self.offset) % DAY
        if quiet is not None and not person.unsubscribed and (local >= quiet[0] or local < quiet[1]):
            person.counts["quiet_deferrals"] += 1
            yield self.env.timeout((quiet[1] - local) % DAY) | self.ended | person.unsubscribe
            if self.ended.triggered:
                raise Ended
        return person.may_send(caps, channel)


class Model:
    """``customers`` of a cohort arriving over ``ARRIVAL`` through the example for ``days``."""

    ARRIVAL = DAY
    PERSON = Person

    def __init__(self, customers: int, days: float = 90, seed: int = 1):
        self.env = simpy.Environment()
        self.rng = random.Random(seed)
        self.customers, self.horizon = customers, days * DAY
        self.people: list[Person] = []

    def run(self) -> dict:
        for _ in range(self.customers):
            person = self.PERSON(self, random.Random(self.rng.random()))
            self.people.append(person)
            self.env.process(person.arrive(self.rng.random() * self.ARRIVAL))
        self.start()
        self.env.run(until=self.horizon)
        for person in self.people:
            person.counts["still_inside"] += len(person.runs)
            if not person.counts["runs"] and not person.counts["holdout_runs"]:
                person.counts["customers_not_entered"] += 1
        return self.figures()

    def start(self) -> None:
        """Processes of the model's own (a journey's schedule)."""

    def figures(self) -> dict:
        """Each figure: (total, per-customer standard deviation)."""
        names = set(POLICIES).union(*(p.counts for p in self.people))
        found = {}
        for name in sorted(names):
            values = [p.counts[name] for p in self.people]
            mean = sum(values) / len(values)
            var = sum((v - mean) ** 2 for v in values) / max(len(values) - 1, 1)
            found[name] = (sum(values), math.sqrt(var))
        return found


# --- checkin_streak ---------------------------------------------------------------------------


class StreakPerson(Person):
    SEGMENTS = [  # weight, consent.group, mention response (p, mean delay), baseline per day
        dict(weight=0.4, consent=0.97, mention=(0.6, 40 * 60), baseline={"checked_in": 0.9},
             opt_out=0.005),
        dict(weight=0.6, consent=0.9, mention=(0.33, HOUR),
             baseline={"checked_in": 0.45, "left_group": 0.004}, opt_out=0.02, fatigue=0.95),
    ]

    def __init__(self, model, rng):
        super().__init__(model, rng)
        self.segment = self.SEGMENTS[0] if rng.random() < self.SEGMENTS[0]["weight"] \
            else self.SEGMENTS[1]
        self.consent = rng.random() < self.segment["consent"]

    def arrive(self, at: float):
        yield self.env.timeout(at)
        self.on("checked_in")
        for event, per_day in self.segment["baseline"].items():
            self.env.process(self.stream(event, per_day))

    def react(self, event: str) -> None:
        if event == "checked_in":
            if self.run is not None:
                self.run.checked_today = True            # the handler
            elif self.consent and (self.entered_at is None
                                   or self.env.now - self.entered_at >= 30 * DAY):
                self.start(StreakRun(self))              # entry, re-entry after 30d
        elif event == "left_group" and self.run is not None:
            self.run.end("churned")

    def send(self, template: str) -> None:
        if not self.may_send():
            return
        p, mean = self.segment["mention"] if template == "mention" else (0.0, 0.0)
        self.delivered(p, lambda: self.rng.expovariate(1 / mean), "checked_in")


class StreakRun(Run):
    """``examples/checkin_streak.journey``. Left out, as they change nothing with this cohort:
    the cap (one message per calendar day: the run sends at most one @-mention a day, at
    09:30; the reward is transactional) and quiet hours (09:30 is outside them; the reward at
    23:59 is transactional), and consent at a send (only a member with consent enters)."""

    def __init__(self, person):
        super().__init__(person)
        self.streak, self.broken, self.days, self.checked_today = 1, 0, 0, True
        self.third = False

    def steps(self):
        person = self.person
        while True:
            yield from self.wait_until(0)
            self.checked_today = False
            self.days += 1
            yield from self.wait_until(9.5 * HOUR)
            if not self.checked_today:
                person.send("mention")
            yield from self.wait_until(23 * HOUR + 59 * 60)
            if self.checked_today:
                self.streak += 1
                if self.streak >= 7:
                    person.send("reward")
                    return "converted"              # emit streak_7: the goal
                if self.streak == 3:
                    if not self.third:                  # emit streak_3: the milestone, once a run
                        self.third = True
                        person.counts["milestone:three_in_a_row"] += 1
                elif self.days >= 21:
                    return "completed"
            else:
                self.streak = 0
                self.broken += 1
                if self.broken >= 3 or self.days >= 21:
                    return "completed"


class CheckinStreak(Model):
    ARRIVAL = 3 * DAY
    PERSON = StreakPerson


# --- points_ladder ----------------------------------------------------------------------------


class PointsPerson(Person):
    SEGMENTS = [  # weight, consent.group, nudge response (p, mean delay), baseline per day
        dict(weight=0.3, consent=0.98, nudge=(0.5, DAY),
             baseline={"lesson_done": 0.6, "posted": 0.8, "order_paid": 0.03}),
        dict(weight=0.7, consent=0.9, nudge=(0.25, 2 * DAY),
             baseline={"lesson_done": 0.1, "posted": 0.05, "left_group": 0.005},
             opt_out=0.01, fatigue=0.9),
    ]
    POINTS = {"lesson_done": 10, "posted": 5, "order_paid": 20}  # the handlers (orders: 99)

    def __init__(self, model, rng):
        super().__init__(model, rng)
        self.segment = self.SEGMENTS[0] if rng.random() < self.SEGMENTS[0]["weight"] \
            else self.SEGMENTS[1]
        self.consent = rng.random() < self.segment["consent"]
        self.points, self.level = 0, 1

    def arrive(self, at: float):
        yield self.env.timeout(at)
        if self.consent:                                 # entry on joined_community, never again
            self.start(PointsRun(self))
        for event, per_day in self.segment["baseline"].items():
            self.env.process(self.stream(event, per_day))

    def react(self, event: str) -> None:
        run = self.run
        if run is None:
            return
        if event == "left_group":
            run.end("churned")
        elif event in self.POINTS:
            self.points += self.POINTS[event]
            run.deliver(event)                          # the wait's arm: to the check

    def send(self, template: str) -> None:
        p, mean = self.segment["nudge"] if template == "nudge" else (0.0, 0.0)
        self.delivered(p, lambda: self.rng.expovariate(1 / mean), "lesson_done")


class PointsRun(Run):
    """``examples/points_ladder.journey``. Consent at a send is left out (only a member with
    consent enters); the cap (2 messages per 7 days on group) is applied though it cannot bind
    (a nudge comes 7 days after the last event or nudge, and the congratulations are
    transactional)."""

    THRESHOLDS = ((400, 5), (250, 4), (120, 3), (50, 2))

    def steps(self):
        person = self.person
        while True:
            level = next((lv for points, lv in self.THRESHOLDS
                          if person.points >= points and person.level < lv), None)
            if level is not None:
                person.level = level
                if person.may_send():                   # transactional: no cap, no quiet hours
                    person.send("level_up")
                if level == 5:
                    return "converted"                  # emit reached_level_5: the goal
                if level == 3:
                    person.counts["milestone:level_3"] += 1
            # idle: wait within 7d for lesson_done, posted or order_paid, else the nudge
            while not (yield from self.wait_for(tuple(person.POINTS), 7 * DAY)):
                if (yield from self.checks(quiet=(22 * HOUR, 8 * HOUR), caps=((2, 7 * DAY, None),))):
                    person.send("nudge")


class PointsLadder(Model):
    ARRIVAL = 7 * DAY
    PERSON = PointsPerson


# --- weekly_community_activity ----------------------------------------------------------------

MONDAY, WEDNESDAY, SATURDAY = 0, 2, 5   # the cohort starts on a Monday, 08:00 local


class WeeklyPerson(Person):
    segment = dict(opt_out=0.01, fatigue=0.97)

    def __init__(self, model, rng):
        super().__init__(model, rng)
        self.member = rng.random() < 0.92        # tag community_member
        self.consent = rng.random() < 0.95
        self.arrived = False

    def arrive(self, at: float):
        yield self.env.timeout(at)
        self.arrived = True

    def enter(self) -> None:
        """Wednesday 20:00: every member with consent, re-entry after 6 days."""
        if self.arrived and self.member and self.consent and self.run is None and (
                self.entered_at is None or self.env.now - self.entered_at >= 6 * DAY):
            self.start(WeeklyRun(self))

    def react(self, event: str) -> None:
        run = self.run
        if run is None:
            return
        if event == "unsubscribed":
            run.end("opted_out")
        elif event == "order_paid":                # source community: a response to the offer
            run.end("converted")
        else:
            run.deliver(event)

    def send(self, template: str) -> None:
        if template == "contest_invite":
            self.delivered(0.25, lambda: self.rng.expovariate(1 / (2 * HOUR)), "contest_joined")
        elif template == "member_offer":
            self.delivered(0.15, lambda: self.rng.lognormvariate(math.log(DAY), 0.8), "order_paid")
        else:
            self.delivered(0.0, None, "")


class WeeklyRun(Run):
    """``examples/weekly_community_activity.journey``. Left out: the KPI (an observation that
    changes no run), the promo budget (measured, never enforced), consent at a send (only a
    member with consent enters), the exit on ``group_left`` (the cohort has no such event),
    and quiet hours at every send but the members' offer (the others go at 10:00, 19:30 or
    20:00, outside 22:30-08:00)."""

    CAP = ((4, 7 * DAY, None),)

    def steps(self):
        person = self.person
        if (yield from self.checks(caps=self.CAP)):
            person.send("contest_invite")
        if not (yield from self.wait_for(("contest_joined",), DAY)):
            if (yield from self.checks(caps=self.CAP)):
                person.send("contest_tip")
            yield from self.wait_weekday(SATURDAY, 10 * HOUR)
            return "completed"
        if (yield from self.checks(quiet=(22.5 * HOUR, 8 * HOUR), caps=self.CAP)):
            person.send("member_offer")
        yield from self.wait_until(10 * HOUR)
        if (yield from self.checks(caps=self.CAP)):
            person.send("contest_tip")
        yield from self.wait_weekday(WEDNESDAY, 19.5 * HOUR)
        if (yield from self.checks(caps=self.CAP)):
            person.send("contest_reminder")
        return "completed"

    def wait_weekday(self, weekday: int, hour: float):
        """Until the next ``weekday`` (0: Monday) at ``hour``, local."""
        local = self.env.now + self.offset
        today = int(local // DAY) % 7
        delay = ((weekday - today) % 7) * DAY + hour - local % DAY
        yield from self.wait(delay if delay > 0 else delay + 7 * DAY)


class WeeklyCommunityActivity(Model):
    ARRIVAL = DAY
    PERSON = WeeklyPerson

    def start(self) -> None:
        self.env.process(self.wednesdays())

    def wednesdays(self):
        """Every Wednesday at 20:00 local (UTC+8), from the cohort's start (a Monday)."""
        at = 2 * DAY + 20 * HOUR - 8 * HOUR
        while at < self.horizon:
            yield self.env.timeout(at - self.env.now)
            for person in self.people:
                person.enter()
            at += 7 * DAY


# --- live_stream_reminders --------------------------------------------------------------------


class LivePerson(Person):
    SEGMENTS = [  # delays (low, high): uniform; a number: an exponential's mean
        dict(weight=0.7, audience=0.9, fan=0.1, arrival_starts=(1, 72), starts=(2, 72),
             registers=0.01, starting=(0.98, (HOUR, 3 * DAY)), cancelled=(0.02, (HOUR, 2 * DAY)),
             joins_reminded=(0.5, 50 * 60), joins=(0.1, (50 * 60, 2 * HOUR)),
             buys_live=(0.15, (10 * 60, HOUR)), buys_offer=(0.08, 2 * HOUR),
             consent=dict(wecom=0.9, push=0.6, email=0.4, official_account=0.7),
             opt_out=0.02, fatigue=0.9),
        dict(weight=0.3, audience=0.3, fan=0.85, arrival_starts=(2, 48), starts=(2, 48),
             registers=0.03, starting=(0.98, (HOUR, 2 * DAY)), cancelled=(0.02, (HOUR, 2 * DAY)),
             joins_reminded=(0.65, 40 * 60), joins=(0.2, (50 * 60, 2 * HOUR)),
             buys_live=(0.2, (10 * 60, HOUR)), buys_offer=(0.1, HOUR),
             consent=dict(wecom=0.95, push=0.75, email=0.3, official_account=0.8),
             opt_out=0.01, fatigue=0.92),
    ]

    def __init__(self, model, rng):
        super().__init__(model, rng)
        seg = self.segment = self.SEGMENTS[0] if rng.random() < self.SEGMENTS[0]["weight"] \
            else self.SEGMENTS[1]
        # audience: age group young_parent or family, or tag live_fan
        in_age, fan = rng.random() < seg["audience"], rng.random() < seg["fan"]
        self.audience = in_age or fan
        self.consent = {ch: rng.random() < p for ch, p in seg["consent"].items()}
        self.held_out = rng.random() < 0.05   # the holdout: per customer, every run

    def arrive(self, at: float):
        yield self.env.timeout(at)
        self.register(self.segment["arrival_starts"])
        self.env.process(self.stream("live_registered", self.segment["registers"]))

    def register(self, starts: tuple[int, int]) -> None:
        """A registration: the platform's events for it, and a run when it may start."""
        self.respond("starting", "live_starting")
        self.respond("cancelled", "live_cancelled")
        if round(self.rng.uniform(*starts)) >= 2 and self.audience:   # reentry always
            self.start(LiveRun(self, holdout=self.held_out))

    def respond(self, response: str, event: str) -> None:
        """A response to an event (no fatigue): ``event`` with its probability, after a
        uniform delay."""
        p, (low, high) = self.segment[response]
        if self.rng.random() < p:
            self.env.process(self.later(self.rng.uniform(low, high), event))

    def react(self, event: str) -> None:
        if event == "live_registered":                  # from the baseline
            self.register(self.segment["starts"])
            return
        if event == "live_starting":
            self.respond("joins", "live_joined")
            self.env.process(self.later(self.rng.uniform(2 * HOUR, 3 * HOUR), "live_ended"))
        elif event == "live_joined":
            self.respond("buys_live", "order_paid")
        for run in list(self.runs):
            if event in ("unsubscribed", "live_cancelled"):
                run.end("opted_out" if event == "unsubscribed" else "expired")
            elif event == "order_paid":                 # source live: the goal within 3 days
                if self.env.now - run.entered <= 3 * DAY:
                    run.end("converted")
            else:
                run.deliver(event)

    def send(self, template: str) -> None:
        response, event = {"live_soon": ("joins_reminded", "live_joined"),   # within 1d: the
                           "viewer_offer": ("buys_offer", "order_paid")      # tail is nil
                           }.get(template, (None, ""))
        p, mean = self.segment[response] if response else (0.0, 0.0)
        self.delivered(p, lambda: self.rng.expovariate(1 / mean), event)


class LiveRun(Run):
    """``examples/live_stream_reminders.journey``, one run per registration. Left out: the
    split of the teaser (both arms send one WeCom message; no response tells them apart), tags,
    and the cohort's baseline orders from the mall (they meet no goal: the goal wants orders
    from the live). A held-out run waits for its goal for 3 days (the goal's window)."""

    QUIET = (23 * HOUR, 8 * HOUR)
    CAPS = ((4, DAY, None), (1, DAY, ("email",)))

    def __init__(self, person, holdout=False):
        super().__init__(person, holdout)
        self.entered = self.env.now

    def message(self, channel: str, template: str):
        person = self.person
        if (yield from self.checks(self.QUIET, self.CAPS, channel, person.consent[channel])):
            person.send(template)

    def steps(self):
        if self.holdout:
            yield from self.wait(3 * DAY)
            return "expired"
        yield from self.message("wecom", "live_confirm")
        yield from self.message("wecom", "teaser")
        if (yield from self.wait_for(("live_starting",), 14 * DAY)):
            yield from self.message("push", "live_soon")
            came = yield from self.wait_for(("live_joined", "live_ended"), 3 * HOUR)
            if came == "live_joined":
                yield from self.wait_for(("live_ended",), 4 * HOUR)
                yield from self.message("official_account", "viewer_offer")
                return "completed"
        yield from self.wait_until(10 * HOUR)              # missed
        yield from self.message("email", "replay_link")
        return "completed"


class LiveStreamReminders(Model):
    ARRIVAL = 14 * DAY
    PERSON = LivePerson


MODELS = {"checkin_streak": CheckinStreak, "points_ladder": PointsLadder,
          "weekly_community_activity": WeeklyCommunityActivity,
          "live_stream_reminders": LiveStreamReminders}


# --- checking a model against the engine ------------------------------------------------------


def engine_figures(results) -> dict:
    """The figures of the engine's ``Results`` a model counts."""
    found = {"runs": results.entered["treated"], "holdout_runs": results.entered["holdout"],
             "messages": results.messages["total"],
             "customers_not_entered": results.entered["customers_not_entered"],
             "still_inside": results.still_inside}
    found.update({key.replace("treated:", "ended:"): value
                  for key, value in results.ended.items()})
    found.update({name: results.policies[name] for name in POLICIES})
    found.update({f"milestone:{m['milestone']}": m["reached"] for m in results.milestones})
    return found


def agreement(model: dict, model_customers: int, engine: dict, engine_customers: int
              ) -> tuple[float, list[str]]:
    """Each figure as a rate per customer in both, the model's scaled to the engine's size,
    with the z score of their difference (its spread from the model's per-customer spread,
    at least a Poisson count's).
    Returns the largest |z| and a line per figure."""
    lines, worst = [], 0.0
    for name in sorted(set(model) | set(engine)):
        total, sd = model.get(name, (0, 0.0))
        ours, theirs = total / model_customers, engine.get(name, 0) / engine_customers
        # a rare count may be 0 in the model's sample: no less spread than a Poisson count's
        sd = max(sd, math.sqrt(max(ours, theirs)))
        spread = sd * math.sqrt(1 / model_customers + 1 / engine_customers)
        z = (ours - theirs) / spread if spread > 0 else (0.0 if ours == theirs else math.inf)
        worst = max(worst, abs(z))
        lines.append(f"  {name:<32} SimPy {ours * engine_customers:>12,.0f}  "
                     f"engine {engine.get(name, 0):>12,}  z {z:+6.2f}")
    return worst, lines


def report(model: dict, model_customers: int, engine: dict, engine_customers: int) -> bool:
    worst, lines = agreement(model, model_customers, engine, engine_customers)
    print(f"SimPy model (scaled to {engine_customers:,} customers) against engine, each figure "
          "(z: difference over its sampling spread):")
    print("\n".join(lines))
    agree = worst < 4
    print(f"figures compared: {len(lines)}; largest |z| {worst:.2f} "
          f"({'agree' if agree else 'DISAGREE'} within sampling error: |z| < 4)")
    return agree


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    from journeylang import api
    from journeylang.sim import Simulation, load_cohort
    from journeylang.sim.vector import VectorSimulation

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("example", choices=sorted(MODELS))
    parser.add_argument("--customers", type=int, default=20_000, help="of the SimPy model")
    parser.add_argument("--engine-customers", type=int, help="default: --customers")
    parser.add_argument("--engine", choices=("vector", "reference"), default="vector")
    parser.add_argument("--days", type=float, default=90)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    cohort = load_cohort(root / "examples" / "cohorts" / f"{args.example}.cohort.yaml")
    cohort.size = args.engine_customers or args.customers
    journey, = [p for p in (root / "examples").glob(f"{args.example}.*") if p.is_file()]
    engine = VectorSimulation if args.engine == "vector" else Simulation
    results = engine(api.load_tables(journey), cohort, args.seed, args.days).run()
    figures = MODELS[args.example](args.customers, args.days, args.seed).run()
    agree = report(figures, args.customers, engine_figures(results), cohort.size)
    sys.exit(0 if agree else 1)


if __name__ == "__main__":
    main()
