"""Runtime persistence: the state file on stdlib sqlite3 (WAL), written one batch per transaction.

Writes are buffered in memory while a batch runs and flushed with ``executemany`` at commit, in
one transaction together with the ids of the events that caused them: a crash loses the whole
batch or nothing, and a restart re-applies exactly the events that are not recorded.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

from ..compile import Tables
from ..compile.writers import TablesError, loads, tables_from_dict
from .rows import RowReader, StoreError
from .state import ENDED, OPEN, Customer, MemoryStore, Observation, Run, Sla, Timer
from .writer import WriteError, make_writer

SCHEMA_VERSION = "3"
_MIGRATIONS_TABLE = """CREATE TABLE IF NOT EXISTS migrations (
  id INTEGER PRIMARY KEY, at REAL NOT NULL, journey_id TEXT NOT NULL, from_version INTEGER,
  from_hash TEXT NOT NULL, to_hash TEXT NOT NULL, moved INTEGER NOT NULL,
  stopped INTEGER NOT NULL, kept INTEGER NOT NULL)"""
# How a state file of an earlier schema is brought up to this one, in order, in one transaction.
MIGRATIONS = {
    "1": ("ALTER TABLE runs ADD COLUMN locals TEXT NOT NULL DEFAULT '{}'",),  # variables, milestones
    "2": (_MIGRATIONS_TABLE,),  # what each version migration did (the runs' moves are in history)
}
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS versions (
  content_hash TEXT PRIMARY KEY, journey_id TEXT NOT NULL, version INTEGER,
  loaded_seq INTEGER NOT NULL, tables TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS customers (
  id TEXT PRIMARY KEY, profile TEXT NOT NULL, state TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY, customer TEXT NOT NULL, journey_id TEXT NOT NULL,
  content_hash TEXT NOT NULL, status TEXT NOT NULL, holdout INTEGER NOT NULL, stage TEXT,
  step TEXT, waiting TEXT, timer INTEGER, entered_at REAL NOT NULL, step_at REAL,
  ended_at REAL, outcome TEXT, context TEXT NOT NULL, event TEXT NOT NULL,
  locals TEXT NOT NULL DEFAULT '{}');
CREATE INDEX IF NOT EXISTS runs_by_customer ON runs (customer);
CREATE TABLE IF NOT EXISTS timers (
  seq INTEGER PRIMARY KEY, due REAL NOT NULL, run_id INTEGER NOT NULL, customer TEXT NOT NULL,
  kind TEXT NOT NULL, step TEXT);
CREATE TABLE IF NOT EXISTS history (
  id INTEGER PRIMARY KEY, at REAL NOT NULL, customer TEXT NOT NULL, run_id INTEGER,
  journey_id TEXT, step TEXT, what TEXT NOT NULL, why TEXT, detail TEXT);
CREATE INDEX IF NOT EXISTS history_by_run ON history (run_id);
CREATE INDEX IF NOT EXISTS history_of_customers ON history (customer) WHERE run_id IS NULL;
CREATE INDEX IF NOT EXISTS history_milestones ON history (journey_id) WHERE what = 'milestone';
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY, at REAL NOT NULL, customer TEXT NOT NULL, run_id INTEGER,
  journey_id TEXT, content_hash TEXT, step TEXT, kind TEXT NOT NULL, channel TEXT,
  template TEXT, locale TEXT, text TEXT, payload TEXT NOT NULL, due REAL, status TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_by_run ON outbox (run_id);
CREATE TABLE IF NOT EXISTS events (
  ordinal INTEGER PRIMARY KEY, id TEXT NOT NULL, customer TEXT NOT NULL, type TEXT NOT NULL,
  at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS slas (
  id INTEGER PRIMARY KEY, customer TEXT NOT NULL, run_id INTEGER NOT NULL,
  journey_id TEXT NOT NULL, step TEXT NOT NULL, role TEXT NOT NULL, opened REAL NOT NULL,
  due REAL NOT NULL, status TEXT NOT NULL, closed REAL, timer INTEGER);
CREATE INDEX IF NOT EXISTS open_slas ON slas (customer) WHERE status = 'open';
CREATE TABLE IF NOT EXISTS observations (
  id INTEGER PRIMARY KEY, customer TEXT NOT NULL, run_id INTEGER NOT NULL,
  journey_id TEXT NOT NULL, content_hash TEXT NOT NULL, kpi TEXT NOT NULL, opened REAL NOT NULL,
  due REAL NOT NULL, status TEXT NOT NULL, closed REAL, timer INTEGER);
CREATE INDEX IF NOT EXISTS observations_by_customer ON observations (customer);
""" + _MIGRATIONS_TABLE + ";\n"
SLA_COLUMNS = "id, customer, run_id, journey_id, step, role, opened, due, status, closed, timer"
OBSERVATION_COLUMNS = ("id, customer, run_id, journey_id, content_hash, kpi, opened, due, status, "
                       "closed, timer")
