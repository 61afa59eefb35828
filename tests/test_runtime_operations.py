"""Operations at run time: handoff SLAs, KPI observations, promo sends, and what status shows."""
from __future__ import annotations

import json
import sqlite3

from click.testing import CliRunner

from journeylang.cli import main
from journeylang.runtime import SqliteStore, iso
from journeylang.runtime import status as queries

from runtime_kit import DAY, HOUR, T0, Kit, compile_text, journey

SLA = journey('''
  stage s {
    handoff to agent within 1h note "call them"
    handoff to billing within 3h
    w: wait for sla_breached where event.role == "agent" within 2h -> late timeout -> fine
    late: send via wecom template b
    exit escalated
    fine: exit completed
  }''', header="  entry on complaint\n  reentry always\n  role agent capacity 10 per 1d")


def test_a_resolved_handoff_meets_its_sla():
    kit = Kit(SLA)
    kit.send("complaint", attributes={"name": "Ann"})
    kit.send("handoff_resolved", at=T0 + 30 * 60, data={"role": "agent"})
    kit.advance(T0 + DAY)
    slas = sorted(kit.runtime.store.slas.values(), key=lambda s: s.id)
    assert [(s.role, s.status, s.closed) for s in slas] == [
        ("agent", "met", T0 + 30 * 60), ("billing", "breached", T0 + 3 * HOUR)]
    assert kit.runs()[0].outcome == "completed"  # the billing breach came after the wait's timeout


def test_a_breach_is_an_event_a_waiting_run_branches_on():
    kit = Kit(SLA)
    kit.send("complaint", attributes={"name": "Ann"})
    kit.advance(T0 + DAY)
    agent = kit.runtime.store.slas[1]
    assert (agent.status, agent.closed, agent.due) == ("breached", T0 + HOUR, T0 + HOUR)
    assert kit.steps()[-2:] == ["late", "s.5"] and kit.runs()[0].outcome == "escalated"
    assert kit.messages()[0].at == T0 + HOUR
    assert kit.runs()[0].event == {"role": "agent", "step": "s.1", "journey": "t",
                                   "due": iso(T0 + HOUR)}


def test_a_resolution_without_a_role_meets_the_oldest_open_sla():
    kit = Kit(SLA)
    kit.send("complaint", attributes={"name": "Ann"})
    kit.send("handoff_resolved", at=T0 + 60)
    kit.send("handoff_resolved", at=T0 + 120)
    kit.send("handoff_resolved", at=T0 + 180)  # nothing open: no effect
    assert [(s.role, s.status) for s in kit.runtime.store.slas.values()] == [
        ("agent", "met"), ("billing", "met")]


def test_an_event_exactly_at_the_deadline_still_meets_it():
    kit = Kit(SLA)
    kit.send("complaint", attributes={"name": "Ann"})
    kit.send("handoff_resolved", at=T0 + HOUR, data={"role": "agent"})
    assert kit.runtime.store.slas[1].status == "met"


LADDER = journey('''
  stage s {
    ladder: escalate until resolved within 4h -> done {
      at 0m: handoff to staff within 30m
      at 30m: handoff to qa within 30m
      at 1h: handoff to expert within 1h
      at 2h: handoff to director within 2h
      breach -> late
    }
    late: exit escalated
    done: exit completed
  }''', header="  entry on complaint\n  reentry always")


def _early_resolution(kit: Kit) -> None:
    """A complaint whose first rung is answered at 20 minutes and which is resolved at 70:
    the qa rung's deadline (60) passed before, the expert's (120) had not, the director's rung
    (at 2h) was never reached."""
    kit.send("complaint", attributes={"name": "Ann"})
    kit.send("handoff_resolved", at=T0 + 20 * 60, data={"role": "staff"})
    kit.send("resolved", at=T0 + 70 * 60)
    kit.advance(T0 + DAY)


