"""Vectorised simulation: one block of customers moved through the journey in lockstep.

Customers are independent, so they advance by step transitions rather than by global time:
each pass groups the customers who are about to enter a step and applies that step to all of
them with numpy (docs/simulation.md, "The vectorised engine"). Every random draw of a block
comes from the block's own generator, so a customer's fate depends only on the seed and the
block they are in: shards of whole blocks give the same results as one run.
"""
from __future__ import annotations

import hashlib

import numpy as np

from .columns import VectorScope, as_objects, flatten, holds, evaluate, sample, typed
from ...semantics import (ERROR, MAX_STEPS, SEND_CAP, SEND_CHECKS, SEND_NO_CONSENT,
                          SEND_OPTED_OUT, SEND_QUIET, zero_wait)
from ..cohort import OPT_OUT_DELAY
from .plan import NO_NEXT, Plan
from .tally import Tally

IDLE, ENDED = -3, -1       # never entered (or a holdout run) / ended; NO_NEXT (-2) is still live
SLOTS = 4                  # pending reactions kept per customer and wait arm


def buckets(seed, parts: tuple[str, ...], customers: list[bytes]) -> np.ndarray:
    """``runtime.policies.bucket`` for many customers (ids UTF-8 encoded) at once; the tests
    check that the two agree."""
    prefix = "\x1f".join([str(seed), *parts, ""]).encode("utf-8")
    blake2b = hashlib.blake2b
    digests = b"".join([blake2b(prefix + c, digest_size=8).digest() for c in customers])
    return np.frombuffer(digests, dtype=">u8").astype(float) / 2.0 ** 64 * 100.0


