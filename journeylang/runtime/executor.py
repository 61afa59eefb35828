"""Runtime semantics: what an event or a timer does to a customer's runs, step kind by step kind.

The executor reads programs, changes customers handed out by a store (which saves what changed
at commit), writes history rows and timers through it, and hands actions to channel adapters.
It never looks at a clock: ``engine.now`` is the time of the item being handled, so live runs,
replays and simulations follow the same rules (docs/runtime.md). The rules every executor
shares (the order of send checks, zero waits, outcomes) are in ``journeylang.semantics``.
"""
from __future__ import annotations

from ..semantics import (COMPLETED, CONVERTED, DELIVERY_EVENTS, ENTRY_EXPERIMENT, ERROR, EXPIRED,
                         HELD_OUT, MAX_EMIT_DEPTH, MAX_STEPS, OPT_OUT_EVENTS, SEND_CAP,
                         SEND_NO_CONSENT, SEND_OPTED_OUT, SEND_QUIET, TREATED, consents,
                         send_checks)
from .channels import FAILED, QUEUED, Action, Adapters
from .correlation import key_of, same_key, shown, unusable, with_key
from .engine import EVENT, LATE, TIMER, Engine
from .events import Event, iso
from .history import History, needs, record
from .policies import (Zones, cap_reached, choose_arm, count_send, day_after_entry, drop_pending,
                       in_holdout, next_local_time, next_occurrence, quiet_until, settle_send)
from .program import STEP_KINDS, HandlerDef, KpiDef, Program, StepDef
from .scope import RunScope, assign, copy_json, merge
from .state import (BREACHED, ENDED, HIT, HOLDOUT, MET, MISSED, OPEN, Customer, KpiDue,
                    Observation, Occurrence, Run, RunTimer, Sla, SlaDue, Timer)

RESOLVED, BREACH = "handoff_resolved", "sla_breached"  # the SLA events (docs/runtime.md)
# A local calendar day or week can outlast its nominal length across a clock change (a 25-hour
# day): sends are kept this much longer for calendar caps.
CALENDAR_SLACK = 2 * 3600


