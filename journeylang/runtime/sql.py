"""Runtime persistence: the state in SQL tables, written one batch per transaction (both backends).

Writes are buffered in memory while a batch runs and flushed with ``executemany`` at commit, in
one transaction together with the ids of the events that caused them: a crash loses the whole
batch or nothing, and a restart re-applies exactly the events that are not recorded.
``SqliteStore`` (store.py) and ``PostgresStore`` (postgres.py) differ only in how they connect,
keep other writers out and run a commit's statements.
"""
from __future__ import annotations

import json
from typing import NamedTuple

from ..compile import Tables
from ..compile.writers import TablesError, loads, tables_from_dict
from .applied import DEFAULT_WINDOW, AppliedIds
from .database import Database, StoreError, database_errors
from .events import Event
from .journal import CONTINUED, HISTORY_ROW, Journal
from .packing import CHECK_MARKS, UNPACKABLE, dumps, encode, finish, pack
from .rows import RowReader
from .state import (ENDED, MIGRATION_COLUMNS, OPEN, Customer, MemoryStore, Observation,
                    Occurrence, Run, Sla, Timer, profile_zone)

SCHEMA_VERSION = "6"
_MIGRATIONS_TABLE = """CREATE TABLE IF NOT EXISTS migrations (
  id INTEGER PRIMARY KEY, at REAL NOT NULL, journey_id TEXT NOT NULL, from_version INTEGER,
  from_hash TEXT NOT NULL, to_hash TEXT NOT NULL, moved INTEGER NOT NULL,
  stopped INTEGER NOT NULL, kept INTEGER NOT NULL)"""
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS versions (
  content_hash TEXT PRIMARY KEY, journey_id TEXT NOT NULL, version INTEGER,
  loaded_seq INTEGER NOT NULL, tables TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS customers (
  id TEXT PRIMARY KEY, profile TEXT NOT NULL, state TEXT NOT NULL, timezone TEXT) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS customers_by_timezone ON customers (timezone);
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY, customer TEXT NOT NULL, journey_id TEXT NOT NULL,
  content_hash TEXT NOT NULL, status TEXT NOT NULL, holdout INTEGER NOT NULL, stage TEXT,
  step TEXT, waiting TEXT, timer INTEGER, entered_at REAL NOT NULL, step_at REAL,
  ended_at REAL, outcome TEXT, context TEXT NOT NULL, event TEXT NOT NULL,
  locals TEXT NOT NULL DEFAULT '{}', timer_due REAL);
CREATE INDEX IF NOT EXISTS runs_by_customer ON runs (customer);
CREATE TABLE IF NOT EXISTS timers (
  seq INTEGER PRIMARY KEY, due REAL NOT NULL, run_id INTEGER NOT NULL, customer TEXT NOT NULL,
  kind TEXT NOT NULL, step TEXT);
CREATE TABLE IF NOT EXISTS history (
  id INTEGER PRIMARY KEY, at REAL NOT NULL, customer TEXT NOT NULL, run_id INTEGER,
  journey_id TEXT, step TEXT, what TEXT NOT NULL, why TEXT, detail TEXT, continued TEXT);
CREATE INDEX IF NOT EXISTS history_by_run ON history (run_id);
CREATE INDEX IF NOT EXISTS history_of_customers ON history (customer) WHERE run_id IS NULL;
CREATE INDEX IF NOT EXISTS history_milestones ON history (journey_id) WHERE what = 'milestone';
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY, at REAL NOT NULL, customer TEXT NOT NULL, run_id INTEGER,
  journey_id TEXT, content_hash TEXT, step TEXT, kind TEXT NOT NULL, channel TEXT,
  template TEXT, locale TEXT, text TEXT, payload TEXT NOT NULL, due REAL, status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0, next_try REAL, lease TEXT, sent_at REAL,
  provider_id TEXT, error TEXT);
CREATE INDEX IF NOT EXISTS outbox_by_run ON outbox (run_id);
CREATE TABLE IF NOT EXISTS events (
  ordinal INTEGER PRIMARY KEY, id TEXT NOT NULL, customer TEXT NOT NULL, type TEXT NOT NULL,
  at REAL NOT NULL, note TEXT);
CREATE TABLE IF NOT EXISTS event_ids (id TEXT PRIMARY KEY) WITHOUT ROWID;
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
CREATE TABLE IF NOT EXISTS inbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, customer TEXT NOT NULL,
  received REAL NOT NULL, event TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_work ON outbox (kind, channel, next_try) WHERE next_try IS NOT NULL;
