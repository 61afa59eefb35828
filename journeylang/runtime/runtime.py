"""Runtime orchestration: wires engine, executor, store and adapters; ingests events in batches.

The seams the simulator reuses: ``store`` (MemoryStore, SqliteStore or PostgresStore, or a
subclass that aggregates), ``adapters`` (where actions go; a simulator adapter schedules the customer's
reaction with ``schedule_event``), ``render`` (off for speed), and the engine's virtual time,
advanced by events (``ingest``), by a clock (``tick``) or to a horizon (``advance``).
"""
from __future__ import annotations

import gc
import time as _time
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from itertools import islice
from operator import attrgetter
from typing import Callable, Iterable

from ..compile import Tables
from .channels import Adapters, OutboxAdapter, TemplateRenderer
from .database import StoreError, database_errors, describe_error
from .engine import EVENT, Engine, VirtualClock
from .events import Event
from ..semantics import OPT_OUT_EVENTS
from .executor import Executor, timer_priority
from .migrate import apply_moves, plan_moves
from .policies import Zones, valid_zone
from .program import Program, build_program
from .state import MemoryStore

# Events per transaction of ``ingest`` (``journey run --batch``). A larger batch writes fewer
# rows (a customer is written once per batch, more timers fire inside the batch that set them)
# and syncs less often; a crash loses at most the batch in flight, applied again on the next run.
# The live service sets its own, smaller, turn (``[serve] batch``): latency matters there.
DEFAULT_BATCH = 20_000
# ``ingest`` commits its last batch in pieces of an eighth of its work each (its events and the
# timers queued up to them), and at least this much: the writer stores each piece while the
# runtime applies the next, so what ``ingest`` waits for at its end is about the last piece's
# transaction, not a whole batch's (on a time-ordered stream the last batch is often the
# heaviest: its clock runs on to the last event, firing the timers due by then). Eighths
# measured a little better than halving the work left (the writer starts sooner).
LAST_PIECE = 1_000
_ID, _CUSTOMER = attrgetter("id"), attrgetter("customer")


class RuntimeSetupError(Exception):
    """Options that contradict the state file (another seed or time zone than it was run with)."""


@dataclass
class IngestReport:
    read: int = 0        # events taken from the source
    applied: int = 0     # events applied now
    skipped: int = 0     # events already applied before (exactly once)
    timers: int = 0      # timers fired
    batches: int = 0     # transactions committed
    failed: list[tuple[str, str]] = field(default_factory=list)  # (event id, error) set aside
    seconds: float = 0.0
    oldest: float | None = None  # from an inbox: when the earliest event read was accepted

    @property
    def rate(self) -> float:
        return self.read / self.seconds if self.seconds else 0.0


