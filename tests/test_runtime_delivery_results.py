"""Delivery results: message_sent / message_delivered / message_failed are events journeys can
wait for, and caps count messages sent or on their way, not those that failed or were cancelled.
The simulator sends and delivers every message at once, on either engine."""
from __future__ import annotations

from journeylang.runtime import Event
from journeylang.sim import parse_cohort
from journeylang.sim.engine import simulation_for
from journeylang.sim.vector import vector_support

from equivalence import compare
from runtime_kit import DAY, HOUR, T0, Kit, compile_text, journey

NAME = {"name": "Ann"}
TWO_SENDS = journey('''
  stage s {
    send via wecom template a
    wait 2h
    send via wecom template b
    exit completed
  }''', header="  entry on signup\n  reentry always\n  policy { cap 1 messages per 1d }")

WAITS_FOR_DELIVERY = journey('''
  stage s {
    send via wecom template a
    wait within 1d {
      on message_delivered where event.template == "a" -> thanks
      on message_failed -> fallback
      timeout -> fallback
    }
    thanks: send via wecom template b
    exit completed
    fallback: send via sms template c
    exit expired
  }''', header="  entry on signup\n  exit on unsubscribed as opted_out")


def receipt(kind: str, action, at: float, **data) -> Event:
    body = {"action": action.id, "channel": action.channel, "template": action.template,
            "journey": action.journey_id, "step": action.step, "attempts": 1, **data}
    return Event(f"{kind}-{action.id}", kind, action.customer, at, {}, body)


def test_a_message_on_its_way_counts_towards_the_cap():
    kit = Kit(TWO_SENDS)
    kit.send("signup", attributes=NAME)
    kit.advance(T0 + 3 * HOUR)
    assert [m.template for m in kit.messages()] == ["a"]  # a is still queued: b is capped
    assert kit.history(what="skipped")[0][7] == "cap 1 per 86400s reached"


def test_a_failed_message_no_longer_counts():
    kit = Kit(TWO_SENDS)
    kit.send("signup", attributes=NAME)
    first = kit.messages()[0]
    kit.runtime.ingest([receipt("message_failed", first, T0 + HOUR, reason="rejected")])
    kit.advance(T0 + 3 * HOUR)
    assert [m.template for m in kit.messages()] == ["a", "b"]


def test_a_sent_message_counts_from_when_it_was_sent():
    kit = Kit(TWO_SENDS)
    kit.send("signup", attributes=NAME)
    first = kit.messages()[0]
    kit.runtime.ingest([receipt("message_sent", first, T0 + 20 * HOUR)])  # a backlog
    assert kit.customer().sends == [[T0 + 20 * HOUR, "wecom", "t", first.id, False]]
    kit.send("signup", at=T0 + DAY + HOUR)  # a day after queueing, not after sending: capped
    assert [m.template for m in kit.messages()] == ["a"]
    kit.send("signup", at=T0 + 2 * DAY)
    assert [m.template for m in kit.messages()] == ["a", "a"]


def test_an_opt_out_drops_the_messages_not_yet_sent_from_the_caps():
    kit = Kit(TWO_SENDS)
    kit.send("signup", attributes=NAME)
    first = kit.messages()[0]
    kit.send("unsubscribed", at=T0 + 60)
    assert first.status == "cancelled" and kit.customer().sends == []
    # one already on its way is sent all the same, and still does not count
    kit.runtime.ingest([receipt("message_sent", first, T0 + 120)])
    assert kit.customer().sends == []


def test_a_journey_waits_for_the_delivery_of_its_message():
    kit = Kit(WAITS_FOR_DELIVERY)
    kit.send("signup", attributes=NAME)
    first = kit.messages()[0]
    kit.runtime.ingest([receipt("message_sent", first, T0 + 5),
                        receipt("message_delivered", first, T0 + 9)])
    assert [m.template for m in kit.messages()] == ["a", "b"]
    assert kit.runs()[0].outcome == "completed"
    kit.send("signup", "c2", attributes=NAME)
    lost = kit.messages("c2")[0]
    kit.runtime.ingest([receipt("message_failed", lost, T0 + 5, reason="not a contact")])
    assert [m.template for m in kit.messages("c2")] == ["a", "c"]


def test_in_the_simulator_every_message_is_delivered_at_once():
    """On either engine (the vectorised one too, every customer on its path): each send makes
    its delivery results at once, which reach the runs and draw the cohort's responses to
    them, with the same figures to the customer."""
    cohort = parse_cohort("size: 200\narrival: 1d\nsegments:\n  - name: a\n"
                          "    attributes: {name: {categorical: {Ann: 1}}}\n"
                          "    behaviour:\n      responses:\n"
                          "        - {event: liked, after: {event: message_delivered}, p: 1}\n")
    tables = compile_text(WAITS_FOR_DELIVERY)
    found = {}
    for engine in ("reference", "vector"):
        sim = simulation_for(tables, cohort, seed=1, days=5, engine=engine)
        assert sim.engine == engine
        results = found[engine] = sim.run()
        assert results.messages["total"] == 400
        assert [(s["step"], s["entered"]) for s in results.steps
                if s["step"] in ("thanks", "fallback")] == [("thanks", 200), ("fallback", 0)]
        assert results.behaviour["events"]["message_delivered"]["count"] == 400
        assert results.behaviour["events"]["liked"]["count"] == 400
    assert found["vector"].paths["reference"] == 0
    compare(found["vector"], found["reference"], exact=True)
    assert found["vector"].behaviour == found["reference"].behaviour


def test_a_journey_reading_a_delivery_results_action_id_takes_the_reference_path():
    """The runtime numbers actions across customers: a condition on ``event.action`` cannot
    be answered customer by customer, so such a run is the reference engine's."""
    reads_id = WAITS_FOR_DELIVERY.replace('event.template == "a"', "event.action > 0")
    cohort = parse_cohort("size: 20\nsegments: [{name: a}]\n")
    assert "action id" in vector_support(compile_text(reads_id), cohort)
    assert vector_support(compile_text(WAITS_FOR_DELIVERY), cohort) is None


def test_caps_agree_between_the_runtime_and_both_simulator_engines():
    capped = journey('''
  stage s {
    send via wecom template a
    wait 2h
    send via wecom template b
    wait 1d
    send via wecom template c
    exit completed
  }''', header="  entry on signup\n  policy { cap 1 messages per 1d }")
    cohort = parse_cohort("size: 300\narrival: 2d\nsegments:\n  - name: a\n"
                          "    attributes: {name: {categorical: {Ann: 1}}}\n")
    found = {}
    for engine in ("reference", "vector"):
        sim = simulation_for(compile_text(capped), cohort, seed=2, days=5, engine=engine)
        results = sim.run()
        found[engine] = [(s["step"], s["sent"], s["skipped"]) for s in results.steps
                         if s["kind"] == "send"]
    assert found["reference"] == found["vector"] == [
        ("s.1", 300, 0), ("s.3", 0, 300), ("s.5", 300, 0)]
