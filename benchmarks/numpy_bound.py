"""The benchmark journey of sim_bench.py written by hand in numpy: a bound for the engine.

    python benchmarks/numpy_bound.py --customers 1000000      # alone: time and figures
    python benchmarks/sim_bench.py --bound                    # beside the engine, same run

The journey's 30 steps are a fixed graph whose only data-dependent turns are the two
``wait for clicked`` blocks, the split and the run's end (the goal, the exit rule), so the
whole cohort moves through it step by step in lockstep: per customer the time they reach the
step and whether they are still in the run. Ends come from events: the first order within 30
days of entry (the first baseline order after entry, an exponential draw, and each response
to a message) and an opt-out a minute after a message; a customer is at a step when their run
has not ended before the step's time. Every draw is the cohort's: segment, consent, arrival,
the 10% entry holdout and the 50/50 split (uniform draws here, where the engine hashes ids as
the runtime does), responses to each message with the segment's fatigue, delays, opt-outs.
Every policy is applied: quiet hours (a send in 22:00-08:00 local waits until 08:00),
consent per channel, the cap of 3 messages per rolling day. What it counts is what the
engine's results report for this journey: runs entered (treated, holdout), runs ended per
outcome, step visits, messages, deferrals, consent and cap skips, opt-outs, handoffs,
conversions; ``agreement`` checks them against the engine's within sampling error.

It knows nothing the engine must find out while running (the journey is hard-coded, the
horizon is never reached: arrivals within 14 days plus at most about 20 days of steps), so it
bounds what a vectorised engine can do on this journey, not what it should be.
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np

DAY, HOUR = 86400.0, 3600.0
OFFSET = 8 * HOUR                 # both time zones of the cohort: UTC+8, no DST
OPT_OUT_DELAY = 60.0
GOAL_WITHIN = 30 * DAY
CAP, CAP_PER = 3, DAY
# the two segments of sim_bench.COHORT, in its order
WEIGHT_NEW = 0.7
CONSENT = {"wecom": np.array([0.9, 1.0]), "sms": np.array([0.6, 0.8])}
CLICK_P, CLICK_MEAN = np.array([0.2, 0.35]), np.array([8 * HOUR, 4 * HOUR])
ORDER_P, ORDER_MEDIAN = np.array([0.1, 0.05]), np.array([DAY, 12 * HOUR])
ORDER_ONLY_T4 = np.array([True, False])
BASE_PER_DAY = np.array([0.003, 0.01])
OPT_OUT = np.array([0.02, 0.01])
FATIGUE = np.array([0.9, 0.95])
CONVERTED, OPTED_OUT = 1, 2
BLOCK = 1 << 16   # customers per block, as the engine's


class Cohort:
    """The cohort's customers, their state in the run, and what is counted."""

    def __init__(self, n: int, seed, start: float, arrival: float = 14 * DAY, days: float = 90):
        gen = self.gen = np.random.default_rng(seed)
        self.n, self.start, self.horizon = n, start, start + days * DAY
        self.seg = (gen.random(n) >= WEIGHT_NEW).astype(np.int64)
        self.consent = {ch: gen.random(n) < p[self.seg] for ch, p in CONSENT.items()}
        self.entry = start + gen.random(n) * arrival
        entered = self.consent["wecom"]               # entry on joined where consent.wecom
        self.held = entered & (gen.random(n) < 0.10)
        self.treated = entered & ~self.held
        self.arm_a = gen.random(n) < 0.5
        # the run's end: the first baseline order within the goal's window, if any
        first_order = self.entry + gen.exponential(DAY / BASE_PER_DAY[self.seg])
        self.end = np.where(first_order <= self.entry + GOAL_WITHIN, first_order, np.inf)
        self.why = np.where(np.isfinite(self.end), CONVERTED, 0)
        self.received = np.zeros(n, dtype=np.int64)
        self.left = np.zeros(n, dtype=bool)
        self.last = np.full((n, CAP), -np.inf)        # times of the last CAP messages
        self.clicks: list[np.ndarray] = []            # per message: its click's time or inf
        self.counts: dict[str, int] = {}
        self.visits: dict[str, int] = {}

    def count(self, name: str, n) -> None:
        self.counts[name] = self.counts.get(name, 0) + int(n)

    # --- steps: each takes the customers at it (a mask) and their times, returns who goes on

    def arrive(self, step: str, at, live):
        """Customers in ``live`` reach ``step`` at ``at`` unless their run ended before."""
        here = live & (self.end > at)
        if (at[here] > self.horizon).any():
            raise ValueError(f"{step}: reached after the horizon, which the bound does not model")
        self.visits[step] = self.visits.get(step, 0) + int(here.sum())
        return here

    def wait(self, step: str, at, live, seconds):
        here = self.arrive(step, at, live)
        after = np.where(here, at + seconds, at)
        return after, here & (self.end > after)

    def wait_until(self, step: str, at, live, hour: float):
        local = (at + OFFSET) % DAY
        return self.wait(step, at, live, (hour - local) % DAY)

    def wait_click(self, step: str, at, live, within: float):
        """Who clicks within the window (and when), who times out (at its end)."""
        here = self.arrive(step, at, live)
        clicks = np.stack(self.clicks, axis=1)
        idx = np.flatnonzero(here)
        mine = clicks[idx]
        first = np.where(mine > at[idx, None], mine, np.inf).min(axis=1)
        click_at = np.full(self.n, np.inf)
        click_at[idx] = first
        clicked = here & (click_at <= at + within) & (click_at < self.end)
        timeout = here & ~clicked & (self.end > at + within)
        return np.where(clicked, click_at, np.where(here, at + within, at)), clicked, timeout

    def send(self, step: str, at, live, channel: str, template: str):
        here = self.arrive(step, at, live)
        local = (at + OFFSET) % DAY
        quiet = here & ((local >= 22 * HOUR) | (local < 8 * HOUR))
        self.count("quiet_deferrals", quiet.sum())
        self.count(f"deferred:{step}", quiet.sum())
        at = np.where(quiet, at + (8 * HOUR - local) % DAY, at)
        going = here & (self.end > at)               # an end during the deferral
        allowed = going & self.consent[channel]
        self.count("consent_skips", (going & ~allowed).sum())
        self.count(f"skipped:{step}", (going & ~allowed).sum())
        idx = np.flatnonzero(allowed)
        t = at[idx]
        capped = self.last[idx].min(axis=1) > t - CAP_PER
        self.count("cap_skips", capped.sum())
        self.count(f"skipped:{step}", capped.sum())
        idx, t = idx[~capped], t[~capped]
        self.count("messages", len(idx))
        self._deliver(idx, t, template)
        return at, going

    def _deliver(self, idx, t, template: str) -> None:
        gen, seg = self.gen, self.seg[idx]
        oldest = self.last[idx].argmin(axis=1)
        self.last[idx, oldest] = t
        factor = FATIGUE[seg] ** self.received[idx]
        self.received[idx] += 1
        clicks = np.full(self.n, np.inf)
        fire = gen.random(len(idx)) < CLICK_P[seg] * factor
        clicks[idx[fire]] = t[fire] + gen.exponential(CLICK_MEAN[seg[fire]])
        self.clicks.append(clicks)
        eligible = ~ORDER_ONLY_T4[seg] | (template == "t4")
        fire = eligible & (gen.random(len(idx)) < ORDER_P[seg] * factor)
        who = idx[fire]
        order = t[fire] + np.exp(np.log(ORDER_MEDIAN[seg[fire]]) + gen.standard_normal(len(who)))
        wins = (order <= self.entry[who] + GOAL_WITHIN) & (order < self.end[who])
        self.end[who[wins]], self.why[who[wins]] = order[wins], CONVERTED
        leaving = ~self.left[idx] & (gen.random(len(idx)) < OPT_OUT[seg])
        who = idx[leaving]
        self.left[who] = True
        self.count("opt_outs", len(who))
        out = t[leaving] + OPT_OUT_DELAY
        wins = out < self.end[who]
        self.end[who[wins]], self.why[who[wins]] = out[wins], OPTED_OUT

    # --- the journey ----------------------------------------------------------------------------

    def run(self) -> dict:
        """The 30 steps of sim_bench.JOURNEY for the treated, the goal window for the held out;
        the figures the engine's results give."""
        live, at = self.treated.copy(), self.entry.copy()
        at, live = self.send("welcome.1", at, live, "wecom", "t1")
        live = self.arrive("welcome.2", at, live)                      # tag "new"
        at, live = self.wait("welcome.3", at, live, HOUR)
        at, live = self.send("welcome.4", at, live, "wecom", "t2")
        at, clicked, timeout = self.wait_click("welcome.5", at, live, 2 * DAY)
        at, nudged = self.send("nudge", at, timeout, "sms", "t5")
        at, nudged = self.wait("welcome.7", at, nudged, DAY)
        live = self.arrive("engaged", at, clicked | nudged)            # tag "engaged"
        at, live = self.wait_until("welcome.9", at, live, 10 * HOUR)
        at, live = self.send("welcome.10", at, live, "wecom", "t3")
        live = self.arrive("offer.1", at, live)                        # branch: all engaged
        live = self.arrive("split_it", at, live)
        at, a = self.send("arm_a", at, live & self.arm_a, "wecom", "t4")
        at, b = self.send("arm_b", at, live & ~self.arm_a, "sms", "t4")
        at, clicked, timeout = self.wait_click("waited", at, a | b, 3 * DAY)
        hot = self.arrive("hot", at, clicked)                          # handoff
        self.count("handoffs", hot.sum())
        at, hot = self.wait("offer.10", at, hot, DAY)
        at, live = self.wait("follow", at, hot | timeout, 3 * DAY)
        at, live = self.send("follow.2", at, live, "wecom", "t5")
        at, live = self.wait("follow.3", at, live, 7 * DAY)
        at, live = self.send("follow.4", at, live, "wecom", "t3")
        at, live = self.wait("follow.5", at, live, DAY)
        at, live = self.send("follow.6", at, live, "sms", "t2")
        for step in ("follow.7", "follow.8", "follow.9", "follow.10"):  # tags, exit completed
            live = self.arrive(step, at, live)
        treated, held = self.treated, self.held
        ended = {"treated:completed": int(live.sum()),
                 "treated:converted": int((treated & ~live & (self.why == CONVERTED)).sum()),
                 "treated:opted_out": int((treated & ~live & (self.why == OPTED_OUT)).sum()),
                 "holdout:converted": int((held & (self.why == CONVERTED)).sum()),
                 "holdout:expired": int((held & (self.why != CONVERTED)).sum())}
        figures = {"entered:treated": int(treated.sum()), "entered:holdout": int(held.sum()),
                   **ended, **self.counts}
        figures.update({f"step:{k}": v for k, v in self.visits.items()})
        return figures


