"""Prometheus metrics of the service and the webhook receiver (prometheus-client).

Each process owns one registry (no global state), served over HTTP by `serve`. Counters
count work done by this process: after a restart that reprocesses records since the last
checkpoint, that work is counted again.
"""

from __future__ import annotations

import time
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

# Poll-to-produce and poll-to-ack latencies: milliseconds to tens of seconds.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class ServiceMetrics:
    """What `aiops run` exports."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.events_in = Counter(
            "aiops_events_in",
            "Input records processed, by source and topic",
            ["source", "topic"],
            registry=r,
        )
        self.duplicates_folded = Counter(
            "aiops_duplicates_folded",
            "Alert events folded into a known alert, by kind",
            ["kind"],
            registry=r,
        )
        self.redelivered = Counter(
            "aiops_redelivered", "Exact redeliveries of an alert id, dropped", registry=r
        )
        self.incidents_opened = Counter(
            "aiops_incidents_opened", "Incidents that became open (reopens included)", registry=r
        )
        self.incidents_resolved = Counter(
            "aiops_incidents_resolved", "Incidents that became resolved", registry=r
        )
        self.incidents_open = Gauge(
            "aiops_incidents_open", "Incidents open now, over the assigned shards", registry=r
        )
        self.incident_updates = Counter(
            "aiops_incident_updates", "Incident messages produced", registry=r
        )
        self.dead_letters = Counter(
            "aiops_dead_letters",
            "Inputs that could not be used, by input topic",
            ["topic"],
            registry=r,
        )
        self.suppressed = Counter(
            "aiops_suppressed",
            "Alert events that ended in no incident, by reason",
            ["reason"],
            registry=r,
        )
        self.predictions = Counter("aiops_predictions", "Outage predictions", registry=r)
        self.poll_to_produce = Histogram(
            "aiops_poll_to_produce_seconds",
            "From a poll returning records to their outputs handed to the producer",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.poll_to_ack = Histogram(
            "aiops_poll_to_ack_seconds",
            "From a poll returning records to the broker acknowledging their outputs",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.consumer_lag = Gauge(
            "aiops_consumer_lag",
            "High watermark minus the next offset to process",
            ["topic", "partition"],
            registry=r,
        )
        self.last_commit = Gauge(
            "aiops_last_commit_timestamp_seconds",
            "Wall time of the last offset commit",
            registry=r,
        )
        self.commit_failures = Counter(
            "aiops_commit_failures", "Offset commits that failed (retried later)", registry=r
        )
        self.checkpoints = Counter("aiops_checkpoints", "Shard snapshots written", registry=r)
        self.checkpoint_bytes = Gauge(
            "aiops_checkpoint_bytes", "Size of the last shard snapshot", registry=r
        )
        self.checkpoint_seconds = Histogram(
            "aiops_checkpoint_seconds",
            "Time to flush outputs, write snapshots and commit",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.last_checkpoint = time.time()
        self.checkpoint_age = Gauge(
            "aiops_checkpoint_age_seconds", "Seconds since the last checkpoint", registry=r
        )
        self.checkpoint_age.set_function(lambda: time.time() - self.last_checkpoint)
        self.restores = Counter(
            "aiops_restores",
            "Shards restored from a snapshot, by outcome",
            ["outcome"],
            registry=r,
        )
        self.shards = Gauge("aiops_shards", "Shards (partition indexes) assigned", registry=r)


class WebhookMetrics:
    """What `aiops webhook` exports."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.requests = Counter(
            "aiops_webhook_requests", "HTTP requests by status code", ["code"], registry=r
        )
        self.alerts = Counter(
            "aiops_webhook_alerts",
            "Alerts accepted and acknowledged by Kafka, by format",
            ["format"],
            registry=r,
        )
        self.latency = Histogram(
            "aiops_webhook_request_seconds",
            "From request read to response",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )


def serve(port: int, registry: CollectorRegistry, addr: str = "0.0.0.0") -> WSGIServer:
    """Serve /metrics on `addr:port` from a daemon thread; returns the server to shut down."""
    server, _thread = start_http_server(port, addr=addr, registry=registry)
    return server
