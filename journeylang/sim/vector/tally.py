"""Vectorised simulation: counting while a block runs, and the counts the reports read.

While a block runs, what customers do per item (step visits, send results, messages,
responses, events handled or ignored) is added to counts of a fixed size, and what they do per
run is logged with the customers it is about (``Log``). At the end the logs become the
reference engine's ``JourneyCounts`` (sim/counting.py), per journey, in an ``engine.Tally``:
the two engines' counts have one form, add up exactly across blocks, shards and paths, and
give ``Results`` (and ``MultiResults``) through the same report code.
"""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

from ...semantics import CONVERTED, ENTRY_EXPERIMENT, HELD_OUT, SKIP_REASONS, TREATED
from ..counting import HIT_OPEN, JourneyCounts
from .columns import among_codes
from .kpis import FIGURES, Statuses
from .plan import NO_NEXT


KPI_STRETCH = 1 << 15   # KPI observations settled together at a block's end (``Log.stretches``)


class Messages:
    """Messages per customer, kept as how many customers got each combination of counts from
    the run's journeys (customers with none left out), so the memory it takes does not grow
    with the customers. Every journey's ``sent_to`` holds the run's table and reads its own
    column ``j``; ``+`` adds up parts of one run (their customers are disjoint)."""

    def __init__(self, table: Counter | None = None, j: int = 0):
        self.table = Counter() if table is None else table
        self.j = j

    @classmethod
    def of_counters(cls, counters: list) -> list["Messages"]:
        """From the reference engine's ``{"c12": 3}``, one per journey of the run, in order."""
        ids = set().union(*counters)
        table = Counter(tuple(c.get(i, 0) for c in counters) for i in ids)
        return [cls(table, j) for j in range(len(counters))]

    @classmethod
    def of_matrix(cls, counts: np.ndarray) -> list["Messages"]:
        """From the counts of a (journeys, customers) matrix, one per journey."""
        some = counts[:, counts.any(axis=0)]
        keys, n = _tallied(*some) if some.shape[1] else ([], [])
        if len(counts) == 1:
            keys = [(k,) for k in keys]
        table = Counter(dict(zip(keys, n)))
        return [cls(table, j) for j in range(len(counts))]

    def __add__(self, other: "Messages") -> "Messages":
        return Messages(self.table + other.table, self.j)

    def distribution(self, columns: list[int], customers: int) -> Counter:
        """How many of the ``customers`` got each number of messages from the journeys
        ``columns`` together."""
        found = Counter()
        for key, n in self.table.items():
            found[sum(key[j] for j in columns)] += n
        found[0] += customers - sum(self.table.values())
        return +found


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
        return _kept(parts, keep)

    def stretches(self, name: str, keep: np.ndarray, size: int):
        """``take`` by stretches of consecutive records, each of the fewest whole parts that
        hold ``size`` records (the last may hold fewer): what is made of a stretch stays small,
        in memory the process already has, where the whole log's columns would be asked for
        anew."""
        parts, start, count = self.parts.get(name, ()), 0, 0
        for end, part in enumerate(parts, 1):
            count += len(part[0]) if np.ndim(part[0]) else 1
            if count >= size or end == len(parts):
                yield _kept(parts[start:end], keep)
                start, count = end, 0


