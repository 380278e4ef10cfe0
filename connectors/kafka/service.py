"""The long-running service behind `aiops run`: consume, correlate, produce, checkpoint.

One `Shard` per partition index of the input topics, each with its own `Pipeline` (events
are keyed by correlation scope, so a shard is a closed correlation domain). The loop:

1. poll; decode each message (bad ones become dead letters) into its shard's merge buffer;
2. release records in merge order (`connectors.kafka.ordering`), run them through the
   shard's pipeline, drain it and hand the outputs to the producer (asynchronously);
3. every `checkpoint_interval_s` or `checkpoint_records`: flush the producer and check that
   every output was acknowledged (idempotent producer, acks=all), then write a snapshot of
   each changed shard with the offsets it reflects, flush again, and only then commit those
   offsets to the consumer group.

A crash anywhere leaves the last snapshot and offsets at or before what was acknowledged;
the next owner of a shard restores the snapshot, seeks to its offsets and processes the same
records again, producing the same incidents with the same ids and versions.
"""

from __future__ import annotations

import gc
import logging
import signal
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from connectors.kafka import messages
from connectors.kafka.checkpoint import Snapshot, SnapshotStore
from connectors.kafka.feedback import FeedbackFeed
from connectors.kafka.messages import MessageDeadLetter
from connectors.kafka.ordering import ALERTS, CHANGES, METRICS, STREAMS
from connectors.kafka.outputs import OutputError, OutputWriter
from connectors.kafka.positions import Positions
from connectors.kafka.rebalance import Listener, RebalanceHandling, Shard
from connectors.kafka.settings import Settings
from connectors.telemetry import ServiceMetrics
from pipeline.engine import YOUNG_GC_THRESHOLD, Pipeline
from pipeline.incidents import OPEN
from pipeline.records import Alert, Change, RecordError

log = logging.getLogger(__name__)

_FOLDED = ("duplicate", "update", "refire", "late", "ack")


