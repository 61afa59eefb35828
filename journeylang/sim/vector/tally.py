"""Vectorised simulation: counting while a block runs, and the counts the reports read.

While a block runs, every count is logged with the customers it is about (``Log``): a customer
the engine hands to the reference path leaves nothing behind when the block is counted. At the
end the logs become the reference engine's ``JourneyCounts`` (sim/counting.py), per journey, in
an ``engine.Tally``: the two engines' counts have one form, add up exactly across blocks, shards
and paths, and give ``Results`` (and ``MultiResults``) through the same report code.
"""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from ...semantics import CONVERTED, ENTRY_EXPERIMENT, HELD_OUT, SKIP_REASONS, TREATED
from ..counting import HIT_OPEN, JourneyCounts
from .plan import NO_NEXT


class PerCustomer:
    """A number per customer of the cohort (messages sent), by customer index, for any part of
    the cohort; ``+`` adds up (parts of one run have disjoint customers)."""

    def __init__(self, index=None, values=None):
        self.index = np.zeros(0, dtype=np.int64) if index is None else np.asarray(index, dtype=np.int64)
        self.values = np.zeros(0, dtype=np.int64) if values is None else np.asarray(values, dtype=np.int64)

    @classmethod
    def of_counter(cls, counter: Counter) -> "PerCustomer":
        """From the reference engine's ``{"c12": 3}``."""
        items = [(int(ident[1:]) - 1, n) for ident, n in counter.items()]
        return cls([i for i, _ in items], [n for _, n in items])

    def __add__(self, other):
        if isinstance(other, Counter):
            other = PerCustomer.of_counter(other)
        return PerCustomer(np.concatenate([self.index, other.index]),
                           np.concatenate([self.values, other.values]))

    __radd__ = __add__

    def array(self, size: int) -> np.ndarray:
        return np.bincount(self.index, weights=self.values, minlength=size).astype(np.int64)[:size]

    def get(self, ident: str, default: int = 0) -> int:
        wanted = int(ident[1:]) - 1
        return int(self.values[self.index == wanted].sum()) or default


class Log:
    """Row-tagged records: ``add(name, rows, *columns)``; ``take(name, keep)`` gives the
    columns of the records whose customer is kept."""

    def __init__(self):
        self.parts: dict[str, list] = defaultdict(list)

    def add(self, name: str, rows, *columns) -> None:
        """Records as given (columns may be scalars): they are shaped when taken."""
        if isinstance(rows, np.ndarray) and rows.ndim and not len(rows):
            return
        self.parts[name].append((rows, *columns))

    def take(self, name: str, keep: np.ndarray):
        parts = self.parts.get(name)
        if not parts:
            return None
        sizes = [len(p[0]) if np.ndim(p[0]) else 1 for p in parts]
        columns = [_joined([p[i] for p in parts], sizes) for i in range(len(parts[0]))]
        mine = keep[columns[0]]
        return [c[mine] for c in columns]


def _joined(pieces: list, sizes: list[int]) -> np.ndarray:
    """One column from its pieces (arrays of the parts' sizes, or a value each)."""
    if all(isinstance(p, np.ndarray) and p.shape == (n,) for p, n in zip(pieces, sizes)):
        return np.concatenate(pieces)
    if not any(isinstance(p, np.ndarray) for p in pieces):
        return np.repeat(np.array(pieces), sizes)
    return np.concatenate([np.broadcast_to(np.asarray(p), (n,)) for p, n in zip(pieces, sizes)])


