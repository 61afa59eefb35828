"""Runtime state: customers, runs and timers in memory, and the in-memory store (no persistence).

``MemoryStore`` is the interface the executor writes through; ``SqliteStore`` (store.py) adds
durability to it, and the simulator can subclass it to aggregate instead of keeping rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..compile import Tables

ACTIVE, HOLDOUT, ENDED = "active", "holdout", "ended"
OPEN, MET, BREACHED, HIT, MISSED = "open", "met", "breached", "hit", "missed"


@dataclass(slots=True, eq=False)  # a run is itself, not its field values
class Run:
    """One pass of one customer through one version of a journey."""

    id: int
    customer: str
    journey_id: str
    content_hash: str
    entered_at: float
    status: str = ACTIVE
    holdout: bool = False
    stage: str | None = None
    step: str | None = None
    waiting: str | None = None  # None, "time", "event", "quiet", "holdout"
    timer: int | None = None    # sequence number of the pending timer
    step_at: float | None = None
    ended_at: float | None = None
    outcome: str | None = None
    context: dict = field(default_factory=dict)  # business objects: the trigger's data, then waits'
    event: dict = field(default_factory=dict)    # data of the last event the run consumed
    saved: tuple | None = None  # context and event as stored JSON; None after they change


@dataclass(slots=True, eq=False)
class Customer:
    id: str
    profile: dict = field(default_factory=dict)
    sends: list = field(default_factory=list)     # [at, channel, journey_id], for caps
    entries: dict = field(default_factory=dict)   # journey_id -> [count, last entered at]
    runs: list = field(default_factory=list)      # runs not ended, in entry order
    saved: str | None = None        # the profile as stored JSON; None after it changes
    saved_state: str | None = None  # sends and entries as stored JSON; None after they change
    slas: list = field(default_factory=list)          # open SLAs, oldest first
    observations: list = field(default_factory=list)  # KPI observations: open, or of a live run


@dataclass(slots=True, eq=False)
class Sla:
    """A handoff's deadline: ``open`` until a ``handoff_resolved`` (``met``) or ``due`` (``breached``)."""

    id: int
    customer: str
    run_id: int
    journey_id: str
    step: str
    role: str
    opened: float
    due: float
    status: str = OPEN
    closed: float | None = None
    timer: int | None = None


@dataclass(slots=True, eq=False)
class Observation:
    """One run's observation of a KPI: ``hit`` by the KPI's event before ``due``, else ``missed``."""

    id: int
    customer: str
    run_id: int
    journey_id: str
    content_hash: str
    kpi: str
    opened: float
    due: float
    status: str = OPEN
    closed: float | None = None
    timer: int | None = None


@dataclass(slots=True)
class Timer:
    """A pending timer. For kinds ``sla`` and ``kpi`` ``run_id`` holds the SLA's or the
    observation's id; for ``schedule`` (a scheduled entry's next occurrence) ``customer`` holds
    the time zone and ``step`` the journey id."""

    seq: int
    due: float
    run_id: int
    customer: str
    kind: str  # "wake", "timeout", "quiet", "holdout", "sla", "kpi", "schedule"
    step: str | None


# A history row is a list in this column order (lists, not objects: there are many, and the
# executor fills in a step's result after the row is queued).
HISTORY_COLUMNS = ("at", "customer", "run_id", "journey_id", "step", "what", "why", "detail")


class MemoryStore:
    """State kept in dicts and lists: tests, previews, and the base of every store."""

    durable = False

    def __init__(self, keep_rows: bool = True):
        self.keep_rows = keep_rows
        self.customers: dict[str, Customer] = {}
        self.runs: dict[int, Run] = {}
        self.timers: dict[int, Timer] = {}
        self.history_rows: list[list] = []
        self.outbox_rows: list = []
        self.slas: dict[int, Sla] = {}
        self.observations: dict[int, Observation] = {}
        self._queued: dict[str, list] = {}  # messages by customer, for opt-out
        self.seen: set[str] = set()
        self.meta: dict[str, str] = {}
        self._versions: dict[str, tuple[int, Tables]] = {}

    # customers and runs
    def customer(self, customer_id: str) -> Customer:
        found = self.customers.get(customer_id)
        if found is None:
            found = self.customers[customer_id] = self.load_customer(customer_id)
        return found

    def load_customer(self, customer_id: str) -> Customer:
        return Customer(customer_id)

    def save(self, customer: Customer) -> None:
        """The customer (profile, sends, entries) changed."""

    def save_run(self, run: Run) -> None:
        if self.keep_rows:
            self.runs[run.id] = run

    def customer_ids(self) -> list[str]:
        """Every customer the store knows, sorted (scheduled entries visit them all)."""
        return sorted(self.customers)

    def timezones(self) -> set:
        """The ``timezone`` attributes of known customers (any value, None included)."""
        return {c.profile.get("timezone") for c in self.customers.values()}

    # SLAs and KPI observations: saved when opened and when closed
    def save_sla(self, sla: Sla) -> None:
        if self.keep_rows:
            self.slas[sla.id] = sla

    def save_observation(self, observation: Observation) -> None:
        if self.keep_rows:
            self.observations[observation.id] = observation

    # timers
    def add_timer(self, timer: Timer) -> None:
        self.timers[timer.seq] = timer

    def drop_timer(self, seq: int) -> None:
        self.timers.pop(seq, None)

    def pending_timers(self) -> list[Timer]:
        return sorted(self.timers.values(), key=lambda t: t.seq)

    # what happened
    def history(self, row: list) -> None:
        if self.keep_rows:
            self.history_rows.append(row)

    def outbox(self, action) -> None:
        self.outbox_rows.append(action)
        if action.kind == "message":
            self._queued.setdefault(action.customer, []).append(action)

    def cancel_outbox(self, customer_id: str, up_to: int) -> None:
        later = []
        for action in self._queued.pop(customer_id, ()):
            if action.id > up_to:
                later.append(action)
            elif action.status == "queued":
                action.status = "cancelled"
        if later:
            self._queued[customer_id] = later

    # exactly once
    def processed(self, ids) -> set[str]:
        return {i for i in ids if i in self.seen}

    def mark_processed(self, event, ordinal: int) -> None:
        self.seen.add(event.id)

    # journey versions
    def versions(self) -> list[Tables]:
        """Every stored version, oldest load first (the last of a journey is its active one)."""
        return [tables for _, tables in sorted(self._versions.values(), key=lambda v: v[0])]

    def save_version(self, tables: Tables, loaded_seq: int) -> None:
        self._versions[tables.content_hash] = (loaded_seq, tables)

    # transactions
    def counters(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.meta.items() if k.startswith("next_")}

    def commit(self, counters: dict[str, int], wait: bool = True) -> None:
        self.meta.update({k: str(v) for k, v in counters.items()})

    def sync(self) -> None:
        """Wait until every commit is stored (nothing to wait for in memory)."""

    def rollback(self) -> None:
        raise RuntimeError("an in-memory store cannot roll back")

    def close(self) -> None:
        pass
