"""Simulation at scale: a cohort split by customer into shards, run apart, merged exactly.

On the vectorised engine, shards are ranges of whole blocks: a block's draws come from its own
generator (seeded by the run's seed and the block's index), so which process or machine runs a
block does not change its customers' fate. On the reference engine (any journey, several
journeys together), shards are ranges of customers: each customer draws from their own generator
(seeded by the run's seed and their id) and nothing a customer does reaches another, so a shard
simulates its customers exactly as the whole run would. Either way adding up the shards' counts
gives the result of a single run, exactly. Local shards run in processes
(``ProcessPoolExecutor``); with the ``dask`` extra they can run on a Dask cluster.

The one thing that couples customers is a staff queue with a capacity (a role serves one
handoff after another). The vectorised engine collects every shard's handoffs and serves them
in one FIFO queue per role after the shards are in, so such a journey still shards; when
something reacts to the staff's resolutions or SLA breaches (a customer's fate then depends on
the others' handoffs), and on the reference engine, it runs in one process instead (never a
refusal).

A block makes and frees arrays of a few hundred megabytes (its customers' items); glibc's
allocator gives the larger ones back to the system when freed and takes fresh pages for the
next, zeroed by the kernel (a tenth of a shard's CPU time on a journey whose customers take
many items). The shards' worker processes keep freed memory for their next arrays instead
(``keep_freed_memory``); the process that calls is left as it is.
"""
from __future__ import annotations

import ctypes
import os
from concurrent.futures import ProcessPoolExecutor
from functools import reduce
from operator import add

from ..compile import Tables
from .cohort import Cohort
from .engine import Simulation, choose_engine, journeys_of
from .vector import BLOCK, Part, VectorSimulation

EXECUTORS = ("processes", "dask")
MMAP_THRESHOLD = 32 << 20   # bytes: glibc's largest; smaller allocations come from the heap
TRIM_THRESHOLD = 1 << 30    # bytes of free heap a worker keeps rather than gives back
TOP_PAD = 64 << 20          # bytes the heap grows by at a time
REFERENCE_SHARD = 20_000  # customers: a smaller shard of the reference engine pays more to start
                          # a process than it saves


def machine_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:   # not on Linux
        return os.cpu_count() or 1