""" + _MIGRATIONS_TABLE + ";\n"


def _customer_timezones(db: Database) -> None:
    """Fill the customers' ``timezone`` column from their profiles (a profile that is not
    JSON is left for the reading checks to report)."""
    found = []
    for ident, profile in db.execute("SELECT id, profile FROM customers").fetchall():
        try:
            zone = json.loads(profile).get("timezone")
        except (TypeError, ValueError, AttributeError, RecursionError):
            continue
        if isinstance(zone, str):
            found.append((zone, ident))
    db.executemany("UPDATE customers SET timezone = ? WHERE id = ?", found)


# How a state of an earlier schema is brought up to the next one (then SCHEMA adds the tables
# and indexes it lacks), all steps in one transaction: 2 keeps runs' variables and milestones,
# 3 records what each version migration did, 4 adds the outbox's delivery columns and the
# inbox, 5 folds a run's history entries of one moment into one row, indexes customers by time
# zone and applied event ids beyond the window kept in memory, 6 keeps with an applied event
# what became of it when no history entry says (``note``) and a pending timer of a run, an SLA
# or a KPI observation in its owner's row (``timers`` keeps the scheduled entries' only). A step
# is a column to add (when the table lacks it), a statement, or a function of the connection.
MIGRATIONS = {
    "1": [("runs", "locals TEXT NOT NULL DEFAULT '{}'")],
    "2": [_MIGRATIONS_TABLE],
    "3": [("outbox", column) for column in (
        "attempts INTEGER NOT NULL DEFAULT 0", "next_try REAL", "lease TEXT", "sent_at REAL",
        "provider_id TEXT", "error TEXT")] + [
        "UPDATE outbox SET next_try = at WHERE status = 'queued' AND kind != 'event'"],
    "4": [("history", "continued TEXT"), ("customers", "timezone TEXT"), _customer_timezones],
    "5": [("events", "note TEXT"), ("runs", "timer_due REAL"),
          "UPDATE runs SET timer_due = (SELECT due FROM timers WHERE timers.seq = runs.timer) "
          "WHERE timer IS NOT NULL",
          "DELETE FROM timers WHERE kind != 'schedule'"],
}

SLA_COLUMNS = "id, customer, run_id, journey_id, step, role, opened, due, status, closed, timer"
OBSERVATION_COLUMNS = ("id, customer, run_id, journey_id, content_hash, kpi, opened, due, status, "
                       "closed, timer")
RUN_COLUMNS = ("id, customer, journey_id, content_hash, status, holdout, stage, step, waiting, "
               "timer, entered_at, step_at, ended_at, outcome, context, event, locals, timer_due")
# What changes of a run as it moves on: RUN_COLUMNS but its JSON values and the columns that
# never change once it is written
RUN_MOVES = ("content_hash, status, holdout, stage, step, waiting, timer, step_at, ended_at, "
             "outcome, timer_due")
TIMER_COLUMNS = "seq, due, run_id, customer, kind, step"
# Every pending timer, as ``timers`` rows and the table it is kept in (``source``): the
# scheduled entries' own rows, and those of runs, SLAs and KPI observations from their owners'
# rows (``{where}``: a condition on ``customer``).
PENDING_TIMERS = f"""SELECT {TIMER_COLUMNS}, 'timers' AS source FROM timers WHERE {{where}}
UNION ALL SELECT timer, timer_due, id, customer,
  CASE waiting WHEN 'time' THEN 'wake' WHEN 'event' THEN 'timeout' ELSE waiting END, step, 'runs'
  FROM runs WHERE timer IS NOT NULL AND status != 'ended' AND {{where}}
UNION ALL SELECT timer, due, id, customer, 'sla', step, 'slas' FROM slas
  WHERE timer IS NOT NULL AND status = 'open' AND {{where}}
