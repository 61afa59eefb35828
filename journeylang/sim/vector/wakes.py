"""Vectorised simulation: timers of waits until a time of day taken one after another in the
same pass, without an item each.

A **day cycle** is a journey's ``wait until`` steps joined by ``set``s of run-local variables
and ``branch``es over them (nothing else read: no profile, event, tag or history), so that
from such a wait the run only decides, counts and waits again until it reaches some other
step (a send, an emit, an exit...). ``checkin_streak``'s days are one: ``midnight`` (two sets)
``09:30`` (a branch) ``23:59`` (branches and sets) and back to ``midnight``, left for the
nudge, the milestone's emit, the reward and the exit.

When a customer's next item is the timer of such a wait and the wait is their only run's,
the timer is fired as usual (``Block._fire``) and the steps after it are executed by the
usual step kinds (``steps.execute``: visits, edges, stages, hops counted as always); when the
run rests at such a wait again, the wait's timer is taken at once, in the same call, while it
comes before every event that would be an item of the customer's (of a type their run takes,
an opt-out or a profile update; not one handled without an item, ``Block._folds``: those are
handled just before the timer, as ``Block._take`` handles them) and within the horizon. A run
that reaches another step goes on there as usual, in the same pass; a run whose timer comes
later rests and its customer's next item is found as usual. Nothing these steps do adds an
event or draws, so each customer's own order is the engine's, with no pass, search for the
next item or grouping in between. (Customers take their later items in other passes than
they would one timer at a time, so the block's draws fall in another order.)

Only with one journey, no scheduled entries, no correlation keys and re-entry other than
``always`` (a live run keeps the customer from entering: the entry's events are the run's).
"""
from __future__ import annotations

import numpy as np

from . import steps
from .lanes import EXEC, REST, TIME, WAKE
from .loop import _earliest
from .plan import _history_in, _paths, _tags

INLINE = ("set", "branch", "wait_until")   # the step kinds a day cycle goes through


def waits(block) -> np.ndarray | None:
    """Per step of the simulation's one journey, whether it is a ``wait until`` of a day
    cycle (the module's docstring); None: none here."""
    plan = block.plan
    if len(plan.journeys) != 1 or block.keys is not None:
        return None
    journey = plan.journeys[0]
    if journey.schedule is not None or journey.program.reentry == "always":
        return None
    executed = inline(journey)
    found = np.zeros(len(journey.steps), dtype=bool)
    for s, kind in enumerate(journey.kind_of):
        if kind == "wait_until" and executed[s] and _reaches_wait(journey, executed, s):
            found[s] = True
    return found if found.any() else None


def inline(journey) -> np.ndarray:
    """Per step, whether a round executes it."""
    found = np.zeros(len(journey.steps), dtype=bool)
    for s, step in enumerate(journey.steps):
        if step.kind not in INLINE or journey.kpis_at.get(s):
            continue
        if step.kind == "set":
            found[s] = step.params["attribute"] in journey.variables and \
                _reads_variables(journey, step.params.get("value"))
        elif step.kind == "branch":
            found[s] = all(_reads_variables(journey, tree) for tree, _, _ in journey.branches[s])
        else:
            found[s] = True
    return found


def _reads_variables(journey, tree) -> bool:
    """Whether a condition or value reads only the run's own variables (and constants)."""
    return not _history_in(tree) and not _tags(tree) and \
        all(len(path) == 1 and path[0] in journey.variables for path in _paths(tree))


def _reaches_wait(journey, executed, wait: int) -> bool:
    """Whether some way from ``wait`` through the steps a round executes comes to a ``wait
    until`` again (a cycle of days, not a single wait)."""
    seen, todo = set(), [int(journey.next[wait])]
    while todo:
        s = todo.pop()
        if s < 0 or s in seen or not executed[s]:
            continue
        if journey.kind_of[s] == "wait_until":
            return True
        seen.add(s)
        todo.append(int(journey.next[s]))
        if journey.kind_of[s] == "branch":
            todo.extend(target for _, target, _ in journey.branches[s])
    return False


def waking(block, lanes_: np.ndarray) -> np.ndarray:
    """Which of the runs ``lanes_``, whose timers are their customers' next items, rest at
    a wait of a day cycle, as their customers' only runs."""
    lanes = block.lanes
    return block.wakes[lanes.pos[lanes_]] & (lanes.counts[lanes.c[lanes_]] == 1) & \
        (lanes.phase[lanes_] == REST) & (lanes.rest[lanes_] == TIME) & \
        (lanes.timer_kind[lanes_] == WAKE)


def take(block, lanes_: np.ndarray) -> None:
    """The runs ``lanes_`` (``waking``) take their timers, go round their day cycles and take
    the timers of its waits after them while those come first (the module's docstring)."""
    lanes, book = block.lanes, block.book
    journey = block.plan.journeys[0]
    rows = lanes.c[lanes_]
    limit_t = _limit(block, journey, rows)
    folded = sorted(k for k in block.folds.get(0, ()) if book.holds(k))
    horizon = block.spec.horizon
    block._fire(lanes_)
    while True:
        going = lanes_   # every run goes on from its wait
        while True:   # the steps of the cycle at the runs' instants (the others rest or left)
            to = lanes.nxt[going]
            going = going[(lanes.phase[going] == EXEC) & (to >= 0) &
                          block.wake_steps[np.maximum(to, 0)]]
            if not len(going):
                break
            steps.execute(block, going)
        due = lanes.timer_t[lanes_]
        # (events at the timer's time come before it)
        on = block.wakes[lanes.pos[lanes_]] & (lanes.phase[lanes_] == REST) & \
            (lanes.rest[lanes_] == TIME) & (due <= horizon) & (due < limit_t)
        kept = np.flatnonzero(on)
        if not len(kept):
            return
        lanes_, rows, due = lanes_[kept], rows[kept], due[kept]
        limit_t = limit_t[kept]
        block.unscheduled[rows] = False   # not idle: their timers are taken now
        for k in folded:   # ``_handle_folded`` reads the last answers after each instant
            book.first_after(k, rows, block.cur_t[rows], block.cur_s[rows])
        if folded:
            block._handle_folded(rows, due, np.full(len(rows), np.inf))
        block.instant_t[rows], block.instant_n[rows] = due, 1
        block._fire(lanes_)


def _limit(block, journey, rows: np.ndarray) -> np.ndarray:
    """Each customer's first event after their instant that would be an item of theirs while
    their only run rests for time: of a type the run takes and does not handle without an
    item, an opt-out or a profile update. (The steps of a round add no event.)"""
    plan, book = block.plan, block.book
    kinds = (set(journey.interest.tolist()) | set(plan.opt_out_kinds) | set(plan.update_kinds)) \
        - set(block.folds.get(0, ()))
    now, split = block.cur_t[rows], block.cur_s[rows]
    limit_t, limit_q = np.full(len(rows), np.inf), np.full(len(rows), np.inf)
    for k in sorted(kinds):
        if book.holds(k):
            _earliest(limit_t, limit_q, *book.first_after(k, rows, now, split)[:3])
    return limit_t


__all__ = ["inline", "take", "waits", "waking"]
