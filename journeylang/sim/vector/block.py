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

from ...semantics import (ERROR, MAX_STEPS, SEND_CAP, SEND_CHECKS, SEND_NO_CONSENT,
                          SEND_OPTED_OUT, SEND_QUIET, send_checks, zero_wait)
from ..cohort import OPT_OUT_DELAY
from .columns import VectorScope, as_objects, flatten, holds, evaluate, sample, typed
from .notes import Notes, after
from .plan import NO_NEXT, Plan
from .streams import Stream
from .tally import Tally

IDLE, ENDED = -3, -1       # never entered (or a holdout run) / ended; NO_NEXT (-2) is still live
SLOTS = 4                  # pending reactions kept per customer and wait arm


def buckets(seed, parts: tuple[str, ...], customers: list[bytes]) -> np.ndarray:
    """``runtime.policies.bucket`` for many customers (ids UTF-8 encoded) at once; the tests
    check that the two agree."""
    prefix = hashlib.blake2b("\x1f".join([str(seed), *parts, ""]).encode("utf-8"), digest_size=8)
    digests = []
    for customer in customers:   # the prefix hashed once, then each id on a copy
        hasher = prefix.copy()
        hasher.update(customer)
        digests.append(hasher.digest())
    return np.frombuffer(b"".join(digests), dtype=">u8").astype(float) / 2.0 ** 64 * 100.0


