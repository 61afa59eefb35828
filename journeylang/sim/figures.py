"""Simulation stage: the small statistics reports share (nearest-rank quantiles, hours)."""
from __future__ import annotations


def quantile(values, q: float) -> float | None:
    """The nearest-rank ``q`` quantile of ``values`` (None when there are none)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def hours(seconds: float | None) -> float | None:
    """Seconds as hours, rounded to the thousandth (None stays None)."""
    return None if seconds is None else round(seconds / 3600.0, 3)
