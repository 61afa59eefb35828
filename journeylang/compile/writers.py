"""Compile stage: write step tables as JSON, a folder of CSV files or SQLite, and read them back.

Every writer is deterministic: the same tables give the same bytes (no timestamps, fixed
column and row order, files replaced atomically).
"""
from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import tempfile
from pathlib import Path

from ..diagnostics import TablesError  # noqa: F401 (raised here, caught by callers)
from ..limits import MAX_NUMBER
from .conditions import ConditionError, validate
from .tables import ADDED_COLUMNS, ADDED_TABLES, FORMAT, SCHEMA, Tables
from .validate import Bad, check_tables

FORMATS = ("json", "csv", "sqlite")
SQLITE_MAGIC = b"SQLite format 3\x00"
_SQL_TYPES = {"text": "TEXT", "int": "INTEGER", "real": "REAL", "json": "TEXT"}


def _json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(tables: Tables, path: str | Path) -> Path:
    path = Path(path)
    _atomic_write(path, tables.canonical_json().encode("utf-8"))
    return path


def _csv_cell(kind: str, value) -> str:
    if kind.startswith("json"):
        return "" if value is None else _json_text(value)
    if value is None:
        return ""
    return repr(float(value)) if kind.startswith("real") else str(value)


def write_csv(tables: Tables, folder: str | Path) -> Path:
    """One ``<table>.csv`` per table in ``folder`` (created when missing)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise TablesError(f"{folder}: exists and is not a folder (CSV output is a folder)")
    for name, columns in SCHEMA.items():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([column for column, _ in columns])
        for row in tables.rows[name]:
            writer.writerow([_csv_cell(kind, row[column]) for column, kind in columns])
        _atomic_write(folder / f"{name}.csv", buffer.getvalue().encode("utf-8"))
    return folder


def write_sqlite(tables: Tables, path: str | Path) -> Path:
    """A fresh SQLite file with one table per step table (rollback journal, not WAL)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    os.unlink(tmp)
    try:
        connection = sqlite3.connect(tmp)
        with connection:
            connection.execute("PRAGMA page_size = 4096")
            connection.execute("PRAGMA journal_mode = DELETE")
            for name, columns in SCHEMA.items():
                spec = ", ".join(f"{c} {_SQL_TYPES[k.rstrip('?')]}{'' if k.endswith('?') else ' NOT NULL'}"
                                 for c, k in columns)
                connection.execute(f"CREATE TABLE {name} ({spec})")
                marks = ", ".join("?" * len(columns))
                connection.executemany(
                    f"INSERT INTO {name} VALUES ({marks})",
                    [[_sql_cell(kind, row[c]) for c, kind in columns] for row in tables.rows[name]])
            connection.execute("PRAGMA user_version = 1")
        connection.close()
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def _sql_cell(kind: str, value):
    if kind.startswith("json"):
        return None if value is None else _json_text(value)
    return value


WRITERS = {"json": write_json, "csv": write_csv, "sqlite": write_sqlite}


def write_tables(tables: Tables, path: str | Path, fmt: str) -> Path:
    if fmt not in WRITERS:
        raise TablesError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    return WRITERS[fmt](tables, path)


# --- reading ------------------------------------------------------------------------------------

def read_tables(path: str | Path) -> Tables:
    """Tables from a JSON file, a CSV folder or a SQLite file; TablesError when unusable."""
    path = Path(path)
    if path.is_dir():
        raw = _read_csv(path)
    elif not path.is_file():
        raise TablesError(f"{path}: no such file or folder")
    else:
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
        raw = _read_sqlite(path) if head == SQLITE_MAGIC else _read_json(path)
    return tables_from_dict(raw, path)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


_decode = json.JSONDecoder(parse_constant=_no_constant).decode


def loads(text: str):
    """JSON as tables hold it: no NaN or Infinity. ValueError (JSONDecodeError included) or
    RecursionError when it is not."""
    return _decode(text)


def _read_json(path: Path) -> dict:
    try:
        data = loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise TablesError(f"{path}: not a tables file (JSON, a CSV folder or SQLite): {exc}") from None
    except RecursionError:
        raise TablesError(f"{path}: not a tables file: JSON nested too deeply") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise TablesError(f"{path}: not a journeylang tables file (expected format {FORMAT!r})")
    return data


def _older(name: str, columns) -> tuple:
    """The columns of ``name`` as written before the operations columns were added."""
    added = ADDED_COLUMNS.get(name, ())
    return tuple((c, k) for c, k in columns if c not in added)


