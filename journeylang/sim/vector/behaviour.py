"""Vectorised simulation: the cohort's events, drawn as the reference engine draws them.

Arrival events and baseline events are drawn when a block starts; responses when a message is
delivered (or, for a response to an event, when that event is made); a response gives its
``count`` of events, each after its own delay, and a response to an event may follow an event
that is itself a response (a chain, ended at the horizon or ``MAX_CHAIN`` deep). The events one
draw makes are numbered in the order the reference engine queues them: each event, then
(depth first) the events that respond to it; so events at one instant are handled in the same
order by both engines.
"""
from __future__ import annotations

import numpy as np

from ..cohort import OPT_OUT_DELAY
from ..engine import MAX_CHAIN
from .columns import distinct_codes, sample
from .plan import BASELINE


class Batch:
    """Events made at one moment, with their place in the reference engine's order: a key per
    event (the root's order, then per chain level the response and the event's index)."""

    def __init__(self):
        self.parts: list[dict] = []

    def add(self, rows, at, src, depth, keys, data, updates, inherited=None):
        """``inherited``: the correlation key each event carries unless its data sets one."""
        self.parts.append({"rows": rows, "at": at, "src": src, "depth": depth, "keys": keys,
                           "data": data, "updates": updates, "inherited": inherited})


def _draw_data(source, gen, k: int) -> dict:
    return {path: sample(leaf, gen, k) for path, leaf in source.leaves.items()}


def _draw_updates(source, gen, k: int) -> dict:
    return {path: sample(leaf, gen, k) for path, leaf in source.updates.items()}


def follow(block, batch: Batch, rows, at, kinds, depth, keys, corr=None) -> None:
    """The responses to events (``after: {event: ...}``) of customers ``rows`` at ``at`` of
    types ``kinds`` and chain depth ``depth``, level by level (their keys extend ``keys``;
    ``corr``: the events' correlation keys, which their responses carry)."""
    plan, gen, horizon = block.plan, block.gen, block.spec.horizon
    while len(rows):
        going = (at <= horizon) & (depth < MAX_CHAIN)
        # (rows of the narrow ``keys`` by ``np.compress`` / ``np.take``: several times faster than
        # indexing a narrow matrix's rows by a mask or by places)
        rows, at, kinds, depth = rows[going], at[going], kinds[going], depth[going]
        keys = np.compress(going, keys, axis=0)
        corr = corr[going] if corr is not None else None
        if not len(rows):
            return
        segments = block.customers.seg[rows]
        present = distinct_codes(kinds)   # (usually one type: the others' pairs left out)
        made = []
        for (g, kind), sources in plan.responses_to.items():
            if kind not in present:
                continue
            mine = np.flatnonzero((segments == g) & (kinds == kind))
            if not len(mine):
                continue
            for s in sources:
                made.append(_respond(block, s, rows[mine], at[mine], depth[mine],
                                     np.take(keys, mine, axis=0),
                                     plan.sources[s].p,
                                     corr[mine] if corr is not None else None))
        made = [m for m in made if m is not None and len(m[0])]
        if not made:
            return
        rows = np.concatenate([m[0] for m in made])
        at = np.concatenate([m[1] for m in made])
        kinds = np.concatenate([m[2] for m in made])
        depth = np.concatenate([m[3] for m in made])
        width = max(m[4].shape[1] for m in made)
        keys = np.concatenate([_pad(m[4], width) for m in made])
        corr = np.concatenate([m[6] for m in made]) if block.keys is not None else None
        for m in made:
            batch.add(*m[5])