class Block:
    """Customers ``first`` .. ``first + n - 1`` of the cohort, with their own generator."""

    def __init__(self, plan: Plan, spec, first: int, n: int, seed_sequence):
        self.plan, self.spec, self.first, self.n = plan, spec, first, n
        self.gen = np.random.default_rng(seed_sequence)
        self.tally = Tally(plan, n)
        self.trace: list[tuple] = []   # sends: customer rows, times, channel, zone codes
        self.holdout_inside = 0
        self.step = np.full(n, IDLE)
        self.t = np.zeros(n)
        self.prev = np.full(n, -1)
        self.why = np.zeros(n, dtype=np.int64)
        self.resumed = np.zeros(n, dtype=bool)
        self.hops = np.zeros(n, dtype=np.int64)
        self.end_at = np.full(n, np.inf)
        self.end_why = np.full(n, -1)
        self.end_seq = np.zeros(n, dtype=np.int64)   # events at one instant apply in creation order
        self.seq = 0
        self.received = np.zeros(n, dtype=np.int64)
        self.opt_time = np.full(n, np.inf)
        self.caps = [(np.full((n, m), -np.inf), np.zeros(n, dtype=np.int64)) for m, _, _ in plan.caps]
        self.slots: dict[int, np.ndarray] = {}
        self.slot_seq: dict[int, np.ndarray] = {}
        self.next_base: dict[int, np.ndarray] = {}
        self._tests: dict[tuple, np.ndarray] = {}
        self._arms_of_split: dict[int, np.ndarray] = {}
        self._ids: list[bytes] | None = None
        self._sample()

    def ids(self, rows: np.ndarray) -> list[bytes]:
        """Customer ids as the reference engine names them (``c1``, ``c2``...), encoded."""
        if self._ids is None:
            self._ids = [b"c%d" % i for i in range(self.first + 1, self.first + self.n + 1)]
        ids = self._ids
        return [ids[i] for i in rows.tolist()]

    # --- customers --------------------------------------------------------------------------

    def _sample(self) -> None:
        plan, cohort, gen, n = self.plan, self.plan.cohort, self.gen, self.n
        segments = cohort.segments
        cumulative = np.cumsum([s.weight for s in segments])
        self.seg = np.minimum(np.searchsorted(cumulative, gen.random(n) * cumulative[-1],
                                              side="right"), len(segments) - 1)
        self.arrival = cohort.start + gen.random(n) * cohort.arrival
        self.profile, self.entry, self.consent, self.tags = {}, {}, {}, {}
        self.zone = np.zeros(n, dtype=np.int64)
        parts: dict[str, dict[tuple, list]] = {"profile": {}, "entry": {}, "consent": {}, "tags": {}}
        for g, segment in enumerate(segments):
            rows = np.flatnonzero(self.seg == g)
            self._segment(g, segment, rows, parts)
        for table, found in parts.items():
            target = getattr(self, table)
            for path, pieces in found.items():
                target[path] = _assemble(n, pieces)
        self.consent_ok = {ch: (self.consent[(ch,)] == True) if (ch,) in self.consent  # noqa: E712
                           else np.zeros(n, dtype=bool) for ch in plan.program.consent}
        for source_index, source in enumerate(plan.sources):
            if source.rate > 0:
                mine = self.seg == source.segment
                first = np.full(n, np.inf)
                first[mine] = self.arrival[mine] + gen.exponential(1.0 / source.rate, int(mine.sum()))
                self.next_base[source_index] = first

    def _segment(self, g: int, segment, rows: np.ndarray, parts: dict) -> None:
        gen, k, reads = self.gen, len(rows), self.plan.reads
        for name, sampler in segment.attributes.items():
            for path, leaf in ({(name,): sampler} | {(name, *p): s for p, s in flatten(sampler).items()}).items():
                if path in reads["profile"] and not _is_record(leaf):
                    parts["profile"].setdefault(path, []).append((rows, sample(leaf, gen, k)))
        for tag, p in segment.tags.items():
            parts["tags"].setdefault(tag, []).append((rows, gen.random(k) < p))
        if segment.timezone is not None:
            zones = segment.timezone
            picked = np.searchsorted(np.array(zones.cumulative), gen.random(k) * zones.total, side="right")
            codes = np.array([self.plan.zone_names.index(z) for z in zones.keys])
            self.zone[rows] = codes[np.minimum(picked, len(codes) - 1)]
        for channel, p in segment.consent.items():
            parts["consent"].setdefault((channel,), []).append((rows, gen.random(k) < p))
        for path, leaf in flatten(segment.entry_data).items():
            if path in self.plan.reads["entry"]:
                parts["entry"].setdefault(path, []).append((rows, sample(leaf, gen, k)))

    # --- entering ---------------------------------------------------------------------------

    def enter(self) -> None:
        plan, program, spec = self.plan, self.plan.program, self.spec
        if program.entry is None or plan.entry_event != program.entry.event:
            return
        everyone = np.arange(self.n)
        scope = VectorScope(self, everyone)
        ok = holds(plan.entry_tree, scope) & holds(plan.audience_tree, scope)
        ok &= self.arrival <= spec.horizon
        rows = np.flatnonzero(ok)
        holdout = np.zeros(len(rows), dtype=bool)
        if program.holdout:
            holdout = buckets(spec.seed, ("holdout", program.journey_id), self.ids(rows)) < program.holdout
        for source_index, first in self.next_base.items():
            self._occur(source_index, rows, first[rows], pending=False)
        self._holdout(rows[holdout])
        treated = rows[~holdout]
        self.tally.entered(treated, self.seg)
        self.t[treated] = self.arrival[treated]
        self.why[treated] = plan.why(f"entry on {program.entry.event}")
        if plan.start == NO_NEXT:
            self.step[treated] = ENDED
            self.tally.ended_unplaced(len(treated))
        else:
            self.step[treated] = plan.start

    def _holdout(self, rows: np.ndarray) -> None:
        window = self.plan.program.holdout_window()
        deadline = self.arrival[rows] + (np.inf if window is None else window)
        at, why = self.end_at[rows], self.end_why[rows]
        horizon = self.spec.horizon
        won = (at <= deadline) & (at <= horizon)
        expired = ~won & (deadline <= horizon)
        self.tally.holdout(len(rows), why[won], int(expired.sum()))
        self.holdout_inside = int((~won & ~expired).sum())

    def inside(self) -> int:
        """Runs not ended, read from the customers' states (the tests check the counts by it)."""
        live = (self.step >= 0) | (self.step == NO_NEXT)
        return int(live.sum()) + self.holdout_inside

    # --- the loop ---------------------------------------------------------------------------

    def run(self) -> Tally:
        self.enter()
        while True:
            live = np.flatnonzero(((self.step >= 0) | (self.step == NO_NEXT)) & (self.t <= self.spec.horizon))
            if not len(live):
                break
            steps = self.step[live]
            order = np.argsort(steps, kind="stable")
            kinds, starts = np.unique(steps[order], return_index=True)
            for k, s in enumerate(kinds.tolist()):
                end = starts[k + 1] if k + 1 < len(starts) else len(order)
                self._visit(s, live[order[starts[k]:end]])
        self.tally.finish(self)
        return self.tally

    def _visit(self, s: int, rows: np.ndarray) -> None:
        if s == NO_NEXT:
            self._end(rows, self.t[rows], self.plan.why("no next step", "completed"), self.prev[rows])
            return
        fresh = rows[~self.resumed[rows]]
        self.resumed[rows] = False
        self.tally.enter_step(s, fresh, self.prev[fresh], self.why[fresh])
        self.hops[rows] += 1
        looping = self.hops[rows] > MAX_STEPS
        if looping.any():
            self._end(rows[looping], self.t[rows[looping]],
                      self.plan.why(f"more than {MAX_STEPS} steps without a wait", ERROR), s)
            rows = rows[~looping]
        step = self.plan.steps[s]
        _HANDLERS[step.kind](self, s, step, rows)

    # --- moving and ending ------------------------------------------------------------------

    def _move(self, rows, s: int, to, why) -> None:
        self.step[rows], self.prev[rows], self.why[rows] = to, s, why

    def _advance(self, rows, s: int, leave, to, why) -> None:
        """Leave step ``s`` at ``leave`` unless a goal or exit event comes first."""
        at = self.end_at[rows]
        ends = (at <= leave) & (at <= self.spec.horizon)
        if ends.any():
            done = rows[ends]
            self._end(done, at[ends], self.end_why[done], s)
        keep = ~ends
        go = rows[keep]
        before = self.t[go]
        self.t[go] = leave[keep] if isinstance(leave, np.ndarray) else leave
        self.hops[go[self.t[go] > before]] = 0   # a zero wait counts against MAX_STEPS
        self._move(go, s, _pick(to, keep), _pick(why, keep))

    def _end(self, rows, at, why, origin) -> None:
        self.step[rows] = ENDED
        self.tally.ended(rows, at, why, origin, self)

    # --- behaviour --------------------------------------------------------------------------

    def _test(self, kind: str, index: int, tree, source_index: int) -> np.ndarray:
        """Whether a goal, exit rule or wait arm matches an event from a source, per customer."""
        key = (kind, index, source_index)
        if key not in self._tests:
            source = self.plan.sources[source_index]
            event = source.fixed if source.fixed is not None else {}
            self._tests[key] = holds(tree, VectorScope(self, np.arange(self.n), event))
        return self._tests[key]

    def _occur(self, source_index: int, rows: np.ndarray, at: np.ndarray, pending: bool = True) -> None:
        """Events from a source at ``at``: a goal or exit rule ends the run then; a wait may
        take them (kept in the wait arms' slots)."""
        if not len(rows):
            return
        plan = self.plan
        self.seq += 1
        event = plan.sources[source_index].event
        why = np.full(len(rows), -1)
        for i, trigger in enumerate(plan.triggers):
            if trigger.event != event:
                continue
            ok = self._test("trigger", i, trigger.tree, source_index)[rows] & (why < 0)
            if trigger.within is not None:
                ok &= at - self.arrival[rows] <= trigger.within
            why[ok] = trigger.why
        sooner = (why >= 0) & (at < self.end_at[rows])
        self.end_at[rows[sooner]], self.end_why[rows[sooner]] = at[sooner], why[sooner]
        self.end_seq[rows[sooner]] = self.seq
        if pending:
            for arm_index, arm in plan.arm_list:
                if arm.event == event:
                    ok = self._test("arm", arm_index, arm.tree, source_index)[rows]
                    self._push(arm_index, rows[ok], at[ok])

    def _push(self, arm_index: int, rows: np.ndarray, at: np.ndarray) -> None:
        if arm_index not in self.slots:
            self.slots[arm_index] = np.full((self.n, SLOTS), np.inf)
            self.slot_seq[arm_index] = np.zeros((self.n, SLOTS), dtype=np.int64)
        held = self.slots[arm_index][rows]
        held[held < self.t[rows][:, None]] = np.inf     # past events: nobody waits for them now
        column = held.argmax(axis=1)
        latest = held[np.arange(len(rows)), column]
        self.tally.dropped += int(np.isfinite(latest).sum())
        put = at < latest
        held[np.flatnonzero(put), column[put]] = at[put]
        self.slots[arm_index][rows] = held
        self.slot_seq[arm_index][rows[put], column[put]] = self.seq

    def _react(self, s: int, rows: np.ndarray, at: np.ndarray) -> None:
        """Draw each customer's reactions to a message: responses and opting out."""
        plan, gen = self.plan, self.gen
        before = self.received[rows]
        self.received[rows] += 1
        for g, sources in plan.responses_of[s].items():
            mine = self.seg[rows] == g
            who, when = rows[mine], at[mine]
            factor = plan.cohort.segments[g].fatigue ** before[mine]
            for source_index in sources:
                response = plan.sources[source_index].response
                hit = gen.random(len(who)) < response.p * factor
                delay = sample(response.delay, gen, int(hit.sum())) if hit.any() else np.zeros(0)
                self._occur(source_index, who[hit], when[hit] + delay)
        for g, segment in enumerate(plan.cohort.segments):
            if segment.opt_out <= 0:
                continue
            mine = (self.seg[rows] == g) & np.isinf(self.opt_time[rows])
            who, when = rows[mine], at[mine]
            leave = gen.random(len(who)) < segment.opt_out
            self.opt_time[who[leave]] = when[leave] + OPT_OUT_DELAY
            self._occur(0, who[leave], when[leave] + OPT_OUT_DELAY)

    # --- step kinds -------------------------------------------------------------------------

    def _send(self, s: int, step, rows: np.ndarray) -> None:
        """The send checks in the shared order (``semantics.SEND_CHECKS``): each decides for the
        customers no earlier check has decided."""
        plan, channel = self.plan, step.params["channel"]
        now = self.t[rows]
        open_ = np.ones(len(rows), dtype=bool)
        until = np.full(len(rows), np.nan)
        decided = {}
        for check in SEND_CHECKS:
            hit = np.zeros(len(rows), dtype=bool)
            if open_.any():
                hit[open_] = self._send_check(check, channel, rows[open_], now[open_], until, open_)
            decided[check] = hit
            open_ &= ~hit
        deferred = decided[SEND_QUIET]
        if deferred.any():
            self._defer(s, step, rows[deferred], now[deferred], until[deferred])
        self.tally.send_results(s, int(open_.sum()), int(decided[SEND_OPTED_OUT].sum()),
                                int(decided[SEND_NO_CONSENT].sum()), int(decided[SEND_CAP].sum()))
        self._deliver(s, channel, rows[open_], now[open_])
        rest = rows[~deferred]
        self._move(rest, s, plan.next_of(step), plan.why("next"))

    def _send_check(self, check: str, channel: str, rows, now, until, where) -> np.ndarray:
        """Which of ``rows`` (sending at ``now``) the check stops; the quiet-hours check
        writes the end of the window into ``until`` at ``where``."""
        program = self.plan.program
        if check == SEND_OPTED_OUT:
            return self.opt_time[rows] <= now
        if check == SEND_NO_CONSENT:
            if channel not in program.consent:
                return np.zeros(len(rows), dtype=bool)
            return ~self.consent_ok[channel][rows]
        if check == SEND_QUIET:
            if program.quiet is None:
                return np.zeros(len(rows), dtype=bool)
            ends = self.spec.clock.quiet_until(now, program.quiet, self.zone[rows])
            until[where] = ends
            return ~np.isnan(ends)
        capped = np.zeros(len(rows), dtype=bool)
        for (messages, per, channels), (times, heads) in zip(self.plan.caps, self.caps):
            if channels is None or channel in channels:
                capped |= times[rows, heads[rows]] > now - per
        return capped

    def _deliver(self, s: int, channel: str, rows: np.ndarray, now: np.ndarray) -> None:
        if not len(rows):
            return
        self.tally.sent[rows] += 1
        for (_, _, channels), (times, heads) in zip(self.plan.caps, self.caps):
            if channels is None or channel in channels:
                times[rows, heads[rows]] = now
                heads[rows] = (heads[rows] + 1) % times.shape[1]
        if self.spec.trace:
            self.trace.append((rows + self.first, now.copy(), channel, self.zone[rows]))
        self._react(s, rows, now)

    def _defer(self, s: int, step, rows, now, until) -> None:
        """Sends in quiet hours wait for the window's end; an opt-out meanwhile drops them."""
        horizon = self.spec.horizon
        self.tally.deferred(s, len(rows))
        at, opt = self.end_at[rows], self.opt_time[rows]
        ends = (at <= until) & (at <= horizon) & (at <= opt)
        if ends.any():
            self._end(rows[ends], at[ends], self.end_why[rows[ends]], s)
        cancel = ~ends & (opt <= until) & (opt <= horizon)
        if cancel.any():
            self.tally.skipped_opted_out(s, int(cancel.sum()))
            self._advance(rows[cancel], s, opt[cancel], self.plan.next_of(step), self.plan.why("next"))
        wait = ~ends & ~cancel
        self.t[rows[wait]] = until[wait]
        self.hops[rows[wait]] = 0
        self.resumed[rows[wait]] = True

    def _wait(self, s: int, step, rows) -> None:
        duration = step.params["duration"]
        if zero_wait("wait", duration=duration):   # on at once, counted against MAX_STEPS
            self._move(rows, s, self.plan.next_of(step), self.plan.why("waited"))
            return
        self._advance(rows, s, self.t[rows] + duration, self.plan.next_of(step),
                      self.plan.why("waited"))

    def _wait_until(self, s: int, step, rows) -> None:
        hours, minutes = step.params["time"].split(":")
        now = self.t[rows]
        due = self.spec.clock.next_local_time(now, int(hours) * 60 + int(minutes), self.zone[rows])
        reached = due <= now
        self._move(rows[reached], s, self.plan.next_of(step), self.plan.why("time reached"))
        self._advance(rows[~reached], s, due[~reached], self.plan.next_of(step), self.plan.why("waited"))

    def _wait_event(self, s: int, step, rows) -> None:
        plan, now = self.plan, self.t[rows]
        within = step.params.get("within")
        target = plan.index[step.timeout] if step.timeout else plan.next_of(step)
        if zero_wait("wait_event", within=within):   # times out at once, taking no event
            self._move(rows, s, target, plan.why("timeout"))
            return
        limit = now + (np.inf if within is None else within)
        best, arm_of = np.full(len(rows), np.inf), np.full(len(rows), -1)
        order = np.zeros(len(rows), dtype=np.int64)
        taken: list = []
        for k, (arm_index, arm) in enumerate(plan.arms_at[s]):
            found, seq, take = self._earliest(arm_index, arm, rows, now, limit)
            better = (found < best) | ((found == best) & (seq < order))
            best[better], order[better], arm_of[better] = found[better], seq[better], k
            taken.append(take)
        at = self.end_at[rows]
        first = (at < best) | ((at == best) & (self.end_seq[rows] <= order))
        ends = first & (at <= limit) & (at <= self.spec.horizon)
        if ends.any():
            self._end(rows[ends], at[ends], self.end_why[rows[ends]], s)
        moved = ~ends & (arm_of >= 0) & (best <= self.spec.horizon)
        for k, (arm_index, arm) in enumerate(plan.arms_at[s]):
            mine = moved & (arm_of == k)
            if mine.any():
                taken[k](mine)
                self.t[rows[mine]], self.hops[rows[mine]] = best[mine], 0
                self._move(rows[mine], s, arm.to, arm.why)
        rest = ~ends & ~moved
        self.t[rows[rest]], self.hops[rows[rest]] = limit[rest], 0
        self._move(rows[rest], s, target, plan.why("timeout"))

    def _earliest(self, arm_index: int, arm, rows, now, limit):
        """The first event in [now, limit] that this wait arm takes, and how to consume it."""
        found = np.full(len(rows), np.inf)
        column = np.zeros(len(rows), dtype=np.int64)
        seq = np.zeros(len(rows), dtype=np.int64)
        if arm_index in self.slots:
            held = self.slots[arm_index][rows]
            held = np.where((held >= now[:, None]) & (held <= limit[:, None]), held, np.inf)
            orders = self.slot_seq[arm_index][rows]
            # the earliest event; at one instant, the one created first
            column = np.lexsort((orders, held), axis=1)[:, 0] if SLOTS > 1 else held.argmin(axis=1)
            found = held[np.arange(len(rows)), column]
            seq = orders[np.arange(len(rows)), column]
        origin = np.full(len(rows), -1)
        for source_index, nexts in self.next_base.items():
            if self.plan.sources[source_index].event != arm.event:
                continue
            rate = self.plan.sources[source_index].rate
            ahead = nexts[rows]
            late = ahead < now          # memoryless: the first event after now is now + Exp
            if late.any():
                ahead[late] = now[late] + self.gen.exponential(1.0 / rate, int(late.sum()))
                nexts[rows[late]] = ahead[late]
            ok = self._test("arm", arm_index, arm.tree, source_index)[rows] & (ahead <= limit)
            better = ok & (ahead < found)
            found[better], origin[better] = ahead[better], source_index

        def take(mask):
            slot = mask & (origin < 0)
            if slot.any():
                self._consume(arm.event, rows[slot], found[slot], seq[slot])
            for source_index in np.unique(origin[mask & (origin >= 0)]).tolist():
                mine = mask & (origin == source_index)
                rate = self.plan.sources[source_index].rate
                self.next_base[source_index][rows[mine]] = found[mine] + self.gen.exponential(
                    1.0 / rate, int(mine.sum()))
        return found, seq, take

    def _consume(self, event: str, rows, at, seq) -> None:
        """A wait took these events: no other wait arm (on that event) may take them again.
        An event is pushed into every arm that listens for its type, and known there by its
        time and the sequence number of its occurrence."""
        for arm_index, arm in self.plan.arm_list:
            if arm.event != event or arm_index not in self.slots:
                continue
            held, orders = self.slots[arm_index][rows], self.slot_seq[arm_index][rows]
            same = (held == at[:, None]) & (orders == seq[:, None])
            held[same] = np.inf
            self.slots[arm_index][rows] = held

    def _branch(self, s: int, step, rows) -> None:
        to = np.full(len(rows), self.plan.next_of(step))
        why = np.full(len(rows), self.plan.why("else"))
        open_ = np.ones(len(rows), dtype=bool)
        for tree, target, label in self.plan.branches[s]:
            if not open_.any():
                break
            hit = open_.copy()
            hit[open_] = holds(tree, VectorScope(self, rows[open_]))
            to[hit], why[hit] = target, label
            open_ &= ~hit
        self._move(rows, s, to, why)

    def _split(self, s: int, step, rows) -> None:
        if s not in self._arms_of_split:
            self._arms_of_split[s] = np.full(self.n, -1)
        chosen = self._arms_of_split[s]
        new = rows[chosen[rows] < 0]
        if len(new):
            point = buckets(self.spec.seed, ("split", self.plan.program.journey_id, step.id), self.ids(new))
            chosen[new] = self.plan.split_arm(s, point)
        arms = self.plan.splits[s]
        picked = chosen[rows]
        self._move(rows, s, np.array([a[0] for a in arms])[picked], np.array([a[1] for a in arms])[picked])

    def _tag(self, s: int, step, rows) -> None:
        for tag in step.params["tags"]:
            column = self.tags.setdefault(tag, np.zeros(self.n, dtype=bool))
            column[rows] = step.kind == "tag"
        self._move(rows, s, self.plan.next_of(step), self.plan.why("next"))

    def _set(self, s: int, step, rows) -> None:
        value = evaluate(step.params.get("value"), VectorScope(self, rows))
        path = tuple(step.params["attribute"].split(".")[1:])
        column = self.profile.get(path)
        if not isinstance(value, np.ndarray):
            value = typed(_objects([value] * len(rows)))
        if column is None:
            column = np.full(self.n, np.nan) if value.dtype == float else _objects([None] * self.n)
        if column.dtype != value.dtype or column.dtype == bool:
            column, value = as_objects(column).copy(), as_objects(value)
        column[rows] = value
        self.profile[path] = column
        self._move(rows, s, self.plan.next_of(step), self.plan.why("next"))

    def _pass(self, s: int, step, rows) -> None:
        self._move(rows, s, self.plan.next_of(step), self.plan.why("goto" if step.kind == "goto" else "next"))

    def _exit(self, s: int, step, rows) -> None:
        outcome = step.params["outcome"]
        self._end(rows, self.t[rows], self.plan.why(f"exit step {step.id}", outcome), s)


