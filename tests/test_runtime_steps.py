"""The runtime executes every step kind as docs/runtime.md says."""
from __future__ import annotations

from collections import Counter

import pytest

from journeylang.runtime import STEP_KINDS, iso

from runtime_kit import DAY, HOUR, T0, Kit, journey


def test_every_step_kind_has_a_test_here():
    covered = {"send", "wait", "wait_until", "wait_schedule", "wait_event", "branch", "split",
               "tag", "untag", "set", "coupon", "handoff", "webhook", "emit", "goto", "exit",
               "wait_day"}  # wait_day: test_runtime_programmes.py
    assert set(STEP_KINDS) == covered


ACTIONS = journey('''
  stage s {
    send via wecom template a with {x: 1}
    tag "vip", "new"
    untag "new"
    set customer.points = 10
    set customer.points = customer.points + 5
    set cart.note = "kept"
    coupon "C10" value 10 expires 7d
    handoff to agent within 2h note "say hello"
    webhook "https://example.invalid/hook"
    emit welcomed with {source: "t"}
    goto fin
    never: send via wecom template b
    fin: exit completed
  }''', header="  entry on signup")

FOLLOWER = journey('''
  stage s {
    send via wecom template c
    exit completed
  }''', header="  entry on welcomed where event.source == \"t\"", ident="follower")


def test_sequential_steps_and_actions():
    kit = Kit(ACTIONS, FOLLOWER)
    kit.send("signup", attributes={"name": "Ann"}, data={"cart": {"value": 3}})
    assert kit.steps() == ["s.1", "s.2", "s.3", "s.4", "s.5", "s.6", "s.7", "s.8", "s.9",
                           "s.10", "s.11", "fin", "s.1", "s.2"]  # the last two: the follower
    profile = kit.customer().profile
    assert profile["tags"] == ["vip"] and profile["points"] == 15
    run = kit.runs()[0]
    assert run.context["cart"] == {"value": 3, "note": "kept"}
    assert (run.status, run.outcome) == ("ended", "completed")
    message = kit.messages()[0]
    assert (message.channel, message.template, message.text, message.payload) == \
        ("wecom", "a", "A Ann", {"x": 1})
    coupon, = kit.actions("coupon")
    assert coupon.payload == {"code": "C10", "value": 10.0} and coupon.due == T0 + 7 * DAY
    handoff, = kit.actions("handoff")
    assert handoff.payload == {"role": "agent", "note": "say hello"} and handoff.due == T0 + 2 * HOUR
    assert kit.actions("webhook")[0].payload == {"url": "https://example.invalid/hook"}
    assert kit.actions("event")[0].payload == {"event": "welcomed", "params": {"source": "t"}}
    follower = [r for r in kit.runs() if r.journey_id == "follower"]
    assert follower and kit.messages()[-1].template == "c"


def test_emit_chains_are_bounded():
    loop = journey('''
  stage s {
    emit ping
    exit completed
  }''', header="  entry on ping\n  reentry always")
    kit = Kit(loop)
    kit.send("ping")
    assert len(kit.runs()) == 9  # the ingested event and 8 emitted ones
    assert kit.history(what="skipped")[-1][7] == "emit chain deeper than 8"


WAITS = journey('''
  stage s {
    wait 2h
    send via wecom template a
    wait until 10:00
    send via wecom template b
    exit completed
  }''', header="  entry on signup")


def test_wait_and_wait_until_in_the_customers_time_zone():
    kit = Kit(WAITS)
    kit.send("signup", attributes={"name": "Ann", "timezone": "Asia/Shanghai"})  # 10:00 there
    kit.advance(T0 + 3 * DAY)
    first, second = kit.messages()
    assert first.at == T0 + 2 * HOUR
    assert iso(second.at) == "2026-03-03T02:00:00Z"  # 10:00 the next morning in Shanghai


def test_wait_until_without_a_time_zone_uses_the_runtime_default():
    kit = Kit(WAITS, timezone="Europe/Berlin")
    kit.send("signup", attributes={"name": "Ann"})
    kit.advance(T0 + 3 * DAY)
    assert iso(kit.messages()[1].at) == "2026-03-02T09:00:00Z"  # 10:00 CET, the same day


def test_timers_do_not_fire_early():
    kit = Kit(WAITS)
    kit.send("signup", attributes={"name": "Ann"})
    kit.advance(T0 + 2 * HOUR - 1)
    assert kit.messages() == []
    kit.advance(T0 + 2 * HOUR)
    assert len(kit.messages()) == 1


