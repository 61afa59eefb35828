"""Runtime semantics: what an event or a timer does to a customer's runs, step kind by step kind.

The executor reads programs, writes through a store and hands actions to channel adapters. It
never looks at a clock: ``engine.now`` is the time of the item being handled, so live runs,
replays and simulations follow the same rules (docs/runtime.md).
"""
from __future__ import annotations

from .channels import FAILED, Action, Adapters
from .engine import EVENT, TIMER, Engine
from .events import Event, iso
from .policies import (Zones, cap_reached, choose_arm, in_holdout, next_local_time,
                       next_occurrence, quiet_until)
from .program import STEP_KINDS, KpiDef, Program, StepDef
from .scope import RunScope, assign, copy_json, merge
from .state import (BREACHED, ENDED, HIT, HOLDOUT, MET, MISSED, OPEN, Customer, Observation, Run,
                    Sla, Timer)

MAX_STEPS = 1000       # steps in one activation: a guard against loops without a wait
MAX_EMIT_DEPTH = 8     # emit -> entry -> emit ... chains longer than this are dropped
OPT_OUT_EVENTS = ("unsubscribed", "opted_out", "opt_out", "stop")  # as in lint configuration
RESOLVED, BREACH = "handoff_resolved", "sla_breached"  # the SLA events (docs/runtime.md)


