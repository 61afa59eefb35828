"""YAML frontend, documentation: a description and an example for every key of the reader's
tables, keyed by the table's context (the name its messages use) and the key.

journeylang/schema.py puts them on the schema's properties; a test fails for any key of the
tables that has no entry here, and checks that every example is valid for its key.
"""
from __future__ import annotations

_WHERE = "Only when this condition holds (the DSL's condition syntax)."
_STEP_NAME = "The step (or stage) to go to next."

KEY_DOCS: dict[str, dict[str, tuple[str, object]]] = {
    "journey": {
        "journey": ("The journey's id: a name, unique among your journeys; compiled tables, "
                    "reports and the runtime use it.", "cart_recovery"),
        "title": ("The journey's title, shown in reports and graphs (write it in the operators' "
                  "language).", "购物车召回"),
        "version": ("The version number; customers stay on the version they entered.", 3),
        "owner": ("The team that owns the journey.", "crm-team"),
        "description": ("What the journey is for, in a sentence or two.",
                        "Brings back customers who left a cart worth 50 yuan or more."),
        "entry": ("What starts the journey: an event ('on') or a recurring schedule ('every'), "
                  "with an optional condition.",
                  {"on": "cart_abandoned", "where": "cart.value >= 50 and consent.wecom"}),
        "audience": ("Who may enter at all, checked at entry (a condition on the customer).",
                     'not has tag "staff" and customer.country in ["CN", "SG"]'),
        "reentry": ("Whether a customer may enter again: never (the default), always, or after "
                    "a duration since the last entry.", "after 30d"),
        "correlate": ("The key of a run: a path of the entry event's data; a later event "
                      "reaches only the run whose entry had the same value there (opt-outs "
                      "reach every run).", "order_id"),
        "goals": ("Conversion events: the first one reached ends the run as converted.",
                  [{"name": "recovered", "on": "order_paid", "within": "3d"}]),
        "milestones": ("Conversions recorded with their time when their event first happens in "
                       "a run; unlike a goal, a milestone does not end the run.",
                       [{"name": "first_reply", "on": "replied", "within": "7d"}]),
        "exits": ("Events that end the run wherever the customer is, with an outcome.",
                  [{"on": "unsubscribed", "as": "opted_out"}]),
        "outcomes": ("Outcomes declared beyond the standard ones (converted, completed, churned, "
                     "opted_out, expired, escalated).", ["lowered_frequency"]),
        "policy": ("Contact rules: message caps, quiet hours, consent, the holdout group and the "
                   "promotional budget.",
                   {"cap": {"messages": 3, "per": "7d"}, "quiet": "22:00-08:00",
                    "consent": ["wecom"], "holdout": "5%"}),
        "roles": ("Teams that take handoffs, with their capacity (for planning and simulation).",
                  [{"name": "sales_agent", "capacity": 80, "per": "1d"}]),
        "expect": ("The expected load: customers entering per period (checked against role "
                   "capacity).", {"entries": 40, "per": "1d"}),
        "templates": ("Message templates by name: a text, or one text per locale (Jinja2).",
                      {"cart_nudge": {"zh": "{{ customer.name }}，您的购物车还在等您。",
                                      "en": "Hi {{ customer.name }}, your cart is waiting."}}),
        "locale": ("The default locale of the journey's templates (a template text without a "
                   "locale is in this one).", "zh"),
        "attributes": ("Customer attributes the journey reads, with their type and the default "
                       "they have while a profile has none.",
                       {"points": {"type": "number", "default": 0}, "tier": "string"}),
        "vars": ("Run-local variables, with their starting values.",
                 {"streak": 0, "last_level": {"default": "novice", "type": "string"}}),
        "handlers": ("Instant actions whenever the event reaches a run, whatever step it is "
                     "at, then an optional jump.",
                     [{"on": "complaint_filed", "do": [{"tag": "complained"}], "then": "care"}]),
        "migrations": ("How runs of older versions move when this version is loaded: per "
                       "older version, where runs at each of its steps go.",
                       [{"from": 1, "steps": {"wait_reply": "wait_reply"}, "other": "drain"}]),
        "stages": ("The lifecycle stages, in order; each holds steps (and KPIs).",
                   [{"stage": "remind", "title": "提醒",
                     "steps": [{"send": {"via": "wecom", "template": "cart_nudge"}},
                               {"exit": "completed"}]}]),
    },
    "fragment": {
        "fragment": ("The fragment's name: journeys use it as `use: NAME`.", "winback"),
        "title": ("The fragment's title, shown in docs and by `journey new --from`.",
                  "Win-back ladder for silent customers"),
        "params": ("The parameters: a type alone (every use must give it) or a type and a "
                   "default. The body names them as $name.",
                   {"channel": {"type": "channel", "default": "wecom"},
                    "silent_for": {"type": "duration", "default": "30d"},
                    "reply_event": "event"}),
        "templates": ("Templates added to a journey whose sends use them and that does not "
                      "define them itself.",
                      {"winback_care": "{{ customer.name }}, it has been a while."}),
        "vars": ("Run-local variables, added to the journey that uses the fragment.",
                 {"reminders": 0}),
        "handlers": ("Event handlers, added to the journey that uses the fragment.",
                     [{"on": "replied", "do": [{"tag": "replied"}]}]),
        "steps": ("The steps a `use` runs in its place; unnamed ones are <fragment>.<n>, and "
                  "every name is prefixed by the use's label.",
                  [{"wait": "$silent_for"},
                   {"name": "care", "send": {"via": "$channel", "template": "winback_care"}},
                   {"wait": {"for": "$reply_event", "within": "72h", "then": "back"}},
                   {"name": "back", "tag": "won_back"}]),
    },
    "fragment parameter": {
        "type": ("The parameter's type: what a use may give and where the body may name it.",
                 "duration"),
        "default": ("The value when a use does not give one (a duration as written: 30d).",
                    "30d"),
    },
    "entry": {
        "on": ("The event that starts a run.", "cart_abandoned"),
        "every": ("A recurring schedule: every matching customer enters at each occurrence.",
                  "wednesday at 20:00"),
        "where": (_WHERE, "cart.value >= 50"),
    },
    "reentry": {"after": ("A customer may enter again this long after the last entry.", "30d")},
    "milestone": {
        "name": ("The milestone's name (reports use it).", "first_reply"),
        "on": ("The event that reaches the milestone.", "replied"),
        "where": (_WHERE, "event.channel == \"wecom\""),
        "within": ("Counts only this long after entry.", "7d"),
    },
    "attribute": {
        "type": ("The attribute's type.", "number"),
        "default": ("Its value while a profile has none.", 0),
    },
    "var": {
        "default": ("The variable's value when the run starts.", 0),
        "type": ("The variable's type.", "number"),
    },
    "migration": {
        "from": ("The older version whose runs move when this version is loaded.", 1),
        "steps": ("Where runs at each step (or stage) of the older version go: a step or "
                  "stage of this version, stop (they end now) or drain (they stay on the "
                  "older version until they end).",
                  {"remind.2": "reminder", "wait_reply": "wait_reply", "old_offer": "stop"}),
        "other": ("Where runs at every step not named in 'steps' go (a step, stop or drain); "
                  "without it every step where a run can wait must be named.", "drain"),
    },
    "handler": {
        "on": ("The event that runs the handler, at any step.", "complaint_filed"),
        "where": (_WHERE, "event.severity >= 3"),
        "then": ("Where the run goes after the actions (default: it stays where it is).",
                 "care"),
        "do": ("The instant actions, in order.", [{"set": {"attribute": "customer.complaints",
                                                           "expr": "customer.complaints + 1"}},
                                                  {"emit": "complaint_counted"}]),
    },
    "handler action": {
        "set": ("Set an attribute.", {"attribute": "customer.vip", "value": True}),
        "tag": ("Add tags.", "complained"),
        "untag": ("Remove tags.", "promo_ok"),
        "emit": ("Emit an event.", "complaint_counted"),
    },
    "goal": {
        "name": ("The goal's name (reports and KPIs use it).", "recovered"),
        "on": ("The event that reaches the goal.", "order_paid"),
        "where": (_WHERE, 'order.source == "cart"'),
        "within": ("Counts only this long after entry.", "3d"),
    },
    "exit": {
        "on": ("The event that ends the run.", "unsubscribed"),
        "as": ("The outcome the run ends with.", "opted_out"),
        "where": (_WHERE, 'event.reason == "complaint"'),
    },
    "policy": {
        "cap": ("At most this many messages per period (one cap or a list; optionally on some "
                "channels only).", {"messages": 3, "per": "7d"}),
        "quiet": ("No sends between these times of day (local time; deferred, not dropped).",
                  "22:00-08:00"),
        "consent": ("Channels that need the customer's consent (consent.<channel>).",
                    ["wecom", "sms"]),
        "holdout": ("The share of entering customers kept out as a control group.", "5%"),
        "promo": ("At most this share of the journey's sends may be promotional.", "30%"),
    },
    "cap": {
        "messages": ("How many messages at most.", 3),
        "per": ("In any window of this length.", "7d"),
        "on": ("Only messages on these channels count (default: all).", ["group"]),
    },
    "quiet": {
        "from": ("Quiet hours start (local time).", "22:00"),
        "to": ("Quiet hours end (local time).", "08:00"),
    },
    "role": {
        "name": ("The role's name, as handoffs name it.", "sales_agent"),
        "capacity": ("How many handoffs the team takes per period.", 80),
        "per": ("The period of the capacity.", "1d"),
    },
    "expect": {
        "entries": ("Customers expected to enter per period.", 40),
        "per": ("The period.", "1d"),
    },
    "template": {},
    "templates": {},
    "params": {},
    "stage": {
        "stage": ("The stage's name (reports, funnels and gotos use it).", "remind"),
        "title": ("The stage's title, shown in reports and graphs.", "提醒"),
        "steps": ("The stage's steps, in order: each has exactly one kind key.",
                  [{"name": "nudge", "send": {"via": "wecom", "template": "cart_nudge"}},
                   {"wait": "1d"}, {"exit": "completed"}]),
        "kpis": ("Metrics on the stage: the share of customers who then have an event.",
                 [{"name": "reply_2h", "on": "replied", "within": "2h", "baseline": "20%",
                   "target": "35%"}]),
    },
    "step": {
        "name": ("The step's label (gotos, branches, waits and reports name it).", "nudge"),
        "then": (_STEP_NAME + " Default: the following step.", "offer"),
        "send": ("Send a message on a channel with a template.",
                 {"via": "wecom", "template": "cart_nudge"}),
        "wait": ("Wait a duration, until a time of day or a schedule, or for events (with a "
                 "timeout).", {"for": "replied", "within": "2h", "then": "human",
                               "timeout": "offer"}),
        "branch": ("The first arm whose condition holds is taken; 'else' comes last.",
                   [{"when": "cart.value >= 200", "then": "human"}, {"else": "offer"}]),
        "split": ("A random split (an A/B test); the percentages add up to 100.",
                  [{"arm": "story", "percent": "50%", "then": "tease_story"},
                   {"arm": "course", "percent": "50%", "then": "tease_course"}]),
        "tag": ("Add tags to the customer.", ["cart_recovered"]),
        "untag": ("Remove tags from the customer.", "churn_warning"),
        "set": ("Set a customer, event or context attribute.",
                {"attribute": "customer.winback_level", "value": 1}),
        "coupon": ("Issue a coupon (a code, or a code with a value and an expiry).",
                   {"code": "CART10", "value": 10, "expires": "7d"}),
        "handoff": ("Hand the customer to a team, with a response deadline (an SLA).",
                    {"to": "sales_agent", "within": "15m", "note": "先回答客户的问题"}),
        "webhook": ("Call a webhook.", "https://crm.example.invalid/hooks/vip"),
        "emit": ("Emit an event (other journeys may react to it).",
                 {"event": "member_activated", "params": {"source": "onboarding"}}),
        "goto": ("Jump to a step or to a stage's first step.", "last_chance"),
        "exit": ("End the run with an outcome.", "completed"),
        "use": ("Use a stdlib or local fragment: its steps run here.",
                {"fragment": "winback", "with": {"channel": "sms", "gap": "72h"}}),
        "escalate": ("An escalation ladder: each rung's action at its offset until the event "
                     "arrives; past 'within', 'breach' is taken.",
                     {"until": "complaint_resolved", "within": "4h", "breach": "overdue",
                      "rungs": [{"at": "0m", "handoff": {"to": "community_staff",
                                                          "within": "30m"}},
                                {"at": "1h", "handoff": {"to": "ops_director",
                                                          "within": "3h"}}]}),
    },
    "send": {
        "via": ("The channel, or several: the first the policies let through is used.",
                ["wecom", "sms"]),
        "template": ("The template's name (or a file in templates/).", "cart_nudge"),
        "params": ("Values the template reads as variables.", {"code": "CART10", "value": 10}),
        "promo": ("A promotional message (counts against the policy's promo budget).", True),
        "transactional": ("A transactional message (an acknowledgement, a level reached): exempt "
                          "from caps, quiet hours and the promo budget, never from consent or "
                          "opt-out.", True),
    },
    "wait with 'until_next'": {
        "until_next": ("Wait until the next occurrence of a schedule (customer's time zone).",
                       "wednesday at 20:00"),
    },
    "wait with 'until_day'": {
        "until_day": ("Wait until this day of the run (day 0 is the day of entry).", 3),
        "at": ("At this time of day (customer's time zone).", "10:00"),
    },
    "wait with 'until'": {
        "until": ("Wait until the next time of day (customer's time zone).", "10:00"),
    },
    "wait with 'for'": {
        "for": ("The event to wait for.", "replied"),
        "where": (_WHERE, "event.count >= 2"),
        "then": ("Where the event leads (default: the following step).", "human"),
        "within": ("Give up after this long (default: wait for ever).", "2h"),
        "timeout": ("Where the timeout leads (default: the following step).", "offer"),
    },
    "wait with 'on'": {
        "on": ("The events to wait for: the first to arrive is taken.",
               [{"event": "replied", "then": "human"},
                {"event": "cart_viewed", "where": "event.count >= 2", "then": "offer"}]),
        "within": ("Give up after this long (default: wait for ever).", "24h"),
        "timeout": ("Where the timeout leads (default: the following step).", "offer"),
    },
    "wait arm": {
        "event": ("An event to wait for.", "replied"),
        "where": (_WHERE, "event.count >= 2"),
        "then": ("Where the event leads (default: the following step).", "human"),
    },
    "branch arm": {
        "when": ("The arm's condition.", "cart.value >= 200"),
        "then": (_STEP_NAME, "human"),
    },
    "branch else": {"else": ("Where customers go when no arm's condition holds.", "offer")},
    "split arm": {
        "arm": ("The arm's name (reports use it).", "story"),
        "percent": ("The share of customers that take this arm.", "50%"),
        "then": (_STEP_NAME + " Give this or 'holdout'.", "tease_story"),
        "holdout": ("true: the arm is a control group; its runs get no more steps and are "
                    "followed for goals, milestones and KPIs, to compare with the other arms.",
                    True),
    },
    "set": {
        "attribute": ("The attribute to set: customer.*, consent.*, event.* or a context path.",
                      "customer.winback_level"),
        "value": ("A literal value (give this or 'expr').", 1),
        "expr": ("An expression (give this or 'value').", "customer.winback_level + 1"),
    },
    "coupon": {
        "code": ("The coupon code.", "CART10"),
        "value": ("Its value (in your currency).", 10),
        "expires": ("It expires this long after it is issued.", "7d"),
    },
    "handoff": {
        "to": ("The role that takes the customer.", "sales_agent"),
        "within": ("The response deadline: an SLA, breached when it passes.", "15m"),
        "note": ("A note for the staff.", "Replied to a cart reminder: answer the question first"),
    },
    "webhook": {"url": ("The URL to call.", "https://crm.example.invalid/hooks/vip")},
    "emit": {
        "event": ("The event to emit.", "member_activated"),
        "params": ("The event's data.", {"source": "onboarding"}),
    },
    "use": {
        "fragment": ("The fragment (stdlib/ or a fragments/ folder beside the journey).",
                     "winback"),
        "with": ("Arguments for the fragment's parameters.", {"channel": "sms", "gap": "72h"}),
    },
    "escalate": {
        "until": ("The event that resolves the ladder.", "complaint_resolved"),
        "where": (_WHERE, "event.level >= 2"),
        "within": ("The ladder's deadline; past it, 'breach' is taken.", "4h"),
        "then": ("Where resolution leads (default: the following step).", "resolved"),
        "breach": ("Where the breach leads (default: the following step).", "overdue"),
        "rungs": ("The rungs: an offset into the ladder and one action each.",
                  [{"at": "0m", "send": {"via": "wecom", "template": "care_bot"}},
                   {"at": "24h", "handoff": {"to": "store_staff", "within": "1d"}}]),
    },
    "rung": {
        "at": ("When the rung's action runs, counted from the start of the ladder.", "30m"),
        "send": ("Send a message.", {"via": "wecom", "template": "care_bot"}),
        "handoff": ("Hand the customer to a team.", {"to": "store_staff", "within": "1d"}),
        "tag": ("Add tags.", "escalated"),
        "untag": ("Remove tags.", "churn_warning"),
        "set": ("Set an attribute.", {"attribute": "customer.winback_level", "value": 2}),
        "coupon": ("Issue a coupon.", "COMEBACK30"),
        "webhook": ("Call a webhook.", "https://crm.example.invalid/hooks/director-call"),
        "emit": ("Emit an event.", "ladder_climbed"),
    },
    "kpi": {
        "name": ("The KPI's name (unique in the journey).", "reply_2h"),
        "title": ("The KPI's title, shown in reports.", "两小时内回复率"),
        "on": ("The event that counts as a hit.", "complaint_replied"),
        "where": (_WHERE, "event.score >= 4"),
        "within": ("A hit counts only this long after the customer reached the stage (or step).",
                   "2h"),
        "baseline": ("Today's value (a target below it means lower is better).", "20%"),
        "target": ("The value to reach.", "35%"),
        "at": ("Measure from this step of the stage instead of the stage's start.", "nudge"),
    },
}