class Tally:
    """What one block counts, per journey."""

    def __init__(self, plan, n: int, first: int):
        self.plan, self.n, self.first = plan, n, first
        self.log = Log()
        # Step visits are the bulk of what is counted: no customer leaves the block for the
        # reference path once running (plan.py sends a journey with a `set` the engine cannot
        # hold there whole), so they are counted at once (per journey: (step, previous step,
        # edge) code -> visits) instead of logged per visit.
        self.visits: dict[int, Counter] = defaultdict(Counter)

    # --- during the run ---------------------------------------------------------------------

    def entered(self, j: int, rows, held) -> None:
        self.log.add(f"entered/{j}", rows, held)

    def step(self, j: int, s: int, rows, prev, why) -> None:
        if len(rows):
            journey = self.plan.journeys[j]
            codes = ((np.asarray(prev, dtype=np.int64) + 1) * len(journey.whys) + why) \
                * len(journey.ids) + s
            self.visits[j].update(dict(zip(*_tallied(codes))))

    def stage(self, j: int, stage: int, rows) -> None:
        self.log.add(f"stage/{j}", rows, stage)

    def result(self, j: int, s: int, what: str, rows, reason: str | None = None) -> None:
        self.log.add(f"result/{j}/{what}/{reason}", rows, s)

    def channel(self, j: int, s: int, channel: str, rows) -> None:
        self.log.add(f"channel/{j}/{channel}", rows, s)

    def split(self, j: int, s: int, arm: np.ndarray, rows) -> None:
        self.log.add(f"split/{j}", rows, s, arm)

    def milestone(self, j: int, k: int, rows, held, since) -> None:
        self.log.add(f"milestone/{j}", rows, k, held, since)

    def ignored(self, j: int, s, rows) -> None:
        self.log.add(f"ignored/{j}", rows, s)

    def handled(self, j: int, kind: int, rows) -> None:
        self.log.add(f"handled/{j}", rows, kind)

    def ended(self, j: int, rows, pos, why, held, since, segment) -> None:
        self.log.add(f"ended/{j}", rows, pos, why, held, since, segment)

    def run(self, j: int, rows, run_ids, held, arms, milestones, outcome) -> None:
        """A run's arms and what it achieved, for the experiments (at its end, or at the
        horizon with ``outcome`` -1)."""
        self.log.add(f"run/{j}", rows, run_ids, held, outcome)
        self.log.add(f"run-arms/{j}", rows, *arms.T)
        self.log.add(f"run-milestones/{j}", rows, *milestones.T) if milestones.shape[1] else None

    def observation(self, j: int, k: int, rows, run_ids, held, opened_t, opened_q, due) -> None:
        self.log.add(f"kpi/{j}", rows, k, run_ids, held, opened_t, opened_q, due)

    def sent(self, j: int, rows, promo: bool) -> None:
        self.log.add(f"sent/{j}", rows, promo)

    def send(self, rows, at, seq, j: int) -> None:
        """Every send, for the journey an opt-out counts against."""
        self.log.add("sends", rows, at, seq, j)

    def handoff(self, rows, at, seq, made, role: int, due, j: int, runs, step: int) -> None:
        self.log.add("handoffs", rows, at, seq, made, role, due, j, runs, step)

    def ladder(self, rows, at, seq, runs, wait: int) -> None:
        """Runs resolve an escalation ladder at its wait (a step code): its SLAs are met."""
        self.log.add("ladders", rows, at, seq, runs, wait)

    def behaviour(self, what: str, rows, source: int, values=1) -> None:
        self.log.add(f"behaviour/{what}", rows, source, values)

    # --- at the end ---------------------------------------------------------------------------

    def counts(self, block, keep: np.ndarray) -> dict:
        """Per journey id its ``JourneyCounts``, for the customers ``keep`` (a mask)."""
        plan, found = self.plan, {}
        for journey in plan.journeys:
            found[journey.journey_id] = self._journey(journey, block, keep)
        opt_outs = self._opt_outs(block, keep)
        for journey in plan.journeys:
            found[journey.journey_id].opt_outs = int(opt_outs[journey.j])
        return found

    def _opt_outs(self, block, keep) -> np.ndarray:
        """Every opt-out event by the horizon counts for the journey of the customer's last
        message before it (the first journey when there was none)."""
        book, plan = block.book, self.plan
        size = book.size
        leaving = np.isin(book.kind[:size], list(plan.opt_out_kinds))
        leaving &= (book.t[:size] <= block.spec.horizon) & keep[book.row[:size]]
        ids = np.flatnonzero(leaving)
        found = np.zeros(len(plan.journeys), dtype=np.int64)
        if not len(ids):
            return found
        sends = self.log.take("sends", keep)
        if sends is None or len(plan.journeys) == 1:
            found[0] = len(ids)
            return found
        rows, at, seq, j = sends
        all_rows = np.concatenate([rows, book.row[ids]])
        all_at = np.concatenate([at, book.t[ids]])
        all_seq = np.concatenate([seq, book.q[ids]])
        is_send = np.concatenate([np.ones(len(rows), dtype=bool), np.zeros(len(ids), dtype=bool)])
        order = np.lexsort((~is_send, all_seq, all_at, all_rows))
        position = np.where(is_send[order], np.arange(len(order)), -1)
        last = np.maximum.accumulate(position)
        event = ~is_send[order]
        sender = np.full(len(order), -1)
        valid = last >= 0
        sender[valid] = order[last[valid]]
        same = valid & (all_rows[np.maximum(sender, 0)] == all_rows[order])
        journeys = np.where(same & event, j[np.minimum(np.maximum(sender, 0), len(j) - 1)], 0)
        found += np.bincount(journeys[event], minlength=len(found))
        return found

    def _journey(self, journey, block, keep) -> JourneyCounts:
        j, ids, whys = journey.j, journey.ids, journey.whys
        counts = JourneyCounts()
        take = lambda name: self.log.take(f"{name}/{j}", keep)
        entered = take("entered")
        if entered is not None:
            rows, held = entered
            counts.entered.update({k: v for k, v in (("treated", int((~held).sum())),
                                                     ("holdout", int(held.sum()))) if v})
            segments = np.bincount(block.customers.seg[rows[~held]],
                                   minlength=len(plan_segments(self.plan)))
            for g, n in enumerate(segments.tolist()):
                if n:
                    counts.by_segment[self.plan.cohort.segments[g].name]["entered"] += n
        if self.visits[j]:   # (step, previous step, edge) codes: decode
            codes, visits = (np.asarray(c) for c in zip(*self.visits[j].items()))
            s, rest = codes % len(ids), codes // len(ids)
            prev, why = rest // len(whys) - 1, rest % len(whys)
            for step, n in zip(*_tallied(s, weights=visits)):
                counts.steps[ids[step]] += n
            moved = prev >= 0
            if moved.any():
                for (a, w, b), m in zip(*_tallied(prev[moved], why[moved], s[moved],
                                                 weights=visits[moved])):
                    counts.flows[(ids[a], whys[w], ids[b])] += m
        stages = take("stage")
        if stages is not None:
            for stage, n in zip(*_tallied(stages[1])):
                counts.stages[journey.stages[stage]] += n
        for name, parts in self.log.parts.items():
            if name.startswith(f"result/{j}/"):
                _, _, what, reason = name.split("/")
                found = self.log.take(name, keep)
                for step, n in zip(*_tallied(found[1])):
                    counts.results[ids[step]][what] += n
                if reason in SKIP_REASONS:
                    counts.skip_reasons[reason] += len(found[0])
            elif name.startswith(f"channel/{j}/"):
                channel = name.split("/", 2)[2]
                found = self.log.take(name, keep)
                for step, n in zip(*_tallied(found[1])):
                    counts.channel_sends[(ids[step], channel)] += n
        milestones = take("milestone")
        if milestones is not None:
            _, k, held, since = milestones
            for index, milestone in enumerate(journey.milestones):
                mine = k == index
                treated = mine & ~held
                if treated.any():
                    counts.milestones[("treated", milestone.name)] += int(treated.sum())
                    counts.milestone_times[milestone.name] += since[treated].tolist()
                if (mine & held).any():
                    counts.milestones[("holdout", milestone.name)] += int((mine & held).sum())
        ignored = take("ignored")
        if ignored is not None:
            for step, n in zip(*_tallied(ignored[1])):
                counts.ignored[ids[step]] += n
        handled = take("handled")
        if handled is not None:
            for kind, n in zip(*_tallied(handled[1])):
                counts.handled[self.plan.kinds.names[kind]] += n
        self._ended(journey, counts, take("ended"))
        sent = take("sent")
        if sent is not None:
            rows, promo = sent
            index, n = _grouped(rows)
            counts.sent_to = PerCustomer(index + self.first, n)
            counts.promo_sends = int(promo.sum())
            counts.budget_sends = sum(counts.results[s.id]["sent"] for s in journey.steps
                                      if s.kind == "send" and not s.params.get("transactional"))
        else:
            counts.sent_to = PerCustomer()
        self._experiments(journey, counts, block, keep)
        live = (block.lanes.phase[:block.lanes.size] != 0) & (block.lanes.j[:block.lanes.size] == j)
        live &= keep[block.lanes.c[:block.lanes.size]]
        counts.inside = int(live.sum())
        counts.entered_customers = int((block.entries[j] > 0)[keep].sum())
        return counts

    def _ended(self, journey, counts: JourneyCounts, ended) -> None:
        if ended is None:
            return
        ids, whys, outcome_of = journey.ids, journey.whys, journey.outcome_of
        rows, pos, why, held, since, segment = ended
        for (p, w, h), m in zip(*_tallied(pos, why, held)):
            outcome = outcome_of[w]
            counts.ended[("holdout" if h else "treated", outcome)] += m
            if p >= 0:
                counts.flows[(ids[p], whys[w], f"end:{outcome}")] += m
        won = np.isin(why, [c for c, o in outcome_of.items() if o == CONVERTED]) & ~held
        if won.any():
            counts.convert_times += since[won].tolist()
            for g, m in zip(*_tallied(segment[won])):
                counts.by_segment[self.plan.cohort.segments[g].name]["converted"] += m

    def _experiments(self, journey, counts: JourneyCounts, block, keep) -> None:
        """Per (experiment, arm): runs, outcomes, milestones and KPI windows closed, credited
        to every arm of each run; KPIs also to the KPI's own figures. Each experiment (the
        entry holdout, each split) groups the runs by their arm in it, with ``bincount``."""
        j = journey.j
        runs = self.log.take(f"run/{j}", keep)
        experiments = []   # per experiment: its name, arm names, and each run's arm (-1: none)
        if runs is not None:
            rows, run_ids, held, outcome = runs
            arms = self.log.take(f"run-arms/{j}", keep)[1:]
            reached = self.log.take(f"run-milestones/{j}", keep)
            reached = reached[1:] if reached is not None else []
            if journey.holdout:
                experiments.append((ENTRY_EXPERIMENT, (TREATED, HELD_OUT), held.astype(np.int64)))
            for column, s in enumerate(sorted(journey.splits)):
                experiments.append((journey.ids[s], [arm[2] for arm in journey.splits[s]],
                                    np.asarray(arms[column], dtype=np.int64)))
            outcomes = np.asarray(outcome, dtype=np.int64)
            for name, arm_names, arm in experiments:
                for a, n in zip(*_tallied(arm)):
                    if a < 0:
                        continue
                    figures = counts.experiments[(name, arm_names[a])]
                    figures["runs"] += n
                    mine = arm == a
                    for o, m in zip(*_tallied(outcomes[mine])):
                        if o >= 0:
                            figures[f"outcome:{journey.outcome_of[o]}"] += m
                    for k, milestone in enumerate(journey.milestones):
                        m = int(np.count_nonzero(reached[k][mine]))
                        if m:
                            figures[f"milestone:{milestone.name}"] += m
        observed = self.log.take(f"kpi/{j}", keep)
        if observed is None:
            return
        rows, k, observed_runs, held, opened_t, opened_q, due = observed
        status = block.kpi_status(journey, rows, k, opened_t, opened_q, due)
        figures = ("hit", "hit_open", "missed")
        code = np.full(len(rows), -1, dtype=np.int64)
        for c, figure in enumerate(figures):
            code[status == figure] = c
        k = np.asarray(k, dtype=np.int64)
        treated = ~np.asarray(held, dtype=bool)
        for index, n in zip(*_tallied(k[treated])):
            counts.kpis[journey.kpis[index].name]["opened"] += n
        for (index, c), n in zip(*_tallied(k[treated & (code >= 0)], code[treated & (code >= 0)])):
            counts.kpis[journey.kpis[index].name][figures[c]] += n
        closed = (code == 0) | (code == 2)
        if not experiments or not closed.any():
            return
        order = np.argsort(run_ids, kind="stable")   # each observation's run, by its id
        wanted = observed_runs[closed]
        place = np.minimum(np.searchsorted(run_ids[order], wanted), len(order) - 1)
        found = run_ids[order][place] == wanted
        run_of = order[place[found]]
        k_closed, code_closed = k[closed][found], code[closed][found]
        for name, arm_names, arm in experiments:
            arm_closed = arm[run_of]
            has = arm_closed >= 0
            for (a, index, c), n in zip(*_tallied(arm_closed[has], k_closed[has], code_closed[has])):
                kpi = journey.kpis[index].name
                counts.experiments[(name, arm_names[a])][f"kpi:{kpi}:{figures[c]}"] += n


