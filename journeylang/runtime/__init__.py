"""Runtime stage: execute compiled journeys against customer events, with durable state."""
from __future__ import annotations

from .channels import Action, Adapters, ChannelAdapter, MemoryAdapter, OutboxAdapter, TemplateRenderer
from .engine import EVENT, TIMER, Engine, VirtualClock, WallClock
from .events import Event, EventError, event_from_dict, iso, parse_time, read_events, write_events
from ..semantics import OPT_OUT_EVENTS
from .executor import Executor
from .migrate import MigrationError
from .program import STEP_KINDS, Program, build_program
from .runtime import DEFAULT_BATCH, IngestReport, Runtime, RuntimeSetupError
from .state import HISTORY_COLUMNS, Customer, MemoryStore, Run, Timer
from .database import StoreError
from .store import SqliteStore, open_store

__all__ = ["DEFAULT_BATCH", "Action", "Adapters", "ChannelAdapter", "Customer", "EVENT", "Engine", "Event",
           "EventError", "Executor", "HISTORY_COLUMNS", "IngestReport", "MemoryAdapter", "MemoryStore",
           "MigrationError",
           "OPT_OUT_EVENTS", "OutboxAdapter", "Program", "Run", "Runtime", "RuntimeSetupError",
           "STEP_KINDS", "SqliteStore", "StoreError", "open_store", "TIMER", "TemplateRenderer", "Timer",
           "VirtualClock", "WallClock", "build_program", "event_from_dict", "iso", "parse_time",
           "read_events", "write_events"]
