"""Shared by the simulators' property tests: random journeys and cohorts, and the send checks."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from runtime_kit import journey


@st.composite
def scenarios(draw, reentries=("never", "always", "after 2d"), baseline="joined", max_size=40):
    """(journey text, cohort text, seed, days, (cap messages, cap seconds), quiet hours)."""
    cap_messages, cap_days = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    quiet_start, quiet_end = draw(st.integers(0, 23)), draw(st.integers(0, 23))
    quiet = f"    quiet {quiet_start:02d}:00-{quiet_end:02d}:00\n" if quiet_start != quiet_end else ""
    hours = draw(st.lists(st.integers(0, 30), min_size=2, max_size=5))
    steps = "\n".join(f"    send via {'wecom' if i % 2 else 'sms'} template a\n    wait {h}h"
                      for i, h in enumerate(hours))
    text = journey(f"""  stage s "S" {{
{steps}
    wait for replied within 2d -> again timeout -> done
    again: send via wecom template b
    goto s
    done: exit completed
  }}""", header=f"""  entry on joined
  reentry {draw(st.sampled_from(reentries))}
  goal won on bought within 20d
  exit on unsubscribed as opted_out
  policy {{
    cap {cap_messages} messages per {cap_days}d
{quiet}    holdout {draw(st.integers(0, 30))}%
  }}""")
    p = draw(st.floats(0, 1))
    cohort = f"""
size: {draw(st.integers(1, max_size))}
arrival: {draw(st.integers(0, 5))}d
segments:
  - name: a
    timezone: {{Asia/Shanghai: 1, America/New_York: 1, UTC: 1}}
    behaviour:
      responses:
        - {{event: replied, p: {p}, delay: {{exponential: {{mean: 20h}}}}}}
        - {{event: bought, p: {p / 3}, delay: {{lognormal: {{median: 1d, sigma: 1}}}}}}
      baseline:
        - {{event: {baseline}, per_day: {draw(st.sampled_from([0, 0.1, 0.5]))}}}
      opt_out: {draw(st.sampled_from([0, 0.05, 0.3]))}
      fatigue: {draw(st.floats(0.5, 1))}
"""
    return (text, cohort, draw(st.integers(0, 3)), draw(st.integers(3, 30)),
            (cap_messages, cap_days * 86400), (quiet_start, quiet_end) if quiet else None)


def assert_sends_respect_policies(sends, cap, quiet, zone_of) -> None:
    """No customer gets more than ``cap`` (messages, seconds) in any rolling window, and no send
    lands in ``quiet`` (start hour, end hour) in the customer's zone (``zone_of(send)``)."""
    by_customer = defaultdict(list)
    for send in sends:
        by_customer[send.customer].append(send)
    cap_messages, cap_per = cap
    for own in by_customer.values():
        times = sorted(s.at for s in own)
        for i, moment in enumerate(times):  # the cap's rolling window ending at each send
            assert sum(1 for t in times[: i + 1] if t > moment - cap_per) <= cap_messages
        if quiet:
            zone = ZoneInfo(zone_of(own[0]) or "UTC")
            start, end = quiet
            for moment in times:
                hour = dt.datetime.fromtimestamp(moment, zone).hour
                inside = start <= hour < end if start < end else (hour >= start or hour < end)
                assert not inside, (own[0].customer, hour, quiet)


# --- journeys and cohorts without chance, for exact comparisons of the two engines -------------

CONDITIONS = ('customer.score >= 50', 'has tag "t"', "consent.sms", "consent.wecom",
              'customer.score >= 40 and consent.wecom', 'not has tag "t"', "customer.points >= 10",
              "n >= 1", 'customer.tier == "basic"', 'customer.timezone == "UTC"',
              "count(replied within 2d) >= 1", "count(clicked) >= 2", "event.note >= 50",
              "event.ticket == 1", 'customer.tags == ["t", "u"]',
              "customer.opted_out == false", "happened(bought)",
              "time_since(replied within 3d) > 2h", "sum(bought.total within 5d) >= 100",
              "min(bought.total) < 50", "max(bought.total where event.total > 20) >= 60",
              "recency_score(clicked within 30d) >= 5", "frequency_score(replied) >= 2",
              "rfm_score(bought.total within 30d) >= 111")
# who a journey is for: the profile, tags, consent, recent events
AUDIENCES = ('customer.score >= 50', 'not has tag "t"', "consent.sms or consent.wecom",
             'customer.tier == "basic"', "count(replied within 2d) == 0")