WAIT_FOR = journey('''
  stage s {
    w: wait for replied where event.score >= 3 within 1d -> yes timeout -> no
    yes: send via wecom template a -> done
    no: send via wecom template b
    done: exit completed
  }''', header="  entry on signup\n  reentry always")


def test_wait_for_an_event_or_its_timeout():
    kit = Kit(WAIT_FOR)
    for customer in ("c1", "c2", "c3"):
        kit.send("signup", customer, attributes={"name": customer})
    kit.send("replied", "c1", T0 + HOUR, data={"score": 5})
    kit.send("replied", "c2", T0 + HOUR, data={"score": 1})     # does not match the arm
    kit.send("replied", "c3", T0 + DAY, data={"score": 4})      # exactly at the deadline: counts
    kit.advance(T0 + 2 * DAY)
    assert [m.template for m in kit.messages("c1")] == ["a"]
    assert [m.template for m in kit.messages("c2")] == ["b"]
    assert kit.messages("c2")[0].at == T0 + DAY
    assert [m.template for m in kit.messages("c3")] == ["a"]
    assert kit.history("c1", "sent")[0][6] == "event replied"


WAIT_BLOCK = journey('''
  stage s {
    wait within 1d {
      on replied -> human
      on viewed where event.count >= 2 -> offer
      on clicked
      timeout -> offer
    }
    send via wecom template c -> done
    human: handoff to agent within 1h -> done
    offer: send via wecom template a
    done: exit completed
  }''', header="  entry on signup\n  reentry always")


@pytest.mark.parametrize("kind, data, expected", [
    ("replied", {}, "handoff"),
    ("viewed", {"count": 3}, "a"),
    ("clicked", {}, "c"),          # an arm without a target: the following step
    (None, {}, "a"),               # timeout
])
def test_wait_block_arms(kind, data, expected):
    kit = Kit(WAIT_BLOCK)
    kit.send("signup", attributes={"name": "Ann"})
    if kind:
        kit.send(kind, at=T0 + HOUR, data=data)
    kit.send("viewed", at=T0 + 2 * HOUR, data={"count": 1})  # never matches
    kit.advance(T0 + 2 * DAY)
    done = [a.template or a.kind for a in kit.adapter.actions]
    assert done == [expected]


BRANCH = journey('''
  stage s {
    branch {
      when cart.value >= 200 -> big
      when has tag "vip" or customer.tier in ["gold", "platinum"] -> vip
      else -> other
    }
    big: send via wecom template a -> done
    vip: send via wecom template b -> done
    other: send via wecom template c
    done: exit completed
  }''', header="  entry on cart_abandoned\n  reentry always")


@pytest.mark.parametrize("attributes, cart, expected", [
    ({}, 250, "a"),
    ({"tags": ["vip"]}, 100, "b"),
    ({"tier": "gold"}, 100, "b"),
    ({"tier": "silver"}, 100, "c"),
    ({}, None, "c"),  # a missing value makes the comparison false
])
def test_branch_takes_the_first_arm_that_holds(attributes, cart, expected):
    kit = Kit(BRANCH)
    data = {} if cart is None else {"cart": {"value": cart}}
    kit.send("cart_abandoned", attributes={"name": "A", **attributes}, data=data)
    assert [m.template for m in kit.messages()] == [expected]


SPLIT = journey('''
  stage s {
    split {
      left 30% -> l
      right 70% -> r
    }
    l: send via wecom template a -> done
    r: send via wecom template b
    done: exit completed
  }''', header="  entry on signup")


def _arms(seed: int, customers: int = 400) -> dict[str, str]:
    kit = Kit(SPLIT, seed=seed, render=False)
    for n in range(customers):
        kit.send("signup", f"c{n}")
    return {m.customer: m.template for m in kit.messages()}


def test_split_is_deterministic_per_customer_and_seed():
    first, again, other = _arms(1), _arms(1), _arms(2)
    assert first == again
    assert first != other
    share = Counter(first.values())["a"] / len(first)
    assert 0.24 < share < 0.36  # 30% of 400, within sampling noise
    history = Kit(SPLIT)
    history.send("signup", attributes={"name": "Ann"})
    assert history.history(what="sent")[0][6] in ("split left", "split right")


def test_exit_step_ends_the_run_with_its_outcome():
    text = journey('''
  stage s {
    exit expired
  }''', header="  entry on signup")
    kit = Kit(text)
    kit.send("signup")
    run, = kit.runs()
    assert (run.status, run.outcome, run.step) == ("ended", "expired", "s.1")
    assert kit.history(what="ended")[0][6:] == ["exit step s.1", "expired"]