UNION ALL SELECT timer, due, id, customer, 'kpi', kpi, 'observations' FROM observations
  WHERE timer IS NOT NULL AND status = 'open' AND {{where}}"""
OUTBOX_COLUMNS = ("id, at, customer, run_id, journey_id, content_hash, step, kind, channel, "
                  "template, locale, text, payload, due, status, next_try")
KNOWN_LIMIT = 5_000_000
PREFETCH_CHUNK = 500
_COMPLETE = {"meta", "versions", "customers", "runs", "timers", "history", "outbox", "events",
             "event_ids", "slas", "observations", "inbox", "migrations"}
CUSTOMER_COLUMNS = "id, profile, state, timezone"
_INDEXED = "ids_indexed"  # meta: the applied events up to this ordinal have their ids indexed


class Write(NamedTuple):
    """One statement of a commit and its rows. ``sql`` runs once per row (executemany); a
    store may write the rows of an ``append``, ``upsert``, ``update`` or ``delete`` of
    ``table`` in bulk instead (``columns``: the rows' columns, for an update the columns it
    sets, the key following them in each row; ``key``: the conflict key, the updated or the
    deleted key; ``keep``: columns an upsert leaves as they are). ``packed``: the columns
    holding packed JSON values (packing.py), stored as JSON text."""

    sql: str
    rows: list
    mode: str | None = None
    table: str | None = None
    columns: str | None = None
    key: str | None = None
    packed: tuple = ()
    keep: tuple = ()

    def finished(self) -> list:
        """The rows with their packed columns as JSON text."""
        return finish(self.rows, self.packed)


def _appends(table: str, columns: str, rows: list, packed: tuple = ()) -> Write:
    marks = ", ".join("?" * len(columns.split(", ")))
    return Write(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows, "append", table,
                 columns, packed=packed)


def _upserts(table: str, columns: str, key: str, rows: list, packed: tuple = (),
             keep: tuple = ()) -> Write:
    return Write(_upsert(table, columns, key, keep), rows, "upsert", table, columns, key,
                 packed, keep)


def _updates(table: str, columns: str, key: str, rows: list, packed: tuple = ()) -> Write:
    """Rows that set ``columns`` of the stored rows they name: those columns, then the key.
    A value that did not change is neither sent to the writer nor made JSON text again."""
    sets = ", ".join(f"{c} = ?" for c in columns.split(", "))
    return Write(f"UPDATE {table} SET {sets} WHERE {key} = ?", rows, "update", table, columns,
                 key, packed)


def _deletes(table: str, key: str, rows: list) -> Write:
    return Write(f"DELETE FROM {table} WHERE {key} = ?", rows, "delete", table, key, key)


def upsert_set(columns: str, key: str, keep: tuple = ()) -> str:
    """The SET clause of an upsert. Columns that never change once written are left out
    (``keep``): a column named there is an index entry rewritten for nothing."""
    return ", ".join(f"{c} = excluded.{c}" for c in columns.split(", ")
                     if c != key and c not in keep)


def _upsert(table: str, columns: str, key: str, keep: tuple = ()) -> str:
    marks = ", ".join("?" * len(columns.split(", ")))
    return (f"INSERT INTO {table} ({columns}) VALUES ({marks}) "
            f"ON CONFLICT ({key}) DO UPDATE SET {upsert_set(columns, key, keep)}")


def _index_ids(ids: list[str]) -> Write:
    """Applied ids moved to their index, sorted by SQLite in the writer (in the order they
    came, each insert would land on another page of the index): one JSON array of them. An
    id holding a NUL, which SQLite's JSON functions cut short, sends them row by row, sorted."""
    if not ids or "\x00" in "".join(ids):
        return _appends("event_ids", "id", [(ident,) for ident in sorted(ids)])
    return Write("INSERT INTO event_ids (id) SELECT value FROM json_each(?) ORDER BY value",
                 [(pack(ids),)], packed=(0,))


def event_json(event: Event) -> str:
    """An event as the inbox keeps it (``at`` in epoch seconds, exactly)."""
    return dumps({"id": event.id, "type": event.type, "customer": event.customer, "at": event.at,
                  "attributes": event.attributes, "data": event.data})


def event_from_json(text: str) -> Event:
    raw = json.loads(text)
    return Event(raw["id"], raw["type"], raw["customer"], raw["at"], raw["attributes"], raw["data"])


def prepare(db: Database, where: str) -> None:
    """Create or upgrade the tables; StoreError when the database holds something else."""
    tables = db.tables()
    if tables and "meta" not in tables:
        raise StoreError(f"{where}: a database, but not a journeylang state")
    found = None
    if tables:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        found = row[0] if row else None
    steps, version = [], found
    while version not in (None, SCHEMA_VERSION):
        if version not in MIGRATIONS:
            raise StoreError(f"{where}: state schema {found}, this journeylang reads {SCHEMA_VERSION}")
        steps += MIGRATIONS[version]
        version = str(int(version) + 1)
    if found == SCHEMA_VERSION and _COMPLETE <= tables:
        return
    with db.transaction():
        db.exclusive()
        for step in steps:
            if isinstance(step, str):
                db.execute(db.schema(step))
            elif callable(step):
                step(db)
            elif step[1].split()[0] not in db.columns(step[0]):
                db.execute(db.schema(f"ALTER TABLE {step[0]} ADD COLUMN {step[1]}"))
        for statement in db.schema(SCHEMA).split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute("INSERT INTO meta (key, value) VALUES ('schema', ?) ON CONFLICT (key) "
                   "DO UPDATE SET value = excluded.value", (SCHEMA_VERSION,))