# what a set writes into the profile's tags: a sorted list, or what a tag step would not make
TAG_VALUES = ('["t", "u"]', '["u", "t", "u"]', '"t"', "null", '["h"]')
ZONES = ("Asia/Shanghai", "America/New_York", "Europe/Berlin", "UTC")
# what a set writes into the profile's time zone: a zone (the cohort's or another), none, a
# name no zone has (the run's default zone)
ZONE_VALUES = ('"Asia/Tokyo"', '"America/New_York"', '"UTC"', "null", '"Mars/Base"', '""')
WAITS = st.sampled_from(("0m", "1m", "30m", "2h", "6h", "12h", "23h", "25h"))
KINDS = ("send", "send", "send", "wait", "until", "day", "next", "wait_for", "branch", "split", "set",
         "set", "tag", "untag", "goto", "emit", "handoff", "ladder", "noted", "noted",
         "keyed", "keyed", "cycle", "cycle", "block", "block", "coupon", "webhook")
# a set, and right after it a branch reading what it wrote
NOTED = (("event.note", "event.note >= 50"), ("memo", "memo > customer.score - 25"),
         ("customer.tags", 'has tag "t"'), ("customer.tags", 'customer.tags == ["t", "u"]'),
         ("customer.opted_out", "customer.opted_out == false"))
# milestones on what the cohort does (replies to a, clicks on sms, purchases) and on what the
# journey emits; their conditions read nothing a step changes
MILESTONES = ("milestone replied_once on replied within {hours}h",
              'milestone clicked_sms on clicked where customer.tier == "basic"',
              "milestone bought_once on bought where consent.wecom",
              "milestone nurtured_soon on nurtured within {hours}h")

# an opt-out ends the run, or it stays (and later sends are skipped, a held one dropped)
OPT_OUT_EXITS = ("  exit on unsubscribed as opted_out\n",) * 2 + (
    '  exit on unsubscribed where customer.tier == "gold" as opted_out\n',
    "  exit on stop as opted_out\n")


def _send(draw, template: str) -> str:
    mode = draw(st.sampled_from(("", "", " transactional", " promo")))
    channels = draw(st.sampled_from(("wecom", "sms", "sms", "sms, wecom", "wecom, sms",
                                     "email, sms, wecom")))
    return f"send{mode} via {channels} template {template}"


def _ladder(draw, resolved: str, breached: str) -> str:
    """An escalation ladder: rungs (handoffs with SLAs to the staffed role and an unstaffed one,
    sends, tags) until an event the cohort makes, whose resolution meets the SLAs still open."""
    event = draw(st.sampled_from(("replied", "clicked", "bought")))
    where = draw(st.sampled_from(("", "", " where customer.points >= 10")))
    offsets = [0] + sorted(set(draw(st.lists(st.sampled_from((1, 30, 60, 120, 360, 1500)),
                                             max_size=3))))
    rungs = []
    for offset in offsets:
        action = draw(st.sampled_from((
            f"handoff to agent within {draw(WAITS)}", f"handoff to agent within {draw(WAITS)}",
            f"handoff to stylist within {draw(WAITS)}", "send via wecom template b", 'tag "t"')))
        rungs.append(f"      at {offset}m: {action}\n")
    within = offsets[-1] + draw(st.sampled_from((1, 30, 240, 1440)))
    breach = f"      breach -> {breached}\n" if draw(st.booleans()) else ""
    return (f"escalate until {event}{where} within {within}m -> {resolved} {{\n"
            + "".join(rungs) + breach + "    }")


def _orders(draw) -> str:
    """A second journey entered on the same arrival whose runs correlate by another key
    (order): a reply to its messages carries its run's order and no ticket, a complaint filed
    in reply to them none of theirs; branches read both keys; it hands off to the staffed role
    of the first and emits what the first takes (with its order only: no run of the first
    takes it)."""
    count = draw(st.integers(1, 4))
    labels = [f"p{i}" for i in range(count)] + ["over"]
    body = ['    branch { when event.order == "B" -> again\n      else -> p0 }']
    for i in range(count):
        later = st.sampled_from(labels[i + 1:])
        kind = draw(st.sampled_from(("send", "send", "wait_for", "branch", "handoff", "emit")))
        if kind == "send":
            line = "send via wecom template c"
        elif kind == "wait_for":
            line = _waiting_for(draw, later)
        elif kind == "branch":
            condition = draw(st.sampled_from(('event.order == "A"', "event.ticket exists",
                                              "event.order exists", "event.order == 1",
                                              "count(bought) >= 1")))
            line = f"branch {{ when {condition} -> {draw(later)}\n      else -> {draw(later)} }}"
        elif kind == "handoff":
            line = f"handoff to agent within {draw(WAITS)}"
        else:
            line = "emit nurtured"
        body.append(f"    p{i}: {line}")
    body += ["    over: exit completed", "    again: send via wecom template d",
             f"    wait for bought within {draw(WAITS)} -> over timeout -> over"]
    return journey('  stage o "O" {\n' + "\n".join(body) + "\n  }", ident="orders", header=(
        "  entry on joined\n  correlate by order\n  reentry always\n"
        "  exit on unsubscribed as opted_out\n"
        "  goal paid on bought where event.order exists within 1d"))