class Runtime:
    """Executes compiled journeys against customer events, with state in ``store``."""

    def __init__(self, store: MemoryStore | None = None, *, seed: int | None = None,
                 timezone: str | None = None, adapters: Adapters | None = None,
                 render: bool | Callable = True, clock=None,
                 opt_out_events: Iterable[str] = OPT_OUT_EVENTS):
        self.store = store if store is not None else MemoryStore()
        self.clock = clock or VirtualClock()
        self.adapters = adapters or Adapters(OutboxAdapter(self.store))
        fresh = "seed" not in self.store.meta
        try:
            self.seed = self._setting("seed", seed, "0")
            zone = self._setting("timezone", timezone, "UTC")
            if not valid_zone(zone):
                raise RuntimeSetupError(f"unknown time zone {zone!r}: use an IANA name such as Asia/Shanghai")
        except RuntimeSetupError:
            self.store.close()  # the state file is not usable with these options
            raise
        self.migrated: list[tuple] = []  # what the last load's migrations did (summary rows)
        renderer = TemplateRenderer() if render is True else (render or None)
        self.engine = Engine(None)  # its handler is the executor's, below
        self.executor = Executor(self.store, self.engine, self.adapters, seed=self.seed,
                                 zones=Zones(zone), render=renderer,
                                 opt_out_events=opt_out_events)
        self.engine.handler = self.executor.handle
        try:
            self._reload()
        except BaseException:  # a damaged state file: release it
            self.store.close()
            raise
        if fresh:
            self.commit()  # a new state file keeps its seed and time zone from now on

    def _setting(self, key: str, wanted, default: str) -> str:
        stored = self.store.meta.get(key)
        if wanted is not None and stored is not None and str(wanted) != stored:
            raise RuntimeSetupError(f"this state was run with {key} {stored}, not {wanted}: "
                                    f"use another state file to change it")
        value = stored if stored is not None else str(wanted if wanted is not None else default)
        self.store.meta[key] = value
        return value

    def _reload(self) -> None:
        """(Re)build everything in memory from the store's committed state."""
        counters = self.store.counters()
        executor = self.executor
        executor.programs, executor.active, executor.pending = {}, {}, {}
        executor.next_run = counters.get("next_run", 1)
        executor.next_action = counters.get("next_action", 1)
        executor.next_sla = counters.get("next_sla", 1)
        executor.next_observation = counters.get("next_observation", 1)
        executor.schedule_timers = {}
        self.ordinal = counters.get("next_ordinal", 1)
        self.loads = counters.get("next_load", 1)
        for tables in self.store.versions():
            executor.add_program(build_program(tables))
        self.engine.clear()
        self.engine.sequence = counters.get("next_seq", 0)
        self.engine.now = float(self.store.meta.get("clock", "-inf"))
        for timer in self.store.pending_timers():
            executor.restore_timer(timer)
            self.engine.schedule(timer.due, timer_priority(timer.payload), timer, timer.seq)

    # --- journeys -----------------------------------------------------------------------------

    @property
    def programs(self) -> dict[str, Program]:
        return self.executor.programs

    @property
    def active(self) -> dict[str, Program]:
        return self.executor.active

    def load(self, tables: Tables) -> Program:
        """Add a compiled version (by content hash) and make it the one new customers enter.

        Customers already inside another version stay on it until their run ends, unless the
        new version migrates that version's runs (``migrate from version N``): then they all
        move, stop or stay as it says, in the same transaction (MigrationError when it cannot
        be applied: nothing is changed).
        """
        self.migrated = []
        current = self.executor.active.get(tables.journey_id)
        if current is not None and current.content_hash == tables.content_hash:
            return current
        program = self.executor.programs.get(tables.content_hash) or build_program(tables)
        moves = plan_moves(self.executor, program) if program.migrations else []
        try:
            self.executor.add_program(program)
            self.executor.arm_schedules(program.journey_id)
            self.migrated = apply_moves(self.executor, moves)
            for row in self.migrated:
                self.store.migration(row)
            self.store.save_version(tables, self.loads)
            self.loads += 1
            self.commit()
        except BaseException:
            self.rollback()
            raise
        return program

    # --- time and events ----------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self.engine.now

    def ingest(self, events: Iterable[Event], batch_size: int = DEFAULT_BATCH,
               on_batch: Callable[[IngestReport], None] | None = None) -> IngestReport:
        """Apply events in order, ``batch_size`` per transaction, each exactly once.

        An error from the event source (a bad line) first commits the events read before it.
        """
        report, batch, started = IngestReport(), [], _time.perf_counter()
        fired = self.executor.fired
        collecting = gc.isenabled()
        # Runtime state is acyclic (reference counting frees it all); the cyclic collector would
        # only rescan the growing customer cache again and again (a third of the time, measured).
        gc.disable()
        source, size = iter(events), max(batch_size, 1)
        try:
            while True:
                # a batch taken at C speed and one event more, which tells whether the batch is
                # the last; an error of the source leaves what it gave before
                batch.extend(islice(source, size + 1 - len(batch)))
                if len(batch) <= size:
                    break  # the source is exhausted
                current, batch, ahead = batch, [], batch[size:]
                del current[size:]
                report.read += len(current)
                self._apply(current, report)
                if on_batch is not None:
                    report.timers = self.executor.fired - fired
                    report.seconds = _time.perf_counter() - started
                    on_batch(report)
                batch = ahead  # only now: after a batch or a callback that raised, nothing more
        finally:
            try:
                for piece in _pieces(batch, self.engine, LAST_PIECE):
                    report.read += len(piece)
                    self._apply(piece, report)
                self._stored()
            finally:
                if collecting:
                    gc.enable()
            report.timers = self.executor.fired - fired
            report.seconds = _time.perf_counter() - started
        return report

    def _apply(self, batch: list[Event], report: IngestReport, until: float | None = None) -> None:
        """Apply a batch (each event once) and, with ``until``, the timers due by then; commit."""
        engine, store = self.engine, self.store
        run, on_event, mark = engine.run, self.executor.on_event, store.mark_processed
        try:
            done = store.processed(list(map(_ID, batch)))
            store.prefetch(map(_CUSTOMER, batch))
            ordinal = self.ordinal
            try:
                for event in batch:
                    ident = event.id
                    if ident in done:
                        report.skipped += 1
                        continue
                    done.add(ident)
                    at = event.at if event.at > engine.now else engine.now
                    run(at, EVENT)      # timers before the event, events queued up to it
                    queued = engine.sequence
                    # applied, with what became of it when the history does not say
                    mark(event, ordinal, on_event(event))
                    ordinal += 1
                    if engine.sequence != queued:  # it queued something: what it emitted
                        run(at, EVENT)
            finally:
                report.applied += ordinal - self.ordinal
                self.ordinal = ordinal
            if until is not None:
                engine.run(until)
            self.commit(wait=False)  # the writer stores it while the next batch runs
            report.batches += 1
        except BaseException:
            self.rollback()
            raise

    def ingest_inbox(self, now: float, limit: int = DEFAULT_BATCH) -> IngestReport:
        """One turn of a live runtime: apply up to ``limit`` events of the store's inbox (events
        accepted durably, not yet applied) in the order they came, fire the timers due by
        ``now``, and commit it all in one transaction that also takes the events out of the
        inbox. The commit may still be in flight when this returns (``sync`` waits for it)."""
        report, started = IngestReport(), _time.perf_counter()
        fired = self.executor.fired
        taken = self.store.read_inbox(limit)
        due = self.engine.peek()
        if not taken and (due is None or due > now):
            return report  # nothing to do: no empty transaction
        report.read = len(taken)
        report.oldest = min((received for _, received, _ in taken), default=None)
        try:
            self.store.take_inbox(seq for seq, _, _ in taken)
            self._apply([event for _, _, event in taken], report, until=now)
        except Exception as exc:
            if _state_error(exc):
                raise
            report.applied = report.skipped = 0   # rolled back: find the event at fault
            self._apply_one_by_one(taken, report, now)
        report.timers = self.executor.fired - fired
        report.seconds = _time.perf_counter() - started
        return report

    def _apply_one_by_one(self, taken: list, report: IngestReport, now: float) -> None:
        """Apply inbox events one per transaction after their batch raised: an event whose
        application raises is set aside (taken out of the inbox, recorded as received with the
        error as what became of it, in ``report.failed``), so one event the journeys cannot
        apply never holds back those after it. Timers fire in their own transaction first:
        an error of theirs is not an event's, and is raised."""
        for seq, _, event in taken:
            self._apply([], report, until=min(event.at, now))
            try:
                self.store.take_inbox([seq])
                self._apply([event], report)
            except Exception as exc:
                if _state_error(exc):
                    raise
                error = describe_error(exc)
                self.store.take_inbox([seq])
                self.store.mark_processed(event, self.ordinal, f"failed: {error}; set aside, "
                                          "not applied")
                self.ordinal += 1
                self.commit(wait=False)
                report.failed.append((event.id, error))
        self._apply([], report, until=now)

    def advance(self, until: float) -> int:
        """Fire every timer due by ``until`` (and what they cause), then commit."""
        before = self.executor.fired
        try:
            self.engine.run(until)
            self.commit()
        except BaseException:
            self.rollback()
            raise
        return self.executor.fired - before

    def tick(self) -> int:
        """Advance to the clock's time (the wall clock for a live runtime)."""
        return self.advance(self.clock.now())

    def schedule_event(self, event: Event) -> None:
        """Queue an event at its own time (it is applied when time reaches it). Not durable:
        for simulations and tests; live events go through ``ingest``."""
        self.engine.schedule(max(event.at, self.engine.now), EVENT, event)

    def commit(self, wait: bool = True) -> None:
        """Commit what was applied (one transaction); ``wait=False`` returns before it is
        stored (``ingest`` waits for it at its end)."""
        executor = self.executor
        self.store.commit({"next_run": executor.next_run, "next_action": executor.next_action,
                           "next_sla": executor.next_sla,
                           "next_observation": executor.next_observation,
                           "next_seq": self.engine.sequence, "next_ordinal": self.ordinal,
                           "next_load": self.loads, "clock": repr(self.engine.now),
                           "seed": self.seed, "timezone": self.store.meta["timezone"]}, wait)

    def _stored(self) -> None:
        try:
            self.store.sync()
        except BaseException:
            self.rollback()
            raise

    def rollback(self) -> None:
        if not self.store.durable:
            return  # nothing to go back to: in-memory state keeps what was applied
        self.store.rollback()
        self._reload()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Runtime":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _pieces(batch: list[Event], engine: Engine, smallest: int):
    """``batch`` in pieces of an eighth of its work each, or ``smallest`` when that is more
    (an event and each item queued for the engine up to it count one; the timers the batch
    sets itself are not known yet), the last of up to one and a half of them. A batch of no
    more than ``smallest`` events is one piece (the engine's queue is not read)."""
    if len(batch) <= smallest:
        if batch:
            yield batch
        return
    due, moments = engine.due_by(max(batch[-1].at, engine.now)), []
    latest = engine.now
    for event in batch:
        latest = event.at if event.at > latest else latest
        moments.append(latest)
    # the work done once each event is applied, which grows with the batch
    work = [n + bisect_right(due, at) for n, at in enumerate(moments, 1)]
    start, done = 0, 0
    each = max(smallest, work[-1] / 8)
    while work[-1] - done > 1.5 * each:
        end = bisect_left(work, done + each, start) + 1
        yield batch[start:end]
        start, done = end, work[end - 1]
    if start < len(batch):
        yield batch[start:]


def _state_error(exc: Exception) -> bool:
    """An error of the state itself, not of applying one event (a live runtime reopens it)."""
    return isinstance(exc, (StoreError, *database_errors()))
