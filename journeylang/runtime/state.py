"""Runtime state: customers, runs and timers in memory, and the in-memory store (no persistence).

``MemoryStore`` is the interface the executor works through: it hands out customers and, at
each commit, saves what changed in them (a unit of work); history rows, timers and actions are
written as they happen. ``SqliteStore`` and ``PostgresStore`` (sql.py) add durability to it,
and the simulator can subclass it to aggregate instead of keeping rows.

The records (runs, customers, SLAs, observations, timers) are msgspec structs, made in C (a
dataclass's ``__init__`` is a Python call, two to five times the cost), and untracked by the
cyclic collector (``gc=False``): they hold JSON values and other records, never a cycle.
"""
from __future__ import annotations

import msgspec

from ..compile import Tables

ACTIVE, HOLDOUT, ENDED = "active", "holdout", "ended"
OPEN, MET, BREACHED, HIT, MISSED = "open", "met", "breached", "hit", "missed"


class Run(msgspec.Struct, eq=False, gc=False):  # a run is itself, not its field values
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
    context: dict = {}  # business objects: the trigger's data, then waits'
    event: dict = {}    # data of the last event the run consumed
    vars: dict = {}     # run-local variables
    milestones: dict = {}  # milestone name -> when it was reached
    stored: tuple | None = None  # the row as last written (set by the store only)
    arms: dict = {}  # experiment (split step) -> the run's arm in it
    key: object = None  # the correlation key's value in the entry event (correlate by ...)
    timer_due: float | None = None  # when the pending timer is due
    # set by whatever changes ``context``, ``event``, ``vars``, ``milestones``, ``arms`` or
    # ``key``: a store packs them again only then (see Customer)
    values_changed: bool = True


class Customer(msgspec.Struct, eq=False, gc=False):
    """A customer and everything of theirs the runtime keeps. A store saves what changed in
    each customer it handed out, comparing with ``stored`` (the rows as last written). Packing
    the JSON values (the profile, the state, a run's context, event and locals) is what costs,
    so whatever changes them marks it: ``profile_changed``, ``state_changed`` (``sends``,
    ``entries``, ``events``), a run's ``values_changed``; the other fields are compared as
    they are. A change without its mark would not be saved: with the environment variable
    JOURNEYLANG_CHECK_MARKS=1 (the tests set it) the SQL stores pack everything at every
    commit and raise UnmarkedChange when a value differs from what the marks let them keep."""

    id: str
    profile: dict = {}
    sends: list = []     # [at, channel, journey_id], for caps
    entries: dict = {}   # journey_id -> [count, last entered at]
    runs: list = []      # runs not ended, in entry order
    slas: list = []          # open SLAs, oldest first
    observations: list = []  # KPI observations: open, or of a live run
    events: dict = {}   # event type -> [[at, data]]: kept for history
    retired: list = []  # runs, SLAs and observations just taken off
    stored: tuple | None = None  # (profile, state) as last written (set by the store only)
    profile_changed: bool = True  # marks: see above
    state_changed: bool = True

    def records(self):
        """Every run, SLA and observation the store may have to save."""
        yield from self.runs
        yield from self.slas
        yield from self.observations
        yield from self.retired

    def retire(self, records: list, record) -> None:
        """Take a record off one of the live lists; it is saved once more, then forgotten."""
        records.remove(record)
        self.retired.append(record)


class Sla(msgspec.Struct, eq=False, gc=False):
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
    stored: tuple | None = None


class Observation(msgspec.Struct, eq=False, gc=False):
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
    stored: tuple | None = None


# --- timers: one payload type per kind ---------------------------------------------------------
# Never changed once made; a run sets a timer at most steps.

class RunTimer(msgspec.Struct, gc=False):
    """A run's own timer at ``step``: ``wake`` (a wait is over), ``timeout`` (a wait for
    events timed out), ``quiet`` (quiet hours are over for a deferred send) or ``holdout``
    (a holdout run's goal window is over)."""

    run_id: int
    customer: str
    kind: str
    step: str | None


class SlaDue(msgspec.Struct, gc=False):
    """An SLA's deadline."""

    sla_id: int
    customer: str
    step: str


class KpiDue(msgspec.Struct, gc=False):
    """The end of a KPI observation's window."""

    observation_id: int
    customer: str
    kpi: str


class Occurrence(msgspec.Struct, gc=False):
    """A scheduled entry's next occurrence for the customers in one time zone."""

    journey_id: str
    zone: str


RUN_TIMERS = ("wake", "timeout", "quiet", "holdout")


