"""Experiments: a journey's entry holdout and each of its splits, their arms, and each arm's goal
conversion, milestones and KPIs compared with the control arm.

Both the simulator and `journey status` count, per (experiment, arm), the same figures
(``runs``, ``outcome:<outcome>``, ``milestone:<name>``, ``kpi:<name>:hit`` / ``missed``); this
module turns them into the report, reading the experiments from the compiled tables' rows.
"""
from __future__ import annotations

from dataclasses import dataclass

from .semantics import CONVERTED, ENTRY_EXPERIMENT, HELD_OUT, TREATED
from .stats import compare, rate

CONTROL = "control"  # the arm a split's others are compared with, when it holds out no group


@dataclass(frozen=True)
class Experiment:
    """An experiment: its name (a split's step id, or ENTRY_EXPERIMENT), its stage, its arms
    in order as (name, held out), and the arm the others are compared with."""

    name: str
    stage: str | None
    arms: tuple[tuple[str, bool], ...]
    control: str


def experiments_of(rows: dict) -> list[Experiment]:
    """The experiments of compiled tables (``Tables.rows``): the entry holdout, then every
    split in source order. A split's control is its first holdout arm, else an arm named
    ``control``, else its first arm."""
    found = []
    if any(p["kind"] == "holdout" for p in rows.get("policies", ())):
        found.append(Experiment(ENTRY_EXPERIMENT, None, ((TREATED, False), (HELD_OUT, True)),
                                HELD_OUT))
    stage_of = {s["step_id"]: s["stage"] for s in rows["steps"]}
    arms: dict[str, list] = {}
    for row in rows["transitions"]:
        if row["kind"] in ("split", "holdout"):
            arms.setdefault(row["from_step"], []).append((row["arm"], row["kind"] == "holdout"))
    for step in (s["step_id"] for s in rows["steps"] if s["step_id"] in arms):
        names = arms[step]
        held = [name for name, holdout in names if holdout]
        plain = [name for name, _ in names]
        control = held[0] if held else CONTROL if CONTROL in plain else plain[0]
        found.append(Experiment(step, stage_of[step], tuple(names), control))
    return found


def metrics_of(rows: dict) -> list[tuple[str, str]]:
    """What each arm is measured by, as (label, figure key prefix): the goals (when the
    journey has any), every milestone, every KPI."""
    triggers = rows.get("triggers", ())
    found = [("goal", f"outcome:{CONVERTED}")] if any(t["kind"] == "goal" for t in triggers) else []
    found += [(f"milestone {t['name']}", f"milestone:{t['name']}") for t in triggers
              if t["kind"] == "milestone"]
    found += [(f"kpi {k['name']}", f"kpi:{k['name']}") for k in rows.get("kpis", ())]
    return found


def report(rows: dict, figures: dict) -> list[dict]:
    """Per experiment: each arm's runs and rates, and each other arm against the control on
    every metric (difference, 95% interval, two-proportion z-test). ``figures`` maps
    (experiment, arm) to its counters."""
    metrics = metrics_of(rows)
    found = []
    for experiment in experiments_of(rows):
        arms = []
        for name, held in experiment.arms:
            counted = figures.get((experiment.name, name), {})
            arms.append({"arm": name, "holdout": held, "runs": counted.get("runs", 0),
                         "metrics": {label: _measure(counted, key) for label, key in metrics}})
        control = next(a for a in arms if a["arm"] == experiment.control)
        comparisons = [{"arm": arm["arm"], "metric": label,
                        **compare(arm["metrics"][label], control["metrics"][label])}
                       for arm in arms if arm is not control for label, _ in metrics]
        found.append({"experiment": experiment.name, "stage": experiment.stage,
                      "control": experiment.control, "arms": arms, "comparisons": comparisons})
    return found


def _measure(counted, key: str) -> dict:
    """A goal or milestone: the share of the arm's runs; a KPI: the hits among its closed
    observations."""
    if key.startswith("kpi:"):
        hits, missed = counted.get(f"{key}:hit", 0), counted.get(f"{key}:missed", 0)
        return rate(hits, hits + missed)
    return rate(counted.get(key, 0), counted.get("runs", 0))


__all__ = ["CONTROL", "Experiment", "experiments_of", "metrics_of", "report"]
