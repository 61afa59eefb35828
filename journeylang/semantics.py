"""Step semantics that every executor shares: the runtime, both simulator engines and the lint
rules that reason about what a run will do.

Only facts live here (names, orders, pure rules); each executor applies them to its own data
(one customer at a time, or numpy arrays of customers). docs/runtime.md describes them.
"""
from __future__ import annotations

import math

from .limits import MAX_NUMBER

# --- outcomes ----------------------------------------------------------------------------------

CONVERTED, COMPLETED, CHURNED, OPTED_OUT, EXPIRED, ESCALATED = (
    "converted", "completed", "churned", "opted_out", "expired", "escalated")
ERROR = "error"  # the runtime's own: a run that went round a loop MAX_STEPS times without waiting
STOPPED = "stopped"  # the runtime's own: a run a new version's migration stopped (`-> stop`)
# the experiment of a journey's entry holdout (``policy holdout``), beside its splits: a run's
# group in it is TREATED or HELD_OUT (a split's arms are named by the journey)
ENTRY_EXPERIMENT, TREATED, HELD_OUT = "(entry)", "treated", "holdout"
STANDARD_OUTCOMES = (CONVERTED, COMPLETED, CHURNED, OPTED_OUT, EXPIRED, ESCALATED)

# --- opt-out -----------------------------------------------------------------------------------

# Events that mean "stop contacting me" (the lint configuration may name others).
OPT_OUT_EVENTS = ("unsubscribed", "opted_out", "opt_out", "stop")
# Channels on which the law requires an opt-out to be honoured by an exit rule (JL306).
OPT_OUT_CHANNELS = ("sms", "email")

# --- guards ------------------------------------------------------------------------------------

MAX_STEPS = 1000      # steps in one activation without time passing: a guard against zero-wait loops
MAX_EMIT_DEPTH = 8    # emit -> entry -> emit ... chains longer than this are not delivered

# --- waits -------------------------------------------------------------------------------------

WAIT_KINDS = ("wait", "wait_until", "wait_event", "wait_schedule")


def zero_wait(kind: str, duration: float | None = None, within: float | None = None) -> bool:
    """Whether a waiting step lets no time pass and so goes on at once: ``wait 0m``, or a wait
    for events ``within 0m`` (which times out at once, taking no event). Such steps count
    against MAX_STEPS like any other step, and do not break a loop (JL203)."""
    if kind == "wait":
        return (duration or 0) <= 0
    if kind == "wait_event":
        return within is not None and within <= 0
    return False


def makes_time_pass(kind: str, duration: float | None = None, within: float | None = None) -> bool:
    """Whether entering a step of ``kind`` can make the run wait (see ``zero_wait``)."""
    return kind in WAIT_KINDS and not zero_wait(kind, duration, within)


# --- values ----------------------------------------------------------------------------------