def test_the_resolving_event_closes_the_open_slas_of_its_ladder():
    kit = Kit(LADDER)
    _early_resolution(kit)
    slas = sorted(kit.runtime.store.slas.values(), key=lambda s: s.id)
    assert [(s.role, s.step, s.status, s.closed) for s in slas] == [
        ("staff", "ladder", "met", T0 + 20 * 60),
        ("qa", "ladder.r2", "breached", T0 + HOUR),
        ("expert", "ladder.r3", "met", T0 + 70 * 60)]
    assert kit.runs()[0].outcome == "completed"
    closed, = kit.history(what="sla_closed")
    assert closed[4:] == ["ladder.w3", "sla_closed", "event resolved",
                          "expert SLA of ladder.r3 met; cancelled, not reached: ladder.r4"]


def test_a_ladder_breach_leaves_its_slas_open_until_their_deadlines():
    kit = Kit(LADDER)
    kit.send("complaint", attributes={"name": "Ann"})
    kit.advance(T0 + DAY)
    slas = sorted(kit.runtime.store.slas.values(), key=lambda s: s.id)
    assert [(s.role, s.status, s.closed) for s in slas] == [
        ("staff", "breached", T0 + 30 * 60), ("qa", "breached", T0 + HOUR),
        ("expert", "breached", T0 + 2 * HOUR), ("director", "breached", T0 + 4 * HOUR)]
    assert kit.runs()[0].outcome == "escalated" and kit.history(what="sla_closed") == []


def test_a_resolution_closes_only_the_slas_of_its_own_run():
    kit = Kit(LADDER)
    kit.send("complaint", attributes={"name": "Ann"})
    kit.send("complaint", at=T0 + 50 * 60)    # a second complaint: its own ladder
    kit.send("resolved", at=T0 + 55 * 60)     # reaches both runs (no correlation key)
    first, second = kit.runs()
    assert first.outcome == second.outcome == "completed"
    kit.send("complaint", at=T0 + 56 * 60)    # a third ladder, started after the resolution
    kit.advance(T0 + 90 * 60)
    slas = sorted(kit.runtime.store.slas.values(), key=lambda s: s.id)
    assert [(s.run_id, s.role, s.status) for s in slas] == [
        (1, "staff", "breached"), (1, "qa", "met"), (2, "staff", "met"),
        (3, "staff", "breached"), (3, "qa", "open")]


def test_status_shows_the_breach_rate_after_an_early_resolution(tmp_path):
    path = tmp_path / "state.sqlite"
    kit = Kit(LADDER, store=SqliteStore(path))
    _early_resolution(kit)
    kit.runtime.close()
    db = queries.open_state(path)
    roles = queries.roles(db)
    db.close()
    assert [(r["role"], r["open"], r["met"], r["breached"], r["breach_rate"]) for r in roles] == [
        ("expert", 0, 1, 0, 0.0), ("qa", 0, 0, 1, 1.0), ("staff", 0, 1, 0, 0.0)]


KPI = journey('''
  stage first {
    send via wecom template a
    wait 1h
    goto first_again
    first_again: branch { when customer.loops >= 1 -> second; else -> loop }
    loop: set customer.loops = 1 -> first
  }
  stage second {
    kpi bought "Bought" on order_paid where order.total >= 10 within 2d baseline 20% target 30%
    kpi clicked on click within 1d baseline 40% target 30% at later
    wait 1h
    later: wait 3d
    exit completed
  }''', header="  entry on signup\n  reentry always\n  attribute loops: number = 0")


