"""Simulation stage: the small statistics reports share (nearest-rank quantiles, hours)."""
from __future__ import annotations

import numpy as np


def quantile(values, q: float) -> float | None:
    """The nearest-rank ``q`` quantile of ``values``, a list or an array (numpy's, or doubles'
    from ``array``) (None when there are none)."""
    if not len(values):
        return None
    rank = min(len(values) - 1, int(q * len(values)))
    if isinstance(values, list):
        return sorted(values)[rank]
    return float(np.partition(np.asarray(values, dtype=float), rank)[rank])


def hours(seconds: float | None) -> float | None:
    """Seconds as hours, rounded to the thousandth (None stays None)."""
    return None if seconds is None else round(seconds / 3600.0, 3)