def _respond(block, s: int, rows, at, depth, keys, p, corr=None):
    """Source ``s`` responds to each of ``rows``' events (or messages) with probability ``p``
    (one for all, or one each): its count of events, each after its delay. Returns the new
    events (rows, times, kinds, depths, keys) for the next level, their batch entry, and
    (correlated runs) their correlation keys: their data's, else the one of what they
    respond to (``corr``)."""
    plan, gen = block.plan, block.gen
    source = plan.sources[s]
    response = source.response
    # where it fires (a share in no pattern: taken by place, several times faster than by mask)
    fired = np.flatnonzero(gen.random(len(rows)) < p)
    block.tally.behaviour("triggers", rows, s)
    if not len(fired):
        return None
    rows, at, depth = rows[fired], at[fired], depth[fired]
    keys = np.take(keys, fired, axis=0)
    corr = corr[fired] if corr is not None else None
    if response.count is None:
        times = np.ones(len(rows), dtype=np.int64)
    else:
        drawn = np.asarray(sample(response.count, gen, len(rows)), dtype=float)
        times = np.maximum(0, np.round(np.nan_to_num(drawn))).astype(np.int64)
    block.tally.behaviour("fired", rows, s, times)
    n = int(times.sum())
    if not n:
        return None
    parent = np.repeat(np.arange(len(rows)), times)
    index = np.arange(n) - np.repeat(np.cumsum(times) - times, times)
    rows, at, depth = rows[parent], at[parent], depth[parent]
    when = at + sample(response.delay, gen, n)
    own = np.stack([np.full(n, source.index), index], axis=1)
    keys = np.concatenate([np.take(keys, parent, axis=0), own], axis=1)
    data = _draw_data(source, gen, n)
    entry = (rows, when, s, depth + 1, keys, data, _draw_updates(source, gen, n))
    found = None
    if block.keys is not None:
        inherited = corr[parent] if corr is not None else None
        found = block.keys.drawn(source, data, n)
        if inherited is not None:
            found = np.where(found >= 0, found, inherited)
        entry += (inherited,)
    return rows, when, np.full(n, source.kind), depth + 1, keys, entry, found


def messages(block, j: int, step: int, channel: str, rows, at, received, corr=None) -> None:
    """The customers ``rows`` got a message of step ``step`` on ``channel`` at ``at`` (after
    ``received`` messages before it): their responses (carrying ``corr``, the correlation
    keys of the runs that sent them), then whether they opt out."""
    plan, gen = block.plan, block.gen
    journey = plan.journeys[j]
    key = (j, step, channel)
    matching = block.matching.get(key)
    if matching is None:
        matching = block.matching[key] = plan.message_responses(journey, step, channel)
    batch = Batch()
    order = np.arange(len(rows))
    segments = block.customers.seg[rows]
    roots = []
    for g, sources in matching.items():
        mine = np.flatnonzero(segments == g)
        if not len(mine):
            continue
        factor = _fatigue(plan.cohort.segments[g].fatigue, received[mine])
        for s in sources:
            made = _respond(block, s, rows[mine], at[mine], np.zeros(len(mine), dtype=np.int64),
                            order[mine][:, None], plan.sources[s].p * factor,
                            corr[mine] if corr is not None else None)
            if made is not None and len(made[0]):
                batch.add(*made[5])
                roots.append(made)
    outs = _opt_outs(block, rows, at, order, segments)
    for made in roots:
        follow(block, batch, made[0], made[1], made[2], made[3], made[4], made[6])
    if outs is not None:
        batch.add(*outs)
        follow(block, batch, outs[0], outs[1], np.full(len(outs[0]), plan.sources[0].kind),
               outs[3], outs[4])
    block.commit(batch)


_POWERS: dict[float, np.ndarray] = {}   # fatigue -> its powers 0, 1, 2...


def _fatigue(fatigue: float, received: np.ndarray) -> np.ndarray:
    """``fatigue ** received`` (each customer's messages before this one), read from a table
    of the powers that the same operation made once."""
    powers = _POWERS.get(fatigue)
    most = int(received.max())
    if powers is None or most >= len(powers):
        powers = _POWERS[fatigue] = fatigue ** np.arange(max(2 * most + 1, 64), dtype=np.int64)
    return powers[received]


def _opt_outs(block, rows, at, order, segments):
    """The cohort's opt-outs: at most once per customer, a minute after a message."""
    plan, gen = block.plan, block.gen
    found = []
    for g, segment in enumerate(plan.cohort.segments):
        if segment.opt_out <= 0:
            continue
        mine = np.flatnonzero((segments == g) & ~block.left[rows])
        leave = gen.random(len(mine)) < segment.opt_out
        found.append(mine[leave])
    if not found:
        return None
    mine = np.concatenate(found)
    if not len(mine):
        return None
    block.left[rows[mine]] = True
    n = len(mine)
    keys = np.stack([order[mine], np.full(n, 1 << 30), np.zeros(n, dtype=np.int64)], axis=1)
    return (rows[mine], at[mine] + OPT_OUT_DELAY, 0, np.zeros(n, dtype=np.int64), keys, {}, {})


