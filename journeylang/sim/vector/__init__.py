"""Vectorised simulation: the cohort moved through a journey in lockstep with numpy.

The same step semantics as the reference engine (``sim.engine``, which drives the runtime's
executor customer by customer), for the subset ``vector_support`` accepts, at a few hundred
thousand customers a second. Results have the same form; see docs/simulation.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ...compile import Tables
from ..cohort import Cohort
from ..engine import SendRecord
from .block import Block
from .clock import ZoneClock
from .plan import Plan, Unsupported, vector_support
from .tally import Counts, results_of

DAY = 86400.0
BLOCK = 1 << 16   # customers per block: each block has its own generator (see shard.py)


@dataclass
class Spec:
    """What every block of one run shares."""

    seed: int
    days: float
    horizon: float
    clock: ZoneClock
    trace: bool = False


class VectorSimulation:
    """One run of ``cohort`` through ``tables`` on the vectorised engine (``Unsupported`` when
    the journey or cohort needs the reference engine)."""

    def __init__(self, tables: Tables, cohort: Cohort, seed: int = 0, days: float = 90.0,
                 timezone: str = "UTC", trace: bool = False, block: int = BLOCK):
        self.tables, self.cohort, self.seed, self.days = tables, cohort, seed, days
        self.plan = Plan(tables, cohort)
        self.program = self.plan.program
        self.block = block
        horizon = cohort.start + days * DAY
        clock = ZoneClock(self.plan.zone_names, cohort.start, horizon, timezone)
        self.spec = Spec(seed, days, horizon, clock, trace)
        self.sends: list[SendRecord] = []   # trace mode: every message
        self.inside = 0                      # trace mode: runs not ended, from the final states

    def blocks(self) -> int:
        return -(-self.cohort.size // self.block)

    def count(self, blocks: range | None = None, progress: Callable[[int], None] | None = None) -> Counts:
        """Run the given blocks (default: all) and add up their counts."""
        total = Counts()
        for done, index in enumerate(blocks if blocks is not None else range(self.blocks())):
            first = index * self.block
            size = min(self.block, self.cohort.size - first)
            block = Block(self.plan, self.spec, first, size, seed_for(self.seed, index))
            total = total + block.run().counts()
            self._keep_sends(block)
            if progress is not None:
                progress(done + 1)
        return total

    def _keep_sends(self, block: Block) -> None:
        if not self.spec.trace:
            return
        self.inside += block.inside()
        zones = self.plan.zone_names
        for rows, times, channel, codes in block.trace:
            self.sends += [SendRecord(f"c{r + 1}", t, channel, self.program.journey_id,
                                      timezone=zones[z])
                           for r, t, z in zip(rows.tolist(), times.tolist(), codes.tolist())]

    def run(self, progress: Callable[[int], None] | None = None):
        """All blocks; ``Results`` as the reference engine gives them."""
        return self.results(self.count(progress=progress))

    def results(self, counts: Counts):
        return results_of(counts, self.program, self.cohort, self.seed, self.days)


def seed_for(seed: int, block: int) -> np.random.SeedSequence:
    """The generator seed of one block: a customer's draws depend on the seed and their block."""
    return np.random.SeedSequence([seed % (1 << 63), block])


__all__ = ["BLOCK", "Counts", "Unsupported", "VectorSimulation", "seed_for", "vector_support"]
