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
INCIDENTS = "aiops.incidents"
PREDICTIONS = "aiops.predictions"
DEAD_LETTER = "aiops.dead-letter"
CHECKPOINTS = "aiops.checkpoints"
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

    @property
    def inputs(self) -> tuple[str, str]:
        return (self.alerts, self.changes)

    @property
    def outputs(self) -> tuple[str, ...]:
        names = (self.incidents, self.predictions, self.dead_letter)
        return (*names, self.suppressed) if self.suppressed else names


def ensure_topics(
    bootstrap_servers: str,
    topics: Topics,
    partitions: int = 1,
    replication_factor: int = 1,
    timeout_s: float = 30.0,
) -> dict[str, int]:
    """Create the missing topics (inputs and outputs with `partitions`, the checkpoint topic
    compacted with one partition); return the partition count of every topic."""
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id="aiops-admin",
        request_timeout_ms=int(timeout_s * 1000),
    )
    try:
        existing = set(admin.list_topics())
        wanted: dict[str, dict] = {}
        for name in (*topics.inputs, *topics.outputs):
            if name not in existing:
                wanted[name] = {
                    "num_partitions": partitions,
                    "replication_factor": replication_factor,
                }
        if topics.checkpoints not in existing:
            wanted[topics.checkpoints] = {
                "num_partitions": 1,
                "replication_factor": replication_factor,
                "configs": CHECKPOINT_CONFIGS,
            }
        if wanted:
            log.info("creating topics %s", ", ".join(sorted(wanted)))
            # Another worker may create them first.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(wanted, timeout_ms=int(timeout_s * 1000))
        names = [*topics.inputs, *topics.outputs, topics.checkpoints]
        admin.wait_for_topics(names, timeout_ms=int(timeout_s * 1000))
        counts: dict[str, int] = {}
        for desc in admin.describe_topics(names):
            counts[desc["name"]] = len(desc["partitions"])
        return counts
    finally:
        admin.close()
