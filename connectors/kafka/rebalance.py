"""What a rebalance does to the shards of a worker.

Revoked (the eager protocol revokes everything first): flush, snapshot every changed shard
and park the shards. Assigned: a parked shard still ours resumes where it stopped; any other
is restored from its latest snapshot and sought to the snapshot's offsets, or starts fresh
from the committed offsets. Lost (evicted without a revoke): drop everything, write nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.structs import OffsetAndMetadata

from connectors.kafka.checkpoint import Snapshot, SnapshotStore
from connectors.kafka.ordering import ShardMerger
from connectors.kafka.outputs import OutputError, OutputWriter
from connectors.kafka.positions import Positions
from connectors.kafka.settings import Settings
from connectors.kafka.topics import Topics
from connectors.telemetry import ServiceMetrics
from pipeline.engine import Pipeline

log = logging.getLogger("connectors.kafka.service")


@dataclass(slots=True)
class Shard:
    index: int
    pipeline: Pipeline
    merger: ShardMerger = field(default_factory=ShardMerger)
    processed: int = 0  # records since the last snapshot
    statuses: dict[str, str] = field(default_factory=dict)  # emitted status per incident
    last_record: float = field(default_factory=time.monotonic)
    resume: dict[str, int] = field(default_factory=dict)  # next offsets when parked
    # feedback topic partition -> next offset its pipeline has not learned from yet
    feedback_next: dict[int, int] = field(default_factory=dict)


class Listener(ConsumerRebalanceListener):
    """Hands the consumer's rebalance callbacks to the service (they run on the
    consumer's IO thread: nothing in them may block on the consumer itself)."""

    def __init__(self, service: RebalanceHandling) -> None:
        self.service = service

    def on_partitions_revoked(self, revoked: Any) -> None:
        self.service.on_revoked()

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.service.on_assigned(set(assigned))

    def on_partitions_lost(self, lost: Any) -> None:
        self.service.on_lost()


class RebalanceHandling:
    """The rebalance half of `Service` (which sets these attributes up)."""

    settings: Settings
    topics: Topics
    consumer: KafkaConsumer
    positions: Positions
    out: OutputWriter
    metrics: ServiceMetrics
    snapshots: SnapshotStore
    build_pipeline: Callable[[], Pipeline]
    shards: dict[int, Shard]
    _parked: dict[int, Shard]
    _failed: bool
    _revoked_at: float | None
    _to_commit: dict[TopicPartition, OffsetAndMetadata]

    def subscribe(self) -> None:
        raise NotImplementedError

    def _write_snapshots(
        self, shards: list[Shard], local_only: bool = False
    ) -> dict[TopicPartition, OffsetAndMetadata]:
        raise NotImplementedError

    def on_revoked(self) -> None:
        """Before a rebalance: snapshot every changed shard so the next owner starts from
        here, and park the shards (ours again if we are assigned them back)."""
        self._revoked_at = time.monotonic()
        shards = list(self.shards.values())
        self.shards = {}
        self._parked = {}
        if self._failed:
            return
        try:
            self.out.flush()
            for shard in shards:
                shard.resume = self.positions.next_offsets(
                    shard.index, shard.merger, local_only=True
                )
            self._write_snapshots([s for s in shards if s.processed], local_only=True)
            self.out.flush()
        except OutputError as exc:
            # The loop's next flush raises it again and the service stops; whoever owns the
            # shards next restores their last snapshot.
            log.error("no snapshot before the rebalance: %s", exc)
            self._failed = True
            return
        self._parked = {s.index: s for s in shards}
        self.shards = {}

    def on_lost(self) -> None:
        """Partitions taken away without a clean revoke: others may own them already, so
        write nothing; their next owner restores the last snapshot."""
        self._revoked_at = time.monotonic()
        self._parked = {}
        self.shards = {}

    def on_assigned(self, assigned: set[TopicPartition]) -> None:
        self._revoked_at = None
        self._to_commit = {tp: o for tp, o in self._to_commit.items() if tp in assigned}
        inputs = set(self.topics.inputs)
        indexes = sorted({tp.partition for tp in assigned if tp.topic in inputs})
        parked, self._parked = self._parked, {}
        missing = [i for i in indexes if i not in parked]
        snapshots = self.snapshots.load(missing) if missing else {}
        self.shards = {}
        self.positions.reset()
        for index in indexes:
            shard = parked.get(index)
            if shard is None:
                shard = self._restore(index, snapshots[index])
            else:
                # The eager protocol reset positions to the committed offsets, which may be
                # older than where this shard's processing stopped.
                self._seek(index, shard.resume, assigned)
            shard.merger.clear()
            self.shards[index] = shard
        log.info("assigned shards %s of %s", indexes, sorted(self.topics.inputs))

    def _restore(self, index: int, found: Snapshot | str) -> Shard:
        if isinstance(found, Snapshot):
            self._seek(index, found.offsets, None)
            # The group may not have seen these offsets committed (a crash between
            # snapshot and commit): commit them from the loop.
            for topic, offset in found.offsets.items():
                self._to_commit[TopicPartition(topic, index)] = OffsetAndMetadata(offset, "", -1)
            self.metrics.restores.labels("restored").inc()
            log.info("shard %d restored at offsets %s", index, found.offsets)
            return Shard(index, found.pipeline, feedback_next=dict(found.feedback))
        if found == "none":
            self.metrics.restores.labels("none").inc()
        else:
            log.warning("shard %d: snapshot not restored (%s); starting fresh", index, found)
            self.metrics.restores.labels("rejected").inc()
        return Shard(index, self.build_pipeline())

    def _seek(
        self, index: int, offsets: dict[str, int], assigned: set[TopicPartition] | None
    ) -> None:
        for topic, offset in offsets.items():
            tp = TopicPartition(topic, index)
            if assigned is None or tp in assigned:
                self.positions.seek(tp, offset)

    def _recover_lost_rebalance(self) -> None:
        """kafka-python 3.0.12 can drop the end of a rebalance that completes between two
        polls: the group thinks it is done, the assignment never arrives, the shards sit
        idle. Revoked and not assigned for twice the session timeout: leave and join again."""
        since = self._revoked_at
        limit = 2 * self.settings.session_timeout_ms / 1000
        if since is None or time.monotonic() - since < limit:
            return
        log.warning("no assignment %.0f s after a rebalance began: joining the group again", limit)
        self._revoked_at = time.monotonic()
        self.consumer.unsubscribe()
        self.subscribe()
