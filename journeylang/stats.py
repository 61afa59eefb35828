"""Statistics of proportions shared by the simulator's reports and `journey status`: Wilson score
intervals, Newcombe's interval of a difference, the two-proportion z-test, and the comparison of
an experiment's arms with its control.

Hand-written on the standard library: these closed forms are a few lines each, and a test checks
them against published values (Newcombe 1998, and the z-test's textbook example).
"""
from __future__ import annotations

import math

Z95 = 1.959963984540054
ALPHA = 0.05


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default); (0, 1) without trials."""
    if trials <= 0:
        return (0.0, 1.0)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def difference_ci(a: int, n: int, b: int, m: int) -> list[float]:
    """Newcombe's 95% interval (method 10, from Wilson intervals) for ``a/n - b/m``."""
    if not n or not m:
        return [-1.0, 1.0]
    p, q = a / n, b / m
    (l1, u1), (l2, u2) = wilson(a, n), wilson(b, m)
    low = p - q - math.sqrt((p - l1) ** 2 + (u2 - q) ** 2)
    high = p - q + math.sqrt((u1 - p) ** 2 + (q - l2) ** 2)
    return [low, high]


def two_proportion_test(a: int, n: int, b: int, m: int) -> tuple[float | None, float | None]:
    """The pooled two-proportion z-test of ``a/n`` against ``b/m``: (z, two-sided p-value);
    (None, None) when an arm has no trials; z 0 and p 1 when both proportions are 0 or 1."""
    if not n or not m:
        return None, None
    pooled = (a + b) / (n + m)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n + 1 / m))
    if spread == 0:
        return 0.0, 1.0
    z = (a / n - b / m) / spread
    return z, math.erfc(abs(z) / math.sqrt(2))


def rate(successes: int, trials: int) -> dict:
    """A proportion with its 95% Wilson interval."""
    low, high = wilson(successes, trials)
    return {"count": successes, "runs": trials,
            "rate": successes / trials if trials else None, "ci95": [low, high]}


def compare(arm: dict, control: dict) -> dict:
    """``arm`` against ``control`` (both ``rate`` dicts): the difference of the rates, its 95%
    interval, the z-test's p-value, and whether it is significant at 5%."""
    a, n, b, m = arm["count"], arm["runs"], control["count"], control["runs"]
    z, p_value = two_proportion_test(a, n, b, m)
    difference = (a / n - b / m) if n and m else None
    return {"difference": difference, "ci95": difference_ci(a, n, b, m), "z": z,
            "p_value": p_value, "significant": None if p_value is None else p_value < ALPHA,
            "small_sample": _small(a, n, b, m)}


def _small(a: int, n: int, b: int, m: int) -> bool:
    """Whether the normal approximation is doubtful: fewer than 5 expected successes or
    failures in an arm (the usual rule for the z-test)."""
    if not n or not m:
        return True
    pooled = (a + b) / (n + m)
    return min(n * pooled, n * (1 - pooled), m * pooled, m * (1 - pooled)) < 5


__all__ = ["ALPHA", "Z95", "compare", "difference_ci", "rate", "two_proportion_test", "wilson"]