def _read_csv(folder: Path) -> dict:
    data: dict = {}
    for name, columns in SCHEMA.items():
        file = folder / f"{name}.csv"
        if name in ADDED_TABLES and not file.exists():
            data[name] = []  # written before the table existed
            continue
        try:
            with open(file, encoding="utf-8", newline="") as handle:
                rows = list(csv.reader(handle))
        except OSError as exc:
            raise TablesError(f"{file}: cannot read: {exc.strerror or exc}") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise TablesError(f"{file}: not a CSV table: {exc}") from None
        header = [c for c, _ in columns]
        if rows and rows[0] == [c for c, _ in _older(name, columns)] and rows[0] != header:
            columns = _older(name, columns)
        elif not rows or rows[0] != header:
            raise TablesError(f"{file}:1: expected the columns {','.join(header)}")
        data[name] = []
        for number, cells in enumerate(rows[1:], start=2):
            if len(cells) != len(columns):
                raise TablesError(f"{file}:{number}: expected {len(columns)} cells, found {len(cells)}")
            try:
                data[name].append({c: _from_csv(kind, cell) for (c, kind), cell in zip(columns, cells)})
            except ValueError as exc:
                raise TablesError(f"{file}:{number}: {exc}") from None
            except RecursionError:
                raise TablesError(f"{file}:{number}: JSON nested too deeply") from None
    return data


def _from_csv(kind: str, cell: str):
    nullable, base = kind.endswith("?"), kind.rstrip("?")
    if cell == "" and (nullable or base == "json"):
        return None
    if base == "int":
        return int(cell)
    if base == "real":
        return float(cell)
    if base == "json":
        return loads(cell)
    return cell


def _read_sqlite(path: Path) -> dict:
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            data = {}
            present = {r[0] for r in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            for name, columns in SCHEMA.items():
                if name in ADDED_TABLES and name not in present:
                    data[name] = []
                    continue
                found = {r[1] for r in connection.execute(f"PRAGMA table_info({name})")}
                names = ", ".join(c if c in found or c not in ADDED_COLUMNS.get(name, ()) else "NULL"
                                  for c, _ in columns)
                rows = connection.execute(f"SELECT {names} FROM {name} ORDER BY rowid").fetchall()
                data[name] = [{c: (loads(v) if k.startswith("json") and v is not None else v)
                               for (c, k), v in zip(columns, row)} for row in rows]
            return data
        finally:
            connection.close()
    except (sqlite3.Error, ValueError, TypeError) as exc:
        raise TablesError(f"{path}: not a journeylang tables database: {exc}") from None
    except RecursionError:
        raise TablesError(f"{path}: not a journeylang tables database: JSON nested too deeply") \
            from None


def tables_from_dict(raw: dict, path) -> Tables:
    """Typed, validated tables; anything malformed is a TablesError naming ``path`` and the table."""
    tables = Tables()
    if not isinstance(raw, dict):
        raise TablesError(f"{path}: not a journeylang tables file (expected a JSON object)")
    for name, columns in SCHEMA.items():
        rows = raw.get(name, [] if name in ADDED_TABLES else None)
        if not isinstance(rows, list):
            raise TablesError(f"{path}: table {name!r} is missing")
        older = {c for c, _ in _older(name, columns)}
        for index, row in enumerate(rows):
            if isinstance(row, dict) and set(row) == older:
                row = {c: row.get(c) for c, _ in columns}  # written before the added columns
            if not isinstance(row, dict) or set(row) != {c for c, _ in columns}:
                raise TablesError(f"{path}: table {name!r}, row {index + 1}: wrong columns")
            for column, kind in columns:
                _check_cell(path, name, index, column, kind, row[column])
            tables.add(name, **row)
    if len(tables.rows["journey"]) != 1:
        raise TablesError(f"{path}: table 'journey' must have exactly one row")
    if tables.journey["format"] != FORMAT:
        raise TablesError(f"{path}: unsupported format {tables.journey['format']!r} (expected {FORMAT!r})")
    for name, index, tree in _trees(tables):
        try:
            validate(tree)
        except ConditionError as exc:
            raise TablesError(f"{path}: table {name!r}, row {index + 1}: {exc}") from None
    try:
        check_tables(tables)
    except Bad as exc:
        raise TablesError(f"{path}: {exc}") from None
    return tables


def _trees(tables: Tables):
    """(table, row index, tree) of every condition and ``set`` expression in the tables."""
    for name, column in (("triggers", "condition"), ("transitions", "condition"),
                         ("journey", "audience"), ("kpis", "condition"), ("handlers", "condition")):
        for index, row in enumerate(tables.rows[name]):
            yield name, index, row[column]
    for name, column in (("steps", "params"), ("handlers", "actions")):
        for index, row in enumerate(tables.rows[name]):
            actions = row[column] if isinstance(row[column], list) else []
            for step in ([row] if name == "steps" else actions):
                if isinstance(step, dict) and step.get("kind") == "set" \
                        and isinstance(step.get("params"), dict):
                    yield name, index, step["params"].get("value")


_PYTHON_TYPES = {"text": (str,), "int": (int,), "real": (int, float)}


def _check_cell(path, table, index, column, kind, value) -> None:
    base = kind.rstrip("?")
    if value is None:
        if kind.endswith("?") or base == "json":
            return
        raise TablesError(f"{path}: table {table!r}, row {index + 1}: {column} is missing")
    if base in _PYTHON_TYPES and (isinstance(value, bool) or not isinstance(value, _PYTHON_TYPES[base])):
        raise TablesError(f"{path}: table {table!r}, row {index + 1}: {column} must be {base}")
    if base == "real" and not abs(value) <= MAX_NUMBER:  # NaN and infinities included
        raise TablesError(f"{path}: table {table!r}, row {index + 1}: {column} must be a finite "
                          f"number within +-{MAX_NUMBER:,}")
