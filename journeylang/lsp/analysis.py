"""Language server: analysing open documents, debounced, off the event loop, never stale.

A change schedules a lint after a short quiet period (``DEBOUNCE``); a newer change restarts
the wait. One lint runs at a time per document, in a worker thread; a lint whose text is no
longer the document's gives up between parsing and the rules, and its result is never
published. When it finishes and the text has moved on, the newest text is linted next. So a
burst of keystrokes costs one lint after the burst, not one per keystroke in turn.

Requests (hover, completion, definition...) need the current text's names but not its lint:
they use the newest analysis when it is of the current text, or parse the text on the spot.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..api import COHORT_SUFFIXES, ConfigError, LintConfig, check_document, config_for
from ..ast import Journey
from ..diagnostics import Diagnostic
from ..frontend import Document, is_fragment_source, parse_journey_or_fragments
from ..source import DSL_SUFFIXES, YAML_SUFFIXES, Source
from .symbols import SymbolIndex, index_document

DEBOUNCE = 0.25  # seconds of quiet after a change before it is linted


@dataclass
class Analysis:
    """One version of one document: its parse, its names, and (after a lint) its diagnostics."""

    uri: str
    version: int | None
    source: Source                       # named by its file path
    document: Document
    config: LintConfig
    index: SymbolIndex | None            # None when the text does not parse
    diagnostics: list[Diagnostic] | None = None  # None: parsed only, not linted
    journey: Journey | None = None       # the model with every `use` expanded (after a lint)
    fragment_file: bool = False

    @property
    def model(self) -> Journey | None:
        """The journey as written (``use`` steps not expanded)."""
        return self.document.journey


def is_journey_file(path: str) -> bool:
    """Journeys and fragments; not cohort files (simulation input, YAML of another kind)."""
    lowered = path.lower()
    return lowered.endswith(DSL_SUFFIXES + YAML_SUFFIXES) and not lowered.endswith(COHORT_SUFFIXES)


def analyse(uri: str, path: str, text: str, version: int | None, lint: bool = True,
            stale: Callable[[], bool] = lambda: False) -> Analysis | None:
    """Parse (and with ``lint``, check) ``text`` as the file at ``path``; None when ``stale``
    says a newer text came in after parsing."""
    try:
        config = config_for(Path(path))
    except ConfigError:  # a broken config must not silence the editor: use the defaults
        config = LintConfig()
    source = Source(path, text)
    fragments = is_fragment_source(source)
    document = parse_journey_or_fragments(source)
    analysis = Analysis(uri, version, source, document, config,
                        index_document(source, document.journey), fragment_file=fragments)
    if not lint:
        return analysis
    if stale():
        return None
    if fragments:
        analysis.diagnostics = list(document.diagnostics)
    else:
        result = check_document(document, config)
        analysis.diagnostics, analysis.journey = result.diagnostics, result.journey
    return analysis


@dataclass
class _State:
    path: str
    text: str = ""
    version: int | None = None
    timer: asyncio.TimerHandle | None = None
    running: asyncio.Future | None = None
    again: bool = False                  # a change came in while linting
    latest: Analysis | None = None       # the newest linted analysis published
    parsed: Analysis | None = None       # a parse of the current text, for requests
    good: Analysis | None = None         # the newest analysis whose text parsed
    lints: int = field(default=0)


class Analyses:
    """The analyses of the open documents; ``publish`` receives each fresh lint."""

    def __init__(self, publish: Callable[[Analysis], None], delay: float = DEBOUNCE):
        self.publish, self.delay = publish, delay
        self.states: dict[str, _State] = {}
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journeylang-lint")

    # --- document events ----------------------------------------------------------------------

    def opened(self, uri: str, path: str, text: str, version: int | None) -> None:
        self.states[uri] = _State(path)
        self._update(uri, text, version, delay=0.0)

    def changed(self, uri: str, text: str, version: int | None) -> None:
        self._update(uri, text, version, delay=self.delay)

    def saved(self, uri: str, text: str, version: int | None) -> None:
        self._update(uri, text, version, delay=0.0)

    def closed(self, uri: str) -> None:
        state = self.states.pop(uri, None)
        if state is not None and state.timer is not None:
            state.timer.cancel()

    def _update(self, uri: str, text: str, version: int | None, delay: float) -> None:
        state = self.states.get(uri)
        if state is None:
            return
        state.text, state.version, state.parsed = text, version, None
        if state.timer is not None:
            state.timer.cancel()
        loop = asyncio.get_running_loop()
        state.timer = loop.call_later(delay, self._start, uri)

    # --- linting ------------------------------------------------------------------------------

    def _start(self, uri: str) -> None:
        state = self.states.get(uri)
        if state is None:
            return
        state.timer = None
        if state.running is not None and not state.running.done():
            state.again = True
            return
        text, version = state.text, state.version
        stale = lambda: state.version != version or self.states.get(uri) is not state  # noqa: E731
        loop = asyncio.get_running_loop()
        state.running = loop.run_in_executor(self.pool, analyse, uri, state.path, text, version,
                                             True, stale)
        state.running.add_done_callback(lambda done: self._finished(uri, state, version, done))

    def _finished(self, uri: str, state: _State, version, done: asyncio.Future) -> None:
        if self.states.get(uri) is not state or done.cancelled():
            return
        analysis = done.exception() is None and done.result()
        if analysis and analysis.index is not None and not analysis.index.partial:
            state.good = analysis
        if analysis and state.version == version:
            state.latest = analysis
            state.lints += 1
            self.publish(analysis)
        if state.again or state.version != version:
            state.again = False
            if state.timer is None:
                self._start(uri)
        if done.exception() is not None:
            raise done.exception()

    # --- for requests -------------------------------------------------------------------------

    def current(self, uri: str) -> Analysis | None:
        """An analysis of the document's current text (parsed now when no lint has it)."""
        state = self.states.get(uri)
        if state is None:
            return None
        if state.latest is not None and state.latest.version == state.version:
            return state.latest
        if state.parsed is None or state.parsed.version != state.version:
            state.parsed = analyse(uri, state.path, state.text, state.version, lint=False)
            if state.parsed.index is not None and not state.parsed.index.partial:
                state.good = state.parsed
        return state.parsed

    def last_good(self, uri: str) -> Analysis | None:
        """The newest analysis whose text parsed (for completion while the text is broken)."""
        state = self.states.get(uri)
        return state.good if state else None

    def shutdown(self) -> None:
        for state in self.states.values():
            if state.timer is not None:
                state.timer.cancel()
        self.pool.shutdown(wait=False, cancel_futures=True)
