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
        rows = np.asarray(rows)
        if rows.ndim and not len(rows):
            return
        size = len(rows) if rows.ndim else 1
        self.parts[name].append((np.broadcast_to(rows, (size,)),
                                 *(np.broadcast_to(np.asarray(c), (size,)) for c in columns)))

    def take(self, name: str, keep: np.ndarray):
        parts = self.parts.get(name)
        if not parts:
            return None
        columns = [np.concatenate([p[i] for p in parts]) for i in range(len(parts[0]))]
        mine = keep[columns[0]]
        return [c[mine] for c in columns]


class Tally:
    """What one block counts, per journey."""

    def __init__(self, plan, n: int, first: int):
        self.plan, self.n, self.first = plan, n, first
        self.log = Log()

    # --- during the run ---------------------------------------------------------------------

    def entered(self, j: int, rows, held) -> None:
        self.log.add(f"entered/{j}", rows, held)

    def step(self, j: int, s: int, rows, prev, why) -> None:
        self.log.add(f"step/{j}", rows, s, prev, why)

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

    def handoff(self, rows, at, seq, role: int, due, j: int) -> None:
        self.log.add("handoffs", rows, at, seq, role, due, j)

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
        steps = take("step")
        if steps is not None:
            _, s, prev, why = steps
            for step, n in zip(*np.unique(s, return_counts=True)):
                counts.steps[ids[step]] += int(n)
            moved = prev >= 0
            if moved.any():
                keys, n = np.unique(np.stack([prev[moved], why[moved], s[moved]]), axis=1,
                                    return_counts=True)
                for (a, w, b), m in zip(keys.T.tolist(), n.tolist()):
                    counts.flows[(ids[a], whys[w], ids[b])] += m
        stages = take("stage")
        if stages is not None:
            for stage, n in zip(*np.unique(stages[1], return_counts=True)):
                counts.stages[journey.stages[stage]] += int(n)
        for name, parts in self.log.parts.items():
            if name.startswith(f"result/{j}/"):
                _, _, what, reason = name.split("/")
                found = self.log.take(name, keep)
                for step, n in zip(*np.unique(found[1], return_counts=True)):
                    counts.results[ids[step]][what] += int(n)
                if reason in SKIP_REASONS:
                    counts.skip_reasons[reason] += len(found[0])
            elif name.startswith(f"channel/{j}/"):
                channel = name.split("/", 2)[2]
                found = self.log.take(name, keep)
                for step, n in zip(*np.unique(found[1], return_counts=True)):
                    counts.channel_sends[(ids[step], channel)] += int(n)
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
            for step, n in zip(*np.unique(ignored[1], return_counts=True)):
                counts.ignored[ids[step]] += int(n)
        handled = take("handled")
        if handled is not None:
            for kind, n in zip(*np.unique(handled[1], return_counts=True)):
                counts.handled[self.plan.kinds.names[kind]] += int(n)
        self._ended(journey, counts, take("ended"))
        sent = take("sent")
        if sent is not None:
            rows, promo = sent
            counts.sent_to = PerCustomer(*_grouped(rows + self.first))
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
        keys, n = np.unique(np.stack([pos, why, held.astype(np.int64)]), axis=1, return_counts=True)
        for (p, w, h), m in zip(keys.T.tolist(), n.tolist()):
            outcome = outcome_of[w]
            counts.ended[("holdout" if h else "treated", outcome)] += m
            if p >= 0:
                counts.flows[(ids[p], whys[w], f"end:{outcome}")] += m
        won = np.isin(why, [c for c, o in outcome_of.items() if o == CONVERTED]) & ~held
        if won.any():
            counts.convert_times += since[won].tolist()
            for g, m in zip(*np.unique(segment[won], return_counts=True)):
                counts.by_segment[self.plan.cohort.segments[g].name]["converted"] += int(m)

    def _experiments(self, journey, counts: JourneyCounts, block, keep) -> None:
        """Per (experiment, arm): runs, outcomes, milestones and KPI windows closed, credited
        to every arm of each run; KPIs also to the KPI's own figures."""
        j = journey.j
        runs = self.log.take(f"run/{j}", keep)
        splits = sorted(journey.splits)
        arm_of: dict[int, tuple] = {}
        if runs is not None:
            rows, run_ids, held, outcome = runs
            arms = self.log.take(f"run-arms/{j}", keep)[1:]
            reached = self.log.take(f"run-milestones/{j}", keep)
            reached = reached[1:] if reached is not None else []
            keys = []   # per run: its (experiment, arm) keys
            for i in range(len(rows)):
                mine = []
                if journey.holdout:
                    mine.append((ENTRY_EXPERIMENT, HELD_OUT if held[i] else TREATED))
                for column, s in enumerate(splits):
                    arm = int(arms[column][i])
                    if arm >= 0:
                        mine.append((journey.ids[s], journey.splits[s][arm][2]))
                keys.append(mine)
                arm_of[int(run_ids[i])] = tuple(mine)
                for key in mine:
                    figures = counts.experiments[key]
                    figures["runs"] += 1
                    if outcome[i] >= 0:
                        figures[f"outcome:{journey.outcome_of[int(outcome[i])]}"] += 1
                    for k, milestone in enumerate(journey.milestones):
                        if reached[k][i]:
                            figures[f"milestone:{milestone.name}"] += 1
        observed = self.log.take(f"kpi/{j}", keep)
        if observed is None:
            return
        rows, k, run_ids, held, opened_t, opened_q, due = observed
        status = block.kpi_status(journey, rows, k, opened_t, opened_q, due)
        for i in range(len(rows)):
            name = journey.kpis[int(k[i])].name
            figure = status[i]
            if not held[i]:
                table = counts.kpis[name]
                table["opened"] += 1
                if figure is not None:
                    table[figure] += 1
            if figure in ("hit", "missed"):
                for key in arm_of.get(int(run_ids[i]), ()):
                    counts.experiments[key][f"kpi:{name}:{figure}"] += 1


def plan_segments(plan):
    return plan.cohort.segments


def _grouped(index: np.ndarray):
    unique, n = np.unique(index, return_counts=True)
    return unique, n


HIT, MISSED = "hit", "missed"

__all__ = ["HIT", "HIT_OPEN", "Log", "MISSED", "NO_NEXT", "PerCustomer", "Tally"]