class Block:
    """Customers ``first`` .. ``first + n - 1`` of the cohort, with their own generator.

    **Instants.** Each customer is at an instant ``(t, split)``: their events at time ``t``
    with a sequence number above ``split`` come after it, those at or below came before (the
    runtime's queue orders events at one time by when they were made, and puts them before
    timers). Every event has the number of its making (baseline streams first, as the
    reference engine queues them when it samples the customer); a move by a timer takes a
    fresh number, above every event made so far; a move by an event takes that event's number.
    """

    def __init__(self, plan: Plan, spec, first: int, n: int, seed_sequence):
        self.plan, self.spec, self.first, self.n = plan, spec, first, n
        self.gen = np.random.default_rng(seed_sequence)
        self.tally = Tally(plan, n)
        self.notes = Notes(plan)
        self.trace: list[tuple] = []   # sends: customer rows, times, channel, zone codes
        self.holdout_inside = 0
        self.step = np.full(n, IDLE)
        self.t = np.zeros(n)
        self.split = np.zeros(n)
        self.prev = np.full(n, -1)
        self.why = np.zeros(n, dtype=np.int64)
        self.resumed = np.zeros(n, dtype=bool)
        self.hops = np.zeros(n, dtype=np.int64)
        self.joined = np.zeros(n, dtype=bool)      # entered (treated or holdout)
        self.held = np.zeros(n, dtype=bool)        # in the holdout group
        self.end_at = np.full(n, np.inf)           # the first goal or exit event: its time,
        self.end_why = np.full(n, -1)              # why it ends the run,
        self.end_seq = np.zeros(n)                 # and its sequence number
        self.stop_at = np.full(n, np.inf)          # the instant each run stopped taking events
        self.stop_seq = np.full(n, np.inf)
        self.awaited_until = np.full(n, -np.inf)   # each customer's latest event a step awaits
        self.seq = len(plan.sources)               # numbers up to here: baseline streams
        self.received = np.zeros(n, dtype=np.int64)
        self.opt_time = np.full(n, np.inf)
        self.opt_seq = np.zeros(n)
        self.caps = [(np.full((n, m), -np.inf), np.zeros(n, dtype=np.int64)) for m, *_ in plan.caps]
        self.slots: dict[int, np.ndarray] = {}
        self.slot_seq: dict[int, np.ndarray] = {}
        self.streams: dict[int, Stream] = {}
        self._tests: dict[tuple, np.ndarray] = {}
        self._arms_of_split: dict[int, np.ndarray] = {}
        self._ids: list[bytes] | None = None
        self.zone_name = _objects(list(plan.zone_names))
        self.variables = {name: typed(_objects([value] * n)) for name, value in plan.variables.items()}
        self._sample()

    def ids(self, rows: np.ndarray) -> list[bytes]:
        """Customer ids as the reference engine names them (``c1``, ``c2``...), encoded."""
        if self._ids is None:
            self._ids = [b"c%d" % i for i in range(self.first + 1, self.first + self.n + 1)]
        ids = self._ids
        return [ids[i] for i in rows.tolist()]

    def _fresh(self) -> int:
        """A sequence number above every event made so far: the instant of a timer."""
        self.seq += 1
        return self.seq

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
                mine = np.flatnonzero(self.seg == source.segment)
                self.streams[source_index] = Stream.draw(source_index, gen, mine, self.arrival,
                                                         self.spec.horizon, source.rate, n)

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
        scope = VectorScope(self, everyone, run=False)
        ok = holds(plan.entry_tree, scope) & holds(plan.audience_tree, scope)
        ok &= self.arrival <= spec.horizon
        rows = np.flatnonzero(ok)
        self.joined[rows] = True
        holdout = np.zeros(len(rows), dtype=bool)
        if program.holdout:
            holdout = buckets(spec.seed, ("holdout", program.journey_id), self.ids(rows)) < program.holdout
        self.held[rows[holdout]] = True
        for source_index, stream in self.streams.items():
            if source_index in plan.watch:
                owners, times = stream.of(self.joined)
                self._note(source_index, owners, times, stream.seq, repeated=True)
            has, first = stream.first(rows)
            self._trigger(source_index, has, first, stream.seq)
        self._holdout(rows[holdout])
        treated = rows[~holdout]
        self.tally.entered(treated, self.seg)
        self.t[treated] = self.arrival[treated]
        self.split[treated] = self._fresh()
        self.why[treated] = plan.why(f"entry on {program.entry.event}")
        if plan.start == NO_NEXT:
            self.step[treated] = ENDED
            self.stop_at[treated], self.stop_seq[treated] = self.t[treated], self.split[treated]
            self.tally.ended_unplaced(len(treated))
        else:
            self.step[treated] = plan.start

    def _holdout(self, rows: np.ndarray) -> None:
        """Holdout runs take no step: they end on a goal or exit event, or when the longest
        goal or milestone window is over (events at that instant still reach them)."""
        window = self.plan.program.holdout_window()
        deadline = self.arrival[rows] + (np.inf if window is None else window)
        at, why = self.end_at[rows], self.end_why[rows]
        horizon = self.spec.horizon
        won = (at <= deadline) & (at <= horizon)
        expired = ~won & (deadline <= horizon)
        self.tally.holdout(len(rows), why[won], int(expired.sum()))
        self.holdout_inside = int((~won & ~expired).sum())
        self.stop_at[rows[won]], self.stop_seq[rows[won]] = at[won], self.end_seq[rows[won]]
        self.stop_at[rows[expired]] = deadline[expired]
        self.stop_seq[rows[expired]] = -np.inf if window == 0 else np.inf

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

    def test(self, kind: str, index: int, tree, source_index: int) -> np.ndarray:
        """Whether a goal, exit rule, milestone or wait arm matches an event from a source,
        per customer (its conditions read nothing that steps change: see plan.py)."""
        key = (kind, index, source_index)
        if key not in self._tests:
            source = self.plan.sources[source_index]
            event = source.fixed if source.fixed is not None else {}
            self._tests[key] = holds(tree, VectorScope(self, np.arange(self.n), event))
        return self._tests[key]

    def _visit(self, s: int, rows: np.ndarray) -> None:
        if s == NO_NEXT:
            self._end(rows, self.t[rows], self.plan.why("no next step", "completed"),
                      self.prev[rows], self.split[rows])
            return
        fresh = rows[~self.resumed[rows]]
        self.resumed[rows] = False
        self.tally.enter_step(s, fresh, self.prev[fresh], self.why[fresh])
        self.hops[rows] += 1
        looping = self.hops[rows] > MAX_STEPS
        if looping.any():
            stuck = rows[looping]
            self._end(stuck, self.t[stuck], self.plan.why(f"more than {MAX_STEPS} steps without a wait", ERROR),
                      s, self.split[stuck])
            rows = rows[~looping]
        step = self.plan.steps[s]
        _HANDLERS[step.kind](self, s, step, rows)

    # --- moving and ending ------------------------------------------------------------------

    def _move(self, rows, s: int, to, why) -> None:
        self.step[rows], self.prev[rows], self.why[rows] = to, s, why

    def _rest(self, s: int, rows: np.ndarray) -> None:
        """Runs ``rows`` wait at step ``s`` from their instant on (where an awaited event that
        nothing takes is ignored). Every event that can reach a run while it waits is made by
        then: a run with none still to come is left out."""
        if self.notes.resting:
            now = self.t[rows]
            some = self.awaited_until[rows] >= now
            self.notes.rest(s, rows[some], now[some], self.split[rows[some]])

    def _note(self, source_index: int, rows: np.ndarray, at: np.ndarray, seq,
              repeated: bool = False) -> None:
        """Events of a watched source (``repeated``: a customer may have several)."""
        self.notes.event(source_index, rows, at, seq)
        if source_index not in self.plan.awaited:
            return
        if repeated:
            np.maximum.at(self.awaited_until, rows, at)
        else:
            self.awaited_until[rows] = np.maximum(self.awaited_until[rows], at)

    def _advance(self, rows, s: int, leave, to, why, leave_seq=None) -> None:
        """Leave step ``s`` at ``leave`` (a timer; ``leave_seq``: an event with that number)
        unless a goal or exit event comes first."""
        at, seq = self.end_at[rows], self.end_seq[rows]
        if leave_seq is None:
            ends = at <= leave       # events come before a timer at their time
        else:
            ends = ~after(at, seq, leave, leave_seq)
        ends &= at <= self.spec.horizon
        if ends.any():
            done = rows[ends]
            self._end(done, at[ends], self.end_why[done], s, seq[ends])
        keep = ~ends
        go = rows[keep]
        self.t[go] = leave[keep] if isinstance(leave, np.ndarray) else leave
        self.split[go] = self._fresh() if leave_seq is None else leave_seq[keep]
        self.hops[go] = 0
        self._move(go, s, _pick(to, keep), _pick(why, keep))

    def _end(self, rows, at, why, origin, seq) -> None:
        self.step[rows] = ENDED
        self.stop_at[rows], self.stop_seq[rows] = at, seq
        self.tally.ended(rows, at, why, origin, self)

    # --- behaviour --------------------------------------------------------------------------

    def _occur(self, source_index: int, rows: np.ndarray, at: np.ndarray) -> int:
        """Events from a source at ``at``, made now: noted, a goal or exit rule ends the run
        then, a wait may take them (kept in the wait arms' slots). Their sequence number."""
        seq = self._fresh()
        if not len(rows):
            return seq
        if source_index in self.plan.watch:
            self._note(source_index, rows, at, seq)
        self._trigger(source_index, rows, at, seq)
        event = self.plan.sources[source_index].event
        for arm_index, arm in self.plan.arm_list:
            if arm.event == event:
                ok = self.test("arm", arm_index, arm.tree, source_index)[rows]
                self._push(arm_index, rows[ok], at[ok], seq)
        return seq

    def _trigger(self, source_index: int, rows: np.ndarray, at: np.ndarray, seq) -> None:
        """Keep each customer's first event that a goal or exit rule takes."""
        plan = self.plan
        event = plan.sources[source_index].event
        why = np.full(len(rows), -1)
        for i, trigger in enumerate(plan.triggers):
            if trigger.event != event:
                continue
            ok = self.test("trigger", i, trigger.tree, source_index)[rows] & (why < 0)
            if trigger.within is not None:
                ok &= at - self.arrival[rows] <= trigger.within
            why[ok] = trigger.why
        sooner = (why >= 0) & ~after(at, seq, self.end_at[rows], self.end_seq[rows])
        self.end_at[rows[sooner]], self.end_why[rows[sooner]] = at[sooner], why[sooner]
        self.end_seq[rows[sooner]] = seq

    def _push(self, arm_index: int, rows: np.ndarray, at: np.ndarray, seq: int) -> None:
        if arm_index not in self.slots:
            self.slots[arm_index] = np.full((self.n, SLOTS), np.inf)
            self.slot_seq[arm_index] = np.zeros((self.n, SLOTS))
        held = self.slots[arm_index][rows]
        held[held < self.t[rows][:, None]] = np.inf     # past events: nobody waits for them now
        column = held.argmax(axis=1)
        latest = held[np.arange(len(rows)), column]
        self.tally.dropped += int(np.isfinite(latest).sum())
        put = at < latest
        held[np.flatnonzero(put), column[put]] = at[put]
        self.slots[arm_index][rows] = held
        self.slot_seq[arm_index][rows[put], column[put]] = seq

    def _react(self, s: int, channel: str, rows: np.ndarray, at: np.ndarray) -> None:
        """Draw each customer's reactions to a message: responses and opting out."""
        plan, gen = self.plan, self.gen
        before = self.received[rows]
        self.received[rows] += 1
        for g, sources in plan.responses_of[(s, channel)].items():
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
            self.opt_seq[who[leave]] = self._occur(0, who[leave], when[leave] + OPT_OUT_DELAY)

    # --- step kinds -------------------------------------------------------------------------

    def _send(self, s: int, step, rows: np.ndarray) -> None:
        """Each channel in turn (the step's, then its fallbacks) through the send checks in the
        shared order (``semantics.send_checks``): the first channel they let through sends;
        quiet hours defer the whole send; an opt-out skips it at once; a channel without
        consent or over a cap passes the send to the next (the last one's reason is the skip's)."""
        transactional = bool(step.params.get("transactional"))
        channels = self.plan.channels_of[s]
        now, split = self.t[rows], self.split[rows]
        count = len(rows)
        trying = np.ones(count, dtype=bool)    # not sent, deferred or skipped yet
        deferred = np.zeros(count, dtype=bool)
        until = np.full(count, np.nan)
        skips = dict.fromkeys((SEND_OPTED_OUT, SEND_NO_CONSENT, SEND_CAP), 0)
        for c, channel in enumerate(channels):
            open_ = trying.copy()
            for check in send_checks(transactional):
                if not open_.any():
                    break
                hit = np.zeros(count, dtype=bool)
                hit[open_] = self._blocked(check, channel, rows[open_], now[open_], split[open_],
                                           until, open_)
                open_ &= ~hit
                if check == SEND_QUIET:
                    deferred |= hit
                elif check == SEND_OPTED_OUT or c == len(channels) - 1:
                    skips[check] += int(hit.sum())   # no channel reaches a customer who opted out
                else:
                    continue                         # the next channel may go out
                trying &= ~hit
            if open_.any():
                self._deliver(s, channel, rows[open_], now[open_], transactional)
                trying &= ~open_
        self.tally.send_results(s, int(count - deferred.sum() - sum(skips.values())),
                                skips[SEND_OPTED_OUT], skips[SEND_NO_CONSENT], skips[SEND_CAP])
        if deferred.any():
            self._defer(s, step, rows[deferred], now[deferred], until[deferred])
        rest = rows[~deferred]
        self._move(rest, s, self.plan.next_of(step), self.plan.why("next"))

    def _blocked(self, check: str, channel: str, rows, now, split, until, where) -> np.ndarray:
        """Which of ``rows`` (sending at the instants ``(now, split)``) the check stops on
        ``channel``; the quiet-hours check writes the end of the window into ``until`` at
        ``where``."""
        program = self.plan.program
        if check == SEND_OPTED_OUT:
            return ~after(self.opt_time[rows], self.opt_seq[rows], now, split)
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
        for (messages, per, channels, calendar), (times, heads) in zip(self.plan.caps, self.caps):
            if channels is None or channel in channels:
                oldest = times[rows, heads[rows]]   # the cap's last `messages` sends: the earliest
                if calendar is None:
                    capped |= oldest > now - per
                else:
                    capped |= oldest >= self.spec.clock.calendar_start(now, calendar, self.zone[rows])
        return capped

    def _deliver(self, s: int, channel: str, rows: np.ndarray, now: np.ndarray,
                 transactional: bool) -> None:
        self.tally.sent[rows] += 1
        self.tally.on_channel(s, channel, len(rows))
        if not transactional:   # transactional messages neither meet nor fill the caps
            for (_, _, channels, _), (times, heads) in zip(self.plan.caps, self.caps):
                if channels is None or channel in channels:
                    times[rows, heads[rows]] = now
                    heads[rows] = (heads[rows] + 1) % times.shape[1]
        if self.spec.trace:
            self.trace.append((rows + self.first, now.copy(), channel, self.zone[rows]))
        self._react(s, channel, rows, now)

    def _defer(self, s: int, step, rows, now, until) -> None:
        """Sends in quiet hours wait for the window's end; an opt-out meanwhile drops them."""
        horizon = self.spec.horizon
        self._rest(s, rows)
        self.tally.deferred(s, len(rows))
        at, seq = self.end_at[rows], self.end_seq[rows]
        opt, opt_seq = self.opt_time[rows], self.opt_seq[rows]
        ends = (at <= until) & (at <= horizon) & ~after(at, seq, opt, opt_seq)
        if ends.any():
            self._end(rows[ends], at[ends], self.end_why[rows[ends]], s, seq[ends])
        cancel = ~ends & (opt <= until) & (opt <= horizon)
        if cancel.any():
            self.tally.skipped_opted_out(s, int(cancel.sum()))
            self._advance(rows[cancel], s, opt[cancel], self.plan.next_of(step), self.plan.why("next"),
                          opt_seq[cancel])
        wait = rows[~ends & ~cancel]
        self.t[wait], self.split[wait] = until[~ends & ~cancel], self._fresh()
        self.hops[wait] = 0
        self.resumed[wait] = True

    def _wait(self, s: int, step, rows) -> None:
        duration = step.params["duration"]
        if zero_wait("wait", duration=duration):   # on at once, counted against MAX_STEPS
            self._move(rows, s, self.plan.next_of(step), self.plan.why("waited"))
            return
        self._rest(s, rows)
        self._advance(rows, s, self.t[rows] + duration, self.plan.next_of(step),
                      self.plan.why("waited"))

    def _wait_until(self, s: int, step, rows) -> None:
        hours, minutes = step.params["time"].split(":")
        now = self.t[rows]
        due = self.spec.clock.next_local_time(now, int(hours) * 60 + int(minutes), self.zone[rows])
        self._wake(s, step, rows, due, "time reached")

    def _wait_day(self, s: int, step, rows) -> None:
        hours, minutes = step.params["time"].split(":")
        due = self.spec.clock.day_after_entry(self.arrival[rows], step.params["day"],
                                              int(hours) * 60 + int(minutes), self.zone[rows])
        self._wake(s, step, rows, due, "time passed")

    def _wake(self, s: int, step, rows, due, passed: str) -> None:
        """Wait until ``due``, or go on at once (edge ``passed``) when it is not later than now."""
        now = due <= self.t[rows]
        self._move(rows[now], s, self.plan.next_of(step), self.plan.why(passed))
        self._rest(s, rows[~now])
        self._advance(rows[~now], s, due[~now], self.plan.next_of(step), self.plan.why("waited"))

    def _wait_event(self, s: int, step, rows) -> None:
        plan, now, split = self.plan, self.t[rows], self.split[rows]
        within = step.params.get("within")
        target = plan.index[step.timeout] if step.timeout else plan.next_of(step)
        if zero_wait("wait_event", within=within):   # times out at once, taking no event
            self._move(rows, s, target, plan.why("timeout"))
            return
        self._rest(s, rows)
        limit = now + (np.inf if within is None else within)
        best, arm_of = np.full(len(rows), np.inf), np.full(len(rows), -1)
        order = np.full(len(rows), np.inf)
        for k, (arm_index, arm) in enumerate(plan.arms_at[s]):
            found, seq = self._earliest(arm_index, arm, rows, now, split, limit)
            better = (found < best) | ((found == best) & (seq < order))
            best[better], order[better], arm_of[better] = found[better], seq[better], k
        at, seq = self.end_at[rows], self.end_seq[rows]
        ends = ~after(at, seq, best, order) & (at <= limit) & (at <= self.spec.horizon)
        if ends.any():
            self._end(rows[ends], at[ends], self.end_why[rows[ends]], s, seq[ends])
        moved = ~ends & (arm_of >= 0) & (best <= self.spec.horizon)
        for k, (arm_index, arm) in enumerate(plan.arms_at[s]):
            mine = moved & (arm_of == k)
            if mine.any():
                taken = rows[mine]
                self.t[taken], self.split[taken], self.hops[taken] = best[mine], order[mine], 0
                self._move(taken, s, arm.to, arm.why)
        rest = ~ends & ~moved
        timed_out = rows[rest]
        self.t[timed_out], self.split[timed_out], self.hops[timed_out] = limit[rest], self._fresh(), 0
        self._move(timed_out, s, target, plan.why("timeout"))

    def _earliest(self, arm_index: int, arm, rows, now, split, limit):
        """The first event after each customer's instant and not later than ``limit`` that
        this wait arm takes: its time and sequence number (+inf: none)."""
        found = np.full(len(rows), np.inf)
        seq = np.full(len(rows), np.inf)
        if arm_index in self.slots:
            held = self.slots[arm_index][rows]
            orders = self.slot_seq[arm_index][rows]
            ok = after(held, orders, now[:, None], split[:, None]) & (held <= limit[:, None])
            held = np.where(ok, held, np.inf)
            # the earliest event; at one instant, the one made first
            column = np.lexsort((orders, held), axis=1)[:, 0] if SLOTS > 1 else held.argmin(axis=1)
            found = held[np.arange(len(rows)), column]
            seq = np.where(np.isfinite(found), orders[np.arange(len(rows)), column], np.inf)
        for source_index, stream in self.streams.items():
            if self.plan.sources[source_index].event != arm.event:
                continue
            ahead = stream.after(rows, now, split)
            ok = self.test("arm", arm_index, arm.tree, source_index)[rows] & (ahead <= limit)
            better = ok & ((ahead < found) | ((ahead == found) & (stream.seq < seq)))
            found[better], seq[better] = ahead[better], stream.seq
        return found, seq

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
        """``set customer.x = ...`` changes a profile column, ``set n = ...`` a run-local
        variable's (one run per customer: a run starts with the declared value)."""
        value = evaluate(step.params.get("value"), VectorScope(self, rows))
        attribute = step.params["attribute"].split(".")
        table, path = (self.variables, attribute[0]) if len(attribute) == 1 else \
            (self.profile, tuple(attribute[1:]))
        column = table.get(path)
        if not isinstance(value, np.ndarray):
            value = typed(_objects([value] * len(rows)))
        if column is None:
            column = np.full(self.n, np.nan) if value.dtype == float else _objects([None] * self.n)
        if column.dtype != value.dtype or column.dtype == bool:
            column, value = as_objects(column).copy(), as_objects(value)
        column[rows] = value
        table[path] = column
        self._move(rows, s, self.plan.next_of(step), self.plan.why("next"))

    def _emit(self, s: int, step, rows) -> None:
        """The emitting run takes its own event at once: milestones first, then the goals and
        exit rules that end it (at an instant just after the step's)."""
        emit, now = self.plan.emits[s], self.t[rows]
        instant = self.split[rows] + 0.5
        age = now - self.arrival[rows]
        scope = VectorScope(self, rows, emit.data)
        for k in emit.milestones:
            milestone = self.plan.milestones[k]
            ok = holds(milestone.tree, scope)
            if milestone.within is not None:
                ok &= age <= milestone.within
            self.notes.emit(k, rows[ok], now[ok], instant[ok])
        why = np.full(len(rows), -1)
        for trigger in emit.endings:
            ok = (why < 0) & holds(trigger.tree, scope)
            if trigger.within is not None:
                ok &= age <= trigger.within
            why[ok] = trigger.why
        ends = why >= 0
        if ends.any():
            self._end(rows[ends], now[ends], why[ends], s, instant[ends])
        self._move(rows[~ends], s, self.plan.next_of(step), self.plan.why("next"))

    def _pass(self, s: int, step, rows) -> None:
        self._move(rows, s, self.plan.next_of(step), self.plan.why("goto" if step.kind == "goto" else "next"))

    def _exit(self, s: int, step, rows) -> None:
        outcome = step.params["outcome"]
        self._end(rows, self.t[rows], self.plan.why(f"exit step {step.id}", outcome), s, self.split[rows])


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
             "wait_day": Block._wait_day, "wait_event": Block._wait_event, "branch": Block._branch, "split": Block._split,
             "tag": Block._tag, "untag": Block._tag, "set": Block._set, "coupon": Block._pass,
             "handoff": Block._pass, "webhook": Block._pass, "emit": Block._emit,
             "goto": Block._pass, "exit": Block._exit}
