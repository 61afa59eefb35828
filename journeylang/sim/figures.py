"""Simulation stage: the small statistics reports share (nearest-rank quantiles, hours)."""
from __future__ import annotations

import numpy as np


def quantile(values, q: float) -> float | None:
    """The nearest-rank ``q`` quantile of ``values``, a list or a numpy array (None when there
    are none)."""
    if not len(values):
        return None
    rank = min(len(values) - 1, int(q * len(values)))
    if isinstance(values, np.ndarray):
        return float(np.partition(values, rank)[rank])
    return sorted(values)[rank]


def hours(seconds: float | None) -> float | None:
    """Seconds as hours, rounded to the thousandth (None stays None)."""
    return None if seconds is None else round(seconds / 3600.0, 3)
