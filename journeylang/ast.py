"""The typed journey model: frozen dataclasses, every node with a source span.

Spans are excluded from equality, so the same journey written in the DSL and in YAML
gives equal models.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import field
from typing import Union

from .diagnostics import Span
from .records import record

NO_SPAN = Span("<none>", 0, 0, 0, 0)

CHANNELS = ("wecom", "group", "sms", "email", "push", "miniprogram", "official_account", "call")


def node(cls):
    """Make ``cls`` a model node: a frozen dataclass whose ``__eq__``, ``__hash__`` and
    ``__repr__`` are shared by every node (``records.record``)."""
    return record(cls)


@node
class Node:
    """Base of every model node: carries where it was written."""

    span: Span = field(default=NO_SPAN, compare=False, repr=False, kw_only=True)


# --- conditions -------------------------------------------------------------------------------

@node
class Literal(Node):
    """A constant: a string, a number, true/false or null."""

    value: str | int | float | bool | None


@node
class Path(Node):
    """A dotted attribute reference such as ``cart.value`` or ``consent.wecom``."""

    parts: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@node
class ListExpr(Node):
    """A list of values written in a condition, ``["a", "b"]``."""

    items: tuple["Expr", ...]


@node
class Unary(Node):
    """A sign before a value: ``-x``."""

    op: str
    operand: "Expr"


@node
class Binary(Node):
    """Arithmetic: ``+ - * / %``."""

    op: str
    left: "Expr"
    right: "Expr"


@node
class Compare(Node):
    """A comparison: ``== != < <= > >=``."""

    op: str
    left: "Expr"
    right: "Expr"


@node
class In(Node):
    """``item in collection`` (``not in`` when ``negated``)."""

    item: "Expr"
    collection: "Expr"
    negated: bool = False


@node
class HasTag(Node):
    """``has_tag("vip")``: whether the customer carries a tag."""

    tag: str


@node
class Exists(Node):
    """``exists(path)``: whether the attribute is set."""

    path: Path


@node
class Not(Node):
    """``not operand``."""

    operand: "Expr"


@node
class BoolOp(Node):
    """``and`` / ``or`` over two or more operands."""

    op: str
    operands: tuple["Expr", ...]


@node
class Duration(Node):
    """A duration written in a condition (``30d``): its value is the number of seconds."""

    seconds: int


HISTORY_FUNCTIONS = ("happened", "count", "sum", "min", "max", "time_since",
                     "recency_score", "frequency_score", "monetary_score", "rfm_score")
FIELD_FUNCTIONS = ("sum", "min", "max", "monetary_score", "rfm_score")  # they read event.FIELD


@node
class History(Node):
    """A question about the customer's recent events: whether one ``happened``, their
    ``count``, the ``sum``/``min``/``max`` of a numeric ``field``, the ``time_since`` the last
    one (seconds), or an RFM score. ``condition`` filters the events (``event.x`` is the past
    event's data); ``within`` limits them to that many seconds back, None to the run's entry."""

    function: str
    event: str
    field: str | None = None
    condition: "Expr | None" = None
    within: int | None = None


@node
class SegmentRef(Node):
    """``segment(name)``: a named condition declared once in the configuration."""

    name: str


Expr = Union[Literal, Path, ListExpr, Unary, Binary, Compare, In, HasTag, Exists, Not, BoolOp,
             Duration, History, SegmentRef]


# --- journey-level declarations ----------------------------------------------------------------

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
SCHEDULE_UNITS = ("day", "week", "month", "quarter", "year")


@node
class Schedule(Node):
    """A recurring time in the customer's time zone.

    ``every`` is one of SCHEDULE_UNITS:
    ``day`` (daily at ``time``); ``week`` (on each of ``weekdays``, 0 = Monday);
    ``month`` (on day ``day`` of each month); ``quarter`` (on day ``day`` of the first month
    of each quarter); ``year`` (on ``month``/``day``, month 1-12).
    """

    every: str
    time: _dt.time
    weekdays: tuple[int, ...] = ()
    day: int | None = None
    month: int | None = None


@node
class Entry(Node):
    """What starts the journey: a trigger ``event`` or a recurring ``schedule`` (then ``event``
    is empty and every known customer matching the audience enters at each occurrence)."""

    event: str = ""
    condition: Expr | None = None
    schedule: Schedule | None = None


@node
class Reentry(Node):
    """Whether a customer may enter again: ``never``, ``always`` or ``after`` a duration."""

    mode: str = "never"
    after: int | None = None  # seconds


@node
class Correlation(Node):
    """``correlate by order_id``: an event reaches only the runs whose entry event had the same
    value at this path of its data (opt-out events reach every run)."""

    path: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@node
class Goal(Node):
    """A conversion event that ends the journey with outcome ``converted``."""

    name: str
    event: str
    condition: Expr | None = None
    within: int | None = None  # seconds after entry


@node
class Milestone(Node):
    """A conversion recorded with its time when ``event`` (with ``condition``, within
    ``within`` seconds of entry) first happens in a run; unlike a goal the run goes on."""

    name: str
    event: str
    condition: Expr | None = None
    within: int | None = None


@node
class ExitRule(Node):
    """An event that ends the journey wherever the customer is, with an outcome."""

    event: str
    outcome: str
    condition: Expr | None = None


CALENDAR_UNITS = {"day": 86400, "week": 7 * 86400}


@node
class Cap(Node):
    """At most ``messages`` sends per ``per`` seconds (optionally on some channels only); with
    ``calendar`` (``day`` or ``week``) per calendar day or week in the customer's time zone,
    ``per`` then being that unit's length."""

    messages: int
    per: int
    channels: tuple[str, ...] = ()
    calendar: str | None = None


@node
class QuietHours(Node):
    """No sends between ``start`` and ``end`` (local time; may wrap midnight)."""

    start: _dt.time
    end: _dt.time

    def contains(self, moment: _dt.time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


@node
class Policy(Node):
    """The journey's sending rules: frequency caps, quiet hours, consent, holdout, promo share."""

    caps: tuple[Cap, ...] = ()
    quiet: QuietHours | None = None
    consent: tuple[str, ...] = ()  # channels that need the customer's consent
    holdout: float | None = None  # percent kept out as a control group
    promo: float | None = None  # at most this percent of the journey's sends may be promo


@node
class Role(Node):
    """A team that takes handoffs, at most ``capacity`` of them per ``per`` seconds."""

    name: str
    capacity: int
    per: int


@node
class Volume(Node):
    """The expected load: ``entries`` customers entering per ``per`` seconds."""

    entries: int
    per: int


@node
class Kpi(Node):
    """A metric on a stage (or one of its steps when ``step`` is set): the share of customers
    reaching it who then have ``event`` (with ``condition``) within ``within`` seconds.
    ``baseline`` and ``target`` are percents; a target below the baseline means lower is better."""

    name: str
    event: str
    within: int
    baseline: float
    target: float
    title: str | None = None
    condition: Expr | None = None
    step: str | None = None


@node
class TemplateText(Node):
    """A template's text in one ``locale`` (None: the default text)."""

    locale: str | None
    text: str


@node
class Template(Node):
    """A message template, with one text per locale (``None`` is the default locale)."""

    name: str
    texts: tuple[TemplateText, ...]


# --- steps -------------------------------------------------------------------------------------

@node
class Step(Node):
    """Base of every step. ``name`` is the author's label or ``<stage>.<n>`` when unnamed."""

    name: str

    @property
    def is_auto_named(self) -> bool:
        return "." in self.name

    @property
    def kind(self) -> str:
        return _KIND_NAMES[type(self)]


@node
class SequentialStep(Step):
    """A step that continues to ``next`` (or the following step when ``next`` is None)."""

    next: str | None = None


@node
class Param(Node):
    """A named value given to something: an argument of a fragment's use, or one of the
    ``with {...}`` parameters."""

    name: str
    value: str | int | float | bool | None


@node
class Send(SequentialStep):
    """Send ``template`` on ``channel``, or when the policies stop it there, on the first of
    ``fallback`` that they let through. A ``transactional`` message (an acknowledgement, a
    level reached) is exempt from caps, quiet hours and the promo budget, never from consent
    or opt-out."""

    channel: str = ""
    template: str = ""
    params: tuple[Param, ...] = ()
    promo: bool = False  # a promotional message: counts against the policy's promo budget
    transactional: bool = False
    fallback: tuple[str, ...] = ()

    @property
    def channels(self) -> tuple[str, ...]:
        return (self.channel, *self.fallback)


@node
class Wait(SequentialStep):
    """Wait a fixed duration."""

    duration: int = 0  # seconds


@node
class WaitUntil(SequentialStep):
    """Wait until the next occurrence of a time of day (customer's time zone)."""

    time: _dt.time = _dt.time(0, 0)


@node
class WaitDay(SequentialStep):
    """Wait until ``time`` on day ``day`` after entry (day 0 is the day of entry), in the
    customer's time zone; go on at once when that moment has passed."""

    day: int = 0
    time: _dt.time = _dt.time(0, 0)


@node
class WaitSchedule(SequentialStep):
    """Wait until the next occurrence of a recurring schedule (customer's time zone)."""

    schedule: Schedule = Schedule("day", _dt.time(0, 0))


@node
class EventArm(Node):
    """One event a wait listens for; ``target`` None means the following step."""

    event: str
    condition: Expr | None = None
    target: str | None = None


@node
class WaitEvent(SequentialStep):
    """Wait for one of several events, up to ``within``; ``next`` is taken on timeout.

    A wait of an escalation ladder names the ladder's rungs already run (``reached``) and
    those still ahead (``ahead``): its event resolves the ladder, which closes the SLAs the
    run's reached rungs opened."""

    arms: tuple[EventArm, ...] = ()
    within: int | None = None  # seconds; None waits forever
    reached: tuple[str, ...] = ()
    ahead: tuple[str, ...] = ()


@node
class BranchArm(Node):
    """One arm of a branch: go to ``target`` when ``condition`` holds."""

    condition: Expr
    target: str


@node
class Branch(Step):
    """The first arm whose condition holds is taken, else ``default``."""

    arms: tuple[BranchArm, ...] = ()
    default: str | None = None


@node
class SplitArm(Node):
    """One arm of a split; a ``holdout`` arm (a control group) has no target: its runs get no
    more steps and are followed for goals, milestones and KPIs only."""

    name: str
    percent: float
    target: str | None = None
    holdout: bool = False


@node
class Split(Step):
    """A random split (A/B test): each customer takes one arm with its percentage."""

    arms: tuple[SplitArm, ...] = ()


@node
class Tag(SequentialStep):
    """Add tags to the customer."""

    tags: tuple[str, ...] = ()


@node
class Untag(SequentialStep):
    """Remove tags from the customer."""

    tags: tuple[str, ...] = ()


@node
class SetAttribute(SequentialStep):
    """Set a profile attribute to the value of an expression."""

    attribute: str = ""
    value: Expr = Literal(None)


@node
class Coupon(SequentialStep):
    """Issue a coupon: its code, value and validity (seconds)."""

    code: str = ""
    value: float | None = None
    expires: int | None = None  # seconds


@node
class Handoff(SequentialStep):
    """Hand the customer to a human in ``role`` who must respond within ``within``.

    With a deadline the runtime opens an SLA: met by a ``handoff_resolved`` event for the
    customer (of that role, when the event names one), breached at the deadline, when the
    runtime records the breach and sends the customer's runs a ``sla_breached`` event."""

    role: str = ""
    within: int | None = None
    note: str | None = None


@node
class Webhook(SequentialStep):
    """Call a URL."""

    url: str = ""


@node
class Emit(SequentialStep):
    """Emit an event with fields."""

    event: str = ""
    params: tuple[Param, ...] = ()


@node
class Rung(Node):
    """One rung of an escalation ladder: ``action`` runs ``after`` seconds into the ladder."""

    after: int
    action: Step


@node
class Escalate(SequentialStep):
    """An escalation ladder: run each rung's action at its offset until ``event`` (with
    ``condition``) arrives, then go to ``target`` (None: the following step); when ``within``
    passes unresolved, go to ``next`` (the breach target). Expanded into primitive steps."""

    event: str = ""
    condition: Expr | None = None
    target: str | None = None
    within: int = 0
    rungs: tuple[Rung, ...] = ()


@node
class Goto(Step):
    """Continue at the step ``target``."""

    target: str = ""


@node
class Exit(Step):
    """End the run with ``outcome``."""

    outcome: str = "completed"


@node
class Use(Step):
    """``use FRAGMENT with {...}``: a fragment call, replaced by the fragment's steps in expand.

    ``name`` is the author's label (the prefix of the expanded step names) or the auto name.
    ``args`` hold raw values: names and durations as written (``sms``, ``14d``), numbers,
    booleans, quoted strings. Only documents fresh from a frontend contain ``Use``.
    """

    fragment: str = ""
    args: tuple[Param, ...] = ()


_KIND_NAMES = {
    Send: "send", Wait: "wait", WaitUntil: "wait_until", WaitDay: "wait_day", WaitEvent: "wait_event",
    WaitSchedule: "wait_schedule", Escalate: "escalate",
    Branch: "branch", Split: "split", Tag: "tag", Untag: "untag", SetAttribute: "set",
    Coupon: "coupon", Handoff: "handoff", Webhook: "webhook", Emit: "emit", Goto: "goto",
    Exit: "exit", Use: "use",
}
WAIT_KINDS = (Wait, WaitUntil, WaitDay, WaitEvent, WaitSchedule)
HANDLER_ACTIONS = (SetAttribute, Tag, Untag, Emit)  # the instant actions an event handler runs
ATTRIBUTE_TYPES = ("number", "string", "bool", "list")


@node
class Handler(Node):
    """``on EVENT [where C] { actions [-> target] }``: whatever step a run is at (waiting,
    or with a send held back by quiet hours), the event runs these instant actions and, with a
    ``target``, moves the run there."""

    event: str
    condition: Expr | None = None
    actions: tuple[Step, ...] = ()
    target: str | None = None


@node
class Attribute(Node):
    """A declared customer attribute (``attribute points: number = 0``): its type, and the
    value it has while the profile has none (``has_default``)."""

    name: str
    type: str | None = None
    default: str | int | float | bool | None = None
    has_default: bool = False


@node
class Variable(Node):
    """A run-local variable (``var streak = 0``): each run has its own, starting at
    ``default``; no other journey and no event can change it."""

    name: str
    default: str | int | float | bool | None = None
    type: str | None = None


MIGRATION_ACTIONS = ("stop", "drain")  # the targets of a move that name no step
OTHER_STEPS = "other"                   # the source of a move: every step not mapped otherwise


@node
class Move(Node):
    """``old_step -> target`` in a migration: runs of the older version at ``step`` (a step id
    or a stage name of that version) go to ``target``, a step or stage of this version, or
    ``stop`` (they end now) or ``drain`` (they stay on the older version until they end)."""

    step: str
    target: str


@node
class Migration(Node):
    """``migrate from version N { moves; other -> ... }``: how runs of version N move when this
    version is loaded; ``other`` is the target of every step no move names (None: none)."""

    from_version: int
    moves: tuple[Move, ...] = ()
    other: str | None = None


@node
class Stage(Node):
    """A named group of steps (a stage of the customer's life cycle) and its KPIs."""

    name: str
    title: str | None = None
    steps: tuple[Step, ...] = ()
    kpis: tuple[Kpi, ...] = ()


@node
class Journey(Node):
    """A whole journey: its entry, audience, policy, stages and steps, goals and KPIs."""

    id: str
    title: str | None = None
    version: int | None = None
    owner: str | None = None
    description: str | None = None
    entry: Entry | None = None
    audience: Expr | None = None
    reentry: Reentry = Reentry()
    correlate: Correlation | None = None
    goals: tuple[Goal, ...] = ()
    milestones: tuple[Milestone, ...] = ()
    exits: tuple[ExitRule, ...] = ()
    outcomes: tuple[str, ...] = ()  # outcomes declared beyond the standard ones
    policy: Policy = Policy()
    roles: tuple[Role, ...] = ()
    volume: Volume | None = None
    templates: tuple[Template, ...] = ()
    stages: tuple[Stage, ...] = ()
    handlers: tuple[Handler, ...] = ()
    attributes: tuple[Attribute, ...] = ()
    variables: tuple[Variable, ...] = ()
    locale: str | None = None  # the templates' default locale for customers without one
    migrations: tuple[Migration, ...] = ()

    def steps(self):
        """Every step in source order, with its stage."""
        for stage in self.stages:
            for step in stage.steps:
                yield stage, step


# --- fragments (stdlib/*.journey, fragments/*.journey) ----------------------------------------

PARAM_TYPES = ("channel", "duration", "template", "string", "number", "bool", "event", "step")


@node
class ParamRef(Node):
    """``$name`` inside a fragment body: replaced by the argument's value on expansion.

    It may stand where a channel, template, duration, event, step target, role, tag, coupon
    code or value, or a literal (in ``with {}`` params and in conditions) is written.
    """

    name: str


@node
class FragmentParam(Node):
    """A typed fragment parameter; ``required`` when it has no default."""

    name: str
    type: str
    default: str | int | float | bool | None = None
    required: bool = True


@node
class Fragment(Node):
    """A reusable run of steps with typed parameters, plus the templates its defaults name."""

    name: str
    title: str | None = None
    params: tuple[FragmentParam, ...] = ()
    templates: tuple[Template, ...] = ()
    steps: tuple[Step, ...] = ()
    variables: tuple[Variable, ...] = ()  # hoisted into the journey that uses the fragment
    handlers: tuple[Handler, ...] = ()


def auto_step_name(stage: str, index: int) -> str:
    """The name an unnamed step gets: its stage and 1-based position."""
    return f"{stage}.{index + 1}"