def test_kpis_open_once_per_run_and_are_hit_or_missed():
    kit = Kit(KPI)
    kit.send("signup", "c1", attributes={"name": "Ann"})
    kit.send("signup", "c2", attributes={"name": "Bo"})
    opened = T0 + 2 * HOUR  # the second pass through `first` reaches `second` after two waits
    kit.send("order_paid", "c1", at=opened - 60, data={"order": {"total": 50}})  # before: no
    kit.send("click", "c2", at=opened + HOUR + 60)
    kit.send("order_paid", "c1", at=opened + DAY, data={"order": {"total": 5}})   # condition
    kit.send("order_paid", "c1", at=opened + 2 * DAY, data={"order": {"total": 50}})  # at due
    kit.advance(T0 + 10 * DAY)
    found = sorted((o.customer, o.kpi, o.status, o.opened, o.closed)
                   for o in kit.runtime.store.observations.values())
    assert found == [
        ("c1", "bought", "hit", opened, opened + 2 * DAY),
        ("c1", "clicked", "missed", opened + HOUR, opened + HOUR + DAY),
        ("c2", "bought", "missed", opened, opened + 2 * DAY),
        ("c2", "clicked", "hit", opened + HOUR, opened + HOUR + 60)]



SEEN_AT_DUE = journey('''
  stage s {
    kpi seen on promo_seen within 1h baseline 20% target 30%
    wait 1h
    emit promo_seen
    wait 1d
    exit completed
  }''', header="  entry on signup\n  reentry always")


def test_the_kpi_event_a_timer_of_the_due_instant_makes_still_hits():
    """The wait that the stage starts ends at the window's end too, and its timer was set after
    the KPI's: the window's end still comes after what that timer does (the emitted event)."""
    kit = Kit(SEEN_AT_DUE)
    kit.send("signup", attributes={"name": "Ann"})
    kit.advance(T0 + 2 * DAY)
    found = [(o.status, o.closed) for o in kit.runtime.store.observations.values()]
    assert found == [("hit", T0 + HOUR)]


def test_a_window_end_read_back_from_the_store_still_comes_last(tmp_path):
    path = tmp_path / "state.sqlite"
    kit = Kit(SEEN_AT_DUE, store=SqliteStore(path))
    kit.send("signup", attributes={"name": "Ann"})
    kit.advance(T0 + 30 * 60)   # both timers pending, then a restart reads them back
    kit.runtime.close()
    again = Kit(store=SqliteStore(path))
    again.advance(T0 + 2 * DAY)
    again.runtime.close()
    db = queries.open_state(path)
    found = [tuple(r) for r in db.execute("SELECT status, closed FROM observations")]
    db.close()
    assert found == [("hit", T0 + HOUR)]

PROMO = journey('''
  stage s {
    send transactional via wecom template d
    send promo via wecom template a
    send via wecom template b
    send via wecom template c
    exit completed
  }''', header="  entry on signup\n  reentry always\n  policy { promo 20% }")


def test_promo_sends_are_marked():
    kit = Kit(PROMO)
    kit.send("signup", attributes={"name": "Ann"})
    assert [m.promo for m in kit.messages()] == [False, True, False, False]


def test_state_survives_a_restart_mid_way(tmp_path):
    path = tmp_path / "state.sqlite"
    kit = Kit(SLA, KPI.replace("journey t ", "journey k "), store=SqliteStore(path))
    kit.send("complaint", "c1", attributes={"name": "Ann"})
    kit.send("signup", "c2", attributes={"name": "Bo"})
    kit.send("handoff_resolved", "c1", at=T0 + 60, data={"role": "billing"})
    kit.advance(T0 + 3 * HOUR)   # c2's stage KPIs are open
    kit.runtime.close()
    again = Kit(store=SqliteStore(path))
    again.send("click", "c2", at=T0 + 3 * HOUR + 60, ident="click-1")  # a new event id
    again.advance(T0 + 10 * DAY)
    again.advance(T0 + 10 * DAY)
    again.runtime.close()
    db = queries.open_state(path)
    slas = [tuple(r) for r in db.execute("SELECT role, status, closed FROM slas ORDER BY id")]
    seen = [tuple(r) for r in db.execute("SELECT kpi, status FROM observations ORDER BY id")]
    late = db.execute("SELECT count(*) FROM history WHERE step = 'late'").fetchone()[0]
    roles = queries.roles(db)
    db.close()
    assert slas == [("agent", "breached", T0 + HOUR), ("billing", "met", T0 + 60)]
    assert seen == [("bought", "missed"), ("clicked", "hit")]
    assert late == 1  # the breach event reached the waiting run exactly once
    assert [(r["role"], r["open"], r["met"], r["breached"], r["breach_rate"]) for r in roles] == [
        ("agent", 0, 0, 1, 1.0), ("billing", 0, 1, 0, 0.0)]


