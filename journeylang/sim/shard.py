"""Simulation at scale: a cohort split by customer into shards, run apart, merged exactly.

Shards are ranges of whole blocks of the vectorised engine. A block's draws come from its
own generator (seeded by the run's seed and the block's index), so which process or machine
runs a block does not change its customers' fate, and adding up the shards' counts gives the
result of a single run, exactly. Local shards run in processes (``ProcessPoolExecutor``);
with the ``dask`` extra they can run on a Dask cluster.
"""
from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from functools import reduce
from operator import add

from ..compile import Tables
from .cohort import Cohort, check_cohort
from .vector import BLOCK, Counts, VectorSimulation

EXECUTORS = ("processes", "dask")


class ShardError(RuntimeError):
    """Sharding cannot run as asked (e.g. Dask is not installed)."""


def shard_ranges(blocks: int, shards: int) -> list[range]:
    """``blocks`` block indexes split into at most ``shards`` consecutive, nearly equal ranges."""
    shards = max(1, min(shards, blocks))
    edges = [blocks * i // shards for i in range(shards + 1)]
    return [range(a, b) for a, b in zip(edges, edges[1:]) if b > a]


def count_shard(tables: Tables, cohort: Cohort, seed: int, days: float, timezone: str,
                blocks: range, block: int = BLOCK) -> Counts:
    """The counts of one shard (a picklable top-level function for worker processes)."""
    return VectorSimulation(tables, cohort, seed, days, timezone, block=block).count(blocks)


def simulate_sharded(tables: Tables, cohort: Cohort, seed: int = 0, days: float = 90.0, *,
                     shards: int = 2, timezone: str = "UTC", executor: str = "processes",
                     block: int = BLOCK):
    """Run ``cohort`` in ``shards`` shards and merge them; the same ``Results`` as one run."""
    check_cohort(cohort, tables)
    sim = VectorSimulation(tables, cohort, seed, days, timezone, block=block)  # Unsupported early
    ranges = shard_ranges(sim.blocks(), shards)
    jobs = [(tables, cohort, seed, days, timezone, r, block) for r in ranges]
    if executor == "dask":
        parts = _on_dask(jobs)
    elif executor != "processes":
        raise ShardError(f"unknown executor {executor!r}: use one of {', '.join(EXECUTORS)}")
    elif len(jobs) == 1:
        parts = [count_shard(*jobs[0])]
    else:
        with ProcessPoolExecutor(max_workers=len(jobs)) as pool:
            parts = list(pool.map(count_shard, *zip(*jobs)))
    return sim.results(reduce(add, parts))


def _on_dask(jobs: list[tuple]) -> list[Counts]:
    """Each shard as a Dask task: on the current ``dask.distributed`` client if there is one,
    else on Dask's local process scheduler."""
    try:
        import dask
    except ImportError:
        raise ShardError("sharding on Dask needs the dask extra: pip install 'journeylang[dask]'") from None
    tasks = [dask.delayed(count_shard)(*job) for job in jobs]
    try:
        from dask.distributed import default_client
        default_client()
        scheduler = None          # a client is running: compute on its cluster
    except (ImportError, ValueError):
        scheduler = "processes"
    return list(dask.compute(*tasks, scheduler=scheduler))


__all__ = ["ShardError", "count_shard", "shard_ranges", "simulate_sharded"]