def _kept(parts: list, keep: np.ndarray) -> list:
    """The columns of the records ``parts`` whose customer is kept."""
    sizes = [len(p[0]) if np.ndim(p[0]) else 1 for p in parts]
    columns = [_joined([p[i] for p in parts], sizes) for i in range(len(parts[0]))]
    if keep.all():   # every customer kept (the usual case): no copy
        return columns
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
    """What one block counts, per journey. What happens per item a customer takes (step visits,
    send results, messages, responses, events handled or ignored, stages reached, runs ended
    by step, edge and group) is added to counts of a fixed size as it happens; what else happens
    per run (entries, milestones, conversions, arms, KPI windows, handoffs) is logged with its
    customer and counted when the block ends. Customers
    leave a block for the reference path only before it runs (``escaped``), so nothing of
    theirs is added."""

    def __init__(self, plan, n: int, first: int, escaped: np.ndarray | None = None):
        self.plan, self.n, self.first = plan, n, first
        self.escaped = np.zeros(n, dtype=bool) if escaped is None else escaped
        self.escaping = bool(self.escaped.any())   # whether ``escaped`` holds any (``escape``)
        self.log = Log()
        # per journey: whether it has an experiment (the entry holdout, a split), which alone
        # reads the runs' arms and outcomes (``run``)
        self.experimenting = [bool(journey.holdout or journey.splits) for journey in plan.journeys]
        # per journey: (step, previous step, edge) code -> visits
        self.visits: dict[int, Counter] = defaultdict(Counter)
        self.stages: dict[int, Counter] = defaultdict(Counter)   # per journey: stage -> runs
        # per journey: (step, edge, held out) -> runs ended there that way
        self.ends: dict[int, Counter] = defaultdict(Counter)
        self._converting: dict[int, np.ndarray] = {}   # per journey: edge codes of conversions
        self.results: dict[tuple, Counter] = defaultdict(Counter)  # (j, what, reason) -> step -> n
        self.channels: dict[tuple, Counter] = defaultdict(Counter)  # (j, channel) -> step -> n
        self.messages = np.zeros((len(plan.journeys), n), dtype=np.int64)  # per customer
        # per journey: runs begun (treated, held out), and the treated ones per segment
        self.begun = np.zeros((len(plan.journeys), 2), dtype=np.int64)
        self.begun_by_segment = np.zeros((len(plan.journeys), len(plan_segments(plan))),
                                         dtype=np.int64)
        self.promo = np.zeros(len(plan.journeys), dtype=np.int64)
        self.handled_kinds: Counter = Counter()                # (j, event kind) -> handler runs
        self.ignored_at: Counter = Counter()                   # (j, step) -> events ignored
        self.responses: dict[int, Counter] = defaultdict(Counter)  # source -> figures

    def escape(self, rows) -> None:
        """Customers ``rows`` leave for the reference path: nothing of theirs is counted."""
        self.escaped[rows] = True
        self.escaping = True

    def _kept(self, rows) -> np.ndarray | None:
        """Which of ``rows`` are counted here (None: all of them)."""
        if not self.escaping:
            return None
        return ~self.escaped[np.asarray(rows)]

    def _count(self, rows) -> int:
        kept = self._kept(rows)
        return int(np.size(rows) if kept is None else np.count_nonzero(kept))

    # --- during the run ---------------------------------------------------------------------

    def entered(self, j: int, rows, held, segments) -> None:
        """Runs began for customers ``rows`` (of ``segments``; ``held``: held out): counted
        now, the treated ones by segment too."""
        kept = self._kept(rows)
        if kept is not None:
            held, segments = held[kept], segments[kept]
        holdout = int(np.count_nonzero(held))
        self.begun[j] += (len(held) - holdout, holdout)
        self.begun_by_segment[j] += np.bincount(segments[~held] if holdout else segments,
                                                minlength=self.begun_by_segment.shape[1])

    def step(self, j: int, s: int, rows, prev, why) -> None:
        if len(rows):
            journey = self.plan.journeys[j]
            prev, why = np.asarray(prev, dtype=np.int64), np.asarray(why)  # arrays or one value
            first_prev, first_why = int(prev.flat[0]), int(why.flat[0])
            if (prev == first_prev).all() and (why == first_why).all():   # usually: all one way
                code = ((first_prev + 1) * len(journey.whys) + first_why) * len(journey.ids) + s
                self.visits[j][code] += len(rows)
                return
            codes = ((prev + 1) * len(journey.whys) + why) * len(journey.ids) + s
            self.visits[j].update(dict(zip(*_tallied(codes))))

    def stage(self, j: int, stage: int, rows) -> None:
        n = self._count(rows)
        if n:
            self.stages[j][stage] += n

    def result(self, j: int, s: int, what: str, rows, reason: str | None = None) -> None:
        n = self._count(rows)
        if n:
            self.results[(j, what, reason)][s] += n

    def channel(self, j: int, s: int, channel: str, rows) -> None:
        n = self._count(rows)
        if n:
            self.channels[(j, channel)][s] += n

    def milestone(self, j: int, k: int, rows, held, since) -> None:
        self.log.add(f"milestone/{j}", rows, k, held, since)

    def ignored(self, j: int, s, rows) -> None:
        kept = self._kept(rows)
        steps = np.broadcast_to(np.asarray(s), np.shape(rows))
        for step, n in zip(*_tallied(steps if kept is None else steps[kept])):
            self.ignored_at[(j, step)] += n

    def handled(self, j: int, kind: int, rows) -> None:
        n = self._count(rows)
        if n:
            self.handled_kinds[(j, kind)] += n

    def ended(self, j: int, rows, pos, why, held) -> np.ndarray | None:
        """Runs ended at step ``pos`` by edge ``why`` (a code each, or one for all): counted
        by (step, edge, held out) now. Returns which of them are treated runs that converted
        (None: none), whose conversions the caller logs (``converted``)."""
        kept = self._kept(rows)
        one = np.ndim(why) == 0
        counted_pos, counted_why, counted_held = pos, why, held
        if kept is not None:
            counted_pos, counted_held = pos[kept], held[kept]
            counted_why = why if one else why[kept]
        ends = self.ends[j]
        if not len(counted_pos):
            return None
        if one:   # (the usual: counted by step and group, the one edge added to each key)
            for (p, h), n in zip(*_tallied(counted_pos, counted_held)):
                ends[(p, int(why), h)] += n
            if not (self._conversions(j) == why).any():
                return None
            won = ~held
        else:
            for key, n in zip(*_tallied(counted_pos, counted_why, counted_held)):
                ends[key] += n
            won = among_codes(why, self._conversions(j)) & ~held
        if kept is not None:
            won &= kept
        return won if won.any() else None

    def converted(self, j: int, rows, since, segment) -> None:
        """Treated runs ended converted: their time from entry to the end, their segment."""
        self.log.add(f"converted/{j}", rows, since, segment)

    def _conversions(self, j: int) -> np.ndarray:
        """The codes of journey ``j``'s edges that end a run converted."""
        found = self._converting.get(j)
        if found is None:
            outcome_of = self.plan.journeys[j].outcome_of
            found = self._converting[j] = np.array(
                [c for c, o in outcome_of.items() if o == CONVERTED], dtype=np.int64)
        return found

    def run(self, j: int, rows, run_ids, held, arms, milestones, outcome) -> None:
        """A run's arms and what it achieved, for the experiments (at its end, or at the
        horizon with ``outcome`` -1)."""
        self.log.add(f"run/{j}", rows, run_ids, held, outcome)
        self.log.add(f"run-arms/{j}", rows, *arms.T)
        self.log.add(f"run-milestones/{j}", rows, *milestones.T) if milestones.shape[1] else None

    def observation(self, j: int, k: int, rows, run_ids, held, opened_t, opened_q, due) -> None:
        self.log.add(f"kpi/{j}", rows, k, run_ids, held, opened_t, opened_q, due)

    def sent(self, j: int, rows, promo: bool) -> None:
        kept = self._kept(rows)
        rows = rows if kept is None else rows[kept]
        np.add.at(self.messages[j], rows, 1)
        if promo:
            self.promo[j] += len(rows)

    def send(self, rows, at, seq, j: int) -> None:
        """Every send, for the journey an opt-out counts against (with one journey, it is that
        one: nothing is kept)."""
        if len(self.plan.journeys) > 1:
            self.log.add("sends", rows, at, seq, j)

    def handoff(self, rows, at, seq, made, role: int, due, j: int, runs, step: int,
                nodes) -> None:
        """Handoffs, with the lineage nodes of the items that made them (-1: none kept)."""
        self.log.add("handoffs", rows, at, seq, made, role, due, j, runs, step, nodes)

    def ladder(self, rows, at, seq, runs, wait: int) -> None:
        """Runs resolve an escalation ladder at its wait (a step code): its SLAs are met."""
        self.log.add("ladders", rows, at, seq, runs, wait)

    def behaviour(self, what: str, rows, source: int, values=1) -> None:
        """A response was drawn for ``rows`` (``triggers``), or fired ``values`` events each
        (``fired``)."""
        kept = self._kept(rows)
        figures = self.responses[source]
        if what == "triggers":
            figures["triggers"] += int(np.size(rows)) if kept is None else int(np.count_nonzero(kept))
            return
        times = np.broadcast_to(np.asarray(values, dtype=np.int64), np.shape(rows))
        if kept is not None:
            times = times[kept]
        figures["fired"] += len(times)
        figures["events"] += int(times.sum())
        figures["events_sq"] += int((times * times).sum())

    # --- at the end ---------------------------------------------------------------------------

    def counts(self, block, keep: np.ndarray) -> dict:
        """Per journey id its ``JourneyCounts``, for the customers ``keep`` (a mask)."""
        plan, found = self.plan, {}
        sent_to = Messages.of_matrix(self.messages[:, keep])
        for journey in plan.journeys:
            found[journey.journey_id] = self._journey(journey, block, keep)
            found[journey.journey_id].sent_to = sent_to[journey.j]
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
        treated, holdout = self.begun[j].tolist()
        counts.entered.update({k: v for k, v in (("treated", treated), ("holdout", holdout)) if v})
        for g, n in enumerate(self.begun_by_segment[j].tolist()):
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
        reached = self.stages[j]
        for stage in sorted(reached):
            counts.stages[journey.stages[stage]] += reached[stage]
        for (jj, what, reason), found in self.results.items():
            if jj != j:
                continue
            for step in sorted(found):
                counts.results[ids[step]][what] += found[step]
            if reason in SKIP_REASONS:
                counts.skip_reasons[reason] += sum(found.values())
        for (jj, channel), found in self.channels.items():
            if jj == j:
                for step in sorted(found):
                    counts.channel_sends[(ids[step], channel)] += found[step]
        milestones = take("milestone")
        if milestones is not None:
            _, k, held, since = milestones
            for index, milestone in enumerate(journey.milestones):
                mine = k == index
                treated = mine & ~held
                if treated.any():
                    counts.milestones[("treated", milestone.name)] += int(treated.sum())
                    counts.milestone_times[milestone.name].frombytes(
                        np.asarray(since[treated], dtype=np.float64).tobytes())
                if (mine & held).any():
                    counts.milestones[("holdout", milestone.name)] += int((mine & held).sum())
        for (jj, step), n in sorted(self.ignored_at.items()):
            if jj == j:
                counts.ignored[ids[step]] += n
        for (jj, kind), n in sorted(self.handled_kinds.items()):
            if jj == j:
                counts.handled[self.plan.kinds.names[kind]] += n
        self._ended(journey, counts, take("converted"))
        if self.messages[j].any():
            counts.promo_sends = int(self.promo[j])
            counts.budget_sends = sum(counts.results[s.id]["sent"] for s in journey.steps
                                      if s.kind == "send" and not s.params.get("transactional"))
        self._experiments(journey, counts, block, keep)
        live = (block.lanes.phase[:block.lanes.size] != 0) & (block.lanes.j[:block.lanes.size] == j)
        live &= keep[block.lanes.c[:block.lanes.size]]
        counts.inside = int(live.sum())
        counts.entered_customers = int((block.entries[j] > 0)[keep].sum())
        return counts

    def _ended(self, journey, counts: JourneyCounts, converted) -> None:
        ids, whys, outcome_of = journey.ids, journey.whys, journey.outcome_of
        ends = self.ends[journey.j]
        for p, w, h in sorted(ends):   # in the order of the combinations
            m = ends[(p, w, h)]
            outcome = outcome_of[w]
            counts.ended[("holdout" if h else "treated", outcome)] += m
            if p >= 0:
                counts.flows[(ids[p], whys[w], f"end:{outcome}")] += m
        if converted is not None:
            _, since, segment = converted
            counts.convert_times.frombytes(np.asarray(since, dtype=np.float64).tobytes())
            for g, m in zip(*_tallied(segment)):
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
        opened, settled, closed = Counter(), Counter(), []   # (closed: only with experiments)
        statuses = Statuses(block, journey)
        for rows, k, observed_runs, held, opened_t, opened_q, due in \
                self.log.stretches(f"kpi/{j}", keep, KPI_STRETCH):
            code = statuses(rows, k, opened_t, opened_q, due)
            k = np.asarray(k, dtype=np.int64)
            treated = ~np.asarray(held, dtype=bool)
            opened.update(dict(zip(*_tallied(k[treated]))))
            counted = treated & (code >= 0)
            settled.update(dict(zip(*_tallied(k[counted], code[counted]))))
            if experiments:
                ended = (code == 0) | (code == 2)
                closed.append((observed_runs[ended], k[ended], code[ended]))
        figures = FIGURES
        for index in sorted(opened):
            counts.kpis[journey.kpis[index].name]["opened"] += opened[index]
        for index, c in sorted(settled):
            counts.kpis[journey.kpis[index].name][figures[c]] += settled[(index, c)]
        if not closed:
            return
        wanted, k_closed, code_closed = (np.concatenate(c) for c in zip(*closed))
        if not len(wanted):
            return
        order = np.argsort(run_ids, kind="stable")   # each observation's run, by its id
        place = np.minimum(np.searchsorted(run_ids[order], wanted), len(order) - 1)
        found = run_ids[order][place] == wanted
        run_of = order[place[found]]
        k_closed, code_closed = k_closed[found], code_closed[found]
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
    columns = [np.asarray(c, dtype=np.int64) for c in columns]   # no copy when they are
    if not len(columns[0]):
        return [], []
    lows = [int(c.min()) for c in columns]
    spans = [int(c.max()) - low + 1 for c, low in zip(columns, lows)]
    if weights is None and all(span == 1 for span in spans):   # one combination: usual per batch
        return [lows[0] if len(lows) == 1 else tuple(lows)], [len(columns[0])]
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


HIT, MISSED = "hit", "missed"

__all__ = ["HIT", "HIT_OPEN", "Log", "MISSED", "Messages", "NO_NEXT", "Tally"]