class SqlStore(MemoryStore):
    """Durable state in SQL tables; one writer at a time (the subclass keeps others out).

    ``db`` is the store's connection for reads; a commit's statements go to ``_submit``.
    """

    durable = True
    keeps_seen = True  # the ids of applied events are held in memory (else asked per batch)
    # Whether inbox rows become visible in the order of their numbers (one writer at a time).
    # Else a row numbered earlier may commit later, so every read starts from the beginning
    # (what was taken is gone once its commit is in: such a store commits synchronously).
    ordered_inbox = True
    in_flight = 1  # commits that may not be in the database yet when ``_submit`` returns

    def __init__(self, db: Database, where: str, cache_limit: int = 500_000,
                 dedup_window: int = DEFAULT_WINDOW):
        super().__init__(keep_rows=False)
        self.db, self.where, self.cache_limit = db, where, cache_limit
        self.dedup_window = dedup_window
        self.rows = RowReader(where)
        self._schedules: set[int] = set()  # the timers of the ``timers`` table (pending_timers)
        self._shapes: dict[str, tuple[frozenset, frozenset]] = {}  # version: its steps, KPIs
        self._clear_buffers()
        self._inbox_after = 0
        self._read_committed()

    def _read_committed(self) -> None:
        self.meta = self.rows.meta(dict(self.db.execute("SELECT key, value FROM meta")))
        # Ids of stored customers, so a new customer costs no query (up to a size worth keeping).
        count = self.db.execute("SELECT count(*) FROM customers").fetchone()[0]
        self.known: set[str] | None = None if count > KNOWN_LIMIT else {
            r[0] for r in self.db.execute("SELECT id FROM customers")}
        # The ids of the newest applied events, in memory; older ones in the id index. Indexing
        # every id as it is applied dirties a page of a random-key B-tree per event at every
        # commit (measured: the largest cost at scale); moved there in sorted chunks of half a
        # window, the ids that share a page share its write.
        if self.keeps_seen:
            indexed = int(self.meta.get(_INDEXED, "0"))
            self.applied = AppliedIds(self.dedup_window, indexed, self.db.execute(
                "SELECT ordinal, id FROM events WHERE ordinal > ? ORDER BY ordinal",
                (indexed,)).fetchall())

    def _clear_buffers(self) -> None:
        self.unit: dict[str, Customer] = {}
        # customers: rows whose time zone is unchanged; zoned: new ones, or a zone changed;
        # states, profiles: (value, id) of customers of which only that value changed;
        # moved: RUN_MOVES rows of runs whose JSON values did not change
        self._rows: dict[str, list] = {"customers": [], "zoned": [], "states": [],
                                       "profiles": [], "runs": [], "moved": [], "slas": [],
                                       "observations": []}
        self._timers_new: dict[int, Timer] = {}
        self._timers_gone: set[int] = set()
        self._history = Journal()
        self.history = self._history.add  # the executor's most frequent call, made directly
        self._outbox: list = []
        self._cancels: list[tuple[str, int]] = []
        self._events: list[tuple] = []
        self._versions_new: list[tuple] = []
        self._inbox_taken: list[tuple[int]] = []
        self.migrations: list[tuple] = []

    # --- reading ------------------------------------------------------------------------------

    def load_customer(self, customer_id: str) -> Customer:
        if self.known is not None and customer_id not in self.known:
            return Customer(customer_id)
        row = self.db.execute("SELECT profile, state, timezone FROM customers WHERE id = ?",
                              (customer_id,)).fetchone()
        if row is None:
            return Customer(customer_id)
        customer = self._customer(customer_id, row)
        customer.runs = [self._run(r) for r in self.db.execute(
            f"SELECT {RUN_COLUMNS} FROM runs WHERE customer = ? AND status != ? ORDER BY id",
            (customer_id, ENDED))]
        customer.slas = [self.rows.record("slas", r) for r in self.db.execute(
            f"SELECT {SLA_COLUMNS} FROM slas WHERE customer = ? AND status = ? ORDER BY id",
            (customer_id, OPEN))]
        live = {run.id for run in customer.runs}
        customer.observations = [self._observation(r) for r in self.db.execute(
            f"SELECT {OBSERVATION_COLUMNS} FROM observations WHERE customer = ? ORDER BY id",
            (customer_id,)) if r[8] == OPEN or r[2] in live]
        return customer

    def holds(self, customer_id: str) -> bool:
        found = self.customers.get(customer_id)
        if found is not None:
            return found.stored is not None
        return self.known is not None and customer_id in self.known

    def prefetch(self, customer_ids) -> None:
        """Load the stored customers among ``customer_ids`` that are not cached, a few queries
        for many (a round trip per customer is what a server costs)."""
        batch = dict.fromkeys(customer_ids)
        missing = batch.keys() - self.customers.keys()  # set operations: most are cached
        if self.known is not None:
            missing &= self.known
        if not missing:
            return
        wanted = [c for c in batch if c in missing]  # in the order they come
        for start in range(0, len(wanted), PREFETCH_CHUNK):
            self._prefetch(wanted[start:start + PREFETCH_CHUNK])

    def _prefetch(self, ids: list[str]) -> None:
        marks = ",".join("?" * len(ids))
        found = {r[0]: self._customer(r[0], r[1:]) for r in self.db.execute(
            f"SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id IN ({marks})", ids)}
        for r in self.db.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE customer IN ({marks}) "
                                 f"AND status != ? ORDER BY id", [*ids, ENDED]):
            self._owner(found, "runs", r).runs.append(self._run(r))
        for r in self.db.execute(f"SELECT {SLA_COLUMNS} FROM slas WHERE customer IN ({marks}) "
                                 f"AND status = ? ORDER BY id", [*ids, OPEN]):
            self._owner(found, "slas", r).slas.append(self.rows.record("slas", r))
        for r in self.db.execute(f"SELECT {OBSERVATION_COLUMNS} FROM observations "
                                 f"WHERE customer IN ({marks}) ORDER BY id", ids):
            customer = self._owner(found, "observations", r)
            if r[8] == OPEN or any(run.id == r[2] for run in customer.runs):
                customer.observations.append(self._observation(r))
        for ident in ids:
            self.customers[ident] = found.get(ident) or Customer(ident)

    def _owner(self, found: dict, table: str, row) -> Customer:
        """The customer a prefetched row belongs to (a row without its customer is damage)."""
        if row[1] not in found:
            self.rows.fail(table, row[0], "customer", f"no stored customer {row[1]!r}")
        return found[row[1]]

    def _customer(self, customer_id: str, row) -> Customer:
        """A customer from its row (profile, state, timezone)."""
        profile, sends, entries, events = self.rows.customer(customer_id, row[0], row[1])
        customer = Customer(customer_id, profile, sends, entries, events=events)
        customer.stored = (pack(profile), pack(_state(customer)), row[2])
        customer.profile_changed = customer.state_changed = False
        return customer

    def _run(self, row) -> Run:
        run = self._known(self.rows.run(row))
        run.stored = _run_row(run)
        return run

    def _observation(self, row) -> Observation:
        return self._known(self.rows.record("observations", row))

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

    def customers_in(self, content_hashes) -> list[str]:
        hashes = list(content_hashes)
        marks = ",".join("?" * len(hashes))
        stored = {r[0] for r in self.db.execute(
            f"SELECT DISTINCT customer FROM runs WHERE status != ? AND content_hash IN ({marks})",
            (ENDED, *hashes))} if hashes else set()
        return sorted(stored | set(super().customers_in(hashes)))

    def timezones(self) -> set:
        stored = {r[0] for r in self.db.execute("SELECT DISTINCT timezone FROM customers")}
        return stored | super().timezones()

    def customers_in_timezones(self, names) -> list[str]:
        """The stored customers whose profile's ``timezone`` is one of ``names`` (None: a
        profile without one, or with something other than text), and the cached customers
        whose profile has one of them now, sorted. A stored row may be older than the cached
        customer: the caller checks each one's profile."""
        names = set(names)
        texts = sorted(n for n in names if isinstance(n, str))
        found = set(super().customers_in_timezones(names))
        for start in range(0, len(texts), PREFETCH_CHUNK):
            chunk = texts[start:start + PREFETCH_CHUNK]
            found.update(r[0] for r in self.db.execute(
                f"SELECT id FROM customers WHERE timezone IN ({','.join('?' * len(chunk))})",
                chunk))
        if None in names:
            found.update(r[0] for r in self.db.execute(
                "SELECT id FROM customers WHERE timezone IS NULL"))
        return sorted(found)

    def pending_timers(self) -> list[Timer]:
        found = [self.rows.timer(row) for row in self.db.execute(
            PENDING_TIMERS.format(where="1 = 1") + " ORDER BY 1")]
        self._schedules = {t.seq for t in found if type(t.payload) is Occurrence}
        return found

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
                found.append(tables_from_dict(loads(text), f"{self.where} ({content_hash[:19]})"))
            except (ValueError, TypeError, RecursionError, TablesError) as exc:
                raise StoreError(f"{self.where}: stored version {content_hash} is damaged: "
                                 f"{exc}") from None
        return found

    def processed(self, ids) -> set[str]:
        """The ids among ``ids`` of events applied before: in memory, else in the index of
        older ids (``event_ids``; on a store that does not keep them, the events table's)."""
        if not self.keeps_seen:
            return self._indexed("events", list(ids))
        applied = self.applied
        found = applied.among(ids)
        if applied.indexed:
            found |= self._indexed("event_ids", [i for i in ids if i not in found])
        return found

    def _indexed(self, table: str, ids: list[str]) -> set[str]:
        """The ids among ``ids`` that ``table`` holds, looked up in sorted chunks: neighbouring
        ids share the index's pages (measured in a whole run of the full mixed stream, an index
        of up to 555,000 ids: a fifth less time than the ids in the order they came)."""
        ids, found = sorted(ids), set()
        for start in range(0, len(ids), PREFETCH_CHUNK):
            chunk = ids[start:start + PREFETCH_CHUNK]
            found.update(r[0] for r in self.db.execute(
                f"SELECT id FROM {table} WHERE id IN ({','.join('?' * len(chunk))})", chunk))
        return found

    # --- the inbox: events accepted, not yet applied ------------------------------------------

    def read_inbox(self, limit: int) -> list[tuple[int, float, Event]]:
        """Up to ``limit`` accepted events in the order they came, after those already taken:
        ``(seq, received at, event)``."""
        rows = self.db.execute("SELECT seq, received, event FROM inbox WHERE seq > ? "
                               "ORDER BY seq LIMIT ?", (self._inbox_after, limit)).fetchall()
        if rows and self.ordered_inbox:
            self._inbox_after = rows[-1][0]
        return [(seq, received, event_from_json(text)) for seq, received, text in rows]

    def take_inbox(self, seqs) -> None:
        """Inbox rows applied (or found applied before): deleted in the next commit."""
        self._inbox_taken.extend((seq,) for seq in seqs)

    # --- buffered writes ----------------------------------------------------------------------

    def write(self, customer: Customer) -> None:
        """Buffer the rows of what changed in a customer since they were last written: the
        JSON values marked changed packed again (the others as last written), each row
        compared with the one last written."""
        stored = customer.stored
        if stored is None or customer.profile_changed or customer.state_changed:
            self._write_customer(customer, stored)
        if customer.runs:
            self._changed_runs(customer.runs)
        if customer.slas:
            self._changed(customer.slas, _sla_row, self._rows["slas"])
        if customer.observations:
            self._changed(customer.observations, _observation_row, self._rows["observations"])
        for record in customer.retired:
            row = _ROW_OF[type(record)](record)
            if record.stored != row:
                record.stored = row
                self._rows[_TABLE_OF[type(record)]].append(row)
        if CHECK_MARKS:
            check_marks(customer)

    def _write_customer(self, customer: Customer, stored: tuple | None) -> None:
        fresh = stored is None
        profile = pack(customer.profile) if fresh or customer.profile_changed else stored[0]
        state = pack(_state(customer)) if fresh or customer.state_changed else stored[1]
        customer.profile_changed = customer.state_changed = False
        if fresh or stored[0] != profile or stored[1] != state:
            zone = profile_zone(customer.profile)
            customer.stored = (profile, state, zone)
            if fresh or stored[2] != zone:
                self._rows["zoned"].append((customer.id, profile, state, zone))
            elif stored[0] == profile:  # one value changed: the other is not sent again
                self._rows["states"].append((state, customer.id))
            elif stored[1] == state:
                self._rows["profiles"].append((profile, customer.id))
            else:
                self._rows["customers"].append((customer.id, profile, state, zone))

    @staticmethod
    def _changed(records: list, row_of, rows: list) -> None:
        """Buffer the rows of the records that changed since they were last written."""
        for record in records:
            row = row_of(record)
            if record.stored != row:
                record.stored = row
                rows.append(row)

    def _changed_runs(self, runs: list) -> None:
        """Buffer the rows of the runs that changed since they were last written; a stored
        run whose JSON values are as written updates its other columns only."""
        rows, moved = self._rows["runs"], self._rows["moved"]
        for run in runs:
            old, row = run.stored, _run_row(run)
            if old != row:
                run.stored = row
                if old is None or old[14:17] != row[14:17]:
                    rows.append(row)
                else:  # RUN_MOVES, then the id
                    moved.append((*row[3:10], *row[11:14], row[17], row[0]))

    def add_timer(self, timer: Timer) -> None:
        """A timer of a scheduled entry has a row of its own; the others are written with
        their owners (a run's, an SLA's or a KPI observation's ``timer`` and due time)."""
        if type(timer.payload) is Occurrence:
            self._timers_new[timer.seq] = timer
            self._schedules.add(timer.seq)

    def drop_timer(self, seq: int) -> None:
        if seq in self._schedules:
            self._schedules.discard(seq)
            if self._timers_new.pop(seq, None) is None:
                self._timers_gone.add(seq)

    def history(self, row) -> None:
        """A history entry (HISTORY_COLUMNS), folded into this commit's rows."""
        self._history.add(row)

    def outbox(self, action) -> None:
        self._outbox.append(action)

    def cancel_outbox(self, customer_id: str, up_to: int) -> None:
        self._cancels.append((customer_id, up_to))

    def mark_processed(self, event, ordinal: int, note: str | None = None) -> None:
        self._events.append((ordinal, event.id, event.customer, event.type, event.at, note))

    def save_version(self, tables: Tables, loaded_seq: int) -> None:
        self._versions_new.append((tables.content_hash, tables.journey_id,
                                   tables.journey["version"], loaded_seq,
                                   json.dumps(tables.to_dict(), ensure_ascii=False)))

    # --- transactions -------------------------------------------------------------------------

    def commit(self, counters: dict[str, int], wait: bool = True) -> None:
        """Write every buffered change and the counters in one transaction.

        The rows are taken here; ``_submit`` runs the SQL. With ``wait=False`` the caller may
        go on (with the next batches: ``in_flight`` commits at most) while it does; a failed
        write is raised by a later ``commit`` or by ``sync``, and the caller must then
        ``rollback``.
        """
        unit = list(self.unit)
        self._write_unit()
        meta = {k: str(v) for k, v in counters.items()}
        indexing = []
        if self.keeps_seen:
            if self._events:
                self.applied.extend(self._events[0][0], [row[1] for row in self._events])
            indexing, indexed = self.applied.to_index()
            if indexing:
                meta[_INDEXED] = str(indexed)
        job = self._snapshot(meta, indexing)
        self.meta.update(meta)
        if self.known is not None:
            self.known.update(unit)
        self._clear_buffers()
        self._submit(job)
        if self.keeps_seen:
            self.applied.stored(in_flight=self.in_flight)
        if wait or len(self.customers) > self.cache_limit:
            self.sync()
            if len(self.customers) > self.cache_limit:
                self.customers.clear()  # only once the database holds what they hold

    def _submit(self, job) -> None:
        raise NotImplementedError

    def sync(self) -> None:
        """Wait until every commit is stored; StoreError if one did not make it."""
        self._wait()
        if self.keeps_seen:
            self.applied.stored()

    def _wait(self) -> None:
        """Wait for the commits in flight (a store that commits synchronously has none)."""

    def _snapshot(self, meta: dict[str, str], indexing: list[str]) -> list[Write]:
        """The writes of one transaction, with their rows (plain values and packed bytes, no
        live objects)."""
        rows = self._rows
        history = self._history.rows
        for row in history:
            if row[CONTINUED] is not None:
                row[CONTINUED] = pack(row[CONTINUED])
        return [
            _upserts("versions", "content_hash, journey_id, version, loaded_seq, tables",
                     "content_hash", self._versions_new),
            _upserts("customers", CUSTOMER_COLUMNS, "id", rows["customers"], (1, 2),
                     keep=("timezone",)),
            _upserts("customers", CUSTOMER_COLUMNS, "id", rows["zoned"], (1, 2)),
            _updates("customers", "state", "id", rows["states"], (0,)),
            _updates("customers", "profile", "id", rows["profiles"], (0,)),
            _upserts("runs", RUN_COLUMNS, "id", rows["runs"], _RUN_PACKED, keep=_RUN_FIXED),
            _updates("runs", RUN_MOVES, "id", rows["moved"]),
            _appends("timers", TIMER_COLUMNS, [t.row() for t in self._timers_new.values()]),
            _deletes("timers", "seq", [(seq,) for seq in self._timers_gone]),
            _appends("history", HISTORY_ROW, history, (CONTINUED,)),
            _appends("outbox", OUTBOX_COLUMNS, [_outbox_row(a) for a in self._outbox], (12,)),
            Write("UPDATE outbox SET status = 'cancelled', next_try = NULL WHERE run_id IN "
                  "(SELECT id FROM runs WHERE customer = ?) AND id <= ? AND status = 'queued' "
                  "AND kind = 'message'", self._cancels),
            _appends("events", "ordinal, id, customer, type, at, note", self._events),
            _index_ids(indexing),
            _deletes("inbox", "seq", self._inbox_taken),
            _upserts("slas", SLA_COLUMNS, "id", rows["slas"]),
            _upserts("observations", OBSERVATION_COLUMNS, "id", rows["observations"]),
            _appends("migrations", ", ".join(MIGRATION_COLUMNS), self.migrations),
            _upserts("meta", "key, value", "key", sorted(meta.items())),
        ]

    def rollback(self) -> None:
        """Forget everything not in the database and reread what is."""
        self._abandon()
        self._clear_buffers()
        self.customers.clear()
        self._inbox_after = 0
        self._read_committed()

    def _abandon(self) -> None:
        """Wait for (or drop) the commits in flight before rereading."""

    def counters(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.meta.items() if k.startswith("next_")}