def arrivals(block) -> Batch:
    """Every customer's arrival events (the first carries the profile), each followed by the
    responses to it; a customer of scheduled journeys only arrives with a profile event. The
    caller commits the batch."""
    plan, gen, customers = block.plan, block.gen, block.customers
    batch = Batch()
    rows = np.arange(block.n)
    count = max(len(plan.arrivals), 1)
    for i in range(count):
        for g in range(len(plan.cohort.segments)):
            mine = rows[customers.seg == g]
            s = plan.arrival_sources[(g, i)]
            source = plan.sources[s]
            keys = np.stack([mine, np.full(len(mine), i)], axis=1)
            at = customers.arrival[mine]
            data = _draw_data(source, gen, len(mine))
            batch.add(mine, at, s, np.zeros(len(mine), dtype=np.int64), keys,
                      data, _draw_updates(source, gen, len(mine)))
            corr = block.keys.drawn(source, data, len(mine)) if block.keys is not None else None
            follow(block, batch, mine, at, np.full(len(mine), source.kind),
                   np.zeros(len(mine), dtype=np.int64), keys, corr)
    return batch


def baselines(block) -> Batch:
    """Each baseline source's events from each customer's arrival to the horizon (a Poisson
    count of times, drawn in order: into the book), and the responses that follow them (a
    batch, which the caller commits)."""
    plan, gen, horizon = block.plan, block.gen, block.spec.horizon
    customers = block.customers
    batch = Batch()
    for s, source in enumerate(plan.sources):
        if source.role != BASELINE:
            continue
        mine = np.flatnonzero(customers.seg == source.segment)
        span = np.maximum(horizon - customers.arrival[mine], 0.0)
        counts = np.zeros(block.n, dtype=np.int64)
        counts[mine] = gen.poisson(source.rate * span)
        total = int(counts.sum())
        owner = np.repeat(np.arange(block.n), counts)
        arrival = np.repeat(customers.arrival, counts)   # each event's customer's
        times = arrival + _sorted_uniforms(gen, counts) * (horizon - arrival)
        ids = block.book.add_stream(s, source.kind, counts, owner, times, 1.0 + s,
                                    _draw_data(source, gen, total), _draw_updates(source, gen, total))
        if any((g, source.kind) in plan.responses_to for g in range(len(plan.cohort.segments))):
            keys = np.stack([np.full(total, s), np.arange(total)], axis=1)
            corr = block.keys.of_events(ids) if block.keys is not None else None
            follow(block, batch, owner, times, np.full(total, source.kind),
                   np.zeros(total, dtype=np.int64), keys, corr)
    return batch


def _sorted_uniforms(gen, counts: np.ndarray) -> np.ndarray:
    """For each customer ``counts[i]`` uniform draws in [0, 1), in increasing order (order
    statistics from exponential spacings: no sort), customer after customer."""
    total = int(counts.sum())
    if not total:
        return np.zeros(0)
    spacings = gen.exponential(size=total + len(counts))
    sums = np.cumsum(spacings)
    ends = np.cumsum(counts + 1) - 1                 # each customer's last spacing
    starts = ends - counts                           # each customer's first
    base = np.where(starts > 0, sums[np.maximum(starts - 1, 0)], 0.0)
    kept = np.ones(len(sums), dtype=bool)           # each customer's last spacing only scales
    kept[ends] = False
    return (sums[kept] - np.repeat(base, counts)) / np.repeat(sums[ends] - base, counts)


def _pad(keys: np.ndarray, width: int) -> np.ndarray:
    if keys.shape[1] == width:
        return keys
    pad = np.full((len(keys), width - keys.shape[1]), -1, dtype=np.int64)
    return np.concatenate([keys, pad], axis=1)


__all__ = ["Batch", "arrivals", "baselines", "follow", "messages"]