@st.composite
def deterministic_scenarios(draw, max_size=80):
    """(journey texts, cohort text, seed, days): a journey drawn from every step kind the
    vectorised engine runs, jumping forward only (so no loop spins) and optionally looping back
    through a wait; a cohort whose draws are all certain (probabilities 0 or 1, fixed delays and
    attributes, everyone arriving at once), so only the customer ids (splits, holdout) tell
    customers apart and both engines must agree to the customer. The journey is entered on the
    arrival, or at a schedule's occurrences. A second journey may run beside it: with
    correlated runs, one correlating its runs by another key (``_orders``); else one entered on
    the arrival, a reply or a schedule, handing off to the same role (``_beside``)."""
    count = draw(st.integers(2, 8))
    loop, linger = draw(st.sampled_from((True, True, False))), draw(st.booleans())
    labels = ([f"l{i}" for i in range(count)] + ["back"] * loop + ["linger"] * linger
              + ["done"])
    sends_of_a = 0
    # correlated runs: each complaint (entry) with its ticket; the cohort files a second one
    # (a new run, or refused: its ticket's run is live), answers with its run's ticket, or
    # with another (the event reaches no run)
    correlated = draw(st.booleans())
    # a scheduled entry: every customer of a zone enters at its occurrences, one item for all;
    # else, now and then, a second journey beside it (``_beside``), which may be scheduled
    # (beside either, no set of the time zone: that takes the reference path)
    scheduled = not correlated and draw(st.sampled_from((False, False, False, True)))
    beside = not correlated and draw(st.sampled_from((False, False, True)))
    zone_sets = not scheduled and not beside
    reentry = draw(st.sampled_from(("never", "always", "after 1h", "after 2d")
                                   + ("always",) * 3 * correlated))
    body = []
    for i in range(count):
        later = st.one_of(st.just(labels[i + 1]), st.sampled_from(labels[i + 1:]))
        kind = "split" if i == 0 and draw(st.booleans()) else draw(st.sampled_from(KINDS))
        if kind == "send":
            template = "b" if sends_of_a >= 2 else draw(st.sampled_from("ab"))
            sends_of_a += template == "a"
            line = _send(draw, template)
        elif kind == "wait":
            line = f"wait {draw(WAITS)}"
        elif kind == "until":
            line = f"wait until {draw(st.integers(0, 23)):02d}:{draw(st.sampled_from((0, 30))):02d}"
        elif kind == "next":
            line = f"wait until next {_schedule(draw)}"
        elif kind == "day":
            line = (f"wait until day {draw(st.integers(0, 3))} at "
                    f"{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from((0, 30))):02d}")
        elif kind == "wait_for":
            event = draw(st.sampled_from(("replied", "replied", "clicked", "bought",
                                          "message_delivered", "message_sent")))
            line = (f"wait for {event} within {draw(WAITS)} -> {draw(later)} "
                    f"timeout -> {draw(later)}")
        elif kind == "branch":
            line = (f"branch {{ when {draw(st.sampled_from(CONDITIONS))} -> {draw(later)}\n"
                    f"      else -> {draw(later)} }}")
        elif kind == "split":
            percent = draw(st.integers(0, 100))
            line = f"split {{ x {percent}% -> {draw(later)}\n      y {100 - percent}% -> {draw(later)} }}"
        elif kind == "set":
            target = draw(st.sampled_from(("customer.score", "customer.points", "n", "event.note",
                                           "memo", "customer.tags", "customer.opted_out")
                                          + ("customer.timezone",) * zone_sets))
            if target == "customer.timezone":   # the customer's local clock moves
                line = f"set customer.timezone = {draw(st.sampled_from(ZONE_VALUES))}"
            elif target == "customer.tags":
                line = f"set customer.tags = {draw(st.sampled_from(TAG_VALUES))}"
            elif target == "customer.opted_out":
                line = f"set customer.opted_out = {draw(st.sampled_from(('true', 'false', 'null')))}"
            else:   # the run's event data and context (memo) read by branches
                source = "customer.score" if target in ("event.note", "memo") else target
                line = f"set {target} = {source} + {draw(st.integers(-20, 20))}"
        elif kind == "noted":
            target, condition = draw(st.sampled_from(NOTED))
            value = draw(st.sampled_from(TAG_VALUES)) if target == "customer.tags" else \
                draw(st.sampled_from(("true", "false"))) if target == "customer.opted_out" else \
                f"customer.score + {draw(st.integers(-20, 20))}"
            line = (f"set {target} = {value}\n    branch {{ when {condition} -> {draw(later)}\n"
                    f"      else -> {draw(later)} }}")
        elif kind == "keyed":   # the correlation key of the event a wait takes: a click on an
            # sms carries its run's
            condition = draw(st.sampled_from(("event.ticket == 1", "event.ticket == 2",
                                              "not event.ticket exists")))
            line = (f"send via sms template b\n"
                    f"    wait for clicked within 1d -> k{i} timeout -> {draw(later)}\n"
                    f"    k{i}: branch {{ when {condition} -> {draw(later)}\n"
                    f"      else -> {draw(later)} }}")
        elif kind == "cycle":   # a wait for events whose arm comes back to it through a branch
            event = draw(st.sampled_from(("replied", "clicked", "clicked", "bought")))
            line = (f"{_send(draw, 'b')}\n"
                    f"    w{i}: wait for {event} within {draw(st.sampled_from(('1m', '2h', '25h')))} "
                    f"-> c{i} timeout -> {draw(later)}\n"
                    f"    c{i}: branch {{ when {draw(st.sampled_from(CONDITIONS))} -> {draw(later)}\n"
                    f"      else -> w{i} }}")
        elif kind == "block":
            line = _wait_block(draw, later)
        elif kind == "coupon":
            line = draw(st.sampled_from(('coupon "C1"', 'coupon "C2" value 10 expires 1d',
                                         'coupon "C3" expires 30m')))
        elif kind == "webhook":
            line = 'webhook "https://hooks.example.invalid/journey"'
        elif kind in ("tag", "untag"):
            line = f'{kind} "t"'
        elif kind == "emit":
            # the entry event re-enters; not with `reentry always` (each run would start another)
            line = f"emit {draw(st.sampled_from(('nurtured', 'nurtured', 'joined')))}" \
                if reentry != "always" else "emit nurtured"
        elif kind == "handoff":
            line = f"handoff to {draw(st.sampled_from(('agent', 'stylist')))} within {draw(WAITS)}"
        elif kind == "ladder":
            line = _ladder(draw, draw(later), draw(later))
        else:
            line = f"goto {draw(later)}"
        body.append(f"    {labels[i]}: {line}")
    if loop:  # back to the start through a wait (longer than any reply's delay)
        body.append(f"    back: wait {draw(st.integers(4, 30))}h")
        body.append(f"    branch {{ when {draw(st.sampled_from(CONDITIONS))} -> done\n      else -> l0 }}")
    if linger:  # time for a purchase to convert
        body.append(f"    linger: wait for bought within {draw(st.integers(1, 48))}h -> done timeout -> done")
    body.append("    done: exit completed")
    policy = []
    if draw(st.booleans()):
        policy.append(f"cap {draw(st.integers(1, 3))} messages per "
                      f"{draw(st.sampled_from(('6h', '1d', '2d', 'calendar day', 'calendar week')))}"
                      f"{draw(st.sampled_from(('', '', ' on sms', ' on wecom, email')))}")
    if draw(st.booleans()):
        policy.append(f"quiet {draw(st.integers(0, 23)):02d}:00-{draw(st.integers(0, 23)):02d}:00")
    if draw(st.booleans()):
        policy.append(f"consent {draw(st.sampled_from(('sms', 'sms, email')))}")
    if draw(st.booleans()):
        policy.append(f"holdout {draw(st.integers(1, 40))}%")
    policy = [p for p in policy if not p.startswith("quiet") or p[6:11] != p[12:17]]
    milestones = [m.format(hours=draw(st.integers(1, 72)))
                  for m in draw(st.lists(st.sampled_from(MILESTONES), unique=True, max_size=4))]
    goals = [f"goal won on bought within {draw(st.sampled_from(('6h', '1d', '3d', '20d')))}"]
    if draw(st.booleans()):
        goals.append(draw(st.sampled_from(("goal nurtured on nurtured",
                                           "exit on nurtured where customer.points >= 10 as churned"))))
    if draw(st.booleans()):  # a KPI opened where the run enters the stage's first step
        body.insert(0, f"    kpi k1 on {draw(st.sampled_from(('bought', 'clicked', 'replied')))} within "
                       f"{draw(WAITS)} baseline 10% target 20%")
    extra = ["correlate by ticket"] * correlated + [f"reentry {reentry}",
             f"role agent capacity {draw(st.integers(0, 3))} per {draw(st.sampled_from(('1h', '1d')))}"]
    for _ in range(draw(st.integers(0, 2))):  # always-on handlers
        event = draw(st.sampled_from(("replied", "clicked", "bought", "nurtured",
                                      "message_delivered")))
        where = draw(st.sampled_from(("", "", ' where has tag "t"', " where customer.points >= 10",
                                      ' where event.template == "b"')))
        actions = ('tag "h"', 'untag "t"', "set customer.points = customer.points + 5",
                   "set n = n + 1", "set n = 3", 'set customer.tier = "gold"', "emit pinged",
                   "-> done", "set event.note = customer.points + 50",
                   f"set customer.tags = {draw(st.sampled_from(TAG_VALUES))}")
        if zone_sets:
            actions += (f"set customer.timezone = {draw(st.sampled_from(ZONE_VALUES))}",)
        action = draw(st.sampled_from(actions))
        if event == "message_delivered" and draw(st.booleans()):
            # a delivery result's action id, kept where nothing reads it
            action = f"set customer.last_action = event.action\n    {action}"
        extra.append(f"on {event}{where} {{ {action} }}")
    entry = f"entry every {_schedule(draw)}" if scheduled else "entry on joined"
    entry += draw(st.sampled_from(("", "", " where customer.score >= 40",
                                   " where consent.sms or happened(replied within 1d)")))
    if draw(st.sampled_from((False, False, True))):
        extra.append(f"audience {draw(st.sampled_from(AUDIENCES))}")
    text = journey(f'  stage s "S" {{\n' + "\n".join(body) + "\n  }", header=(
        f"  {entry}\n  attribute points: number = 0\n  attribute score: number = 0\n"
        + '  attribute tier: string = "basic"\n  var n = 0\n'
        + "".join(f"  {line}\n" for line in extra)
        + "".join(f"  {line}\n" for line in goals + milestones)
        + draw(st.sampled_from(OPT_OUT_EXITS))
        + ("  policy {\n" + "".join(f"    {p}\n" for p in policy) + "  }" if policy else "")))
    certain, likely = st.sampled_from((0, 1)), st.sampled_from((0, 1, 1, 1))
    tier = draw(st.sampled_from(("", "tier: basic, ", "tier: gold, ")))
    tickets = st.sampled_from(("1", "2", '"1"', "1.0", "[1]"))
    # with correlated runs, a second journey correlating its runs by order
    orders = draw(st.booleans()) if correlated else False
    order = f", order: {draw(st.sampled_from(('A', 'B', '1', '[2]')))}" if orders else ""
    keyed = (f"    entry_data: {{ticket: {draw(tickets)}{order}}}\n" if correlated else "")
    again = (f"        - {{event: joined, after: {{template: {draw(st.sampled_from('ab'))}}}, "
             f"p: {draw(likely)}, "
             f"delay: {draw(st.integers(0, 30))}h, data: {{ticket: {draw(tickets)}}}}}\n"
             f"        - {{event: bought, after: {{template: a}}, p: {draw(certain)}, "
             f"delay: {draw(st.integers(0, 30))}h, data: {{ticket: {draw(tickets)}}}}}\n"
             if correlated else "")
    cohort = f"""
size: {draw(st.integers(1, max_size))}
start: 2026-03-0{draw(st.integers(2, 8))}T{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from((0, 30))):02d}:00Z
arrival: 0
segments:
  - name: a
    attributes: {{{tier}score: {draw(st.integers(20, 80))}}}
    tags: {{t: {draw(certain)}}}
    timezone: {draw(st.sampled_from(ZONES))}
    consent: {{sms: {draw(likely)}, wecom: {draw(likely)}, email: {draw(likely)}}}
{keyed}    behaviour:
      responses:
        - {{event: replied, after: {{template: a}}, p: {draw(certain)}, delay: {draw(st.integers(0, 3))}h}}
        - {{event: clicked, after: {{channel: sms}}, p: {draw(certain)}, delay: {draw(st.integers(0, 3))}h}}
        - {{event: bought, after: {{template: b}}, p: {draw(likely)}, delay: {draw(st.integers(0, 40))}h, data: {{total: {draw(st.integers(10, 120))}}}}}
        - {{event: clicked, after: {{event: message_delivered}}, p: {draw(certain)}, delay: {draw(st.integers(0, 3))}h}}
{again}{_ordered(draw) if orders else ""}      opt_out: {1 - draw(likely)}
"""
    texts = [text, _orders(draw)] if orders else [text, _beside(draw)] if beside else [text]
    return texts, cohort, draw(st.integers(0, 5)), draw(st.integers(1, 12))