RUN_COLUMNS = ("id, customer, journey_id, content_hash, status, holdout, stage, step, waiting, "
               "timer, entered_at, step_at, ended_at, outcome, context, event, locals")
KNOWN_LIMIT = 5_000_000
LOCK_WAIT = 3.0  # seconds
# everything but the id, the customer and the journey (a migration changes the version)
_RUN_UPDATE = ", ".join(f"{c} = excluded.{c}" for c in RUN_COLUMNS.split(", ")[3:])


def _compact_encoder():
    """Compact JSON text (no sorting: processing is deterministic, so dicts are built in the
    same order). The C encoder made once: the unit of work encodes every customer handed out
    at each commit to see what changed, and JSONEncoder.encode builds a new encoder per call."""
    plain = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without the C accelerator
        return plain.encode
    encode = make(None, plain.default, json.encoder.encode_basestring, None, ":", ",",
                  False, False, True)
    return lambda value: "".join(encode(value, 0))


_dumps = _compact_encoder()


class SqliteStore(MemoryStore):
    """Durable state in one SQLite file; one writer at a time (a lock file guards it)."""

    durable = True

    def __init__(self, path: str | Path, synchronous: str = "FULL", cache_limit: int = 500_000,
                 writer_process: bool = True):
        super().__init__(keep_rows=False)
        self.path = Path(path)
        self.cache_limit = cache_limit
        self.rows = RowReader(self.path)
        self._shapes: dict[str, tuple[frozenset, frozenset]] = {}  # version: its steps, KPIs
        self._lock = _lock(self.path)
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute(f"PRAGMA synchronous = {synchronous}")
            self.db.execute("PRAGMA cache_size = -65536")
            self._check_schema()
        except sqlite3.DatabaseError as exc:
            self._unlock()
            raise StoreError(f"{self.path}: not a journeylang state file ({exc})") from None
        self._clear_buffers()
        try:
            self._read_committed()
        except StoreError:  # damaged: the file is left as it is, and free for the next try
            self.db.close()
            self._unlock()
            raise
        self._writer = make_writer(self.db, self.path, synchronous, writer_process)

    def _read_committed(self) -> None:
        self.meta = self.rows.meta(dict(self.db.execute("SELECT key, value FROM meta")))
        # Ids of stored customers, so a new customer costs no query (up to a size worth keeping).
        count = self.db.execute("SELECT count(*) FROM customers").fetchone()[0]
        self.known: set[str] | None = None if count > KNOWN_LIMIT else {
            r[0] for r in self.db.execute("SELECT id FROM customers")}
        # The ids of applied events, in memory: an index on them would be a random-key B-tree
        # that dirties a page per event at every commit (measured: the largest cost at scale).
        self.seen = {r[0] for r in self.db.execute("SELECT id FROM events")}

    def _check_schema(self) -> None:
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and "meta" not in tables:
            raise StoreError(f"{self.path}: a SQLite file, but not a journeylang state file")
        found = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone() \
            if tables else None
        if found is not None and found[0] != SCHEMA_VERSION:
            self._migrate(found[0])
        self.db.executescript(SCHEMA)
        if found is None:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))

    def _migrate(self, version: str) -> None:
        """Bring a state file of an earlier schema up to this one (all steps or none)."""
        steps = []
        while version != SCHEMA_VERSION:
            if version not in MIGRATIONS:
                raise StoreError(f"{self.path}: state schema {version}, this journeylang reads "
                                 f"{SCHEMA_VERSION}")
            steps += MIGRATIONS[version]
            version = str(int(version) + 1)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for statement in steps:
                self.db.execute(statement)
            self.db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def _clear_buffers(self) -> None:
        self.unit: dict[str, Customer] = {}
        self._rows: dict[str, list] = {"customers": [], "runs": [], "slas": [], "observations": []}
        self._timers_new: dict[int, Timer] = {}
        self._timers_gone: set[int] = set()
        self._history: list = []
        self._outbox: list = []
        self._cancels: list[tuple[str, int]] = []
        self._events: list[tuple] = []
        self._versions_new: list[tuple] = []
        self.migrations: list[tuple] = []

    # --- reading ------------------------------------------------------------------------------

    def load_customer(self, customer_id: str) -> Customer:
        if self.known is not None and customer_id not in self.known:
            return Customer(customer_id)
        row = self.db.execute("SELECT profile, state FROM customers WHERE id = ?",
                              (customer_id,)).fetchone()
        if row is None:
            return Customer(customer_id)
        profile, sends, entries, events = self.rows.customer(customer_id, row[0], row[1])
        customer = Customer(customer_id, profile, sends, entries, events=events,
                            stored=(row[0], row[1]))
        customer.runs = [self._known(self.rows.run(r)) for r in self.db.execute(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE customer = ? AND status != ? ORDER BY id",
            (customer_id, ENDED))]
        customer.slas = [self.rows.record("slas", r) for r in self.db.execute(
            f"SELECT {SLA_COLUMNS} FROM slas WHERE customer = ? AND status = ? ORDER BY id",
            (customer_id, OPEN))]
        live = {run.id for run in customer.runs}
        customer.observations = [self._known(self.rows.record("observations", r)) for r in
                                 self.db.execute(f"SELECT {OBSERVATION_COLUMNS} FROM observations "
                                                 "WHERE customer = ? ORDER BY id", (customer_id,))
                                 if r[8] == OPEN or r[2] in live]
        return customer

    def customers_in(self, content_hashes) -> list[str]:
        hashes = list(content_hashes)
        marks = ",".join("?" * len(hashes))
        stored = {r[0] for r in self.db.execute(
            f"SELECT DISTINCT customer FROM runs WHERE status != ? AND content_hash IN ({marks})",
            (ENDED, *hashes))} if hashes else set()
        return sorted(stored | set(super().customers_in(hashes)))

    def _known(self, record):
        """A run or a KPI observation whose version, step and KPI the stored versions have."""
        table = "runs" if isinstance(record, Run) else "observations"
        shape = self._shape(record.content_hash)
        if shape is None:
            self.rows.fail(table, record.id, "content_hash", f"no stored version "
                                                            f"{record.content_hash!r}")
        if table == "runs" and record.step is not None and record.step not in shape[0]:
            self.rows.fail(table, record.id, "step", f"version {record.content_hash[:19]} has no "
                                                     f"step {record.step!r}")
        if table == "observations" and record.kpi not in shape[1]:
            self.rows.fail(table, record.id, "kpi", f"version {record.content_hash[:19]} has no "
                                                    f"KPI {record.kpi!r}")
        return record

    def _shape(self, content_hash: str) -> tuple[frozenset, frozenset] | None:
        if content_hash not in self._shapes:
            for tables in self._stored("WHERE content_hash = ?", (content_hash,)):
                self._note(tables)
        return self._shapes.get(content_hash)

    def _note(self, tables: Tables) -> None:
        self._shapes[tables.content_hash] = (
            frozenset(r["step_id"] for r in tables.rows["steps"]),
            frozenset(r["name"] for r in tables.rows["kpis"]))

    def customer_ids(self) -> list[str]:
        if self.known is not None:
            return sorted(self.known.union(self.customers))
        stored = {r[0] for r in self.db.execute("SELECT id FROM customers")}
        return sorted(stored.union(self.customers))

    def timezones(self) -> set:
        try:
            stored = {r[0] for r in self.db.execute(
                "SELECT DISTINCT json_extract(profile, '$.timezone') FROM customers")}
        except sqlite3.OperationalError:  # a profile that is not JSON: name it
            for ident, profile, state in self.db.execute("SELECT id, profile, state FROM customers"):
                self.rows.customer(ident, profile, state)
            raise
        return stored | {c.profile.get("timezone") for c in self.customers.values()}

    def pending_timers(self) -> list[Timer]:
        return [self.rows.timer(row) for row in self.db.execute(
            "SELECT seq, due, run_id, customer, kind, step FROM timers ORDER BY seq")]

    def versions(self) -> list[Tables]:
        found = self._stored("ORDER BY loaded_seq")
        for tables in found:
            self._note(tables)
        return found

    def _stored(self, where: str, args=()) -> list[Tables]:
        found = []
        for content_hash, text in self.db.execute(
                f"SELECT content_hash, tables FROM versions {where}", args):
            try:
                found.append(tables_from_dict(loads(text), f"{self.path} ({content_hash[:19]})"))
            except (ValueError, TypeError, RecursionError, TablesError) as exc:
                raise StoreError(f"{self.path}: stored version {content_hash} is damaged: {exc}") from None
        return found

    # --- buffered writes ----------------------------------------------------------------------

    def write(self, customer: Customer) -> None:
        """Buffer the rows of what changed in a customer since they were last written."""
        profile = _dumps(customer.profile)
        state = _dumps({"sends": customer.sends, "entries": customer.entries,
                        **({"events": customer.events} if customer.events else {})})
        if customer.stored != (profile, state):
            customer.stored = (profile, state)
            self._rows["customers"].append((customer.id, profile, state))
        for record in customer.records():
            row = _ROW_OF[type(record)](record)
            if record.stored != row:
                record.stored = row
                self._rows[_TABLE_OF[type(record)]].append(row)

    def add_timer(self, timer: Timer) -> None:
        self._timers_new[timer.seq] = timer

    def drop_timer(self, seq: int) -> None:
        if self._timers_new.pop(seq, None) is None:
            self._timers_gone.add(seq)

    def history(self, row) -> None:
        self._history.append(row)

    def outbox(self, action) -> None:
        self._outbox.append(action)

    def cancel_outbox(self, customer_id: str, up_to: int) -> None:
        self._cancels.append((customer_id, up_to))

    def mark_processed(self, event, ordinal: int) -> None:
        self._events.append((ordinal, event.id, event.customer, event.type, event.at))

    def save_version(self, tables: Tables, loaded_seq: int) -> None:
        self._versions_new.append((tables.content_hash, tables.journey_id,
                                   tables.journey["version"], loaded_seq,
                                   json.dumps(tables.to_dict(), ensure_ascii=False)))

    # --- transactions -------------------------------------------------------------------------

    def commit(self, counters: dict[str, int], wait: bool = True) -> None:
        """Write every buffered change and the counters in one transaction.

        The rows are taken here; the writer runs the SQL. With ``wait=False`` the caller goes on
        (with the next batch) while it does; a failed write is raised by the next ``commit``
        or ``sync``, and the caller must then ``rollback``.
        """
        unit = list(self.unit)
        self._write_unit()
        job = self._snapshot(counters)
        self.meta.update({k: str(v) for k, v in counters.items()})
        if self.known is not None:
            self.known.update(unit)
        self.seen.update(row[1] for row in self._events)
        self._clear_buffers()
        self._submit(job)
        if wait or len(self.customers) > self.cache_limit:
            self.sync()
            if len(self.customers) > self.cache_limit:
                self.customers.clear()  # only once the file holds what they hold

    def _submit(self, job) -> None:
        try:
            self._writer.submit(job)
        except WriteError as exc:
            raise StoreError(f"{self.path}: writing the state failed: {exc}") from None

    def sync(self) -> None:
        """Wait until every commit is in the file; StoreError if one did not make it."""
        try:
            self._writer.wait()
        except WriteError as exc:
            raise StoreError(f"{self.path}: writing the state failed: {exc}") from None

    def _snapshot(self, counters) -> list[tuple[str, list]]:
        """The statements of one transaction, with their rows (plain values, no live objects)."""
        rows = self._rows
        return [
            ("INSERT OR REPLACE INTO versions VALUES (?, ?, ?, ?, ?)", self._versions_new),
            ("INSERT INTO customers VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
             "profile = excluded.profile, state = excluded.state", rows["customers"]),
            (f"INSERT INTO runs ({RUN_COLUMNS}) VALUES ({','.join('?' * 17)}) "
             f"ON CONFLICT (id) DO UPDATE SET {_RUN_UPDATE}", rows["runs"]),
            ("INSERT INTO timers VALUES (?, ?, ?, ?, ?, ?)",
             [t.row() for t in self._timers_new.values()]),
            ("DELETE FROM timers WHERE seq = ?", [(seq,) for seq in self._timers_gone]),
            ("INSERT INTO history (at, customer, run_id, journey_id, step, what, why, detail) "
             "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", self._history),
            ("INSERT INTO outbox VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
             [(a.id, a.at, a.customer, a.run_id, a.journey_id, a.content_hash, a.step, a.kind,
               a.channel, a.template, a.locale, a.text, _dumps(a.payload), a.due, a.status)
              for a in self._outbox]),
            ("UPDATE outbox SET status = 'cancelled' WHERE run_id IN (SELECT id FROM runs "
             "WHERE customer = ?) AND id <= ? AND status = 'queued' AND kind = 'message'",
             self._cancels),
            ("INSERT INTO events VALUES (?, ?, ?, ?, ?)", self._events),
            ("INSERT OR REPLACE INTO slas VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows["slas"]),
            ("INSERT OR REPLACE INTO observations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
             rows["observations"]),
            ("INSERT INTO migrations (at, journey_id, from_version, from_hash, to_hash, moved, "
             "stopped, kept) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", self.migrations),
            ("INSERT OR REPLACE INTO meta VALUES (?, ?)",
             sorted((k, str(v)) for k, v in counters.items())),
        ]

    def rollback(self) -> None:
        """Forget everything not in the file and reread what is."""
        try:
            self._writer.wait()
        except WriteError:
            pass  # that commit is not in the file: forgetting it is the point
        self._clear_buffers()
        self.customers.clear()
        self._read_committed()

    def counters(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.meta.items() if k.startswith("next_")}

    def close(self) -> None:
        try:
            self._writer.close()
        finally:
            self.db.close()
            self._unlock()

    def _unlock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


def _run_row(r: Run) -> tuple:
    """A run as a ``runs`` row, in RUN_COLUMNS order."""
    return (r.id, r.customer, r.journey_id, r.content_hash, r.status, int(r.holdout), r.stage,
            r.step, r.waiting, r.timer, r.entered_at, r.step_at, r.ended_at, r.outcome,
            _dumps(r.context), _dumps(r.event), _locals(r))


def _locals(r: Run) -> str:
    """A run's variables, milestones reached and experiment arms, as the ``locals`` column's
    JSON."""
    found = {key: value for key, value in (("vars", r.vars), ("milestones", r.milestones),
                                           ("arms", r.arms)) if value}
    return _dumps(found)


def _sla_row(s: Sla) -> tuple:
    return (s.id, s.customer, s.run_id, s.journey_id, s.step, s.role, s.opened, s.due,
            s.status, s.closed, s.timer)


def _observation_row(o: Observation) -> tuple:
    return (o.id, o.customer, o.run_id, o.journey_id, o.content_hash, o.kpi, o.opened, o.due,
            o.status, o.closed, o.timer)


_ROW_OF = {Run: _run_row, Sla: _sla_row, Observation: _observation_row}
_TABLE_OF = {Run: "runs", Sla: "slas", Observation: "observations"}


def _lock(path: Path) -> int | None:
    """An exclusive lock beside the state file: two writers would each cache stale state.
    It is keyed on the file itself (symlinks resolved), not on the name it was given."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(f"{path.resolve()}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the lock file: {exc.strerror or exc}") from None
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except OSError:
            # the writer process of a run that just died may still finish its transaction
            if time.monotonic() > deadline:
                os.close(handle)
                raise StoreError(f"{path}: in use by another journey run") from None
            time.sleep(0.05)
