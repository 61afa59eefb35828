"""``ingest`` commits its last batch in pieces (an eighth of its work each), so that what it
waits for at its end is a small transaction: the state is the same as with the batch in one."""
from __future__ import annotations

import importlib.util

import pytest

from journeylang.runtime import Runtime, open_store, read_events
from journeylang.runtime import runtime as runtime_module

from conftest import EXAMPLES, ROOT
from runtime_kit import compile_text, dump

TABLES = ("meta", "versions", "customers", "runs", "timers", "history", "outbox", "events",
          "event_ids")


def _stream(tmp_path, customers: int):
    """The benchmark's mixed stream: time-ordered, its last events sparse, timers due among
    them."""
    spec = importlib.util.spec_from_file_location("runtime_bench",
                                                  ROOT / "benchmarks" / "runtime_bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    path = tmp_path / "events.jsonl"
    bench.write(bench.generate(customers, seed=3, behaviour=2.0), path)
    return list(read_events(path))


def _ingest(path, events, batch: int) -> list[tuple[int, int]]:
    """Ingest into a fresh state: per commit, the events and the timers fired in it."""
    tables = compile_text((EXAMPLES / "cart_recovery.journey").read_text(encoding="utf-8"),
                          "cart_recovery.journey")
    commits = []
    with Runtime(open_store(path), seed=5) as runtime:
        runtime.load(tables)
        store, commit = runtime.store, runtime.store.commit
        fired = [runtime.executor.fired]

        def counted(*args, **kwargs):
            commits.append((len(store._events), runtime.executor.fired - fired[0]))
            fired[0] = runtime.executor.fired
            return commit(*args, **kwargs)

        store.commit = counted
        report = runtime.ingest(events, batch_size=batch)
    assert report.read == len(events) and report.batches == len(commits)
    return commits


@pytest.mark.parametrize("extra", [137, 0])  # a short last batch, and a full one
def test_the_last_batch_is_committed_in_pieces_and_the_state_is_the_same(tmp_path, monkeypatch,
                                                                         extra):
    events = _stream(tmp_path, 120)
    batch = 200
    events = events[:len(events) // batch * batch - batch + extra] if extra else \
        events[:len(events) // batch * batch]
    last = extra or batch
    monkeypatch.setattr(runtime_module, "LAST_PIECE", 10 ** 9)  # the batch in one piece
    whole = _ingest(tmp_path / "whole.sqlite", events, batch)
    monkeypatch.setattr(runtime_module, "LAST_PIECE", 8)
    pieces = _ingest(tmp_path / "pieces.sqlite", events, batch)
    assert whole[-1][0] == last and whole[:-1] == pieces[:len(whole) - 1]
    tail = pieces[len(whole) - 1:]
    assert len(tail) >= 3 and sum(events for events, _ in tail) == last
    # the last piece a small part of the batch's work (events and timers)
    work = [events + timers for events, timers in tail]
    assert work[-1] < sum(work) / 4
    assert dump(tmp_path / "pieces.sqlite", TABLES) == dump(tmp_path / "whole.sqlite", TABLES)


def test_a_batch_that_raises_applies_nothing_after_it(tmp_path):
    """The event read ahead of a batch (to tell whether it is the last) is not applied when
    that batch's callback raises."""
    events = _stream(tmp_path, 30)[:90]
    assert len(events) == 90
    tables = compile_text((EXAMPLES / "cart_recovery.journey").read_text(encoding="utf-8"),
                          "cart_recovery.journey")

    def stop(report):
        raise KeyboardInterrupt

    with Runtime(open_store(tmp_path / "s.sqlite"), seed=5) as runtime:
        runtime.load(tables)
        first = runtime.ordinal
        with pytest.raises(KeyboardInterrupt):
            runtime.ingest(events, batch_size=30, on_batch=stop)
        assert runtime.ordinal == first + 30
        again = runtime.ingest(events, batch_size=30)
    assert (again.skipped, again.applied) == (30, 60)