class Executor:
    """Advances runs. ``programs`` holds every loaded version by content hash; ``active`` the
    version new customers enter, by journey id."""

    def __init__(self, store, engine: Engine, adapters: Adapters, *, seed=0, zones: Zones,
                 render=None, opt_out_events=OPT_OUT_EVENTS):
        self.store, self.engine, self.adapters = store, engine, adapters
        self.seed, self.zones, self.render = seed, zones, render
        self.opt_out_events = frozenset(opt_out_events)
        self.programs: dict[str, Program] = {}
        self.active: dict[str, Program] = {}
        self.entries: dict[str, list[Program]] = {}
        self.scheduled: list[Program] = []  # active versions with a scheduled entry
        self.schedule_timers: dict[tuple[str, str], int] = {}  # (journey, zone) -> timer
        self.pending: dict[int, Timer] = {}
        self.next_run = 1
        self.next_action = 1
        self.next_sla = 1
        self.next_observation = 1
        self.send_window = 0.0
        self.depth = 0
        self.fired = 0
        self._row: list = []  # the history row of the step being executed

    # --- programs -----------------------------------------------------------------------------

    def add_program(self, program: Program, activate: bool = True) -> None:
        self.programs[program.content_hash] = program
        if activate:
            self.active[program.journey_id] = program
        self.entries = {}
        for active in self.active.values():
            if active.entry is not None and active.entry.schedule is None:
                self.entries.setdefault(active.entry.event, []).append(active)
        self.scheduled = [p for p in self.active.values()
                          if p.entry is not None and p.entry.schedule is not None]
        windows = [cap.per for p in self.programs.values() for cap in p.caps]
        self.send_window = float(max(windows, default=0))

    # --- the two kinds of item ----------------------------------------------------------------

    def handle(self, item, sequence: int) -> None:
        if type(item) is Timer:
            self.on_timer(item, sequence)
        else:
            self.on_event(item)

    def on_event(self, event: Event) -> None:
        customer = self.store.customer(event.customer)
        self.depth = event.depth
        if event.attributes:
            merge(customer.profile, event.attributes)
            customer.saved = None
            self.store.save(customer)
        elif customer.saved_state is None:
            # a customer first seen now is stored, so scheduled entries know them after a restart
            self.store.save(customer)
        if self.scheduled:
            zone = self._zone_key(customer)
            for program in self.scheduled:
                self._arm(program, zone)
        if customer.observations:
            self._kpi_event(customer, event)
        if event.type == RESOLVED and customer.slas:
            self._resolve_sla(customer, event.data.get("role"))
        opting_out = event.type in self.opt_out_events
        if opting_out:
            self._opt_out(customer, f"event {event.type}")
        for run in list(customer.runs):
            program = self.programs[run.content_hash]
            if event.type in program.interest or (opting_out and run.waiting == "quiet"):
                self._react(customer, run, program, event, opting_out)
        for program in self.entries.get(event.type, ()):
            self._try_enter(customer, program, event.data, f"entry on {event.type}")

    def on_timer(self, timer: Timer, sequence: int) -> None:
        if self.pending.pop(sequence, None) is None:
            return  # cancelled: its run moved on before it was due
        self.store.drop_timer(sequence)
        self.fired += 1
        self.depth = 0
        if timer.kind in _RECORD_TIMERS:
            _RECORD_TIMERS[timer.kind](self, timer)
            return
        customer = self.store.customer(timer.customer)
        run = next((r for r in customer.runs if r.id == timer.run_id), None)
        if run is None or run.timer != sequence:
            return
        run.timer, run.waiting = None, None
        program = self.programs[run.content_hash]
        step = program.steps.get(run.step) if run.step else None
        if timer.kind == "wake":
            self._continue(customer, run, program, step.next, "waited")
        elif timer.kind == "timeout":
            self._continue(customer, run, program, step.timeout or step.next, "timeout")
        elif timer.kind == "quiet":
            self._row = self._history(run, step.id, "send", "quiet hours over")
            self._resume(customer, run, program, self._send(customer, run, program, step))
        elif timer.kind == "holdout":
            self._end(customer, run, "expired", "holdout goal window over")

    # --- entering, reacting, ending -----------------------------------------------------------

    def _try_enter(self, customer: Customer, program: Program, data: dict, why: str) -> None:
        scope = RunScope(customer.profile, data, {})
        if not program.entry.test(scope) or not program.audience(scope):
            return
        now, jid = self.engine.now, program.journey_id
        entered = customer.entries.get(jid)
        if program.reentry != "always" and entered:
            if program.reentry == "never" or any(r.journey_id == jid for r in customer.runs):
                return
            if now - entered[1] < (program.reentry_after or 0):
                return
        run = Run(self.next_run, customer.id, jid, program.content_hash, now,
                  context=copy_json(data), event=copy_json(data))
        self.next_run += 1
        customer.entries[jid] = [(entered[0] if entered else 0) + 1, now]
        customer.saved_state = None
        customer.runs.append(run)
        self.store.save(customer)
        if in_holdout(self.seed, jid, customer.id, program.holdout):
            run.status, run.holdout = HOLDOUT, True
            self._history(run, None, "holdout", why)
            window = program.holdout_window()
            if window == 0:
                self._end(customer, run, "expired", "holdout without goals")
            elif window is not None:
                run.waiting = "holdout"
                self._timer(run, now + window, "holdout", None)
                self.store.save_run(run)
            else:
                self.store.save_run(run)
            return
        self._continue(customer, run, program, program.start, why)

    def _react(self, customer: Customer, run: Run, program: Program, event: Event,
               opting_out: bool) -> None:
        scope = RunScope(customer.profile, event.data, run.context)
        kind = event.type
        age = self.engine.now - run.entered_at
        for goal in program.goals:
            if goal.event == kind and (goal.within is None or age <= goal.within) and goal.test(scope):
                self._end(customer, run, "converted", f"goal {goal.name} on {kind}")
                return
        for rule in program.exits:
            if rule.event == kind and rule.test(scope):
                self._end(customer, run, rule.outcome, f"exit on {kind}")
                return
        if run.holdout:
            return
        step = program.steps[run.step]
        if opting_out and run.waiting == "quiet":
            self._cancel_timer(run)
            self._history(run, step.id, "skipped", "opted out", "the deferred send is dropped")
            self._continue(customer, run, program, step.next, "next")
        elif run.waiting == "event":
            for arm in step.arms:
                if arm.event == kind and arm.test(scope):
                    self._cancel_timer(run)
                    run.event = copy_json(event.data)
                    run.context.update(run.event)
                    run.saved = None
                    self._continue(customer, run, program, arm.to, arm.label)
                    return

    def _end(self, customer: Customer, run: Run, outcome: str, why: str) -> None:
        self._cancel_timer(run)
        run.status, run.outcome, run.ended_at, run.waiting = ENDED, outcome, self.engine.now, None
        if run in customer.runs:
            customer.runs.remove(run)
        if customer.observations:  # closed observations are kept only while their run lives
            customer.observations = [o for o in customer.observations
                                     if o.status == OPEN or o.run_id != run.id]
        self._history(run, run.step, "ended", why, outcome)
        self.store.save(customer)
        self.store.save_run(run)

    def _opt_out(self, customer: Customer, why: str) -> None:
        customer.profile["opted_out"] = True
        customer.saved = None
        self.store.save(customer)
        for adapter in self.adapters.distinct():
            adapter.cancel_pending(customer.id, self.next_action - 1)
        self.store.history([self.engine.now, customer.id, None, None, None, "opted_out", why,
                            "queued messages cancelled"])

    # --- walking steps ------------------------------------------------------------------------

    def _continue(self, customer: Customer, run: Run, program: Program, step_id: str | None,
                  why: str) -> None:
        """Enter ``step_id`` and keep going until the run waits or ends."""
        now = self.engine.now
        for _ in range(MAX_STEPS):
            if step_id is None:
                self._end(customer, run, "completed", "no next step")
                return
            step = program.steps[step_id]
            run.step, run.stage, run.step_at, run.waiting = step.id, step.stage, now, None
            self._row = self._history(run, step.id, step.kind, why)
            kpis = program.kpis_at.get(step.id)
            if kpis:
                self._open_kpis(customer, run, kpis)
            result = _STEP_KINDS[step.kind](self, customer, run, program, step)
            if result is None:
                if run.status != ENDED:
                    self.store.save_run(run)
                return
            step_id, why = result
        self._end(customer, run, "error", f"more than {MAX_STEPS} steps without a wait")

    def _resume(self, customer, run, program, result) -> None:
        if result is not None:
            self._continue(customer, run, program, *result)
        elif run.status != ENDED:
            self.store.save_run(run)

    def _timer(self, run: Run, due: float, kind: str, step: str | None) -> None:
        run.timer = self._add_timer(Timer(-1, due, run.id, run.customer, kind, step))

    def _add_timer(self, timer: Timer) -> int:
        timer.seq = self.engine.schedule(timer.due, TIMER, timer)
        self.pending[timer.seq] = timer
        self.store.add_timer(timer)
        return timer.seq

    def _cancel_timer(self, run) -> None:
        """Cancel the pending timer of a run, an SLA or an observation."""
        if run.timer is not None:
            self.pending.pop(run.timer, None)
            self.store.drop_timer(run.timer)
            run.timer = None

    def _history(self, run: Run, step: str | None, what: str, why: str | None,
                 detail: str | None = None) -> list:
        row = [self.engine.now, run.customer, run.id, run.journey_id, step, what, why, detail]
        self.store.history(row)
        return row

    def _result(self, what: str, detail: str | None) -> None:
        """What the current step did: written into its history row."""
        self._row[5], self._row[7] = what, detail

    def _action(self, run: Run, step: StepDef, kind: str, **fields) -> Action:
        action = Action(self.next_action, self.engine.now, run.customer, run.id, run.journey_id,
                        run.content_hash, step.id, kind, **fields)
        self.next_action += 1
        return action

    def _deliver(self, action: Action) -> None:
        self.adapters.for_action(action).deliver(action)

    # --- step kinds ---------------------------------------------------------------------------

    def _send(self, customer: Customer, run: Run, program: Program, step: StepDef):
        now, params = self.engine.now, step.params
        channel, profile = params["channel"], customer.profile
        reason = None
        if profile.get("opted_out") is True:
            reason = "opted out"
        elif channel in program.consent and not _consents(profile, channel):
            reason = f"no consent for {channel}"
        else:
            until = quiet_until(now, program.quiet, self.zones.get(profile.get("timezone")))
            if until is not None:
                run.waiting = "quiet"
                self._timer(run, until, "quiet", step.id)
                self._result("deferred", f"quiet hours until {iso(until)}")
                return None
            window = [s for s in customer.sends if s[0] > now - self.send_window]
            if len(window) != len(customer.sends):
                customer.sends, customer.saved_state = window, None
            cap = cap_reached(customer.sends, now, channel, program.caps)
            if cap is not None:
                scope = f" on {', '.join(sorted(cap.channels))}" if cap.channels else ""
                reason = f"cap {cap.messages} per {cap.per}s{scope} reached"
        if reason is not None:
            self._result("skipped", reason)
            return step.next, "next"
        action = self._action(run, step, "message", channel=channel, template=params["template"],
                              payload=dict(params["params"]), promo=bool(params.get("promo")))
        if self.render is not None:
            self.render(action, program, customer, run)
        self._deliver(action)
        if action.status == FAILED:
            self._result("failed", action.payload.get("error"))
        else:
            customer.sends.append([now, channel, run.journey_id])
            customer.saved_state = None
            self.store.save(customer)
            self._result("sent", f"{channel} {params['template']} #{action.id}")
        return step.next, "next"

    def _wait(self, customer, run, program, step):
        if step.params["duration"] <= 0:  # no time passes: counted against MAX_STEPS
            return step.next, "waited"
        run.waiting = "time"
        due = self.engine.now + step.params["duration"]
        self._timer(run, due, "wake", step.id)
        self._result("wait", f"until {iso(due)}")

    def _wait_until(self, customer, run, program, step):
        hours, minutes = step.params["time"].split(":")
        zone = self.zones.get(customer.profile.get("timezone"))
        due = next_local_time(self.engine.now, int(hours) * 60 + int(minutes), zone)
        if due <= self.engine.now:
            return step.next, "time reached"
        run.waiting = "time"
        self._timer(run, due, "wake", step.id)
        self._result("wait_until", f"until {iso(due)}")

    def _wait_schedule(self, customer, run, program, step):
        zone = self.zones.get(customer.profile.get("timezone"))
        due = next_occurrence(self.engine.now, step.schedule, zone)
        run.waiting = "time"
        self._timer(run, due, "wake", step.id)
        self._result("wait_schedule", f"until {iso(due)}")

    def _wait_event(self, customer, run, program, step):
        within = step.params.get("within")
        if within is not None and within <= 0:  # times out at once, as a zero wait
            return step.timeout or step.next, "timeout"
        run.waiting = "event"
        if within is not None:
            self._timer(run, self.engine.now + within, "timeout", step.id)
            self._result("wait_event", f"until {iso(self.engine.now + within)}")

    def _branch(self, customer, run, program, step):
        scope = RunScope(customer.profile, run.event, run.context)
        for arm in step.arms:
            if arm.test(scope):
                return arm.to, arm.label
        return step.next, "else"

    def _split(self, customer, run, program, step):
        arm = choose_arm(self.seed, run.journey_id, step.id, customer.id, step.arms)
        return arm.to, arm.label

    def _tag(self, customer, run, program, step):
        tags = customer.profile.get("tags")
        current = set(tags) if isinstance(tags, list) else set()
        if step.kind == "tag":
            current |= set(step.params["tags"])
        else:
            current -= set(step.params["tags"])
        customer.profile["tags"] = sorted(current)
        customer.saved = None
        self.store.save(customer)
        return step.next, "next"

    def _set(self, customer, run, program, step):
        value = step.value(RunScope(customer.profile, run.event, run.context))
        assign(customer.profile, run.event, run.context, step.params["attribute"], value)
        customer.saved, run.saved = None, None
        self.store.save(customer)
        return step.next, "next"

    def _coupon(self, customer, run, program, step):
        params, now = step.params, self.engine.now
        expires = params.get("expires")
        self._act(run, step, "coupon", due=None if expires is None else now + expires,
                  payload={"code": params["code"], "value": params.get("value")})
        return step.next, "next"

    def _handoff(self, customer, run, program, step):
        params, now = step.params, self.engine.now
        within = params.get("within")
        self._act(run, step, "handoff", due=None if within is None else now + within,
                  payload={"role": params["role"], "note": params.get("note")})
        if within is not None:
            self._open_sla(customer, run, step.id, params["role"], now + within)
        return step.next, "next"

    def _webhook(self, customer, run, program, step):
        self._act(run, step, "webhook", payload={"url": step.params["url"]})
        return step.next, "next"

    def _emit(self, customer, run, program, step):
        params = step.params
        action = self._act(run, step, "event", payload={"event": params["event"],
                                                        "params": dict(params["params"])})
        if self.depth >= MAX_EMIT_DEPTH:
            self._result("skipped", f"emit chain deeper than {MAX_EMIT_DEPTH}")
        else:
            self.engine.schedule(self.engine.now, EVENT, Event(
                f"emit-{action.id}", params["event"], customer.id, self.engine.now,
                {}, copy_json(params["params"]), self.depth + 1))
        return step.next, "next"

    def _act(self, run, step, kind, **fields) -> Action:
        action = self._action(run, step, kind, **fields)
        self._deliver(action)
        self._result(kind, f"#{action.id}")
        return action

    def _goto(self, customer, run, program, step):
        return step.next, "goto"

    def _exit(self, customer, run, program, step):
        self._end(customer, run, step.params["outcome"], f"exit step {step.id}")


    # --- scheduled entries ----------------------------------------------------------------------

    def _zone_key(self, customer: Customer) -> str:
        return self.zones.get(customer.profile.get("timezone")).key

    def _arm(self, program: Program, zone: str) -> None:
        """A timer at the schedule's next occurrence in ``zone``, unless one is pending."""
        key = (program.journey_id, zone)
        if key in self.schedule_timers or self.engine.now == float("-inf"):
            return
        due = next_occurrence(self.engine.now, program.entry.schedule, self.zones.get(zone))
        self.schedule_timers[key] = self._add_timer(
            Timer(-1, due, 0, zone, "schedule", program.journey_id))

    def arm_schedules(self, journey_id: str) -> None:
        """(Re)arm a journey's scheduled entry for the zone of every known customer: at a load,
        so a new version's schedule replaces the old one's pending occurrences."""
        for (jid, zone), seq in list(self.schedule_timers.items()):
            if jid == journey_id:
                self.pending.pop(seq, None)
                self.store.drop_timer(seq)
                del self.schedule_timers[(jid, zone)]
        program = self.active.get(journey_id)
        if program is None or program not in self.scheduled:
            return
        zones = {self.zones.get(name).key for name in self.store.timezones()}
        for zone in sorted(zones | {self.zones.default.key}):
            self._arm(program, zone)

    def restore_timer(self, timer: Timer) -> None:
        """A pending timer read back from the store (a restart)."""
        self.pending[timer.seq] = timer
        if timer.kind == "schedule":
            self.schedule_timers[(timer.step, timer.customer)] = timer.seq

    def _occurrence(self, timer: Timer) -> None:
        """Every known customer in the timer's zone tries to enter; then the next occurrence."""
        journey_id, zone = timer.step, timer.customer
        self.schedule_timers.pop((journey_id, zone), None)
        program = self.active.get(journey_id)
        if program is None or program not in self.scheduled:
            return  # the active version no longer has a scheduled entry
        data, why = {"occurrence": iso(self.engine.now)}, f"entry at {iso(self.engine.now)}"
        for ident in self.store.customer_ids():
            customer = self.store.customer(ident)
            if self._zone_key(customer) == zone:
                self._try_enter(customer, program, data, why)
        self._arm(program, zone)

    # --- SLAs ---------------------------------------------------------------------------------

    def _open_sla(self, customer: Customer, run: Run, step: str, role: str, due: float) -> None:
        sla = Sla(self.next_sla, customer.id, run.id, run.journey_id, step, role,
                  self.engine.now, due)
        self.next_sla += 1
        sla.timer = self._add_timer(Timer(-1, due, sla.id, customer.id, "sla", step))
        customer.slas.append(sla)
        self.store.save_sla(sla)

    def _resolve_sla(self, customer: Customer, role) -> None:
        """The oldest open SLA of ``role`` (any role when None) is met."""
        for sla in customer.slas:
            if role is None or sla.role == role:
                self._cancel_timer(sla)
                self._close(customer.slas, sla, MET)
                self.store.save_sla(sla)
                return

    def _sla_due(self, timer: Timer) -> None:
        customer = self.store.customer(timer.customer)
        sla = next((s for s in customer.slas if s.id == timer.run_id), None)
        if sla is None:
            return
        sla.timer = None
        self._close(customer.slas, sla, BREACHED)
        self.store.save_sla(sla)
        data = {"role": sla.role, "step": sla.step, "journey": sla.journey_id, "due": iso(sla.due)}
        self.engine.schedule(self.engine.now, EVENT, Event(
            f"sla-{sla.id}", BREACH, customer.id, self.engine.now, {}, data))

    def _close(self, records: list, record, status: str) -> None:
        record.status, record.closed = status, self.engine.now
        if record in records:
            records.remove(record)

    # --- KPIs ---------------------------------------------------------------------------------

    def _open_kpis(self, customer: Customer, run: Run, kpis: list[KpiDef]) -> None:
        """Open each KPI once per run, when the run first reaches its stage or step."""
        now = self.engine.now
        for kpi in kpis:
            if any(o.run_id == run.id and o.kpi == kpi.name for o in customer.observations):
                continue
            seen = Observation(self.next_observation, customer.id, run.id, run.journey_id,
                               run.content_hash, kpi.name, now, now + kpi.within)
            self.next_observation += 1
            seen.timer = self._add_timer(Timer(-1, seen.due, seen.id, customer.id, "kpi", kpi.name))
            customer.observations.append(seen)
            self.store.save_observation(seen)

    def _kpi_event(self, customer: Customer, event: Event) -> None:
        scope = None
        for seen in list(customer.observations):
            if seen.status != OPEN:
                continue
            kpi = self.programs[seen.content_hash].kpis[seen.kpi]
            if kpi.event != event.type or self.engine.now > seen.due:
                continue
            scope = scope or RunScope(customer.profile, event.data, {})
            if kpi.test(scope):
                self._cancel_timer(seen)
                self._settle(customer, seen, HIT)

    def _kpi_due(self, timer: Timer) -> None:
        customer = self.store.customer(timer.customer)
        seen = next((o for o in customer.observations if o.id == timer.run_id), None)
        if seen is not None and seen.status == OPEN:
            seen.timer = None
            self._settle(customer, seen, MISSED)

    def _settle(self, customer: Customer, seen: Observation, status: str) -> None:
        seen.status, seen.closed = status, self.engine.now
        if all(r.id != seen.run_id for r in customer.runs):
            customer.observations.remove(seen)  # its run has ended: nothing will look again
        self.store.save_observation(seen)


_RECORD_TIMERS = {"sla": Executor._sla_due, "kpi": Executor._kpi_due,
                  "schedule": Executor._occurrence}


def _consents(profile: dict, channel: str) -> bool:
    consent = profile.get("consent")
    return isinstance(consent, dict) and consent.get(channel) is True


_STEP_KINDS = {
    "send": Executor._send, "wait": Executor._wait, "wait_until": Executor._wait_until,
    "wait_schedule": Executor._wait_schedule,
    "wait_event": Executor._wait_event, "branch": Executor._branch, "split": Executor._split,
    "tag": Executor._tag, "untag": Executor._tag, "set": Executor._set,
    "coupon": Executor._coupon, "handoff": Executor._handoff, "webhook": Executor._webhook,
    "emit": Executor._emit, "goto": Executor._goto, "exit": Executor._exit,
}
assert set(_STEP_KINDS) == set(STEP_KINDS), "every step kind of the tables has a handler"
