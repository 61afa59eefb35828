"""DSL frontend, operations constructs: schedules, roles, volume, KPIs and escalation ladders.

A mixin of the tree-to-model builder in text.py. Weekday, month and unit words are NAME
tokens (so they stay usable as attribute names and labels), checked here.
"""
from __future__ import annotations

import datetime as _dt
import difflib
from dataclasses import replace

from lark import Transformer_NonRecursive, v_args

from .. import ast
from ..diagnostics import Diagnostic, Severity
from ..units import parse_percent, parse_period, parse_time, parse_whole

_SCHEDULE_HINT = ("a schedule is 'day at 09:00', weekdays ('monday, thursday at 19:30'), "
                  "'month on day 1 at 10:00', 'quarter on day 1 at 10:00' or "
                  "'year on mar 15 at 10:00'")
_PERIODS = ("day", "month", "quarter", "year")


def did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(word.lower(), choices, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


@v_args(meta=True, inline=True)
class OperationsBuilder(Transformer_NonRecursive):
    """Builds the operations constructs; ``ModelBuilder`` supplies ``span``, ``ref`` and the rest.
    Non-recursive: a deeply nested parse tree cannot overflow the stack while it is built."""

    def problem(self, code: str, message: str, where, hint: str | None = None) -> None:
        self.diagnostics.append(Diagnostic(code, Severity.ERROR, message, self.span(where),
                                           hint=hint))

    # --- schedules ---------------------------------------------------------------------------

    def schedule(self, meta, *parts):
        *words, on, time = parts
        moment = self._value(parse_time, time, _dt.time(0, 0))
        first = str(words[0])
        if len(words) == 1 and first in _PERIODS:
            return self._periodic(first, on, moment, meta)
        if len(words) == 1 and first == "week":
            self.problem("JL002", "a weekly schedule names its weekdays", words[0],
                         hint="write e.g. 'wednesday at 20:00' or 'monday, thursday at 19:30'")
        days = {self._weekday(word, len(words) == 1) for word in words if str(word) != "week"}
        if on is not None:
            self.problem("JL002", "a weekly schedule takes no 'on ...'", on[0],
                         hint="write e.g. 'wednesday at 20:00'")
        return ast.Schedule("week", moment, weekdays=tuple(sorted(days - {None})),
                            span=self.span(meta))

    def schedule_on(self, meta, word, day):
        return word, day

    def _weekday(self, token, alone: bool) -> int | None:
        word = str(token)
        if word in ast.WEEKDAYS:
            return ast.WEEKDAYS.index(word)
        choices = ast.WEEKDAYS + (_PERIODS if alone else ())
        what = "schedule word" if alone else "weekday"
        hint = _SCHEDULE_HINT if alone else "weekdays: " + ", ".join(ast.WEEKDAYS)
        self.problem("JL002", f"unknown {what} '{word}'{did_you_mean(word, choices)}", token,
                     hint=hint)
        return None

    def _periodic(self, every: str, on, moment, meta) -> ast.Schedule:
        span = self.span(meta)
        if every == "day":
            if on is not None:
                self.problem("JL002", "a daily schedule takes no 'on ...'", on[0],
                             hint="write e.g. 'day at 09:00'")
            return ast.Schedule("day", moment, span=span)
        example = "year on mar 15 at 10:00" if every == "year" else f"{every} on day 1 at 10:00"
        if on is None:
            self.problem("JL002", f"a {every}ly schedule needs its day: write e.g. '{example}'",
                         meta)
            return ast.Schedule(every, moment, day=1, month=1 if every == "year" else None,
                                span=span)
        word, day = str(on[0]), self._value(lambda text: parse_whole(text, "day"), on[1], 1)
        if every != "year":
            if word != "day":
                self.problem("JL002", f"expected 'on day N' in a {every}ly schedule, got "
                                      f"'on {word}'", on[0], hint=f"write e.g. '{example}'")
            return ast.Schedule(every, moment, day=day, span=span)
        if word not in ast.MONTHS:
            self.problem("JL002", f"unknown month '{word}'{did_you_mean(word, ast.MONTHS)}",
                         on[0], hint="months: " + ", ".join(ast.MONTHS))
        month = ast.MONTHS.index(word) + 1 if word in ast.MONTHS else 1
        return ast.Schedule("year", moment, day=day, month=month, span=span)

    def scheduled_entry(self, meta, schedule, where):
        return "entry", ast.Entry("", where, schedule, span=self.span(meta))

    def wait_schedule(self, meta, schedule, arrow):
        return ast.WaitSchedule("", next=arrow, schedule=schedule)

    # --- operations --------------------------------------------------------------------------

    def role(self, meta, name, capacity, per):
        return "roles", ast.Role(str(name), self.count(capacity, "capacity", 0),
                                 self.period(per), span=self.span(meta))

    def volume(self, meta, entries, per):
        return "volume", ast.Volume(self.count(entries, "number of entries", 0),
                                    self.period(per), span=self.span(meta))

    def count(self, token, what: str, low: int = 1) -> int:
        """A whole number from ``low`` (a version, a cap; 0 for a capacity, which serves
        nothing, and expected entries) to MAX_WHOLE; out of range, JL002 and ``low``."""
        return self._value(lambda text: parse_whole(text, what, low), token, low)

    def period(self, token):
        """The period a count is taken over: a duration longer than 0."""
        if token.type == "PARAM_REF":
            return self.ref(token)
        return self._value(parse_period, token, 1)

    def promo(self, meta, percent):
        return "promo", self._value(parse_percent, percent, None)

    def kpi(self, meta, name, title, event, where, within, baseline, target, step):
        return ast.Kpi(str(name), str(event), self.duration(within),
                       self._value(kpi_percent, baseline, 0.0),
                       self._value(kpi_percent, target, 0.0),
                       title=self._unquote(title) if title else None, condition=where,
                       step=str(step) if step else None, span=self.span(meta))

    # --- escalation ladders ------------------------------------------------------------------

    def escalate(self, meta, keyword, event, where, within, arrow, *rest):
        *rungs, breach = rest
        if str(keyword) != "escalate":
            self.problem("JL001", f"unexpected {str(keyword)!r}; expected a step",
                         keyword, hint="an escalation ladder is written 'escalate until EVENT "
                                       "within DURATION { at 0m: ... }'")
        return ast.Escalate("", next=breach, event=self.ref(event), condition=where,
                            target=arrow, within=within, rungs=tuple(rungs))

    def rung(self, meta, after, action):
        span = self.span(meta)
        return ast.Rung(self.duration(after), replace(action, span=span), span=span)

    def breach(self, meta, target):
        return self.ref(target)


def kpi_percent(text: str) -> float:
    """A KPI's baseline or target: any percentage (the range is a lint check, JL732)."""
    return parse_percent(text, bounded=False)