class Timer(msgspec.Struct, gc=False):
    """A pending timer: its sequence number, when it is due, and what it is for."""

    seq: int
    due: float
    payload: RunTimer | SlaDue | KpiDue | Occurrence

    def row(self) -> tuple:
        """The ``timers`` table row: seq, due, owner id, customer (or zone), kind, step (or
        journey, or KPI)."""
        p = self.payload
        if type(p) is RunTimer:
            return (self.seq, self.due, p.run_id, p.customer, p.kind, p.step)
        if type(p) is SlaDue:
            return (self.seq, self.due, p.sla_id, p.customer, "sla", p.step)
        if type(p) is KpiDue:
            return (self.seq, self.due, p.observation_id, p.customer, "kpi", p.kpi)
        return (self.seq, self.due, 0, p.zone, "schedule", p.journey_id)

    @classmethod
    def from_row(cls, row) -> "Timer":
        seq, due, owner, customer, kind, step = row
        if kind in RUN_TIMERS:
            payload = RunTimer(owner, customer, kind, step)
        elif kind == "sla":
            payload = SlaDue(owner, customer, step)
        elif kind == "kpi":
            payload = KpiDue(owner, customer, step)
        elif kind == "schedule":
            payload = Occurrence(step, customer)
        else:
            raise ValueError(f"unknown timer kind {kind!r}")
        return cls(seq, due, payload)


# What one migration did to one older version's runs (the state's ``migrations`` table).
MIGRATION_COLUMNS = ("at", "journey_id", "from_version", "from_hash", "to_hash", "moved",
                     "stopped", "kept")

# A history row is a list in this column order (lists, not objects: there are many).
HISTORY_COLUMNS = ("at", "customer", "run_id", "journey_id", "step", "what", "why", "detail")


def profile_zone(profile: dict) -> str | None:
    """A profile's ``timezone`` attribute when it is text (else it means the default zone)."""
    zone = profile.get("timezone")
    return zone if isinstance(zone, str) else None


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
        self.notes: dict[str, str] = {}  # event id -> what became of it (with keep_rows)
        self.meta: dict[str, str] = {}
        self._versions: dict[str, tuple[int, Tables]] = {}
        self.unit: dict[str, Customer] = {}  # customers handed out since the last commit
        self.migrations: list[tuple] = []    # MIGRATION_COLUMNS rows: what each migration did

    # customers: the unit of work
    def customer(self, customer_id: str) -> Customer:
        """The customer, loaded once and cached; whatever changes in it is saved at commit."""
        found = self.customers.get(customer_id)
        if found is None:
            found = self.customers[customer_id] = self.load_customer(customer_id)
        self.unit[customer_id] = found
        return found

    def load_customer(self, customer_id: str) -> Customer:
        return Customer(customer_id)

    def holds(self, customer_id: str) -> bool:
        """Whether the customer is kept already (an event that changes nothing of theirs can
        pass them by: a new customer is still recorded)."""
        return customer_id in self.customers

    def prefetch(self, customer_ids) -> None:
        """Load these customers ahead of a batch (in memory: nothing to load)."""

    def write(self, customer: Customer) -> None:
        """Save what changed in a customer handed out since the last commit (here: keep the
        records by id, for tests and previews)."""
        if self.keep_rows:
            for record in customer.records():
                self._table_of(record)[record.id] = record

    def _table_of(self, record) -> dict:
        return self.runs if type(record) is Run else self.slas if type(record) is Sla \
            else self.observations

    def _write_unit(self) -> None:
        for customer in self.unit.values():
            self.write(customer)
            customer.retired.clear()
        self.unit.clear()

    def customers_in(self, content_hashes) -> list[str]:
        """The customers with a run not ended on one of these versions, sorted."""
        wanted = set(content_hashes)
        return sorted(c.id for c in self.customers.values()
                      if any(r.content_hash in wanted for r in c.runs))

    def migration(self, row: tuple) -> None:
        """Record what a migration did (a MIGRATION_COLUMNS row), with the next commit."""
        self.migrations.append(row)

    def timezones(self) -> set:
        """The ``timezone`` attributes of known customers (None: none, or not text)."""
        return {profile_zone(c.profile) for c in self.customers.values()}

    def customers_in_timezones(self, names) -> list[str]:
        """The known customers whose ``timezone`` attribute is one of ``names``, sorted."""
        names = set(names)
        return sorted(c.id for c in self.customers.values() if profile_zone(c.profile) in names)

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

    def mark_processed(self, event, ordinal: int, note: str | None = None) -> None:
        """An event applied, with what became of it when it left no history entry."""
        self.seen.add(event.id)
        if note is not None and self.keep_rows:
            self.notes[event.id] = note

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
        self._write_unit()
        self.meta.update({k: str(v) for k, v in counters.items()})

    def sync(self) -> None:
        """Wait until every commit is stored (nothing to wait for in memory)."""

    def rollback(self) -> None:
        raise RuntimeError("an in-memory store cannot roll back")

    def close(self) -> None:
        pass
