"""The vectorised local clock where every zone keeps one offset: the runtime's instants."""
from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

from journeylang.runtime.policies import Zones, next_local_time
from journeylang.sim.vector.clock import ZoneClock


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