def plan_segments(plan):
    return plan.cohort.segments


def _tallied(*columns, weights=None):
    """How often each combination of values of the integer ``columns`` occurs (or the sum of
    its ``weights``), in ascending order of the combinations: (values, counts), a value a
    Python int (a tuple of them for several columns). Counted by ``bincount`` over the
    combinations' codes, without a sort."""
    columns = [np.asarray(c).astype(np.int64) for c in columns]
    if not len(columns[0]):
        return [], []
    lows = [int(c.min()) for c in columns]
    spans = [int(c.max()) - low + 1 for c, low in zip(columns, lows)]
    code = np.zeros(len(columns[0]), dtype=np.int64)
    for c, low, span in zip(columns, lows, spans):
        code = code * span + (c - low)
    if int(np.prod(spans, dtype=float)) > max(4 * len(code), 1 << 16):
        present, code = np.unique(code, return_inverse=True)
    else:
        present = None
    n = np.bincount(code, weights=weights)
    if weights is not None:
        n = np.rint(n).astype(np.int64)
    nonzero = np.flatnonzero(n)
    n = n[nonzero]
    present = nonzero if present is None else present[nonzero]
    values = []
    for span, low in zip(reversed(spans), reversed(lows)):
        values.append(present % span + low)
        present = present // span
    values.reverse()
    keys = values[0].tolist() if len(values) == 1 else list(zip(*(v.tolist() for v in values)))
    return keys, n.tolist()


def _grouped(index: np.ndarray):
    """Customer indices (from 0) and how often each occurs."""
    if not len(index):
        return index, index
    n = np.bincount(index)
    present = np.flatnonzero(n)
    return present, n[present]


HIT, MISSED = "hit", "missed"

__all__ = ["HIT", "HIT_OPEN", "Log", "MISSED", "NO_NEXT", "PerCustomer", "Tally"]
