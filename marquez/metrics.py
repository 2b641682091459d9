"""Prometheus metrics of the server, on a registry of its own (several apps may share a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "marquez_http_requests", "HTTP requests answered", ["method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "marquez_http_request_seconds", "Time to answer a request", ["method"], registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )  # fmt: skip
        self.events = Counter(
            "marquez_lineage_events", "OpenLineage events received", ["outcome"], registry=self.registry
        )
        # How bodies arrive (`gzip`: the OpenLineage clients' `compression: gzip`), counted once read.
        self.bodies = Counter(
            "marquez_request_bodies", "Request bodies read, by Content-Encoding", ["encoding"], registry=self.registry
        )
        self.held = Histogram(
            "marquez_acknowledgement_held_seconds",
            "How long acknowledgements were held while the projector caught up (marquez.backpressure)",
            registry=self.registry, buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2),
        )  # fmt: skip
        self.pending = Gauge(
            "marquez_pending_events", "Acknowledged events not yet applied to the model", registry=self.registry
        )
        self.projection_errors = Gauge(
            "marquez_projection_errors", "Acknowledged events the projector could not apply", registry=self.registry
        )