def test_status_reports_slas_kpis_and_promo(tmp_path):
    files = {"sla.json": SLA, "kpi.json": KPI.replace("journey t ", "journey k "),
             "promo.json": PROMO.replace("journey t ", "journey p ")}
    tables = []
    for name, text in files.items():
        (tmp_path / name).write_text(compile_text(text).canonical_json(), encoding="utf-8")
        tables += ["--tables", str(tmp_path / name)]
    events = [
        {"id": "1", "type": "complaint", "customer": "c1", "at": iso(T0), "attributes": {"name": "A"}},
        {"id": "2", "type": "signup", "customer": "c2", "at": iso(T0), "attributes": {"name": "B"}},
        {"id": "3", "type": "handoff_resolved", "customer": "c1", "at": iso(T0 + 7200)},
        {"id": "4", "type": "click", "customer": "c2", "at": iso(T0 + 3 * HOUR + 60)}]
    (tmp_path / "events.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    db = str(tmp_path / "state.sqlite")
    runner = CliRunner()
    result = runner.invoke(main, ["run", *tables, "--events", str(tmp_path / "events.jsonl"),
                                  "--db", db, "--until", iso(T0 + 10 * DAY)])
    assert result.exit_code == 0, result.output
    data = json.loads(runner.invoke(main, ["status", "--db", db, "--json"]).output)
    # the transactional message is exempt from the budget: neither sent nor pending for it
    assert [(p["sends"], p["pending"]) for p in data["promo"]] == [(0, 3)]  # none sent yet
    with sqlite3.connect(db) as connection:  # as a delivery worker reports them sent
        connection.execute("UPDATE outbox SET status = 'sent' WHERE kind = 'message'")
    data = json.loads(runner.invoke(main, ["status", "--db", db, "--json"]).output)
    assert [(r["role"], r["met"], r["breached"]) for r in data["roles"]] == [
        ("agent", 0, 1), ("billing", 1, 0)]
    assert [(k["kpi"], k["observations"], k["hits"], k["met"]) for k in data["kpis"]] == [
        ("bought", 1, 0, False), ("clicked", 1, 1, False)]  # clicked: lower is better
    assert data["promo"] == [{"journey_id": "p", "sends": 3, "promo": 1, "share": 1 / 3,
                              "budget": 0.2, "pending": 0}]  # c2's signup also entered the promo journey
    text = runner.invoke(main, ["status", "--db", db]).output
    assert "agent                open      0  met      0  breached      1  breach rate 100.0%" in text
    assert "k/clicked" in text and ("1 of 1 closed windows = 100.0%, 95% CI 20.7%-100.0% "
                                    "(baseline 40.0%, target 30.0%): missed") in text
    assert "p                        1 of 3 = 33.3%, budget 20.0% (over budget)" in text


TWO_AGENTS = journey('''
  stage s {
    handoff to agent within 1h
    handoff to agent within 2h
    exit completed
  }''', header="  entry on complaint\n  reentry always")


def test_several_open_slas_across_a_restart_with_an_event_ingested_twice(tmp_path):
    path = tmp_path / "state.sqlite"
    kit = Kit(TWO_AGENTS, store=SqliteStore(path))
    kit.send("complaint", "c1")
    kit.send("complaint", "c1", at=T0 + 10)   # a second run: four SLAs open, all ended runs
    kit.runtime.close()
    again = Kit(store=SqliteStore(path))
    for _ in range(2):  # the same event id twice: applied once
        again.send("handoff_resolved", "c1", at=T0 + 20, data={"role": "agent"}, ident="r1")
    again.send("handoff_resolved", "c1", at=T0 + 30, data={"role": "nobody"}, ident="r2")
    again.advance(T0 + DAY)
    again.runtime.close()
    db = queries.open_state(path)
    slas = [tuple(r) for r in db.execute("SELECT run_id, status, closed FROM slas ORDER BY id")]
    timers = db.execute("SELECT count(*) FROM timers").fetchone()[0]
    db.close()
    assert slas == [(1, "met", T0 + 20), (1, "breached", T0 + 2 * HOUR),
                    (2, "breached", T0 + 10 + HOUR), (2, "breached", T0 + 10 + 2 * HOUR)]
    assert timers == 0


def test_an_observation_outlives_its_run_and_closes_at_due_after_a_restart(tmp_path):
    text = journey('''
  stage s {
    kpi bought on order_paid within 2d baseline 20% target 30%
    send via wecom template a
    exit completed
  }''', header="  entry on signup\n  reentry always")
    path = tmp_path / "state.sqlite"
    kit = Kit(text, store=SqliteStore(path))
    for customer in ("c1", "c2", "c3"):
        kit.send("signup", customer, attributes={"name": customer})  # each run ends at once
    kit.runtime.close()
    again = Kit(store=SqliteStore(path))
    again.send("order_paid", "c1", at=T0 + DAY, ident="x1")
    again.send("order_paid", "c3", at=T0 + 3 * DAY, ident="x3")  # after due: no hit
    again.advance(T0 + 10 * DAY)
    again.runtime.close()
    db = queries.open_state(path)
    seen = [tuple(r) for r in db.execute("SELECT customer, status, closed FROM observations ORDER BY id")]
    db.close()
    assert seen == [("c1", "hit", T0 + DAY), ("c2", "missed", T0 + 2 * DAY),
                    ("c3", "missed", T0 + 2 * DAY)]


def test_status_counts_a_kpi_for_the_active_version_only(tmp_path):
    """A new version may measure a KPI differently: its figures start from its own runs."""
    text = KPI.replace("journey t ", "journey k ")
    v1, v2 = tmp_path / "v1.json", tmp_path / "v2.json"
    v1.write_text(compile_text(text).canonical_json(), encoding="utf-8")
    v2.write_text(compile_text(text.replace('version 1', 'version 2').replace(
        "within 1d baseline 40%", "within 2d baseline 40%")).canonical_json(), encoding="utf-8")
    db, runner = str(tmp_path / "state.sqlite"), CliRunner()

    def run(tables, events, until):
        path = tmp_path / "events.jsonl"
        path.write_text("\n".join(json.dumps(e) for e in events) + "\n")
        result = runner.invoke(main, ["run", "--tables", str(tables), "--events", str(path),
                                      "--db", db, "--until", iso(until)])
        assert result.exit_code == 0, result.output

    run(v1, [{"id": "1", "type": "signup", "customer": "c1", "at": iso(T0), "attributes": {"name": "A"}},
             {"id": "2", "type": "click", "customer": "c1", "at": iso(T0 + 3 * HOUR + 60)}], T0 + 5 * DAY)
    clicked = lambda: next(k for k in json.loads(runner.invoke(  # noqa: E731
        main, ["status", "--db", db, "--json"]).output)["kpis"] if k["kpi"] == "clicked")
    assert (clicked()["observations"], clicked()["hits"]) == (1, 1)
    run(v2, [{"id": "3", "type": "signup", "customer": "c2", "at": iso(T0 + 5 * DAY), "attributes": {"name": "B"}}],
        T0 + 10 * DAY)
    assert (clicked()["observations"], clicked()["hits"]) == (1, 0)  # v2's run only: missed
