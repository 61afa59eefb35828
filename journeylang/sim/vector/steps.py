"""Vectorised simulation: the step kinds, each applied to every run about to execute it.

The same rules as ``runtime.executor`` (docs/runtime.md, "How a journey runs"): sends go
through the shared send checks channel by channel (``semantics.send_checks``), waits rest with
a timer, branches and sets evaluate their condition trees over columns, splits use the runtime's
hash buckets, emits take their own event at once. A run that goes on stays executing; the next
pass executes its next step at the same instant.
"""
from __future__ import annotations

import numpy as np

from ...semantics import (ERROR, MAX_EMIT_DEPTH, MAX_STEPS, SEND_NO_CONSENT,
                          SEND_OPTED_OUT, SEND_QUIET, send_checks, zero_wait)
from . import behaviour
from ...runtime.scope import assign as runtime_assign, copy_json
from .columns import as_objects, distinct_rows, evaluate, holds_where, repeated
from .lanes import EVENT, QUIET, QUIET_OVER, TIME, TIMEOUT, WAKE
from .plan import HOLD, NO_NEXT, unread as plan_unread


def execute(block, lanes_: np.ndarray) -> None:
    """Every executing run executes the step it is at, grouped by journey and step."""
    lanes, plan = block.lanes, block.plan
    width = max(len(j.steps) for j in plan.journeys) + 3
    keys = lanes.nxt[lanes_] + 3
    if len(plan.journeys) > 1:   # with one, every lane's journey is 0
        keys += lanes.j[lanes_] * width
    if len(plan.journeys) * width <= np.iinfo(np.int16).max:   # a radix sort: same order
        keys = keys.astype(np.int16)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = np.concatenate([[0], np.flatnonzero(ordered[1:] != ordered[:-1]) + 1])
    for k, key in enumerate(ordered[starts].tolist()):
        end = starts[k + 1] if k + 1 < len(starts) else len(order)
        chosen = lanes_[order[starts[k]:end]]
        journey = plan.journeys[key // width]
        s = key % width - 3
        if s == NO_NEXT:
            block.end(chosen, journey.why("no next step"))
        else:
            _visit(block, journey, s, chosen)


def counted(block, journey, s: int, runs: np.ndarray, prev, why, rows=None) -> None:
    """Runs ``runs`` (of customers ``rows``, when the caller has them) came to step ``s`` from
    ``prev`` by edge ``why`` (arrays, or one value for all): the visit counted, the step's
    stage reached (known reached when they all came from one step of that stage)."""
    lanes, tally, j = block.lanes, block.tally, journey.j
    rows = lanes.c[runs] if rows is None else rows
    tally.step(j, s, rows, prev, why)
    stage = journey.stage_of[s]
    if np.ndim(prev) == 0 and prev >= 0 and journey.stage_of[prev] == stage:
        return   # (a run's visits set its flag: it reached the stage at ``prev``)
    reached = lanes.flags("stage", j)
    new = ~reached[:, stage][runs]   # the column, then the runs: a faster gather
    if new.any():
        reached[:, stage][runs[new]] = True
        tally.stage(j, stage, rows[new])


def _visit(block, journey, s: int, chosen: np.ndarray) -> None:
    lanes = block.lanes
    resumed = lanes.resumed[chosen]
    hops = lanes.hops[chosen]
    looping = (hops >= MAX_STEPS) & ~resumed
    if looping.any():
        block.end(chosen[looping], journey.why(f"more than {MAX_STEPS} steps without a wait", ERROR))
        chosen, resumed, hops = chosen[~looping], resumed[~looping], hops[~looping]
        if not len(chosen):
            return
    if resumed.any():
        lanes.resumed[chosen] = False
        fresh, hops = chosen[~resumed], hops[~resumed]
    else:
        fresh = chosen
    if len(fresh):
        prev = _one(lanes.pos[fresh])
        counted(block, journey, s, fresh, prev, lanes.why[fresh])
        lanes.hops[fresh] = hops + 1
        lanes.pos[fresh] = s
        if journey.kpis_at.get(s) and not _opened_at(journey, s, prev):
            block.open_kpis(journey, fresh, s, lanes.t[fresh], lanes.s[fresh])
    _KINDS[journey.kind_of[s]](block, journey, s, chosen)


def _one(values: np.ndarray):
    """The one value all of ``values`` hold (as a number), else ``values``."""
    first = values[0]
    return int(first) if (values == first).all() else values


def _opened_at(journey, s: int, prev) -> bool:
    """Whether runs that all came to step ``s`` from step ``prev`` (one value; else none is
    known) have every KPI of ``s`` open: they visited ``prev``, which opened its own."""
    if np.ndim(prev) or prev < 0:
        return False
    return set(journey.kpis_at[s]) <= set(journey.kpis_at.get(prev, ()))


def _next(block, journey, s: int, chosen, why: str = "next") -> None:
    block.go_on(chosen, journey.next[s], journey.why(why))   # the same for every run


# --- sends ------------------------------------------------------------------------------------

def send(block, journey, s: int, chosen: np.ndarray) -> None:
    """Each channel in turn (the step's, then its fallbacks) through the send checks in the
    shared order: the first channel they let through sends; quiet hours defer the whole send;
    an opt-out skips it at once; a channel without consent or over a cap passes the send to
    the next (the last one's reason is the skip's)."""
    lanes, tally = block.lanes, block.tally
    j = journey.j
    params = journey.steps[s].params
    transactional = bool(params.get("transactional"))
    channels = journey.channels_of[s]
    rows, now, split = lanes.c[chosen], lanes.t[chosen], lanes.s[chosen]
    count = len(chosen)
    trying = np.ones(count, dtype=bool)
    deferred = np.zeros(count, dtype=bool)
    until = np.full(count, np.nan)
    for c, channel in enumerate(channels):
        # the places still open on this channel, with their customers and times (gathered
        # again only when a check stops some)
        if c == 0:   # every run tries the first channel
            open_, open_rows, open_now = np.arange(count), rows, now
        else:
            open_ = np.flatnonzero(trying)
            open_rows, open_now = rows[open_], now[open_]
        for check in send_checks(transactional):
            if not len(open_):
                break
            stopped = _blocked(block, journey, check, channel, open_rows, open_now, until, open_)
            if not stopped.any():
                continue
            hit = open_[stopped]
            going = ~stopped
            open_, open_rows, open_now = open_[going], open_rows[going], open_now[going]
            if check == SEND_QUIET:
                deferred[hit] = True
            elif check == SEND_OPTED_OUT or c == len(channels) - 1:
                # no channel reaches a customer who opted out
                tally.result(j, s, "skipped", rows[hit], check)
            else:
                continue        # the next channel may go out
            trying[hit] = False
        if len(open_):
            _deliver(block, journey, s, channel, chosen[open_], open_rows, open_now,
                     split[open_], transactional, bool(params.get("promo")))
            trying[open_] = False
    if deferred.any():
        held = chosen[deferred]
        tally.result(j, s, "deferred", rows[deferred])
        block.rest(held, QUIET, until[deferred], QUIET_OVER)
    going = chosen[~deferred]
    if len(going):
        _next(block, journey, s, going)


def _blocked(block, journey, check: str, channel: str, rows, now, until, where) -> np.ndarray:
    """Which customers (sending at ``now``) the check stops on ``channel``; the quiet-hours
    check writes the end of the window into ``until`` at ``where``."""
    customers = block.customers
    if check == SEND_OPTED_OUT:
        return customers.opted_out[rows]
    if check == SEND_NO_CONSENT:
        if channel not in journey.consent:
            return np.zeros(len(rows), dtype=bool)
        return ~customers.consent_ok(channel, rows)
    if check == SEND_QUIET:
        if journey.quiet is None:
            return np.zeros(len(rows), dtype=bool)
        ends = block.spec.clock.quiet_until(now, journey.quiet, customers.zone[rows])
        until[where] = ends
        return ~np.isnan(ends)
    capped = np.zeros(len(rows), dtype=bool)
    for rule in journey.cap_rules:
        messages, per, channels, calendar = block.plan.caps[rule]
        if channels is None or channel in channels:
            times, heads = block.caps[rule]
            oldest = np.take(times, _slots(times, rows, heads[rows]))   # the last sends' earliest
            if calendar is None:
                capped |= oldest > now - per
            else:
                capped |= oldest >= block.spec.clock.calendar_start(now, calendar,
                                                                    customers.zone[rows])
    return capped


def _deliver(block, journey, s: int, channel: str, chosen, rows, now, split,
             transactional: bool, promo: bool) -> None:
    tally, j = block.tally, journey.j
    tally.result(j, s, "sent", rows)
    tally.channel(j, s, channel, rows)
    tally.sent(j, rows, promo)
    tally.send(rows, now, split, j)
    if not transactional:   # transactional messages neither meet nor fill the caps
        for rule, (_, _, channels, _) in enumerate(block.plan.caps):
            if channels is None or channel in channels:
                times, heads = block.caps[rule]
                head = heads[rows]
                np.put(times, _slots(times, rows, head), now)
                heads[rows] = (head + 1) % times.shape[1]
    if block.spec.trace:
        block.trace.append((rows + block.first, now.copy(), channel, block.customers.zone[rows], j))
    _receipts(block, j, s, channel, rows, now)
    received = block.received[rows].copy()
    block.received[rows] += 1
    corr = block.keys.of_runs(chosen) if block.keys is not None else None
    behaviour.messages(block, j, s, channel, rows, now, received, corr)


def _slots(times: np.ndarray, rows, heads) -> np.ndarray:
    """The places in ``times`` (a cap's send times, a row per customer) of the customers
    ``rows`` at columns ``heads``, as indexes into the flat array: one gather, not two."""
    return rows * times.shape[1] + heads


def _receipts(block, j: int, s: int, channel: str, rows, now) -> None:
    """The delivery results some journey reacts to, at the send's instant (the reference
    engine delivers each message at once), each followed by the customer's responses to it,
    before the responses to the message."""
    for kind, source in block.plan.receipt_sources.get((j, s, channel), ()):
        block.book.add(rows, now, block.fresh(), kind, source)
        batch = behaviour.Batch()
        behaviour.follow(block, batch, rows, now, np.full(len(rows), kind),
                         np.zeros(len(rows), dtype=np.int64), np.arange(len(rows))[:, None])
        block.commit(batch)


# --- waits ------------------------------------------------------------------------------------

def wait(block, journey, s: int, chosen) -> None:
    duration = journey.steps[s].params["duration"]
    if zero_wait("wait", duration=duration):   # on at once, counted against MAX_STEPS
        _next(block, journey, s, chosen, "waited")
        return
    block.rest(chosen, TIME, block.lanes.t[chosen] + duration, WAKE)


def wait_until(block, journey, s: int, chosen) -> None:
    hours, minutes = journey.steps[s].params["time"].split(":")
    lanes = block.lanes
    due = block.spec.clock.next_local_time(lanes.t[chosen], int(hours) * 60 + int(minutes),
                                           block.customers.zone[lanes.c[chosen]])
    _wake(block, journey, s, chosen, due, "time reached")


def wait_day(block, journey, s: int, chosen) -> None:
    params, lanes = journey.steps[s].params, block.lanes
    hours, minutes = params["time"].split(":")
    due = block.spec.clock.day_after_entry(lanes.entered[chosen], params["day"],
                                           int(hours) * 60 + int(minutes),
                                           block.customers.zone[lanes.c[chosen]])
    _wake(block, journey, s, chosen, due, "time passed")


def wait_schedule(block, journey, s: int, chosen) -> None:
    lanes = block.lanes
    due = block.spec.clock.next_occurrence(lanes.t[chosen], journey.steps[s].schedule,
                                           block.customers.zone[lanes.c[chosen]])
    block.rest(chosen, TIME, due, WAKE)


def _wake(block, journey, s: int, chosen, due, passed: str) -> None:
    """Wait until ``due``, or go on at once (edge ``passed``) when it is not later than now."""
    now = due <= block.lanes.t[chosen]
    if not now.any():   # usually: every run waits
        block.rest(chosen, TIME, due, WAKE)
        return
    _next(block, journey, s, chosen[now], passed)
    if (~now).any():
        block.rest(chosen[~now], TIME, due[~now], WAKE)


def wait_event(block, journey, s: int, chosen) -> None:
    within = journey.steps[s].params.get("within")
    if zero_wait("wait_event", within=within):   # times out at once, taking no event
        block.go(chosen, np.full(len(chosen), journey.timeout[s]),
                 np.full(len(chosen), journey.why("timeout")))
        return
    due = None if within is None else block.lanes.t[chosen] + within
    block.rest(chosen, EVENT, due, TIMEOUT)


# --- decisions ----------------------------------------------------------------------------------

def branch(block, journey, s: int, chosen) -> None:
    to = np.full(len(chosen), journey.next[s])
    why = np.full(len(chosen), journey.why("else"))
    open_ = np.ones(len(chosen), dtype=bool)
    scope = block.scope(journey.j, chosen)
    for tree, target, label in journey.branches[s]:
        if not open_.any():
            break
        hit = holds_where(tree, scope, open_)
        to[hit], why[hit] = target, label
        open_ &= ~hit
    block.go(chosen, to, why)


def split(block, journey, s: int, chosen) -> None:
    lanes = block.lanes
    key = (journey.j, s)
    arms_of = block._arms_of_split.get(key)
    if arms_of is None:
        arms_of = block._arms_of_split[key] = np.full(block.n, -1)
    rows = lanes.c[chosen]
    new = rows[arms_of[rows] < 0]
    if len(new):
        new = distinct_rows(new, block.n)
        point = behaviour_buckets(block, ("split", journey.journey_id, journey.ids[s]), new)
        arms_of[new] = journey.split_arm(s, point)
    picked = arms_of[rows]
    column = lanes.split_column[key]
    lanes.arms(journey.j)[chosen, column] = picked
    arms = journey.splits[s]
    for a, (to, why, name) in enumerate(arms):
        mine = picked == a
        if not mine.any():
            continue
        taking = chosen[mine]
        if to == HOLD:
            block.hold(taking, journey, s)
        else:
            block.go(taking, np.full(len(taking), to), np.full(len(taking), why))


def behaviour_buckets(block, parts, rows):
    from .block import buckets
    return buckets(block.spec.seed, parts, block.ids(rows))


# --- changes ------------------------------------------------------------------------------------

def tag(block, journey, s: int, chosen) -> None:
    step = journey.steps[s]
    block.customers.set_tags(step.params["tags"], block.lanes.c[chosen], step.kind == "tag")
    _next(block, journey, s, chosen)


def set_(block, journey, s: int, chosen) -> None:
    """``set customer.x = ...`` changes the profile, ``set n = ...`` a run-local variable,
    ``set consent.x`` the consent, ``set event.x`` or ``set x`` (another root) the run's event
    data or context (``assign``)."""
    params = journey.steps[s].params
    done = assign(block, journey, params["attribute"], params.get("value"), chosen,
                  block.scope(journey.j, chosen))
    if len(done):
        _next(block, journey, s, done)


def assign(block, journey, attribute: str, tree, chosen, scope):
    """``runtime.scope.assign`` for runs ``chosen``; the runs it could follow."""
    lanes = block.lanes
    value = evaluate(tree, scope)
    parts = attribute.split(".")
    rows = lanes.c[chosen]
    if len(parts) == 1 and parts[0] in journey.variables:
        lanes.set_var(journey.j, parts[0], chosen, _column(value, len(chosen)))
        return chosen
    if parts[0] == "customer":
        block.customers.set(tuple(parts[1:]), rows, _column(value, len(chosen)))
        return chosen
    if parts[0] == "consent":
        block.customers.set_consent(parts[1], rows, _column(value, len(chosen)))
        return chosen
    unread = journey.unread_sets.get(attribute)
    if unread is None:
        unread = journey.unread_sets[attribute] = plan_unread(journey, parts)
    if not unread:   # what nothing reads changes nothing counted
        _write_run(block, attribute, _column(value, len(chosen)), chosen)
    return chosen


def _write_run(block, attribute: str, values: np.ndarray, chosen) -> None:
    """``set event.x`` / ``set x`` (a context key) with ``runtime.scope.assign`` on each run's
    own copy of its event data, or of the context key's value (``Lanes.edited_event``,
    ``Lanes.edited_context``)."""
    lanes, book = block.lanes, block.book
    root = attribute.split(".")[0]
    listed, runs = as_objects(values).tolist(), chosen.tolist()
    edited = lanes.edited_event if root == "event" else lanes.edited_context
    fresh = np.array([i for i, lane in enumerate(runs) if lane not in edited or
                      (root != "event" and root not in edited[lane])], dtype=np.int64)
    if root == "event":
        if len(fresh):   # each run's own copy of its event's data, made once
            ids = lanes.ev[chosen[fresh]]
            for i, ev, whole in zip(fresh.tolist(), ids.tolist(), book.whole(ids).tolist()):
                edited[runs[i]] = _event_copy(book, ev, whole)
        for lane, value in zip(runs, listed):
            runtime_assign({}, edited[lane], {}, attribute, value)
        return
    current = [None] * len(runs)   # the context's value of the key, for runs without a copy
    refs = lanes.context(root)
    if refs is not None and len(fresh):
        known = fresh[refs[chosen[fresh]] >= 0]
        values_ = book.data(refs[chosen[known]], (root,)) if len(known) else []
        values_ = as_objects(values_).tolist() if isinstance(values_, np.ndarray) else \
            [values_] * len(known)
        for i, value in zip(known.tolist(), values_):
            current[i] = value
    for i, (lane, value) in enumerate(zip(runs, listed)):
        edits = edited.setdefault(lane, {})
        held = edits[root] if root in edits else current[i]
        context = {} if held is None else {root: copy_json(held)}
        runtime_assign({}, {}, context, attribute, value)
        edits[root] = context.get(root)


def _event_copy(book, ev: int, whole) -> dict:
    """A run's own copy of the data of event ``ev`` (the keys its source gives it)."""
    if isinstance(whole, dict):
        return copy_json(whole)
    ids = np.array([ev])
    found = {}
    for key in sorted(book.plan.sources[int(book.src[ev])].keys):
        value = book.data(ids, (key,))
        value = as_objects(value)[0] if isinstance(value, np.ndarray) else value
        if value is not None:
            found[key] = copy_json(value)
    return found


def _column(value, n: int):
    return value if isinstance(value, np.ndarray) else repeated(value, n)


def actions(block, journey, listed, chosen, scope, origin) -> None:
    """A handler's instant actions (set, tag, untag, emit) for runs ``chosen``, in order."""
    for index, (kind, params, tree) in enumerate(listed):
        if kind == "set":
            assign(block, journey, params["attribute"], tree, chosen, scope)
        elif kind in ("tag", "untag"):
            block.customers.set_tags(params["tags"], block.lanes.c[chosen], kind == "tag")
        else:
            k, h = origin
            source = block.plan.emit_sources[(journey.j, (k, h, index))]
            emitted(block, journey, source, chosen, ending=False)


def emitted(block, journey, s: int, chosen, ending: bool):
    """An emit (``s``: its source): the customer's responses to the event, then, below the
    depth limit, the event itself at once for the emitting run (its milestones, and, for a
    step, its goals and exit rules) and for everything else right after. Returns which runs
    were ended, and which emits were skipped for depth."""
    lanes, plan = block.lanes, block.plan
    source = plan.sources[s]
    rows, now = lanes.c[chosen], lanes.t[chosen]
    corr = block.keys.of_runs(chosen) if block.keys is not None else None  # the run's key
    batch = behaviour.Batch()
    behaviour.follow(block, batch, rows, now, np.full(len(rows), source.kind),
                     np.zeros(len(rows), dtype=np.int64), np.arange(len(rows))[:, None], corr)
    block.commit(batch)
    deep = lanes.depth[chosen] >= MAX_EMIT_DEPTH
    ends = np.zeros(len(chosen), dtype=bool)
    going = chosen[~deep]
    if not len(going):
        return ends, deep
    seq = block.fresh()
    ids = block.book.add(lanes.c[going], lanes.t[going], seq, source.kind, s,
                         lanes.depth[going] + 1, lanes.run[going])
    if corr is not None:
        block.keys.inherit(ids, corr[~deep])
    scope = block.scope(journey.j, going, ids, lanes.t[going], lanes.s[going])
    block.milestones(journey, source.kind, going, scope, lanes.t[going])
    if not ending:
        return ends, deep
    why = journey.ending(source.kind, lanes.t[going] - lanes.entered[going], scope)
    ending_ = why >= 0
    if ending_.any():
        block.end(going[ending_], why[ending_])
    ends[np.flatnonzero(~deep)[ending_]] = True
    return ends, deep


def emit(block, journey, s: int, chosen) -> None:
    source = block.plan.emit_sources[(journey.j, s)]
    ends, deep = emitted(block, journey, source, chosen, ending=True)
    if deep.any():
        block.tally.result(journey.j, s, "skipped", block.lanes.c[chosen[deep]])
    going = chosen[~ends]
    if len(going):
        _next(block, journey, s, going)


def handoff(block, journey, s: int, chosen) -> None:
    params, lanes = journey.steps[s].params, block.lanes
    within = params.get("within")
    now = lanes.t[chosen]
    due = now + within if within is not None else np.full(len(chosen), np.nan)
    # the staff's resolution is an event made now (``block.fresh``: staff.settle orders it)
    rows = lanes.c[chosen]
    block.tally.handoff(rows, now, lanes.s[chosen], block.fresh(),
                        block.plan.role_code(params["role"]), due, journey.j, lanes.run[chosen],
                        block.plan.step_code(journey.j, s),
                        block.node[rows] if block.node is not None else np.full(len(rows), -1))
    _next(block, journey, s, chosen)


def passing(block, journey, s: int, chosen) -> None:
    _next(block, journey, s, chosen, "goto" if journey.kind_of[s] == "goto" else "next")


def exit_(block, journey, s: int, chosen) -> None:
    block.end(chosen, journey.why(f"exit step {journey.ids[s]}"))


_KINDS = {"send": send, "wait": wait, "wait_until": wait_until, "wait_day": wait_day,
          "wait_schedule": wait_schedule, "wait_event": wait_event, "branch": branch,
          "split": split, "tag": tag, "untag": tag, "set": set_, "coupon": passing,
          "handoff": handoff, "webhook": passing, "emit": emit, "goto": passing, "exit": exit_}

__all__ = ["actions", "execute"]