# What a step did, as a step kind returns it: a plain tuple ``(what, detail, to, why,
# outcome)`` (a step moves thousands of runs a second; a class per result costs a call).
# ``what`` and ``detail`` are recorded once in the step's history row; then the run goes on to
# ``to`` by the edge ``why`` (``to`` None: there is no next step), waits at the step (``why``
# None), or ends with ``outcome``.
Result = tuple


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
        self.history_needs = {}  # event type -> what the loaded journeys' questions keep of it
        self.reacting: frozenset[str] = frozenset()  # event types that may change a customer
        self.depth = 0
        self.fired = 0
        self.traced = 0  # history entries recorded so far: whether an event left one

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
        windows = [cap.per + (CALENDAR_SLACK if cap.calendar else 0)
                   for p in self.programs.values() for cap in p.caps]
        self.send_window = float(max(windows, default=0))
        self.history_needs = needs(self.programs.values())
        self.reacting = frozenset(
            kind for p in self.programs.values()
            for kind in (*p.interest, *p.history, *(k.event for k in p.kpis.values()),
                         *((p.entry.event,) if p.entry is not None else ()))
        ) | self.opt_out_events | frozenset(DELIVERY_EVENTS) | {RESOLVED}

    # --- the two kinds of item ----------------------------------------------------------------

    def handle(self, item, sequence: int) -> None:
        if type(item) is Timer:  # a timer fires, unless it was cancelled
            if self.pending.pop(sequence, None) is None:
                return  # cancelled: its owner moved on before it was due
            self.store.drop_timer(sequence)
            self.fired += 1
            self.depth = 0
            _TIMER_KINDS[type(item.payload)](self, item.payload, sequence)
        else:
            self.on_event(item)

    def on_event(self, event: Event) -> str | None:
        """Apply an event; what became of it when that left no entry in the history (which
        the store keeps with the event), else None."""
        if event.type not in self.reacting and not self.scheduled:
            # no goal, rule, wait, handler, entry, KPI or question takes it: at most its
            # attributes change the profile (what the rest of this method would find)
            if not event.attributes:
                if not self.store.holds(event.customer):
                    self.store.customer(event.customer)  # a new customer is still stored
                return UNUSED  # nothing would change: the store keeps the customer as is
            customer = self.store.customer(event.customer)
            merge(customer.profile, event.attributes)
            customer.profile_changed = True
            return UNUSED_UPDATED
        traced = self.traced
        customer = self.store.customer(event.customer)
        self.depth = event.depth
        if event.attributes:
            merge(customer.profile, event.attributes)
            customer.profile_changed = True
        need = self.history_needs.get(event.type)
        if need is not None:
            record(customer.events, event.type, event.data, need, customer.runs, self.engine.now)
            customer.state_changed = True
        if event.type in DELIVERY_EVENTS:
            settle_send(customer.sends, event.type, event.data, self.engine.now)
            customer.state_changed = True
        if self.scheduled:
            zone = self._zone_key(customer)
            for program in self.scheduled:
                self._arm(program, zone)
        hits = self._kpi_event(customer, event) if customer.observations else 0
        # journey -> None when the event reached a run of it, else its program (to say why not)
        withheld: dict[str, Program | None] = {}
        if event.type == RESOLVED and customer.slas:
            withheld = self._resolve_sla(customer, event)
        opting_out = event.type in self.opt_out_events
        if opting_out:
            self._opt_out(customer, f"event {event.type}")
        for run in list(customer.runs):
            program = self.programs[run.content_hash]
            if run.id == event.origin_run:
                continue  # it took its own emitted event at once
            if event.type in program.interest or (opting_out and run.waiting == "quiet"):
                if opting_out or self._for_run(program, run, event):
                    withheld[run.journey_id] = None
                    self._react(customer, run, program, event, opting_out)
                elif run.journey_id not in withheld and event.type != _entry_event(program):
                    withheld[run.journey_id] = program
        for journey_id, program in withheld.items():
            if program is not None:
                self._record([self.engine.now, customer.id, None, journey_id, None,
                              "undelivered", f"event {event.type}", _undelivered(program, event)])
        refusals = []
        for program in self.entries.get(event.type, ()):
            refused = self._try_enter(customer, program, event.data, f"entry on {event.type}")
            if refused is not None:
                refusals.append(f"not entered {program.journey_id}: {refused}")
        if self.traced != traced:
            return None
        return _no_trace(event, event.type in self.reacting, refusals, need is not None, hits)

    @staticmethod
    def _for_run(program: Program, run: Run, event: Event) -> bool:
        """Whether an event is for a run: its journey does not correlate runs, the event
        carries the run's key, or the run has none (entered before its journey correlated,
        it takes every event)."""
        path = program.correlate
        if path is None or run.key is None:
            return True
        value, problem = key_of(event.data, path)
        return problem is None and same_key(value, run.key)

    def _run_timer(self, due: RunTimer, sequence: int) -> None:
        customer = self.store.customer(due.customer)
        for run in customer.runs:
            if run.id == due.run_id:
                break
        else:
            return
        if run.timer != sequence:
            return
        run.timer = run.timer_due = run.waiting = None
        program = self.programs[run.content_hash]
        step = program.steps.get(run.step) if run.step else None
        if due.kind == "wake":
            self._continue(customer, run, program, step.next, "waited")
        elif due.kind == "timeout":
            self._continue(customer, run, program, step.timeout or step.next, "timeout")
        elif due.kind == "quiet":
            self._execute(customer, run, program, step, "quiet hours over")
        elif due.kind == "holdout":
            self._end(customer, run, EXPIRED, "holdout goal window over")

    # --- entering, reacting, ending -----------------------------------------------------------

    def _try_enter(self, customer: Customer, program: Program, data: dict,
                   why: str) -> str | None:
        """Start a run of ``program``; why not, when that is not in the history, else None."""
        scope = RunScope(customer.profile, data, {}, None, program.defaults,
                         History(customer.events, None, self.engine.now)
                         if program.history else None)
        if not program.entry.test(scope):
            return "entry condition not met"
        if not program.audience(scope):
            return "not in the audience"
        now, jid = self.engine.now, program.journey_id
        entered = customer.entries.get(jid)
        if program.reentry != "always" and entered:
            if program.reentry == "never":
                return "entered before (re-entry never)"
            if any(r.journey_id == jid for r in customer.runs):
                return "already in a run"
            if now - entered[1] < (program.reentry_after or 0):
                return f"re-entry not before {iso(entered[1] + program.reentry_after)}"
        key, refused = (None, None) if program.correlate is None else \
            self._entry_key(customer, program, data)
        if refused is not None:
            self._record([now, customer.id, None, jid, None, "not_entered", why, refused])
            return None
        run = Run(self.next_run, customer.id, jid, program.content_hash, now,
                  context=copy_json(data), event=copy_json(data),
                  vars=copy_json(program.variables) if program.variables else {}, key=key)
        self.next_run += 1
        customer.entries[jid] = [(entered[0] if entered else 0) + 1, now]
        customer.state_changed = True
        customer.runs.append(run)
        held = program.holdout and in_holdout(self.seed, jid, customer.id, program.holdout)
        if program.holdout:
            run.arms[ENTRY_EXPERIMENT] = HELD_OUT if held else TREATED
        if held:
            self._history(run, None, "holdout", why)
            # observed from where it is held out (here: the start), to compare with treated runs
            self._open_kpis(customer, run, program.kpis_at.get(program.start, ()))
            outcome = self._hold(run, program, None)
            if outcome is not None:
                self._end(customer, run, EXPIRED, outcome)
            return None
        self._continue(customer, run, program, program.start, why)
        return None

    def _keyed(self, run: Run, data: dict) -> dict:
        """``data`` of something ``run`` makes (an emitted event, a handoff, an SLA breach),
        with the run's correlation key unless the data sets one."""
        path = self.programs[run.content_hash].correlate
        return data if path is None or run.key is None else with_key(data, path, run.key)

    def _entry_key(self, customer: Customer, program: Program, data: dict):
        """(the new run's correlation key, None), or (None, why no run starts): the entry
        event has no usable key, or a run of the journey already has it."""
        path = program.correlate
        if path is None:
            return None, None
        key, problem = key_of(data, path)
        why = unusable(problem, path, entry=True) if problem else next(
            (f"run #{r.id} already has {shown(path, key)}" for r in customer.runs
             if r.journey_id == program.journey_id and r.key is not None
             and same_key(r.key, key)), None)
        return (None, f"{why} (correlate by {'.'.join(path)})") if why else (key, None)

    def _hold(self, run: Run, program: Program, step: str | None) -> str | None:
        """Hold a run out (a control group): it takes no more steps and is followed for its
        goals, milestones and exit rules until the longest goal or milestone window after its
        entry; why it ends at once, or None."""
        run.status, run.holdout = HOLDOUT, True
        window = program.holdout_window()
        if window == 0:
            return "holdout without goals"
        if window is not None:
            if run.entered_at + window <= self.engine.now:
                return "holdout goal window over"
            run.waiting = "holdout"
            self._timer(run, run.entered_at + window, "holdout", step)
        return None

    def _scope(self, customer: Customer, run: Run, program: Program, data: dict) -> RunScope:
        """What a condition of ``run`` reads, with ``data`` as the current event's."""
        return RunScope(customer.profile, data, run.context, run.vars, program.defaults,
                        History(customer.events, run.entered_at, self.engine.now)
                        if program.history else None)  # no question of the journey asks it

    def _react(self, customer: Customer, run: Run, program: Program, event: Event,
               opting_out: bool) -> None:
        """An event reaches an active run: milestones, goals, exit rules, handlers, then the
        wait it is at; an event the journey takes somewhere but nothing took here is
        recorded as ignored."""
        scope = self._scope(customer, run, program, event.data)
        taken = self._milestones(run, program, event.type, scope)
        ending = self._ending(run, program, event.type, scope)
        if ending is not None:
            self._end(customer, run, *ending)
            return
        if run.holdout:
            return
        for handler in program.handlers.get(event.type, ()):
            if handler.test(scope):
                self._handle(customer, run, program, handler, event, scope)
                if handler.to is not None:
                    return
                taken = True
        step = program.steps[run.step]
        if opting_out and run.waiting == "quiet":
            self._cancel_timer(run)
            self._history(run, step.id, "skipped", "opted out", "the deferred send is dropped")
            self._continue(customer, run, program, step.next, "next")
            return
        if run.waiting == "event":
            for arm in step.arms:
                if arm.event == event.type and arm.test(scope):
                    self._cancel_timer(run)
                    if "ladder" in step.params:
                        self._resolve_ladder(customer, run, step, event.type)
                    run.event = copy_json(event.data)
                    run.context.update(run.event)
                    run.values_changed = True
                    self._continue(customer, run, program, arm.to, arm.label)
                    return
        if not taken and event.type in program.awaited:
            self._history(run, run.step, "ignored", f"event {event.type}", _waiting(run))

    def _milestones(self, run: Run, program: Program, kind: str, scope: RunScope) -> bool:
        """Record each milestone this event reaches for the first time in the run."""
        reached = False
        age = self.engine.now - run.entered_at
        for milestone in program.milestones:
            if milestone.event == kind and milestone.name not in run.milestones and (
                    milestone.within is None or age <= milestone.within) and milestone.test(scope):
                run.milestones[milestone.name] = self.engine.now
                run.values_changed = True
                self._history(run, run.step, "milestone", f"milestone {milestone.name} on {kind}",
                              milestone.name)
                reached = True
        return reached

    def _ending(self, run: Run, program: Program, kind: str, scope: RunScope):
        """(outcome, why) when a goal or exit rule ends the run on this event, else None."""
        age = self.engine.now - run.entered_at
        for goal in program.goals:
            if goal.event == kind and (goal.within is None or age <= goal.within) and goal.test(scope):
                return CONVERTED, f"goal {goal.name} on {kind}"
        for rule in program.exits:
            if rule.event == kind and rule.test(scope):
                return rule.outcome, f"exit on {kind}"
        return None

    def _handle(self, customer: Customer, run: Run, program: Program, handler: HandlerDef,
                event: Event, scope: RunScope) -> None:
        """Run a handler's actions where the run is, then jump when it says so (a wait or a
        deferred send the run was at is left)."""
        done = [self._action_of(customer, run, program, action, scope) for action in handler.actions]
        jump = f"-> {handler.to}" if handler.to is not None else None
        self._history(run, run.step, "handled", f"on {event.type}",
                      "; ".join(d for d in done + [jump] if d) or None)
        if handler.to is not None:
            self._cancel_timer(run)
            self._continue(customer, run, program, handler.to, f"on {event.type}")

    def _action_of(self, customer, run, program, action: StepDef, scope: RunScope) -> str:
        """One instant action of a handler; what it did, for the history."""
        if action.kind == "set":
            self._assign(customer, run, action, scope)
            return f"set {action.params['attribute']}"
        if action.kind in ("tag", "untag"):
            self._tag(customer, run, program, action)
            return f"{action.kind} {', '.join(action.params['tags'])}"
        what, detail = self._emit(customer, run, program, action)[:2]
        return f"emit {action.params['event']}" + (f" ({detail})" if what == "skipped" else "")

    def _end(self, customer: Customer, run: Run, outcome: str, why: str) -> None:
        self._cancel_timer(run)
        run.status, run.outcome, run.ended_at, run.waiting = ENDED, outcome, self.engine.now, None
        if run in customer.runs:
            customer.retire(customer.runs, run)
        for seen in [o for o in customer.observations if o.run_id == run.id and o.status != OPEN]:
            customer.retire(customer.observations, seen)  # kept only while their run lives
        self._history(run, run.step, "ended", why, outcome)

    def _opt_out(self, customer: Customer, why: str) -> None:
        customer.profile["opted_out"] = True
        drop_pending(customer.sends)
        customer.profile_changed = customer.state_changed = True
        for adapter in self.adapters.distinct():
            adapter.cancel_pending(customer.id, self.next_action - 1)
        self._record([self.engine.now, customer.id, None, None, None, "opted_out", why,
                      "queued messages cancelled"])

    # --- walking steps ------------------------------------------------------------------------

    def _continue(self, customer: Customer, run: Run, program: Program, step_id: str | None,
                  why: str) -> None:
        """Enter ``step_id`` and keep going until the run waits or ends (each step as
        ``_execute`` runs it, inlined: this loop moves most runs)."""
        now, history, kinds, kpis_at = self.engine.now, self.store.history, _STEP_KINDS, \
            program.kpis_at
        steps = program.steps
        self.traced += 1  # every call records an entry: a step's, or the run's end
        for _ in range(MAX_STEPS):
            if step_id is None:
                self._end(customer, run, COMPLETED, "no next step")
                return
            step = steps[step_id]
            # one store per field: a tuple assignment builds and unpacks a tuple per step
            run.step = step_id = step.id
            run.stage = step.stage
            run.step_at = now
            run.waiting = None
            if kpis_at:
                kpis = kpis_at.get(step_id)
                if kpis:
                    self._open_kpis(customer, run, kpis)
            what, detail, step_id, edge, outcome = kinds[step.kind](self, customer, run, program,
                                                                   step)
            history([now, run.customer, run.id, run.journey_id, step.id, what, why, detail])
            if outcome is not None:
                self._end(customer, run, outcome, edge)
                return
            if edge is None:
                return
            why = edge
        self._end(customer, run, ERROR, f"more than {MAX_STEPS} steps without a wait")

    def _execute(self, customer: Customer, run: Run, program: Program, step: StepDef,
                 why: str) -> None:
        """Run the step where ``run`` is, record what it did, and end the run or go on from it."""
        what, detail, to, edge, outcome = _STEP_KINDS[step.kind](self, customer, run, program,
                                                                 step)
        self._history(run, step.id, what, why, detail)
        if outcome is not None:
            self._end(customer, run, outcome, edge)
        elif edge is not None:
            self._continue(customer, run, program, to, edge)

    def _timer(self, run: Run, due: float, kind: str, step: str | None) -> None:
        """The run's timer (``_add_timer``, inlined)."""
        timer = Timer(-1, due, RunTimer(run.id, run.customer, kind, step))
        timer.seq = sequence = self.engine.schedule(due, TIMER, timer)
        self.pending[sequence] = timer
        self.store.add_timer(timer)
        run.timer = sequence
        run.timer_due = due

    def _add_timer(self, due: float, payload) -> int:
        timer = Timer(-1, due, payload)
        timer.seq = self.engine.schedule(due, timer_priority(payload), timer)
        self.pending[timer.seq] = timer
        self.store.add_timer(timer)
        return timer.seq

    def _cancel_timer(self, owner) -> None:
        """Cancel the pending timer of a run, an SLA or an observation."""
        if owner.timer is not None:
            self.pending.pop(owner.timer, None)
            self.store.drop_timer(owner.timer)
            owner.timer = None
            if type(owner) is Run:
                owner.timer_due = None

    def _history(self, run: Run, step: str | None, what: str, why: str | None,
                 detail: str | None = None) -> None:
        self.traced += 1
        self.store.history([self.engine.now, run.customer, run.id, run.journey_id, step, what,
                            why, detail])

    def _record(self, row: list) -> None:
        """A history row of a customer (HISTORY_COLUMNS order)."""
        self.traced += 1
        self.store.history(row)

    # --- step kinds: each returns its Result --------------------------------------------------

    def _send(self, customer: Customer, run: Run, program: Program, step: StepDef) -> Result:
        """Send on the first channel (the step's, then its fallbacks) that the send checks let
        through, in the shared order (``semantics.send_checks``): opt-out (no channel reaches
        a customer who opted out), consent, quiet hours (they defer the whole send: they hold
        for every channel), caps (a transactional message is exempt from the last two)."""
        channels, transactional, template, promo = step.send
        profile = customer.profile
        if profile.get("opted_out") is True:
            return "skipped", "opted out", step.next, "next", None
        now, refused, channel, zone = self.engine.now, None, None, None
        for candidate in channels:
            if candidate in program.consent and not consents(profile, candidate):
                detail = f"no consent for {candidate}"
            elif transactional:
                channel = candidate
                break
            else:
                if zone is None:  # the first channel to reach quiet hours and caps
                    zone = self.zones.get(profile.get("timezone"))
                    until = quiet_until(now, program.quiet, zone) \
                        if program.quiet is not None else None
                    if until is not None:
                        run.waiting = "quiet"
                        self._timer(run, until, "quiet", step.id)
                        return "deferred", f"quiet hours until {iso(until)}", None, None, None
                    sends = customer.sends
                    if sends and sends[0][0] <= now - self.send_window:
                        customer.sends = [s for s in sends if s[0] > now - self.send_window]
                        customer.state_changed = True
                cap = cap_reached(customer.sends, now, candidate, program.caps, zone) \
                    if program.caps else None
                if cap is None:
                    channel = candidate
                    break
                detail = cap_text(cap)
            if refused is None:
                refused = []
            refused.append((candidate, detail))
        if channel is None:
            return "skipped", _refusals(refused), step.next, "next", None
        action = Action(self.next_action, now, run.customer, run.id, run.journey_id,
                        run.content_hash, step.id, "message", channel, template,
                        payload=dict(step.params["params"]), promo=promo)
        self.next_action += 1
        if self.render is not None:
            self.render(action, program, customer, run)
        self.adapters.for_action(action).deliver(action)
        if action.status == FAILED:
            return "failed", action.payload.get("error"), step.next, "next", None
        if not transactional:  # transactional messages neither meet nor fill the caps
            count_send(customer.sends, now, channel, run.journey_id, action.id,
                       action.status == QUEUED)
            customer.state_changed = True
        detail = f"{channel} {template} #{action.id}"
        if refused:
            detail += f" (after {_refusals(refused)})"
        return "sent", detail, step.next, "next", None

    def _wait(self, customer, run, program, step) -> Result:
        if step.zero:
            return "wait", None, step.next, "waited", None
        run.waiting = "time"
        due = self.engine.now + step.params["duration"]
        self._timer(run, due, "wake", step.id)
        return "wait", f"until {iso(due)}", None, None, None

    def _wait_until(self, customer, run, program, step) -> Result:
        zone = self.zones.get(customer.profile.get("timezone"))
        due = next_local_time(self.engine.now, step.minutes, zone)
        if due <= self.engine.now:
            return "wait_until", None, step.next, "time reached", None
        run.waiting = "time"
        self._timer(run, due, "wake", step.id)
        return "wait_until", f"until {iso(due)}", None, None, None

    def _wait_day(self, customer, run, program, step) -> Result:
        zone = self.zones.get(customer.profile.get("timezone"))
        due = day_after_entry(run.entered_at, step.params["day"], step.minutes, zone)
        if due <= self.engine.now:
            return ("wait_day", f"day {step.params['day']} at {step.params['time']} was {iso(due)}",
                    step.next, "time passed", None)
        run.waiting = "time"
        self._timer(run, due, "wake", step.id)
        return "wait_day", f"until {iso(due)}", None, None, None

    def _wait_schedule(self, customer, run, program, step) -> Result:
        zone = self.zones.get(customer.profile.get("timezone"))
        due = next_occurrence(self.engine.now, step.schedule, zone)
        run.waiting = "time"
        self._timer(run, due, "wake", step.id)
        return "wait_schedule", f"until {iso(due)}", None, None, None

    def _wait_event(self, customer, run, program, step) -> Result:
        if step.zero:
            return "wait_event", None, step.timeout or step.next, "timeout", None
        within = step.params.get("within")
        run.waiting = "event"
        if within is None:
            return "wait_event", None, None, None, None
        self._timer(run, self.engine.now + within, "timeout", step.id)
        return "wait_event", f"until {iso(self.engine.now + within)}", None, None, None

    def _branch(self, customer, run, program, step) -> Result:
        scope = self._scope(customer, run, program, run.event)
        for arm in step.arms:
            if arm.test(scope):
                return "branch", None, step.next if arm.to is None else arm.to, arm.label, None
        return "branch", None, step.next, "else", None

    def _split(self, customer, run, program, step) -> Result:
        arm = choose_arm(self.seed, run.journey_id, step.id, customer.id, step.arms)
        run.arms[step.id] = arm.name
        run.values_changed = True
        if arm.holdout:
            ending = self._hold(run, program, step.id)
            if ending is not None:
                return "holdout", arm.name, None, ending, EXPIRED
            return "holdout", arm.name, None, None, None
        return "split", arm.name, step.next if arm.to is None else arm.to, arm.label, None

    def _tag(self, customer, run, program, step) -> Result:
        tags = customer.profile.get("tags")
        current = set(tags) if isinstance(tags, list) else set()
        if step.kind == "tag":
            current |= set(step.params["tags"])
        else:
            current -= set(step.params["tags"])
        customer.profile["tags"] = sorted(current)
        customer.profile_changed = True
        return step.kind, None, step.next, "next", None

    def _set(self, customer, run, program, step) -> Result:
        self._assign(customer, run, step, self._scope(customer, run, program, run.event))
        return "set", None, step.next, "next", None

    def _assign(self, customer, run, step: StepDef, scope: RunScope) -> None:
        assign(customer.profile, run.event, run.context, step.params["attribute"],
               step.value(scope), run.vars)
        customer.profile_changed = run.values_changed = True

    def _coupon(self, customer, run, program, step) -> Result:
        params, now = step.params, self.engine.now
        expires = params.get("expires")
        action = self._act(run, step, "coupon", due=None if expires is None else now + expires,
                           payload={"code": params["code"], "value": params.get("value")})
        return "coupon", f"#{action.id}", step.next, "next", None

    def _handoff(self, customer, run, program, step) -> Result:
        params, now = step.params, self.engine.now
        within = params.get("within")
        payload = self._keyed(run, {"role": params["role"], "note": params.get("note")})
        action = self._act(run, step, "handoff", due=None if within is None else now + within,
                           payload=payload)  # its key, for the staff's handoff_resolved
        if within is not None:
            self._open_sla(customer, run, step.id, params["role"], now + within)
        return "handoff", f"#{action.id}", step.next, "next", None

    def _webhook(self, customer, run, program, step) -> Result:
        action = self._act(run, step, "webhook", payload={"url": step.params["url"]})
        return "webhook", f"#{action.id}", step.next, "next", None

    def _emit(self, customer, run, program, step) -> Result:
        params = step.params
        action = self._act(run, step, "event", payload={"event": params["event"],
                                                        "params": dict(params["params"])})
        if self.depth >= MAX_EMIT_DEPTH:
            return "skipped", f"emit chain deeper than {MAX_EMIT_DEPTH}", step.next, "next", None
        data = self._keyed(run, copy_json(params["params"]))
        if self._takes(params["event"], customer.id):
            self.engine.schedule(self.engine.now, EVENT, Event(
                f"emit-{action.id}", params["event"], customer.id, self.engine.now,
                {}, data, self.depth + 1, origin_run=run.id))
        # the emitting run takes its own event at once: its milestones, goals and exit rules
        scope = self._scope(customer, run, program, data)
        self._milestones(run, program, params["event"], scope)
        ending = self._ending(run, program, params["event"], scope)
        if ending is not None:
            return "event", f"#{action.id}", None, ending[1], ending[0]
        return "event", f"#{action.id}", step.next, "next", None

    def _takes(self, kind: str, customer_id: str) -> bool:
        """Whether an event a step makes for this instant (an emitted event, an SLA breach)
        must be queued. One of a type no loaded journey takes, while no scheduled entry is
        armed, for a customer the store keeps, would change nothing (``on_event`` passes it
        by, and nothing keeps what it returns for a queued event): it only takes the sequence
        number it would have had, so that every later item is numbered as before."""
        if kind in self.reacting or self.scheduled or not self.store.holds(customer_id):
            return True
        self.engine.sequence += 1
        return False

    def _act(self, run, step, kind: str, payload: dict, due: float | None = None) -> Action:
        """A numbered action of ``run`` at ``step`` (not a message: ``_send`` makes those),
        handed to its adapter."""
        action = Action(self.next_action, self.engine.now, run.customer, run.id, run.journey_id,
                        run.content_hash, step.id, kind, payload=payload, due=due)
        self.next_action += 1
        self.adapters.for_action(action).deliver(action)
        return action

    def _goto(self, customer, run, program, step) -> Result:
        return "goto", None, step.next, "goto", None

    def _exit(self, customer, run, program, step) -> Result:
        return "exit", None, None, f"exit step {step.id}", step.params["outcome"]

    # --- scheduled entries ----------------------------------------------------------------------

    def _zone_key(self, customer: Customer) -> str:
        return self.zones.get(customer.profile.get("timezone")).key

    def _arm(self, program: Program, zone: str) -> None:
        """A timer at the schedule's next occurrence in ``zone``, unless one is pending."""
        key = (program.journey_id, zone)
        if key in self.schedule_timers or self.engine.now == float("-inf"):
            return
        due = next_occurrence(self.engine.now, program.entry.schedule, self.zones.get(zone))
        self.schedule_timers[key] = self._add_timer(due, Occurrence(program.journey_id, zone))

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
        if type(timer.payload) is Occurrence:
            self.schedule_timers[(timer.payload.journey_id, timer.payload.zone)] = timer.seq

    def _occurrence(self, due: Occurrence, sequence: int) -> None:
        """Every known customer in the timer's zone tries to enter; then the next occurrence.
        Only the customers whose ``timezone`` attribute names that zone are loaded."""
        journey_id, zone = due.journey_id, due.zone
        self.schedule_timers.pop((journey_id, zone), None)
        program = self.active.get(journey_id)
        if program is None or program not in self.scheduled:
            return  # the active version no longer has a scheduled entry
        data, why = {"occurrence": iso(self.engine.now)}, f"entry at {iso(self.engine.now)}"
        names = [name for name in self.store.timezones() if self.zones.get(name).key == zone]
        for ident in self.store.customers_in_timezones(names):
            customer = self.store.customer(ident)
            if self._zone_key(customer) == zone:
                self._try_enter(customer, program, data, why)
        self._arm(program, zone)

    # --- SLAs ---------------------------------------------------------------------------------

    def _open_sla(self, customer: Customer, run: Run, step: str, role: str, due: float) -> None:
        sla = Sla(self.next_sla, customer.id, run.id, run.journey_id, step, role,
                  self.engine.now, due)
        self.next_sla += 1
        sla.timer = self._add_timer(due, SlaDue(sla.id, customer.id, step))
        customer.slas.append(sla)

    def _resolve_sla(self, customer: Customer, event: Event) -> dict[str, Program | None]:
        """The oldest open SLA of the event's role (any role when it names none) is met, among
        those of runs the event is for (their correlation key); per journey whose SLAs it
        passed over, its program (None for the journey of the SLA it met)."""
        role = event.data.get("role")
        runs = {r.id: r for r in customer.runs}
        passed: dict[str, Program | None] = {}
        for sla in customer.slas:
            if role is not None and sla.role != role:
                continue
            run = runs.get(sla.run_id)
            program = run and self.programs[run.content_hash]
            if run is not None and not self._for_run(program, run, event):
                passed.setdefault(sla.journey_id, program)  # another order's (ticket's) handoff
                continue
            self._cancel_timer(sla)
            self._close(customer, sla, MET)
            passed[sla.journey_id] = None
            break
        return passed

    def _resolve_ladder(self, customer: Customer, run: Run, wait: StepDef, kind: str) -> None:
        """A ladder's resolving event: the SLAs its rungs opened in this run and that are still
        open are met (resolved before their deadline); the rungs ahead are cancelled."""
        ladder = wait.params["ladder"]
        done = []
        for sla in [s for s in customer.slas if s.run_id == run.id and s.step in ladder["reached"]]:
            self._cancel_timer(sla)
            self._close(customer, sla, MET)
            done.append(f"{sla.role} SLA of {sla.step} met")
        if ladder["ahead"]:
            done.append(f"cancelled, not reached: {', '.join(ladder['ahead'])}")
        if done:
            self._history(run, wait.id, "sla_closed", f"event {kind}", "; ".join(done))

    def _sla_due(self, due: SlaDue, sequence: int) -> None:
        customer = self.store.customer(due.customer)
        for sla in customer.slas:
            if sla.id == due.sla_id:
                break
        else:
            return
        sla.timer = None
        self._close(customer, sla, BREACHED)
        if not self._takes(BREACH, customer.id):
            return
        data = {"role": sla.role, "step": sla.step, "journey": sla.journey_id, "due": iso(sla.due)}
        for run in customer.runs:
            if run.id == sla.run_id:
                data = self._keyed(run, data)
                break
        self.engine.schedule(self.engine.now, EVENT, Event(
            f"sla-{sla.id}", BREACH, customer.id, self.engine.now, {}, data))

    def _close(self, customer: Customer, sla: Sla, status: str) -> None:
        sla.status, sla.closed = status, self.engine.now
        customer.retire(customer.slas, sla)

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
            seen.timer = self._add_timer(seen.due, KpiDue(seen.id, customer.id, kpi.name))
            customer.observations.append(seen)

    def _kpi_event(self, customer: Customer, event: Event) -> int:
        """Settle the open KPI observations the event meets; how many."""
        scope, hits = None, 0
        for seen in list(customer.observations):
            if seen.status != OPEN:
                continue
            kpi = self.programs[seen.content_hash].kpis[seen.kpi]
            if kpi.event != event.type or self.engine.now > seen.due:
                continue
            scope = scope or RunScope(customer.profile, event.data, {}, None, None,
                                      History(customer.events, None, self.engine.now))
            if kpi.test(scope):
                self._cancel_timer(seen)
                self._settle(customer, seen, HIT)
                hits += 1
        return hits

    def _kpi_due(self, due: KpiDue, sequence: int) -> None:
        customer = self.store.customer(due.customer)
        seen = next((o for o in customer.observations if o.id == due.observation_id), None)
        if seen is not None and seen.status == OPEN:
            seen.timer = None
            self._settle(customer, seen, MISSED)

    def _settle(self, customer: Customer, seen: Observation, status: str) -> None:
        seen.status, seen.closed = status, self.engine.now
        if all(r.id != seen.run_id for r in customer.runs):
            customer.retire(customer.observations, seen)  # its run has ended: nothing will look again