def _pick(value, mask):
    return value[mask] if isinstance(value, np.ndarray) else value


def _objects(values: list) -> np.ndarray:
    found = np.empty(len(values), dtype=object)
    found[:] = values
    return found


def _is_record(sampler) -> bool:
    return hasattr(sampler, "parts")


def _assemble(n: int, pieces: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """One column from per-segment pieces; customers of other segments get null."""
    covered = sum(len(rows) for rows, _ in pieces) == n
    kinds = {values.dtype.kind for _, values in pieces}
    if kinds == {"f"}:
        column = np.full(n, np.nan)
    elif kinds == {"b"} and covered:
        column = np.zeros(n, dtype=bool)
    else:
        column = _objects([None] * n)
        pieces = [(rows, as_objects(values)) for rows, values in pieces]
    for rows, values in pieces:
        column[rows] = values
    return typed(column) if column.dtype == object else column


_HANDLERS = {"send": Block._send, "wait": Block._wait, "wait_until": Block._wait_until,
             "wait_event": Block._wait_event, "branch": Block._branch, "split": Block._split,
             "tag": Block._tag, "untag": Block._tag, "set": Block._set, "coupon": Block._pass,
             "handoff": Block._pass, "webhook": Block._pass, "emit": Block._pass,
             "goto": Block._pass, "exit": Block._exit}