def _state(customer: Customer) -> dict:
    """What the ``state`` column keeps of a customer: sends, entries, and events if any."""
    if customer.events:
        return {"sends": customer.sends, "entries": customer.entries, "events": customer.events}
    return {"sends": customer.sends, "entries": customer.entries}


def _run_row(r: Run) -> tuple:
    """A run as a ``runs`` row, in RUN_COLUMNS order: its JSON values packed again when they
    are marked changed, else as last written (the caller keeps the row as written, or it is
    the same)."""
    if r.values_changed or r.stored is None:
        r.values_changed = False
        values = _run_values(r)
    else:
        values = r.stored[14:17]
    return (r.id, r.customer, r.journey_id, r.content_hash, r.status, int(r.holdout), r.stage,
            r.step, r.waiting, r.timer, r.entered_at, r.step_at, r.ended_at, r.outcome, *values,
            r.timer_due)


def _run_values(r: Run) -> tuple[bytes, bytes, bytes]:
    """A run's JSON values packed: context, event, locals."""
    try:
        return encode(r.context), encode(r.event), encode(_locals(r))
    except UNPACKABLE:
        return pack(r.context), pack(r.event), pack(_locals(r))


class UnmarkedChange(AssertionError):
    """A JSON value changed without its mark (Customer): it would not have been saved."""


