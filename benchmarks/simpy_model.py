"""The benchmark journey of sim_bench.py as a straightforward SimPy model, for comparison.

One SimPy process per customer, written the obvious way: ``env.timeout`` for waits, an event
per awaited reaction and ``AnyOf`` (``|``) for a wait with a timeout, a process per delayed
reaction and per baseline order stream. Goals and exit rules end the customer's process
through an interrupt-free "ended" event every wait also listens to. Time zones are the cohort's
(Asia/Shanghai and Asia/Singapore, both UTC+8 with no DST), so local time is a fixed offset.
"""
from __future__ import annotations

import math
import random
from collections import Counter, deque

import simpy

DAY, HOUR = 86400.0, 3600.0
OFFSET = 8 * HOUR                        # both zones of the cohort are UTC+8 all year
QUIET = (22 * HOUR, 8 * HOUR)
CAP, CAP_PER = 3, DAY
GOAL_WITHIN = 30 * DAY
SEGMENTS = [  # the two segments of sim_bench.COHORT; order: (p, median delay, only after t4)
    dict(weight=0.7, wecom=0.9, sms=0.6, click=(0.2, 8 * HOUR), order=(0.1, DAY, True),
         base=0.003, opt_out=0.02, fatigue=0.9),
    dict(weight=0.3, wecom=1.0, sms=0.8, click=(0.35, 4 * HOUR), order=(0.05, 12 * HOUR, False),
         base=0.01, opt_out=0.01, fatigue=0.95),
]


class Walk:
    """What every SimPy model's run shares: an "ended" event (its goal or an exit rule) that
    each of its waits also listens to, and waits for a duration or a local time of day."""

    def __init__(self, env: simpy.Environment, offset: float = OFFSET):
        self.env, self.offset = env, offset
        self.ended = env.event()

    def end(self, outcome: str) -> None:
        if not self.ended.triggered:
            self.ended.succeed(outcome)

    def wait(self, seconds: float):
        yield self.env.timeout(seconds) | self.ended
        if self.ended.triggered:
            raise Ended

    def wait_until(self, hour: float):
        """Until the next ``hour`` (seconds after local midnight); at once when it is now."""
        delay = (hour - (self.env.now + self.offset)) % DAY
        yield from self.wait(0.0 if delay > DAY - 1e-6 else delay)


class Customer(Walk):
    def __init__(self, env: simpy.Environment, model: "Model", rng: random.Random):
        super().__init__(env)
        self.model, self.rng = model, rng
        self.seg = SEGMENTS[0] if rng.random() < SEGMENTS[0]["weight"] else SEGMENTS[1]
        self.wecom = rng.random() < self.seg["wecom"]
        self.sms = rng.random() < self.seg["sms"]
        self.tags: set[str] = set()
        self.sends: deque = deque()
        self.received = 0
        self.opted_out = False
        self.clicked = env.event()
        self.entered = 0.0

    # --- reactions ------------------------------------------------------------------------

    def later(self, delay: float, what: str):
        yield self.env.timeout(delay)
        if what == "clicked":
            if not self.clicked.triggered:
                self.clicked.succeed()
        elif what == "order" and self.env.now - self.entered <= GOAL_WITHIN:
            self.end("converted")
        elif what == "unsubscribed":
            self.opted_out = True
            self.end("opted_out")

    def baseline(self):
        while not self.ended.triggered:
            yield self.env.timeout(self.rng.expovariate(self.seg["base"] / DAY))
            if self.env.now - self.entered <= GOAL_WITHIN:
                self.end("converted")

    # --- steps ----------------------------------------------------------------------------

    def send(self, channel: str, template: str):
        local = (self.env.now + OFFSET) % DAY
        if local >= QUIET[0] or local < QUIET[1]:
            self.model.deferred += 1
            yield from self.wait((QUIET[1] - local) % DAY)
        if self.opted_out or not (self.wecom if channel == "wecom" else self.sms):
            return
        while self.sends and self.sends[0] <= self.env.now - CAP_PER:
            self.sends.popleft()
        if len(self.sends) >= CAP:
            self.model.capped += 1
            return
        self.sends.append(self.env.now)
        self.model.messages += 1
        factor = self.seg["fatigue"] ** self.received
        self.received += 1
        p, mean = self.seg["click"]
        if self.rng.random() < p * factor:
            self.env.process(self.later(self.rng.expovariate(1 / mean), "clicked"))
        p, median, only_t4 = self.seg["order"]
        if (template == "t4" or not only_t4) and self.rng.random() < p * factor:
            self.env.process(self.later(self.rng.lognormvariate(math.log(median), 1.0), "order"))
        if self.rng.random() < self.seg["opt_out"]:
            self.env.process(self.later(60.0, "unsubscribed"))

    def wait_click(self, within: float):
        self.clicked = self.env.event()
        result = yield self.env.timeout(within) | self.clicked | self.ended
        if self.ended.triggered:
            raise Ended
        return self.clicked in result

    def journey(self):
        """The 30 steps of sim_bench.JOURNEY; a goal or exit rule ends it wherever it is."""
        try:
            yield from self.steps()
        except Ended:
            return
        self.end("completed")

    def steps(self):
        yield from self.send("wecom", "t1")
        self.tags.add("new")
        yield from self.wait(HOUR)
        yield from self.send("wecom", "t2")
        if not (yield from self.wait_click(2 * DAY)):
            yield from self.send("sms", "t5")
            yield from self.wait(DAY)
        self.tags.add("engaged")
        yield from self.wait_until(10 * HOUR)
        yield from self.send("wecom", "t3")
        if "engaged" in self.tags:
            yield from self.send("wecom" if self.rng.random() < 0.5 else "sms", "t4")
            if (yield from self.wait_click(3 * DAY)):
                self.model.handoffs += 1
                yield from self.wait(DAY)
        else:
            yield from self.send("wecom", "t4")
            yield from self.wait(2 * DAY)
        yield from self.wait(3 * DAY)
        yield from self.send("wecom", "t5")
        yield from self.wait(7 * DAY)
        yield from self.send("wecom", "t3")
        yield from self.wait(DAY)
        yield from self.send("sms", "t2")
        self.tags |= {"loyal", "done"}
        self.tags.discard("new")


class Ended(Exception):
    """The customer's run ended (goal or exit rule) while a step waited."""


class Model:
    """``customers`` through the journey for ``days``; counts outcomes and messages."""

    def __init__(self, customers: int, days: float = 90, seed: int = 1, arrival: float = 14 * DAY):
        self.env = simpy.Environment()
        self.rng = random.Random(seed)
        self.customers, self.days, self.arrival = customers, days, arrival
        self.messages = self.deferred = self.capped = self.handoffs = 0
        self.outcomes: Counter = Counter()

    def arrive(self, customer: Customer, at: float):
        yield self.env.timeout(at)
        if not customer.wecom:
            return
        customer.entered = self.env.now
        self.env.process(customer.baseline())
        if customer.rng.random() < 0.10:          # holdout: only the goal
            yield customer.ended
        else:
            self.env.process(customer.journey())
            yield customer.ended
        self.outcomes[customer.ended.value] += 1

    def run(self) -> Counter:
        for i in range(self.customers):
            customer = Customer(self.env, self, random.Random(self.rng.random()))
            self.env.process(self.arrive(customer, self.rng.random() * self.arrival))
        self.env.run(until=self.days * DAY)
        return self.outcomes
