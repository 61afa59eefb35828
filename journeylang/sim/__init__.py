"""Simulation stage: synthetic cohorts run through compiled journeys on the runtime's semantics."""
from __future__ import annotations

from .cohort import Cohort, CohortError, Segment, load_cohort, parse_cohort
from .engine import Simulation, simulate
from .instant import SimulationError
from .report import Results, wilson

__all__ = ["Cohort", "CohortError", "Results", "Segment", "Simulation", "SimulationError",
           "load_cohort", "parse_cohort", "simulate", "wilson"]
