"""Prometheus metrics: one registry per running app (no global registry), exposed at /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """The product's metric objects, registered on their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.events_accepted = Counter(
            "tracardi_events_accepted", "Events accepted by the collector", ["source"], registry=self.registry
        )
        self.events_rejected = Counter(
            "tracardi_events_rejected", "Tracking requests rejected, by reason", ["reason"], registry=self.registry
        )
        self.request_latency = Histogram(
            "tracardi_request_seconds",
            "HTTP request latency by route template and status class",
            ["route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.profiles_created = Counter("tracardi_profiles_created", "Profiles created", registry=self.registry)
        self.sessions_created = Counter("tracardi_sessions_created", "Sessions created", registry=self.registry)
        self.write_conflicts = Counter(
            "tracardi_write_conflicts",
            "Optimistic-concurrency conflicts retried by the tracker",
            registry=self.registry,
        )
        self.jobs = Counter(
            "tracardi_jobs", "Queue jobs finished, by queue and outcome", ["queue", "state"], registry=self.registry
        )
        self.queue_depth = Gauge(
            "tracardi_queue_depth", "Jobs not yet done (ready, claimed, delayed)", ["queue"], registry=self.registry
        )
        self.queue_oldest_age = Gauge(
            "tracardi_queue_oldest_age_seconds", "Age of the oldest waiting job", ["queue"], registry=self.registry
        )
        self.queue_dead = Gauge("tracardi_queue_dead", "Dead letters", ["queue"], registry=self.registry)
        self.inflight = 0
        """HTTP requests in progress: a plain count on the request path, read when /metrics is scraped."""
        Gauge("tracardi_requests_inflight", "HTTP requests in progress", registry=self.registry).set_function(
            lambda: self.inflight
        )
        self._bridge_metrics()

    def _bridge_metrics(self) -> None:
        labels = ["source", "kind"]
        self.bridge_consumed = Counter(
            "tracardi_bridge_consumed", "Broker messages tracked and acknowledged", labels, registry=self.registry
        )
        self.bridge_failed = Counter(
            "tracardi_bridge_failed",
            "Broker messages sent to the dead-letter destination",
            labels,
            registry=self.registry,
        )
        self.bridge_duplicates = Counter(
            "tracardi_bridge_duplicates",
            "Redelivered broker messages found already stored (acknowledged, not tracked again)",
            labels,
            registry=self.registry,
        )
        self.bridge_lag = Gauge(
            "tracardi_bridge_lag", "Messages waiting in the broker (where it tells)", labels, registry=self.registry
        )
        self.bridge_connected = Gauge(
            "tracardi_bridge_connected", "1 while the bridge is connected to its broker", labels, registry=self.registry
        )
        self.bridge_reconnects = Counter(
            "tracardi_bridge_reconnects",
            "Reconnects after the broker connection was lost",
            labels,
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
