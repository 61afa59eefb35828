"""The engine's queue: items in (time, priority, sequence) order, whatever their ties."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st

from journeylang.runtime.engine import EVENT, LATE, TIMER, Engine

items = st.lists(st.tuples(st.sampled_from([0.0, 1.0, 2.5, 3.0, 7.0]),
                           st.sampled_from([EVENT, TIMER, LATE]), st.booleans()), max_size=40)


class ListQueue:
    """The reference: every queued item in a list, the least (time, priority, sequence) next."""

    def __init__(self):
        self.now, self.sequence, self.queued = float("-inf"), 0, []

    def schedule(self, at, priority, item):
        self.queued.append((at, priority, self.sequence, item))
        self.sequence += 1
        return self.sequence - 1

    def run(self, until, priority, handler):
        while self.queued:
            first = min(self.queued, key=lambda q: q[:3])
            if until is not None and (first[0] > until or first[0] == until and first[1] > priority):
                break
            self.queued.remove(first)
            self.now = max(self.now, first[0])
            handler(first[3], first[2])
        if until is not None:
            self.now = max(self.now, until)


def _apply(queue, queued, stops, priority, run) -> list:
    handled = []

    def handle(item, sequence):
        handled.append((queue.now, sequence))
        at, kind, again = item
        if again:  # an item that queues another at once (as a step's emitted event)
            queue.schedule(queue.now, EVENT, (at, EVENT, False))
    for at, kind, again in queued:
        queue.schedule(at, kind, (at, kind, again))
    for until in [*stops, None]:
        run(handle, until)
        handled.append(("stop", until, queue.now))
    return handled


@settings(max_examples=400, deadline=None)
@given(items, st.lists(st.sampled_from([0.0, 1.0, 2.5, 3.0, 5.0]), max_size=5),
       st.sampled_from([EVENT, TIMER, LATE]))
def test_items_come_in_time_priority_and_sequence_order(queued, stops, priority):
    """Many items at one time, items queued while others are handled (at the time being
    handled), and runs that stop before the timers at their end: the order of a list
    searched for its least item every time."""
    engine = Engine(None)

    def run(handler, until):
        engine.handler = handler
        engine.run(until, priority)
    reference = ListQueue()
    assert _apply(engine, queued, stops, priority, run) == _apply(
        reference, queued, stops, priority, lambda handler, until: reference.run(
            until, priority, handler))
    assert len(engine) == 0 and engine.peek() is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, 1.0]), st.sampled_from([EVENT, TIMER, LATE])),
                max_size=90), st.randoms(use_true_random=False), st.integers(0, 90))
def test_items_restored_out_of_order_come_in_order(queued, random, in_order):
    """Items queued with their own sequence numbers in any order (timers read back from a
    store), many at one time, come in (time, priority, sequence) order."""
    sequences = list(range(len(queued)))
    shuffled = sequences[in_order:]
    random.shuffle(shuffled)
    sequences[in_order:] = shuffled  # the first ones in order: a long run, then any order
    engine, handled = Engine(None), []
    engine.handler = lambda item, sequence: handled.append((engine.now, item, sequence))
    for (at, priority), sequence in zip(queued, sequences):
        engine.schedule(at, priority, priority, sequence)
    engine.run()
    assert [(at, priority, sequence) for at, priority, sequence in handled] == sorted(
        (at, priority, sequence) for (at, priority), sequence in zip(queued, sequences))
    assert len(engine) == 0