def run(customers: int, seed: int = 1, start: float = 0.0, block: int = BLOCK) -> dict:
    """The figures of ``customers`` customers, in blocks (as the engine, to keep the arrays in
    cache), each with its own generator."""
    total: dict[str, int] = {}
    for index, first in enumerate(range(0, customers, block)):
        size = min(block, customers - first)
        figures = Cohort(size, np.random.SeedSequence([seed, index]), start).run()
        for name, value in figures.items():
            total[name] = total.get(name, 0) + value
    return total


def spread(customers: int, start: float, replicates: int = 16) -> dict:
    """Each figure's standard deviation between runs of ``customers`` customers, estimated from
    ``replicates`` runs (other seeds) of at most 100,000 customers and scaled by the square
    root of the size (the figures are sums over independent customers)."""
    size = min(customers, 100_000)
    runs = [run(size, 1_000 + r, start) for r in range(replicates)]
    names = set().union(*runs)
    return {name: float(np.std([r.get(name, 0) for r in runs], ddof=1)) * math.sqrt(customers / size)
            for name in names}


def engine_figures(results) -> dict:
    """The same figures from the engine's ``Results``."""
    found = {f"entered:{k}": results.entered[k] for k in ("treated", "holdout")}
    found.update({k: results.ended.get(k, 0) for k in
                  ("treated:completed", "treated:converted", "treated:opted_out",
                   "holdout:converted", "holdout:expired")})
    policies = results.policies
    found.update({"messages": results.messages["total"], "quiet_deferrals": policies["quiet_deferrals"],
                  "consent_skips": policies["consent_skips"], "cap_skips": policies["cap_skips"],
                  "opt_outs": policies["opt_outs"],
                  "handoffs": sum(role["handoffs"] for role in results.staff)})
    found.update({f"step:{s['step']}": s["entered"] for s in results.steps if s["entered"]})
    found.update({f"skipped:{s['step']}": s["skipped"] for s in results.steps
                  if s["kind"] == "send" and s["entered"]})
    found.update({f"deferred:{s['step']}": s["deferred"] for s in results.steps
                  if s["kind"] == "send" and s["entered"]})
    return found


def agreement(bound: dict, engine: dict, sd: dict) -> tuple[float, list[str]]:
    """Each figure of both, with the z score of their difference (``sd``: each figure's
    standard deviation between runs, from ``spread``). Returns the largest |z| and a line per
    figure."""
    lines, worst = [], 0.0
    for name in sorted(set(bound) | set(engine)):
        a, b = bound.get(name, 0), engine.get(name, 0)
        spread_ = math.sqrt(2) * sd.get(name, 0.0)
        z = (a - b) / spread_ if spread_ > 0 else (0.0 if a == b else math.inf)
        worst = max(worst, abs(z))
        lines.append(f"  {name:<24} bound {a:>10,}  engine {b:>10,}  z {z:+6.2f}")
    return worst, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    cpu, wall = time.process_time(), time.perf_counter()
    figures = run(args.customers, args.seed)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"numpy bound: {args.customers:,} customers  {wall:.2f} s wall, {cpu:.2f} s CPU")
    for name, value in figures.items():
        print(f"  {name:<24} {value:>10,}")


if __name__ == "__main__":
    main()
