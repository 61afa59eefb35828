"""Bounds on every input: what lies outside them is refused with a diagnostic (docs/language.md,
"19. Limits"), so nothing a check accepts can overflow later in compile, run or simulate."""
from __future__ import annotations

MAX_FILE_BYTES = 1_048_576        # a journey, fragment, cohort, configuration or template file
MAX_EVENT_BYTES = 1_048_576       # one line of an events file
MAX_NESTING = 64                  # expressions, YAML, JSON (events, tables), TOML
MAX_YAML_NODES = 200_000          # YAML values in one file, aliases expanded
MAX_NUMBER = 2**53 - 1            # numbers in conditions, params and coupon values
MAX_WHOLE = 2**31 - 1             # version, cap, capacity, expected entries, day of a schedule
MAX_DURATION = 3650 * 86400       # seconds: ten years
MAX_TEMPLATE_CHARS = 100_000      # one template text
MAX_OUTPUT_CHARS = 100_000        # a rendered message, and any text or list built on the way
MAX_LOOP_ITERATIONS = 100_000     # loop iterations while rendering one message
MAX_RENDER_SECONDS = 0.25         # time to render one message
MAX_COHORT_SIZE = 100_000_000     # customers in one simulated cohort
MAX_INSTANT_ITEMS = 1_000         # events and timers one simulated customer takes at one instant
EARLIEST_TIME = 0.0               # 1970-01-01T00:00:00Z: events, cohort starts, --until
LATEST_TIME = 221845392000.0      # 9000-01-01T00:00:00Z: far enough that ten-year waits fit