def value_type(value) -> str | None:
    """The declared-attribute type (number, string, bool, list) of a JSON value; None for
    null and objects. ``true`` is a bool, never the number 1."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    return None


# --- values in conditions -------------------------------------------------------------------

# Null follows docs/language.md: every comparison involving null is false and arithmetic
# on null is null; 1 == 1.0, but true is not 1 and "1" is not 1.
ARITHMETIC = ("+", "-", "*", "/", "%")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if _is_number(value):
        return "number"
    return type(value).__name__


def equal(a, b) -> bool:
    """JSON equality: 1 == 1.0, but true is not 1 and "1" is not 1."""
    if _kind(a) != _kind(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    return a == b


def compare(op: str, a, b) -> bool:
    if a is None or b is None:
        return False
    if op == "==":
        return equal(a, b)
    if op == "!=":
        return not equal(a, b)
    if not (_is_number(a) and _is_number(b) or isinstance(a, str) and isinstance(b, str)):
        return False
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    raise KeyError(op)


def arithmetic(op: str, a, b):
    if not (_is_number(a) and _is_number(b)):
        return None
    if op in ("/", "%") and b == 0:
        return None
    result = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b,
              "/": lambda: a / b, "%": lambda: a % b}[op]()
    if isinstance(result, int) and abs(result) > MAX_NUMBER:  # past exact integers: a float,
        result = float(result) if result.bit_length() < 1024 else math.inf  # as numpy has it
    return result if not isinstance(result, float) or math.isfinite(result) else None


def member(item, collection) -> bool | None:
    """Whether ``item`` is in the list; None when either side makes the test false."""
    if item is None or not isinstance(collection, list):
        return None
    return any(equal(item, x) for x in collection)


def negate(value):
    return -value if _is_number(value) else None


# --- sends -------------------------------------------------------------------------------------

# What decides a send, tried in this order; the first that applies decides:
#   opted out   the customer opted out: skipped
#   no consent  the channel needs consent the customer has not given: skipped
#   quiet       the customer's local time is inside quiet hours: deferred to the window's end
#   cap         a frequency cap (across all the customer's journeys) is reached: skipped
# Otherwise the message is sent. The promo budget is measured, never enforced per message.
#
# Caps count the messages sent to the customer and those on their way to the provider (so a
# delivery backlog cannot break a cap); a message that fails or is cancelled stops counting,
# and one reported sent counts from the moment it was sent. The promo budget is measured over
# sent messages. In a simulation every message is sent and delivered the moment it is queued.
SEND_OPTED_OUT, SEND_NO_CONSENT, SEND_QUIET, SEND_CAP = "opted out", "no consent", "quiet", "cap"
SEND_CHECKS = (SEND_OPTED_OUT, SEND_NO_CONSENT, SEND_QUIET, SEND_CAP)
# The checks that skip (rather than defer) a send, and so count as skip reasons.
SKIP_REASONS = (SEND_OPTED_OUT, SEND_NO_CONSENT, SEND_CAP)


# --- delivery results ---------------------------------------------------------------------------

# Events the delivery worker reports for a message, which journeys can wait for. Their data:
# action (the outbox id), channel, template, journey, step, attempts, and provider_id (sent,
# delivered) or reason (failed).
MESSAGE_SENT, MESSAGE_DELIVERED, MESSAGE_FAILED = ("message_sent", "message_delivered",
                                                   "message_failed")
DELIVERY_EVENTS = (MESSAGE_SENT, MESSAGE_DELIVERED, MESSAGE_FAILED)


def skip_reason(detail: str | None) -> str | None:
    """The check that skipped a send, read from its history detail (which starts with the
    check's name: ``no consent for sms``, ``cap 2 per 86400s reached``)."""
    for reason in SKIP_REASONS:
        if detail and detail.startswith(reason):
            return reason
    return None


def consents(profile: dict, channel: str) -> bool:
    """Whether a profile gives consent for ``channel`` (``consent.<channel>`` is exactly true)."""
    consent = profile.get("consent")
    return isinstance(consent, dict) and consent.get(channel) is True


def send_checks(transactional: bool = False) -> tuple[str, ...]:
    """The checks that decide a send, in order: a transactional message (an acknowledgement,
    a level reached) is exempt from quiet hours and caps, never from opt-out and consent."""
    return (SEND_OPTED_OUT, SEND_NO_CONSENT) if transactional else SEND_CHECKS


# --- event history -----------------------------------------------------------------------------

DAY = 86400
# RFM scores, 1 (worst) to 5 (best): the least value reaching each score, best first.
RECENCY_DAYS = (7, 30, 90, 180)          # days since the last event: at most this for 5, 4, 3, 2
FREQUENCY_COUNTS = (10, 5, 3, 2)         # events in the window: at least this for 5, 4, 3, 2
MONETARY_SUMS = (5000, 2000, 500, 100)   # the field's sum in the window: at least this for 5..2


def history_answer(function: str, moments: list[float], values: list, now: float):
    """The answer to a history question over the matching events (their ``moments``, oldest
    first, and ``values``: the field's value of each, for the functions that read a field).

    happened: any; count: how many; sum / min / max of the numeric values (sum of none is 0,
    min and max of none are null); time_since: seconds since the last (null when none);
    recency_score, frequency_score, monetary_score: 1-5 by the bands above; rfm_score: the three
    as one number, R * 100 + F * 10 + M (555 is the best customer).
    """
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if function == "happened":
        return bool(moments)
    if function == "count":
        return len(moments)
    if function == "sum":
        return sum(numbers)
    if function in ("min", "max"):
        return (min if function == "min" else max)(numbers) if numbers else None
    if function == "time_since":
        return now - moments[-1] if moments else None
    scores = {"recency_score": lambda: recency_score(moments, now),
              "frequency_score": lambda: frequency_score(len(moments)),
              "monetary_score": lambda: monetary_score(sum(numbers))}
    if function in scores:
        return scores[function]()
    if function == "rfm_score":
        return (recency_score(moments, now) * 100 + frequency_score(len(moments)) * 10
                + monetary_score(sum(numbers)))
    raise ValueError(f"unknown history function {function!r}")


def recency_score(moments: list[float], now: float) -> int:
    if not moments:
        return 1
    days = (now - moments[-1]) / DAY
    return next((5 - i for i, bound in enumerate(RECENCY_DAYS) if days <= bound), 1)


def frequency_score(count: int) -> int:
    return next((5 - i for i, bound in enumerate(FREQUENCY_COUNTS) if count >= bound), 1)


def monetary_score(total: float) -> int:
    return next((5 - i for i, bound in enumerate(MONETARY_SUMS) if total >= bound), 1)
