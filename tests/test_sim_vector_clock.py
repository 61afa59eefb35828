"""The vectorised local clock where every zone keeps one offset, and its schedules' next
occurrences: the runtime's instants."""
from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

from journeylang.runtime.policies import Zones, next_local_time, next_occurrence
from journeylang.runtime.program import Schedule
from journeylang.sim.vector.clock import DAY, ZoneClock, _mod_day


@pytest.mark.parametrize("minutes", [0, 1, 570, 630, 1439])
def test_the_next_local_time_at_fixed_offsets_is_the_runtimes(minutes):
    """Zones at whole hours, half hours and quarter hours from UTC (none changes its offset
    over the span): moments anywhere, on whole minutes and exactly at the time of day; each
    answer the runtime's ``next_local_time`` to the bit."""
    names = ["Asia/Shanghai", "Asia/Singapore", "Asia/Kolkata", "Asia/Kathmandu", None]
    start = dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc).timestamp()
    clock = ZoneClock(names, start, start + 120 * 86400, "UTC")
    assert clock._fixed is not None   # the path under test
    rng = random.Random(minutes)
    moments = np.array([start + rng.random() * 120 * 86400 for _ in range(4000)])
    moments[:1000] = np.round(moments[:1000] / 60) * 60
    codes = np.array([rng.randrange(len(names)) for _ in moments])
    zones = Zones("UTC")
    offsets = [zones.get(name).utcoffset(dt.datetime(2026, 4, 1)).total_seconds() for name in names]
    # exactly at the time of day in the customer's zone: that very instant
    moments[1000:1500] = [(np.floor((m + offsets[c]) / 86400) * 86400 + minutes * 60 - offsets[c])
                          for m, c in zip(moments[1000:1500], codes[1000:1500])]
    found = clock.next_local_time(moments, minutes, codes)
    for i, moment in enumerate(moments.tolist()):
        assert found[i] == next_local_time(moment, minutes, zones.get(names[codes[i]])), i
    assert (found[1000:1500] == moments[1000:1500]).all()


def test_the_next_occurrence_past_the_span_is_inf_and_within_it_the_runtimes():
    """Moments from before the span's first occurrence to after its last, in zones searched
    apart and as one: past the last occurrence, inf; else the runtime's occurrence."""
    names = ["Asia/Shanghai", "Asia/Singapore", "Europe/Berlin"]
    start = dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc).timestamp()
    clock = ZoneClock(names, start, start + 30 * 86400, "UTC")
    schedule = Schedule("week", 20 * 60, (2,))
    moments = np.linspace(clock.start - 86400, clock.end + 20 * 86400, 400)
    codes = np.arange(len(moments)) % len(names)
    found = clock.next_occurrence(moments, schedule, codes)
    zones = Zones("UTC")
    last = {code: clock.occurrences(schedule)[code][-1] for code in range(len(names))}
    beyond = np.array([m >= last[c] for m, c in zip(moments.tolist(), codes.tolist())])
    assert beyond.any() and (~beyond).any()
    assert np.isinf(found[beyond]).all()
    for i in np.flatnonzero(~beyond).tolist():
        assert found[i] == next_occurrence(float(moments[i]), schedule, zones.get(names[codes[i]]))
    one = codes == 0   # one zone: the table searched without picking its customers
    assert np.array_equal(clock.next_occurrence(moments[one], schedule, codes[one]), found[one])


def test_seconds_after_midnight_are_np_mod_to_the_bit():
    """``_mod_day`` against ``np.mod`` by a day: moments of the span and far from it, either
    side of zero, at whole days and one or two doubles either side of them (where the rounded
    quotient is a whole number above the true one), and zeros of both signs: the same bits."""
    rng = np.random.default_rng(3)
    days = rng.integers(-30000, 30000, 20000).astype(float) * DAY
    moments = np.concatenate([
        rng.uniform(-3e9, 3e9, 50000), 1.77e9 + rng.uniform(0, 1e7, 50000), days,
        np.nextafter(days, np.inf), np.nextafter(days, -np.inf),
        np.nextafter(np.nextafter(days, -np.inf), -np.inf), [0.0, -0.0, 5e-324, -5e-324, -DAY]])
    expected = np.mod(moments, DAY)
    assert np.array_equal(_mod_day(moments).view(np.int64), expected.view(np.int64))