def timer_priority(payload) -> int:
    """A timer's place among the items of its instant: a KPI observation's due comes after
    everything else (``engine.LATE``), so that an event at the window's very end counts."""
    return LATE if type(payload) is KpiDue else TIMER


_TIMER_KINDS = {RunTimer: Executor._run_timer, SlaDue: Executor._sla_due,
                KpiDue: Executor._kpi_due, Occurrence: Executor._occurrence}


_STEP_KINDS = {
    "send": Executor._send, "wait": Executor._wait, "wait_until": Executor._wait_until,
    "wait_day": Executor._wait_day,
    "wait_schedule": Executor._wait_schedule,
    "wait_event": Executor._wait_event, "branch": Executor._branch, "split": Executor._split,
    "tag": Executor._tag, "untag": Executor._tag, "set": Executor._set,
    "coupon": Executor._coupon, "handoff": Executor._handoff, "webhook": Executor._webhook,
    "emit": Executor._emit, "goto": Executor._goto, "exit": Executor._exit,
}
assert set(_STEP_KINDS) == set(STEP_KINDS), "every step kind of the tables has a handler"
assert send_checks() == (SEND_OPTED_OUT, SEND_NO_CONSENT, SEND_QUIET, SEND_CAP) and \
    send_checks(True) == (SEND_OPTED_OUT, SEND_NO_CONSENT), "Executor._send follows this order"