def check_marks(customer: Customer) -> None:
    """Pack every JSON value of a customer just written and compare it with what the store
    holds as written (JOURNEYLANG_CHECK_MARKS=1): UnmarkedChange when one differs."""
    stored = customer.stored
    if stored is not None:
        if pack(customer.profile) != stored[0]:
            raise UnmarkedChange(f"customer {customer.id}: the profile changed without "
                                 f"profile_changed")
        if pack(_state(customer)) != stored[1]:
            raise UnmarkedChange(f"customer {customer.id}: sends, entries or events changed "
                                 f"without state_changed")
    for run in (*customer.runs, *(r for r in customer.retired if type(r) is Run)):
        if run.stored is not None and _run_values(run) != run.stored[14:17]:
            raise UnmarkedChange(f"run {run.id}: its context, event or locals changed without "
                                 f"values_changed")


_RUN_PACKED = (14, 15, 16)
_RUN_FIXED = ("customer", "journey_id", "entered_at")  # never change once a run is written


def _locals(r: Run) -> dict:
    """A run's variables, milestones reached, experiment arms and correlation key: the
    ``locals`` column."""
    found = {key: value for key, value in (("vars", r.vars), ("milestones", r.milestones),
                                           ("arms", r.arms)) if value}
    if r.key is not None:
        found["key"] = r.key  # the run's correlation key
    return found


def _sla_row(s: Sla) -> tuple:
    return (s.id, s.customer, s.run_id, s.journey_id, s.step, s.role, s.opened, s.due,
            s.status, s.closed, s.timer)


def _observation_row(o: Observation) -> tuple:
    return (o.id, o.customer, o.run_id, o.journey_id, o.content_hash, o.kpi, o.opened, o.due,
            o.status, o.closed, o.timer)


def _outbox_row(a) -> tuple:
    """An action as an ``outbox`` row: queued actions are due for the delivery worker at once
    (an emitted event is applied by the runtime itself: its row is a record)."""
    next_try = a.at if a.status == "queued" and a.kind != "event" else None
    return (a.id, a.at, a.customer, a.run_id, a.journey_id, a.content_hash, a.step, a.kind,
            a.channel, a.template, a.locale, a.text, pack(a.payload), a.due, a.status,
            next_try)


_ROW_OF = {Run: _run_row, Sla: _sla_row, Observation: _observation_row}
_TABLE_OF = {Run: "runs", Sla: "slas", Observation: "observations"}

__all__ = ["SCHEMA_VERSION", "SqlStore", "StoreError", "database_errors", "dumps", "event_from_json",
           "event_json", "prepare"]
