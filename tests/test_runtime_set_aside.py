"""A live runtime never stalls on one event it cannot apply: that event is set aside, with a
trace in its customer's history, and the events after it are applied."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from journeylang.cli import main
from journeylang.runtime import Event, Runtime, open_store
from journeylang.runtime.executor import Executor
from journeylang.runtime.queues import Inbox, connect_queues

from runtime_kit import DAY, T0, compile_text, journey

JOURNEY = journey('''  stage s {
    wait for order_paid within 2d -> bought timeout -> lapsed
    bought: exit converted
    lapsed: exit completed
  }''', header="  entry on signup")


def accept(state, events) -> None:
    db = connect_queues(state)
    try:
        Inbox(db).add((event, event.at) for event in events)
    finally:
        db.close()


@pytest.fixture
def breaks_on(monkeypatch):
    """Applying the event with the id given raises, as a bug in the journeys' code would."""
    bad = set()
    on_event = Executor.on_event

    def failing(self, event):
        if event.id in bad:
            raise ZeroDivisionError("division by zero")
        return on_event(self, event)
    monkeypatch.setattr(Executor, "on_event", failing)
    return bad


def test_an_event_that_raises_is_set_aside_and_the_others_are_applied(tmp_path, breaks_on):
    state = tmp_path / "state.db"
    events = [Event("s1", "signup", "c1", T0), Event("s2", "signup", "c2", T0 + 1),
              Event("bad", "order_paid", "c1", T0 + 60), Event("p2", "order_paid", "c2", T0 + 61)]
    accept(state, events)
    breaks_on.add("bad")
    with Runtime(open_store(state), seed=1) as runtime:
        runtime.load(compile_text(JOURNEY))
        report = runtime.ingest_inbox(T0 + 120)
        runtime.store.sync()
        assert report.failed == [("bad", "ZeroDivisionError: division by zero")]
        assert report.applied == 3
        assert runtime.store.read_inbox(10) == []   # nothing left to hold the service back
        breaks_on.clear()
        runtime.advance(T0 + 3 * DAY)
    status = CliRunner().invoke(main, ["status", "--db", str(state), "--customer", "c1"])
    assert status.exit_code == 0, status.output
    assert "failed: ZeroDivisionError: division by zero; set aside, not applied" in status.output
    # c2's order was applied after the failed one; c1's run waited out its timeout
    assert _outcome(state, "c1") == "completed" and _outcome(state, "c2") == "converted"


def _outcome(state, customer: str) -> str:
    shown = CliRunner().invoke(main, ["status", "--db", str(state), "--customer", customer,
                                      "--json"])
    [run] = json.loads(shown.output)["runs"]
    return run["outcome"]


def test_an_error_of_the_state_is_not_set_aside(tmp_path, monkeypatch):
    from journeylang.runtime.database import StoreError
    state = tmp_path / "state.db"
    accept(state, [Event("s1", "signup", "c1", T0)])

    def broken(self, event):
        raise StoreError("the state went away")
    monkeypatch.setattr(Executor, "on_event", broken)
    with Runtime(open_store(state), seed=1) as runtime:
        runtime.load(compile_text(JOURNEY))
        with pytest.raises(StoreError):
            runtime.ingest_inbox(T0 + 60)
        assert [event.id for _, _, event in runtime.store.read_inbox(10)] == ["s1"]
