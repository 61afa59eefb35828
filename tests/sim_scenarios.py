"""Shared by the simulators' property tests: random journeys and cohorts, and the send checks."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from runtime_kit import journey


@st.composite
def scenarios(draw, reentries=("never", "always", "after 2d"), baseline="joined", max_size=40):
    """(journey text, cohort text, seed, days, (cap messages, cap seconds), quiet hours)."""
    cap_messages, cap_days = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    quiet_start, quiet_end = draw(st.integers(0, 23)), draw(st.integers(0, 23))
    quiet = f"    quiet {quiet_start:02d}:00-{quiet_end:02d}:00\n" if quiet_start != quiet_end else ""
    hours = draw(st.lists(st.integers(0, 30), min_size=2, max_size=5))
    steps = "\n".join(f"    send via {'wecom' if i % 2 else 'sms'} template a\n    wait {h}h"
                      for i, h in enumerate(hours))
    text = journey(f"""  stage s "S" {{
{steps}
    wait for replied within 2d -> again timeout -> done
    again: send via wecom template b
    goto s
    done: exit completed
  }}""", header=f"""  entry on joined
  reentry {draw(st.sampled_from(reentries))}
  goal won on bought within 20d
  exit on unsubscribed as opted_out
  policy {{
    cap {cap_messages} messages per {cap_days}d
{quiet}    holdout {draw(st.integers(0, 30))}%
  }}""")
    p = draw(st.floats(0, 1))
    cohort = f"""
size: {draw(st.integers(1, max_size))}
arrival: {draw(st.integers(0, 5))}d
segments:
  - name: a
    timezone: {{Asia/Shanghai: 1, America/New_York: 1, UTC: 1}}
    behaviour:
      responses:
        - {{event: replied, p: {p}, delay: {{exponential: {{mean: 20h}}}}}}
        - {{event: bought, p: {p / 3}, delay: {{lognormal: {{median: 1d, sigma: 1}}}}}}
      baseline:
        - {{event: {baseline}, per_day: {draw(st.sampled_from([0, 0.1, 0.5]))}}}
      opt_out: {draw(st.sampled_from([0, 0.05, 0.3]))}
      fatigue: {draw(st.floats(0.5, 1))}
"""
    return (text, cohort, draw(st.integers(0, 3)), draw(st.integers(3, 30)),
            (cap_messages, cap_days * 86400), (quiet_start, quiet_end) if quiet else None)


def assert_sends_respect_policies(sends, cap, quiet, zone_of) -> None:
    """No customer gets more than ``cap`` (messages, seconds) in any rolling window, and no send
    lands in ``quiet`` (start hour, end hour) in the customer's zone (``zone_of(send)``)."""
    by_customer = defaultdict(list)
    for send in sends:
        by_customer[send.customer].append(send)
    cap_messages, cap_per = cap
    for own in by_customer.values():
        times = sorted(s.at for s in own)
        for i, moment in enumerate(times):  # the cap's rolling window ending at each send
            assert sum(1 for t in times[: i + 1] if t > moment - cap_per) <= cap_messages
        if quiet:
            zone = ZoneInfo(zone_of(own[0]) or "UTC")
            start, end = quiet
            for moment in times:
                hour = dt.datetime.fromtimestamp(moment, zone).hour
                inside = start <= hour < end if start < end else (hour >= start or hour < end)
                assert not inside, (own[0].customer, hour, quiet)