def _wait_block(draw, later) -> str:
    """A wait for several events: each arm to one of the ``later`` labels or on to the next
    step, an arm with a condition on the event now and then; the timeout likewise (without
    a line of its own, on to the next step)."""
    events = draw(st.lists(st.sampled_from(("replied", "clicked", "bought", "message_delivered")),
                           min_size=1, max_size=3, unique=True))
    arms = []
    for event in events:
        where = draw(st.sampled_from(("", "", ' where event.template == "b"',
                                      " where event.total >= 60", " where count(clicked) >= 2")))
        target = draw(st.sampled_from(("", f" -> {draw(later)}", f" -> {draw(later)}")))
        arms.append(f"      on {event}{where}{target}\n")
    timeout = draw(st.sampled_from(("", f"      timeout -> {draw(later)}\n")))
    return f"wait within {draw(WAITS)} {{\n" + "".join(arms) + timeout + "    }"


def _waiting_for(draw, later) -> str:
    """A wait for what the cohort does, going on to one of the ``later`` labels either way."""
    return (f"wait for {draw(st.sampled_from(('bought', 'clicked', 'replied')))} within "
            f"{draw(WAITS)} -> {draw(later)} timeout -> {draw(later)}")


def _beside(draw) -> str:
    """A second journey beside the first, its runs uncorrelated: entered on the arrival, on a
    reply to the first's messages or at a schedule; it sends, waits, hands off to the first's
    staffed role, tags and emits what the first takes."""
    count = draw(st.integers(1, 4))
    labels = [f"q{i}" for i in range(count)] + ["over"]
    body = []
    for i in range(count):
        later = st.sampled_from(labels[i + 1:])
        kind = draw(st.sampled_from(("send", "wait", "wait_for", "handoff", "tag", "emit")))
        if kind == "send":
            line = f"send via {draw(st.sampled_from(('wecom', 'sms')))} template c"
        elif kind == "wait":
            line = f"wait {draw(WAITS)}"
        elif kind == "wait_for":
            line = _waiting_for(draw, later)
        elif kind == "handoff":
            line = f"handoff to agent within {draw(WAITS)}"
        elif kind == "tag":
            line = 'tag "b"'
        else:
            line = f"emit {draw(st.sampled_from(('pinged', 'nurtured')))}"
        body.append(f"    q{i}: {line}")
    body.append("    over: exit completed")
    entry = draw(st.sampled_from(("entry on joined", "entry on replied",
                                  f"entry every {_schedule(draw)}")))
    return journey('  stage b "B" {\n' + "\n".join(body) + "\n  }", ident="beside", header=(
        f"  {entry}\n  reentry {draw(st.sampled_from(('never', 'always', 'after 1d')))}\n"
        "  exit on unsubscribed as opted_out"))


def _schedule(draw) -> str:
    """A schedule that fires within the days simulated: daily, or on a weekday."""
    at = f"{draw(st.integers(0, 23)):02d}:{draw(st.sampled_from((0, 30))):02d}"
    return f"{draw(st.sampled_from(('day', 'day', 'monday', 'wednesday', 'saturday')))} at {at}"


def _ordered(draw) -> str:
    """The cohort's answers to the second journey's messages: a purchase (carrying the run's
    order) and a new order."""
    certain = st.sampled_from((0, 1))
    return (f"        - {{event: bought, after: {{template: c}}, p: {draw(certain)}, "
            f"delay: {draw(st.integers(0, 30))}h}}\n"
            f"        - {{event: joined, after: {{template: c}}, p: {draw(certain)}, "
            f"delay: {draw(st.integers(1, 30))}h, data: {{order: B}}}}\n")