def default_shards(sim) -> int:
    """The shards a run of ``sim`` uses by default: the machine's cores, as many as the run can
    use (whole blocks on the vectorised engine; on the reference engine, shards of at least
    ``REFERENCE_SHARD`` customers; one when its customers are coupled); 1 runs in this
    process."""
    if coupled_reason(sim) is not None:
        return 1
    cores = machine_cores()
    if getattr(sim, "engine", None) == "vector":
        return max(1, min(cores, sim.blocks()))
    return max(1, min(cores, sim.cohort.size // REFERENCE_SHARD))


def coupled_reason(sim) -> str | None:
    """Why a run of ``sim`` (a ``VectorSimulation`` or a ``Simulation``) takes one process
    whatever the shards asked for, or None: its customers are coupled through a staff queue."""
    if isinstance(sim, VectorSimulation):
        return "something reacts to the staff's resolutions or SLA breaches, so each " \
               "customer's fate depends on the others' handoffs" if sim.plan.coupled else None
    handed = {s.params["role"] for program in sim.programs for s in program.steps.values()
              if s.kind == "handoff"}
    coupled = sorted({role for program in sim.programs
                      for role, (capacity, _) in program.roles.items()
                      if capacity > 0 and role in handed})
    if not coupled:
        return None
    return "on the reference engine, roles with a capacity serve every customer's handoffs " \
           f"in turn: {', '.join(coupled)}"


def keep_freed_memory() -> bool:
    """In a shard's worker process: memory freed by one block is kept for the next (glibc's
    ``mallopt``: allocations up to ``MMAP_THRESHOLD`` from the heap, the heap trimmed only
    beyond ``TRIM_THRESHOLD`` and grown ``TOP_PAD`` at a time) instead of being given back and
    taken again as fresh pages. Gives whether the allocator took the settings (not on a C
    library without ``mallopt``); it changes no result, only where arrays are allocated."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):   # not glibc, or no C library to load
        return False
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3   # glibc's <malloc.h>
    return all([mallopt(m_mmap_threshold, MMAP_THRESHOLD),
                mallopt(m_trim_threshold, TRIM_THRESHOLD), mallopt(m_top_pad, TOP_PAD)])


class ShardError(RuntimeError):
    """Sharding cannot run as asked (e.g. Dask is not installed)."""


def shard_ranges(blocks: int, shards: int) -> list[range]:
    """``blocks`` block indexes split into at most ``shards`` consecutive, nearly equal ranges."""
    shards = max(1, min(shards, blocks))
    edges = [blocks * i // shards for i in range(shards + 1)]
    return [range(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def count_shard(tables: Tables | list[Tables], cohort: Cohort, seed: int, days: float,
                timezone: str, blocks: range, block: int = BLOCK) -> Part:
    """The counts of one shard (a picklable top-level function for worker processes): its
    blocks, and the customers they hand over on the reference path."""
    return VectorSimulation(tables, cohort, seed, days, timezone, block=block).count(blocks)


def tally_shard(tables: list[Tables], cohort: Cohort, seed: int, days: float, timezone: str,
                customers: range):
    """The reference engine's tally of the customers ``customers`` (a picklable top-level
    function for worker processes)."""
    sim = Simulation(tables, cohort, seed, days, timezone, only=customers)
    sim.advance()
    return sim.tally()


def simulate_sharded(tables: Tables | list[Tables], cohort: Cohort, seed: int = 0,
                     days: float = 90.0, *, shards: int | None = None, timezone: str = "UTC",
                     executor: str = "processes", block: int = BLOCK, engine: str = "auto"):
    """Run ``cohort`` in ``shards`` shards (default: the machine's cores, as many as the run
    can use) and merge them; the same results as one run. ``engine``: ``auto`` (the
    vectorised engine unless every customer would take the reference path, then the
    reference engine), ``vector`` or ``reference``."""
    if executor not in EXECUTORS:
        raise ShardError(f"unknown executor {executor!r}: use one of {', '.join(EXECUTORS)}")
    if shards is None and executor == "processes":
        shards = machine_cores() if choose_engine(tables, cohort, engine) is None else \
            max(1, min(machine_cores(), cohort.size // REFERENCE_SHARD))
    shards = shards or machine_cores()
    if choose_engine(tables, cohort, engine) is None:
        journeys = journeys_of(tables)
        return _vector(journeys if len(journeys) > 1 else journeys[0], cohort, seed, days,
                       shards, timezone, executor, block)
    return _reference(journeys_of(tables), cohort, seed, days, shards, timezone, executor)


def _vector(tables, cohort, seed, days, shards, timezone, executor, block):
    sim = VectorSimulation(tables, cohort, seed, days, timezone, block=block)  # Unsupported early
    if coupled_reason(sim) is not None:
        shards = 1
    ranges = shard_ranges(sim.blocks(), shards)
    jobs = [(tables, cohort, seed, days, timezone, r, block) for r in ranges]
    return sim.results(reduce(add, _run(count_shard, jobs, executor)))


def _reference(tables, cohort, seed, days, shards, timezone, executor):
    sim = Simulation(tables, cohort, seed, days, timezone)
    if coupled_reason(sim) is not None:
        shards = 1
    ranges = shard_ranges(cohort.size, shards)
    jobs = [(tables, cohort, seed, days, timezone, r) for r in ranges]
    return sim.results(reduce(add, _run(tally_shard, jobs, executor)))


def _run(work, jobs: list[tuple], executor: str) -> list:
    if executor == "dask":
        return _on_dask(work, jobs)
    if len(jobs) == 1:
        return [work(*jobs[0])]
    with ProcessPoolExecutor(max_workers=len(jobs), initializer=keep_freed_memory) as pool:
        return list(pool.map(work, *zip(*jobs)))


def _on_dask(work, jobs: list[tuple]) -> list:
    """Each shard as a Dask task: on the current ``dask.distributed`` client if there is one,
    else on Dask's local process scheduler."""
    try:
        import dask
    except ImportError:
        raise ShardError("sharding on Dask needs the dask extra: pip install 'journeylang[dask]'") from None
    tasks = [dask.delayed(work)(*job) for job in jobs]
    try:
        from dask.distributed import default_client
        default_client()
        scheduler = None          # a client is running: compute on its cluster
    except (ImportError, ValueError):
        scheduler = "processes"
    return list(dask.compute(*tasks, scheduler=scheduler))


__all__ = ["ShardError", "count_shard", "coupled_reason", "default_shards", "keep_freed_memory",
           "machine_cores", "shard_ranges", "simulate_sharded", "tally_shard"]
