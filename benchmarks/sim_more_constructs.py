"""Customers/s of bundled examples rewritten with constructs that once sent every customer to
the reference path, on both engines in one run.

- ``keys``: complaint_escalation (``correlate by ticket``) beside a copy of it correlating by
  order, with its cohort, each complaint carrying a ticket and an order: journeys correlating
  by different keys.
- ``zone``: cart_recovery with its cohort (a tenth of it in Singapore), where the journey puts
  every customer on the store's clock (``set customer.timezone = "Asia/Shanghai"``, before its
  quiet hours and ``wait until 19:00``) and keeps the id of each delivered message in the
  profile, where nothing reads it (``on message_delivered { set customer.last_message =
  event.action }``).

Each engine runs in this process (no shards), alternating; each figure is the median of
``--repeats`` runs, by CPU time.

    PYTHONPATH=$PWD python3 benchmarks/sim_more_constructs.py --customers 20000
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from journeylang import api  # noqa: E402
from journeylang.frontend import parse_source  # noqa: E402
from journeylang.sim import parse_cohort  # noqa: E402
from journeylang.source import Source  # noqa: E402
from sim_constructs import race  # noqa: E402  (benchmarks/)

TICKET = "entry_data: {ticket: {uniform: {min: 1, max: 1000000000, round: 0}},"
# (example, what it says, what the rewritten journey says instead)
REWRITES = {
    "keys": ("complaint_escalation", (
        ('journey complaint_escalation "', 'journey complaint_orders "'),
        ("  correlate by ticket ", "  correlate by order "))),
    "zone": ("cart_recovery", (
        ("  exit on unsubscribed as opted_out\n",
         "  exit on unsubscribed as opted_out\n"
         "  on message_delivered { set customer.last_message = event.action }\n"),
        ("    wait 1h  # many", '    set customer.timezone = "Asia/Shanghai"\n    wait 1h  # many'))),
}


def compiled(name: str, text: str):
    result = api.compile_document(parse_source(Source(f"{name}.journey", text)),
                                  compiled_at="2026-01-01T00:00:00Z")
    assert result.ok, [f"{d.span}: {d.message}" for d in result.check.diagnostics]
    return result.tables


def case(variant: str):
    """(tables, cohort) of one rewritten example."""
    name, rewrites = REWRITES[variant]
    original = (ROOT / "examples" / f"{name}.journey").read_text(encoding="utf-8")
    text = original
    for old, new in rewrites:
        assert old in text, old
        text = text.replace(old, new)
    cohort_text = (ROOT / "examples" / "cohorts" / f"{name}.cohort.yaml").read_text(encoding="utf-8")
    if variant == "keys":   # the example beside its copy by order; each complaint has both keys
        assert TICKET in cohort_text
        cohort_text = cohort_text.replace(
            TICKET, TICKET + " order: {uniform: {min: 1, max: 1000000, round: 0}},")
        return [compiled(name, original), compiled("complaint_orders", text)], \
            parse_cohort(cohort_text)
    return compiled(name, text), parse_cohort(cohort_text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--variant", choices=sorted(REWRITES), action="append")
    args = parser.parse_args()
    for variant in args.variant or sorted(REWRITES):
        tables, cohort = case(variant)
        cohort.size = args.customers
        race(tables, cohort, args, label=f"{variant:<5}")


if __name__ == "__main__":
    main()
