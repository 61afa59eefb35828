"""Live stage: the Prometheus metrics of the ingestion service and of the delivery worker.

Each process has its own registry (so tests and a service with a worker inside it never mix
them up). Counts only: no label carries a customer, an address or a text.
"""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LAG = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        self.outbox_depth = Gauge("journey_outbox_depth", "Outbox rows with delivery work left",
                                  ["kind", "channel", "status"], registry=self.registry)
        self.outbox_waiting = Gauge("journey_outbox_oldest_due_seconds",
                                    "How long the longest-due outbox row has been due",
                                    registry=self.registry)

    def outbox(self, rows, now: float) -> None:
        """Outbox depth from ``Outbox.depth()`` rows."""
        self.outbox_depth.clear()
        oldest = None
        for kind, channel, status, count, due in rows:
            self.outbox_depth.labels(kind, channel, status).set(count)
            if due is not None and due <= now:
                oldest = due if oldest is None else min(oldest, due)
        self.outbox_waiting.set(0.0 if oldest is None else now - oldest)

    def text(self) -> bytes:
        return generate_latest(self.registry)


class ServeMetrics(Metrics):
    def __init__(self, registry: CollectorRegistry | None = None):
        super().__init__(registry)
        r = self.registry
        self.received = Counter("journey_events_received", "Events accepted (durably in the inbox)",
                                ["call"], registry=r)
        self.repeated = Counter("journey_events_repeated",
                                "Events received again with a message id already in the inbox",
                                registry=r)
        self.rejected = Counter("journey_requests_rejected", "Requests refused, by reason",
                                ["reason"], registry=r)
        self.request_seconds = Histogram("journey_request_seconds",
                                         "Time to answer an ingestion request", ["call"],
                                         buckets=LATENCY, registry=r)
        self.applied = Counter("journey_events_applied", "Events applied to the journeys",
                               registry=r)
        self.skipped = Counter("journey_events_skipped",
                               "Events taken from the inbox that were applied before", registry=r)
        self.failed = Counter("journey_events_failed",
                              "Events set aside because applying them raised an error "
                              "(each in its customer's history)", registry=r)
        self.timers = Counter("journey_timers_fired", "Timers fired", registry=r)
        self.timer_lag = Histogram("journey_timer_lag_seconds",
                                   "How long after its due time a timer fired", buckets=LAG,
                                   registry=r)
        self.apply_lag = Histogram("journey_apply_lag_seconds",
                                   "From accepting an event to applying it (the oldest of each "
                                   "batch)", buckets=LAG, registry=r)
        self.backlog = Gauge("journey_inbox_backlog", "Events accepted, not yet applied",
                             registry=r)
        self.active = Gauge("journey_applier_active",
                            "1 when this process applies events and fires timers", registry=r)


class DeliverMetrics(Metrics):
    def __init__(self, registry: CollectorRegistry | None = None):
        super().__init__(registry)
        r = self.registry
        self.results = Counter("journey_deliveries", "Delivery attempts by route and result",
                               ["route", "result"], registry=r)
        self.seconds = Histogram("journey_delivery_seconds", "Time a provider took to answer",
                                 ["route"], buckets=LATENCY, registry=r)