def _entry_event(program: Program) -> str | None:
    return program.entry.event if program.entry is not None else None


UNUSED = "no loaded journey takes it"
UNUSED_UPDATED = f"{UNUSED}; profile updated"


def _no_trace(event: Event, taken: bool, refusals: list[str], kept: bool, hits: int) -> str:
    """What became of an event that left no entry in the history: why no run took it, and
    what it changed instead."""
    done = ["; ".join(refusals) if refusals else "no run took it" if taken else UNUSED]
    if event.attributes:
        done.append("profile updated")
    if kept:
        done.append("kept for history questions")
    if event.type in DELIVERY_EVENTS:
        done.append("delivery result noted")
    if hits:
        done.append(f"{hits} KPI observation{'s' if hits > 1 else ''} met")
    return "; ".join(done)


def _undelivered(program: Program, event: Event) -> str:
    """Why an event reached none of the runs of a journey that correlates them."""
    path = program.correlate
    value, problem = key_of(event.data, path)
    why = unusable(problem, path) if problem else f"no active run has {shown(path, value)}"
    return f"{why} (correlate by {'.'.join(path)})"


def _waiting(run: Run) -> str:
    """What a run was doing when an event found nothing to take it."""
    return {"time": "waiting for time to pass", "event": "waiting for other events",
            "quiet": "holding a send until quiet hours end"}.get(run.waiting, "not waiting")


def cap_text(cap) -> str:
    """How a reached cap reads in the history: ``cap 2 per 86400s on sms reached``."""
    scope = f" on {', '.join(sorted(cap.channels))}" if cap.channels else ""
    per = f"calendar {cap.calendar}" if cap.calendar else f"{cap.per}s"
    return f"cap {cap.messages} per {per}{scope} reached"


def _refusals(refused: list[tuple[str, str]]) -> str:
    """Why a send was skipped: the last channel's reason first (it decided), then the
    channels tried before it."""
    if len(refused) == 1:
        return refused[0][1]
    earlier = "; ".join(f"{channel}: {detail}" for channel, detail in refused[:-1])
    return f"{refused[-1][1]} (tried first {earlier})"
