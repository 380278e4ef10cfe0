"""Topic names (CONTRACT.md §3 defaults) and creating the ones that are missing."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)

DEFAULT_BOOTSTRAP = "localhost:9092"
ALERTS = "aiops.alerts"
CHANGES = "aiops.changes"
METRICS = "aiops.metrics"
TICKETS = "aiops.tickets"
FORECASTS = "aiops.forecasts"
INCIDENTS = "aiops.incidents"
PREDICTIONS = "aiops.predictions"
DEAD_LETTER = "aiops.dead-letter"
CHECKPOINTS = "aiops.checkpoints"
# Root-cause verdicts of problem managers (pipeline/feedback.py records): the feedback store.
# Every worker reads all of it; it is kept forever (a new shard learns from all of it).
FEEDBACK = "aiops.feedback"
FEEDBACK_CONFIGS = {"retention.ms": "-1"}
# Optional (off unless named): every alert event that ended in no incident, with the reason.
SUPPRESSED = "aiops.suppressed"

# Snapshots are one message each: allow large ones (the state of a busy shard is a few
# hundred kB compressed; this leaves two orders of magnitude of headroom).
CHECKPOINT_MAX_BYTES = 64 * 1024 * 1024
CHECKPOINT_CONFIGS = {
    "cleanup.policy": "compact",
    "max.message.bytes": str(CHECKPOINT_MAX_BYTES),
    # Compact soon, so a restore reads few superseded snapshots.
    "segment.ms": "600000",
    "min.cleanable.dirty.ratio": "0.1",
}


@dataclass(frozen=True, slots=True)
class Topics:
    alerts: str = ALERTS
    changes: str = CHANGES
    incidents: str = INCIDENTS
    predictions: str = PREDICTIONS
    dead_letter: str = DEAD_LETTER
    checkpoints: str = CHECKPOINTS
    suppressed: str | None = None
    feedback: str = FEEDBACK
    metrics: str = METRICS

    @property
    def inputs(self) -> tuple[str, str, str]:
        """In stream order (connectors.kafka.ordering): alerts, changes, metric samples."""
        return (self.alerts, self.changes, self.metrics)

    @property
    def outputs(self) -> tuple[str, ...]:
        names = (self.incidents, self.predictions, self.dead_letter)
        return (*names, self.suppressed) if self.suppressed else names


def create_missing(
    bootstrap_servers: str,
    wanted: dict[str, tuple[int, dict[str, str]]],
    replication_factor: int = 1,
    timeout_s: float = 30.0,
) -> dict[str, int]:
    """Create the topics of `wanted` (name -> (partitions, configs)) that do not exist yet;
    return the partition count of each."""
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id="aiops-admin",
        request_timeout_ms=int(timeout_s * 1000),
    )
    try:
        existing = set(admin.list_topics())
        missing = {
            name: {
                "num_partitions": partitions,
                "replication_factor": replication_factor,
                "configs": configs,
            }
            for name, (partitions, configs) in wanted.items()
            if name not in existing
        }
        if missing:
            log.info("creating topics %s", ", ".join(sorted(missing)))
            # Another worker may create them first.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing, timeout_ms=int(timeout_s * 1000))
        admin.wait_for_topics(list(wanted), timeout_ms=int(timeout_s * 1000))
        return {d["name"]: len(d["partitions"]) for d in admin.describe_topics(list(wanted))}
    finally:
        admin.close()


def ensure_topics(
    bootstrap_servers: str,
    topics: Topics,
    partitions: int = 1,
    replication_factor: int = 1,
    timeout_s: float = 30.0,
) -> dict[str, int]:
    """Create the service's missing topics (inputs and outputs with `partitions`, the
    checkpoint topic compacted with one partition, the feedback topic with one partition and
    no retention limit); return every topic's partition count."""
    wanted = {name: (partitions, {}) for name in (*topics.inputs, *topics.outputs)}
    wanted[topics.checkpoints] = (1, CHECKPOINT_CONFIGS)
    wanted[topics.feedback] = (1, FEEDBACK_CONFIGS)
    return create_missing(bootstrap_servers, wanted, replication_factor, timeout_s)
