"""Compile stage: checked journeys to flat step tables, their writers and readers."""
from __future__ import annotations

from .conditions import compile_condition, compile_tree, condition_tree, evaluate, holds, to_tree
from .tables import FORMAT, SCHEMA, Tables, compile_journey, content_hash, default_compiled_at
from .writers import (FORMATS, TablesError, read_tables, write_csv, write_json, write_sqlite,
                      write_tables)

__all__ = ["FORMAT", "FORMATS", "SCHEMA", "Tables", "TablesError", "compile_condition",
           "compile_tree", "condition_tree",
           "compile_journey", "content_hash", "default_compiled_at", "evaluate", "holds",
           "read_tables", "to_tree", "write_csv", "write_json", "write_sqlite", "write_tables"]