def tune_gc() -> None:
    """Garbage-collector settings for the process that runs the service; call once, before
    `run`.

    What is alive at startup (modules, configuration, topology, models, clients) is frozen:
    full collections then walk only what the service allocates while it runs. And the young
    generation is collected every 10,000 allocations rather than 700: fewer, larger young
    collections cost less in total here, and a full one comes more rarely. Under
    `aiops bench-kafka` (120,000 records) full collections took 0.6-1.2 s before the freeze and
    0.25-0.4 s after, all collections together 1.0-1.9 s before the threshold and 0.6-1.2 s
    after; and each full collection is a pause that lands in the latency tail. What is frozen
    is never collected as a cycle; it lives as long as the process anyway."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GC_THRESHOLD, older, oldest)


class Service(RebalanceHandling):
    def __init__(
        self,
        settings: Settings,
        build_pipeline: Callable[[], Pipeline],
        digest: str,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.topics = settings.topics
        self.build_pipeline = build_pipeline
        self.digest = digest
        self.snapshots = SnapshotStore(
            settings.bootstrap_servers, self.topics, settings.group, digest
        )
        self.metrics = metrics or ServiceMetrics()
        self.shards: dict[int, Shard] = {}
        self._parked: dict[int, Shard] = {}
        self._stopping = False
        self._failed = False
        self._revoked_at: float | None = None  # a rebalance began and no assignment came yet
        self._to_commit: dict[TopicPartition, OffsetAndMetadata] = {}  # snapshot offsets
        self._commit_tried = 0.0
        self._first_unsaved: float | None = None
        self._since_checkpoint = 0
        self.records_processed = 0
        self.consumer = KafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers,
            group_id=settings.group,
            group_instance_id=settings.instance_id,
            client_id=f"aiops-run-{settings.group}",
            enable_auto_commit=False,
            auto_offset_reset=settings.auto_offset_reset,
            max_poll_records=settings.max_poll_records,
            session_timeout_ms=settings.session_timeout_ms,
            heartbeat_interval_ms=max(1000, settings.session_timeout_ms // 3),
            partition_assignment_strategy=[RangePartitionAssignor],
            fetch_max_wait_ms=settings.fetch_max_wait_ms,
            metadata_max_age_ms=30_000,  # partitions added to a topic are used within 30 s
        )
        self.positions = Positions(self.consumer, self.topics.inputs)
        self.out = OutputWriter(
            settings.bootstrap_servers, f"aiops-run-{settings.group}", self.topics, self.metrics
        )
        self.feedback = FeedbackFeed(
            settings.bootstrap_servers, self.topics.feedback, f"aiops-run-{settings.group}-fb"
        )

    # ---- control ------------------------------------------------------------------------
    def stop(self, *_: Any) -> None:
        """Ask the loop to finish: flush, checkpoint, commit, close (signal-safe)."""
        self._stopping = True

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    def run(self, until: Callable[[Service], bool] | None = None) -> None:
        """Run until stopped (or `until(self)` is true after a poll), then shut down cleanly."""
        self.subscribe()
        try:
            while not self._stopping:
                try:
                    self.poll_once()
                except OutputError:
                    raise
                except KafkaError as exc:
                    # The broker is away (restarting, a network cut): the clients reconnect
                    # on their own; this round's records stay buffered or are fetched again.
                    log.warning("Kafka unavailable, retrying: %s", exc)
                    time.sleep(1.0)
                    continue
                if until is not None and until(self):
                    break
            self.checkpoint()
        except BaseException:
            self._failed = True  # closing must not snapshot state whose outputs may be lost
            raise
        finally:
            self.close()

    def subscribe(self) -> None:
        """Join the group on the input topics; shards come with the assignment (in a poll).

        The topics' partitions are looked up first: a group joined before the metadata
        arrives is assigned nothing, and would learn otherwise only at the next metadata
        refresh."""
        for topic in self.topics.inputs:
            self.consumer.partitions_for_topic(topic)
        self.consumer.subscribe(list(self.topics.inputs), listener=Listener(self))

    def close(self) -> None:
        self.consumer.close(autocommit=False)
        self.feedback.close()
        self.out.close()

    # ---- one round --------------------------------------------------------------------
    def poll_once(self, timeout_ms: int = 1000) -> int:
        """One poll and everything it allows; returns the records processed.

        The poll returns as soon as records arrive; its timeout bounds an idle wait (and how
        long SIGTERM waits). A generous one also lets a rebalance finish inside one poll:
        kafka-python 3.0.12 can lose a join that completes between two polls."""
        self._recover_lost_rebalance()
        batch = self.consumer.poll(timeout_ms=timeout_ms)
        polled = time.monotonic()
        for tp, msgs in batch.items():
            shard = self.shards.get(tp.partition)
            if shard is None or not msgs:
                continue
            self.positions.received(tp, msgs[-1].offset)
            if tp.topic == self.topics.alerts:
                for m in msgs:
                    decoded = messages.decode_alerts(
                        tp.topic, tp.partition, m.offset, m.value, m.timestamp
                    )
                    shard.merger.add(ALERTS, m.offset, decoded)
            elif tp.topic == self.topics.changes:
                for m in msgs:
                    change = messages.decode_change(tp.topic, tp.partition, m.offset, m.value)
                    shard.merger.add(CHANGES, m.offset, [change])
            else:
                for m in msgs:
                    sample = messages.decode_metric(tp.topic, tp.partition, m.offset, m.value)
                    shard.merger.add(METRICS, m.offset, [sample])
        self.feedback.poll()
        done = 0
        for shard in self.shards.values():
            done += self._learn_feedback(shard)
            done += self._process(shard)
            self._idle_advance(shard)
        if done:
            self.metrics.poll_to_produce.observe(time.monotonic() - polled)
            self.out.polled(polled)
            self.records_processed += done
            self._since_checkpoint += done
            if self._first_unsaved is None:
                self._first_unsaved = polled
        for shard in self.shards.values():
            self.positions.flow_control(shard.index, shard.merger, self.settings.max_buffered)
        self._update_gauges()
        if self._checkpoint_due():
            self.checkpoint()
        elif self._to_commit and time.monotonic() - self._commit_tried >= 1.0:
            self._commit()
        return done

    def _process(self, shard: Shard) -> int:
        """Release what the merge allows into the shard's pipeline and produce the outputs;
        returns the records handled (dead letters included: their offsets are done too)."""
        pipeline = shard.pipeline
        dedup_before = {k: pipeline.dedup.counts[k] for k in _FOLDED}
        redelivered_before = pipeline.counts["redelivered"]
        sources: Counter[tuple[str, str]] = Counter()
        handled = 0
        inputs = self.topics.inputs
        for stream, pending in shard.merger.release(
            lambda s: self.positions.caught_up(shard.index, s)
        ):
            handled += 1
            record = pending.record
            topic = inputs[stream]
            if isinstance(record, MessageDeadLetter):
                self.out.dead_letter(record)
                continue
            try:
                pipeline.process(record)
            except RecordError as exc:
                self.out.dead_letter(
                    MessageDeadLetter(
                        topic, shard.index, pending.offset, str(exc), repr(record).encode()
                    )
                )
                continue
            if isinstance(record, Alert):
                source = record.source or "unknown"
            else:
                source = "change" if isinstance(record, Change) else "metric"
            sources[(source, topic)] += 1
        if not handled:
            return 0
        shard.processed += handled
        shard.last_record = time.monotonic()
        for (source, topic), n in sources.items():
            self.metrics.events_in.labels(source, topic).inc(n)
        for kind in _FOLDED:
            delta = pipeline.dedup.counts[kind] - dedup_before[kind]
            if delta:
                self.metrics.duplicates_folded.labels(kind).inc(delta)
        redelivered = pipeline.counts["redelivered"] - redelivered_before
        if redelivered:
            self.metrics.redelivered.inc(redelivered)
        self.out.emit(pipeline.drain(), shard.statuses)
        return handled

    def _learn_feedback(self, shard: Shard) -> int:
        """Root-cause verdicts this shard has not learned from yet (connectors.kafka.feedback);
        shard 0 reports the unusable ones. Returns the records handed to the pipeline."""
        reporter = self.out.dead_letter if shard.index == 0 else None
        handed = self.feedback.apply(shard.feedback_next, shard.pipeline.feedback, reporter)
        if handed:
            shard.processed += handed  # the learned state and position go into the snapshot
            if shard.index == 0:
                self.metrics.events_in.labels("feedback", self.topics.feedback).inc(handed)
            self.out.emit(shard.pipeline.drain(), shard.statuses)
        return handed

    def _idle_advance(self, shard: Shard) -> None:
        """With `idle_advance_s`, a shard that is caught up and quiet lets its event clock run
        on with the wall clock, so incidents can resolve while nothing arrives. Off by default:
        it makes the outcome depend on timing, not only on the input."""
        idle = self.settings.idle_advance_s
        clock = shard.pipeline.clock
        if idle <= 0 or clock is None or len(shard.merger):
            return
        quiet = time.monotonic() - shard.last_record
        if quiet < idle or not all(self.positions.caught_up(shard.index, s) for s in STREAMS):
            return
        shard.pipeline.advance(clock + quiet)
        shard.last_record = time.monotonic()
        shard.processed += 1
        self.out.emit(shard.pipeline.drain(), shard.statuses)

    # ---- checkpoints ------------------------------------------------------------------
    def _checkpoint_due(self) -> bool:
        if self._since_checkpoint >= self.settings.checkpoint_records:
            return True
        # The interval runs from the first record not yet checkpointed: no processed record
        # waits longer than that for its checkpoint, and an idle service writes nothing.
        first = self._first_unsaved
        return first is not None and time.monotonic() - first >= self.settings.checkpoint_interval_s

    def _write_snapshots(
        self, shards: list[Shard], local_only: bool = False
    ) -> dict[TopicPartition, OffsetAndMetadata]:
        """Write a snapshot of each shard (after its outputs were acknowledged); return the
        offsets they reflect, to commit once the snapshots are acknowledged in turn."""
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for shard in shards:
            next_offsets = self.positions.next_offsets(shard.index, shard.merger, local_only)
            snap = Snapshot(
                shard.index,
                next_offsets,
                shard.pipeline,
                self.digest,
                time.time(),
                dict(shard.feedback_next),
            )
            value = snap.encode()
            self.out.send(self.topics.checkpoints, self.snapshots.key(shard.index), value)
            self.metrics.checkpoint_bytes.set(len(value))
            self.metrics.checkpoints.inc()
            shard.processed = 0
            for topic, offset in next_offsets.items():
                offsets[TopicPartition(topic, shard.index)] = OffsetAndMetadata(offset, "", -1)
        return offsets

    def checkpoint(self, commit: bool = True) -> None:
        """Outputs acknowledged -> snapshots acknowledged -> offsets committed, in that order."""
        started = time.monotonic()
        self.out.flush()
        changed = [s for s in self.shards.values() if s.processed]
        offsets = self._write_snapshots(changed)
        self.out.flush()
        self._first_unsaved = None
        self._since_checkpoint = 0
        self.metrics.last_checkpoint = time.time()
        self._to_commit.update(offsets)
        if commit:
            self._commit()
        self.metrics.checkpoint_seconds.observe(time.monotonic() - started)

    def _commit(self) -> None:
        """Commit the offsets of acknowledged snapshots. A failure (a broker restarting, a
        group being rebalanced) keeps them for the next try, which comes with the next loop
        round after a second even when no record arrives: the snapshots hold the offsets
        meanwhile, so a failed commit delays only what the group shows."""
        if not self._to_commit:
            return
        self._commit_tried = time.monotonic()
        try:
            self.consumer.commit(dict(self._to_commit))
        except KafkaError as exc:
            self.metrics.commit_failures.inc()
            log.warning("offset commit failed (retried): %s", exc)
        else:
            self._to_commit.clear()
            self.metrics.last_commit.set(time.time())

    # ---- gauges -----------------------------------------------------------------------
    def _update_gauges(self) -> None:
        m = self.metrics
        m.shards.set(len(self.shards))
        live = (inc for s in self.shards.values() for inc in s.pipeline.store.live.values())
        m.incidents_open.set(sum(1 for inc in live if inc.status == OPEN))
        for shard in self.shards.values():
            for topic, lag in self.positions.lag(shard.index, shard.merger).items():
                m.consumer_lag.labels(topic, str(shard.index)).set(lag)

    def caught_up(self) -> bool:
        """Every assigned partition read to its high watermark and every record processed."""
        if not self.shards:
            return False
        return all(
            not len(s.merger) and all(self.positions.caught_up(s.index, st) for st in STREAMS)
            for s in self.shards.values()
        )
