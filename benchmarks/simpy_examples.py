"""Bundled examples as straightforward SimPy models, for comparison (``sim_bench.py --examples``).

    python benchmarks/simpy_examples.py checkin_streak --customers 20000   # check against the engine

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
"""
from __future__ import annotations

import argparse
import math
import random
import sys
from collections import Counter
from pathlib import Path

import simpy

from simpy_model import DAY, HOUR, Ended, Walk

POLICIES = ("opt_outs", "cap_skips", "consent_skips", "opted_out_skips", "quiet_deferrals")
OPT_OUT_DELAY = 60.0


class Person:
    """A customer of a model: their segment and draws, the events that happen to them (``on``),
    and the figures counted for them."""

    def __init__(self, model: "Model", rng: random.Random):
        self.model, self.env, self.rng = model, model.env, rng
        self.counts: Counter = Counter()
        self.run: Walk | None = None          # the run in progress, if any
        self.entered_at: float | None = None  # of the last run
        self.received = 0                     # messages: fatigue lowers each response
        self.opted_out = False                # an opt-out drawn (its event comes a minute later)
        self.unsubscribed = False             # the opt-out event happened: sends are skipped

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
        raise NotImplementedError

    def start(self, run: Walk) -> None:
        """A run starts: counted, and its outcome counted when it ends."""
        self.run, self.entered_at = run, self.env.now
        self.counts["runs"] += 1
        self.env.process(self._follow(run))

    def _follow(self, run: Walk):
        self.env.process(run.journey())
        outcome = yield run.ended
        self.counts[f"ended:{outcome}"] += 1
        self.run = None

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

    def __init__(self, person: Person):
        super().__init__(person.env)
        self.person = person

    def journey(self):
        try:
            outcome = yield from self.steps()
        except Ended:
            return
        self.end(outcome)

    def steps(self):
        raise NotImplementedError


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
        self.env.run(until=self.horizon)
        for person in self.people:
            if person.run is not None:
                person.counts["still_inside"] += 1
            if not person.counts["runs"]:
                person.counts["customers_not_entered"] += 1
        return self.figures()

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

    def on(self, event: str) -> None:
        if event == "checked_in":
            if self.run is not None:
                self.run.checked_today = True            # the handler
            elif self.consent and (self.entered_at is None
                                   or self.env.now - self.entered_at >= 30 * DAY):
                self.start(StreakRun(self))              # entry, re-entry after 30d
        elif event == "left_group" and self.run is not None:
            self.run.end("churned")
        elif event == "unsubscribed":
            self.unsubscribed = True

    def send(self, template: str) -> None:
        if self.unsubscribed:
            self.counts["opted_out_skips"] += 1
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


MODELS = {"checkin_streak": CheckinStreak}


# --- checking a model against the engine ------------------------------------------------------


def engine_figures(results) -> dict:
    """The figures of the engine's ``Results`` a model counts."""
    found = {"runs": results.entered["runs"], "messages": results.messages["total"],
             "customers_not_entered": results.entered["customers_not_entered"],
             "still_inside": results.still_inside}
    found.update({f"ended:{key.split(':', 1)[1]}": value for key, value in results.ended.items()
                  if key.startswith("treated:")})
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
    from journeylang.sim import load_cohort
    from journeylang.sim.shard import simulate_sharded

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("example", choices=sorted(MODELS))
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--days", type=float, default=90)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    cohort = load_cohort(root / "examples" / "cohorts" / f"{args.example}.cohort.yaml")
    cohort.size = args.customers
    journey, = [p for p in (root / "examples").glob(f"{args.example}.*") if p.is_file()]
    results = simulate_sharded(api.load_tables(journey), cohort, args.seed, args.days, shards=1)
    figures = MODELS[args.example](args.customers, args.days, args.seed).run()
    sys.exit(0 if report(figures, args.customers, engine_figures(results), args.customers) else 1)


if __name__ == "__main__":
    main()
