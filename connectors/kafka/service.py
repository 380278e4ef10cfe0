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

import logging
import signal
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata

from connectors.kafka import messages
from connectors.kafka.checkpoint import (
    Snapshot,
    SnapshotError,
    read_latest,
    snapshot_key,
)
from connectors.kafka.messages import MessageDeadLetter
from connectors.kafka.ordering import ALERTS, CHANGES, ShardMerger
from connectors.kafka.outputs import OutputError, OutputWriter
from connectors.kafka.topics import Topics
from connectors.metrics import ServiceMetrics
from pipeline.engine import Pipeline
from pipeline.incidents import OPEN
from pipeline.records import Alert, RecordError

log = logging.getLogger(__name__)

_FOLDED = ("duplicate", "update", "refire", "late", "ack")


@dataclass(frozen=True, slots=True)
class Settings:
    bootstrap_servers: str
    topics: Topics = field(default_factory=Topics)
    group: str = "aiops"
    checkpoint_interval_s: float = 5.0
    checkpoint_records: int = 50_000
    max_poll_records: int = 2000
    session_timeout_ms: int = 10_000
    instance_id: str | None = None  # static group membership: a restart keeps its shards
    idle_advance_s: float = 0.0  # 0: event time moves only with events (as in replay)
    max_buffered: int = 100_000  # records held per stream before its partition is paused
    auto_offset_reset: str = "earliest"


@dataclass(slots=True)
class Shard:
    index: int
    pipeline: Pipeline
    merger: ShardMerger = field(default_factory=ShardMerger)
    processed: int = 0  # records since the last snapshot
    statuses: dict[str, str] = field(default_factory=dict)  # emitted status per incident
    last_record: float = field(default_factory=time.monotonic)
    resume: dict[str, int] = field(default_factory=dict)  # next offsets when parked


class _Listener(ConsumerRebalanceListener):
    def __init__(self, service: Service) -> None:
        self.service = service

    def on_partitions_revoked(self, revoked: Any) -> None:
        self.service.on_revoked()

    def on_partitions_assigned(self, assigned: Any) -> None:
        self.service.on_assigned(set(assigned))

    def on_partitions_lost(self, lost: Any) -> None:
        self.service.on_lost()


class Service:
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
        self.metrics = metrics or ServiceMetrics()
        self.shards: dict[int, Shard] = {}
        self._parked: dict[int, Shard] = {}
        self._stopping = False
        self._failed = False
        self._first_unsaved: float | None = None
        self._since_checkpoint = 0
        self._paused: set[TopicPartition] = set()
        self._positions: dict[TopicPartition, int] = {}
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
        )
        self.out = OutputWriter(
            settings.bootstrap_servers, f"aiops-run-{settings.group}", self.topics, self.metrics
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
        self.consumer.subscribe(list(self.topics.inputs), listener=_Listener(self))
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

    def close(self) -> None:
        self.consumer.close(autocommit=False)
        self.out.close()

    # ---- one round --------------------------------------------------------------------
    def poll_once(self, timeout_ms: int = 200) -> int:
        """One poll and everything it allows; returns the records processed."""
        batch = self.consumer.poll(timeout_ms=timeout_ms)
        polled = time.monotonic()
        for tp, msgs in batch.items():
            shard = self.shards.get(tp.partition)
            if shard is None or not msgs:
                continue
            self._positions[tp] = msgs[-1].offset + 1
            if tp.topic == self.topics.alerts:
                for m in msgs:
                    decoded = messages.decode_alerts(
                        tp.topic, tp.partition, m.offset, m.value, m.timestamp
                    )
                    shard.merger.add(ALERTS, m.offset, decoded)
            else:
                for m in msgs:
                    change = messages.decode_change(tp.topic, tp.partition, m.offset, m.value)
                    shard.merger.add(CHANGES, m.offset, [change])
        done = 0
        for shard in self.shards.values():
            done += self._process(shard)
            self._idle_advance(shard)
        if done:
            self.metrics.poll_to_produce.observe(time.monotonic() - polled)
            self.out.polled(polled)
            self.records_processed += done
            self._since_checkpoint += done
            if self._first_unsaved is None:
                self._first_unsaved = polled
        self._flow_control()
        self._update_gauges()
        if self._checkpoint_due():
            self.checkpoint()
        return done

    def _process(self, shard: Shard) -> int:
        pipeline = shard.pipeline
        dedup_before = {k: pipeline.dedup.counts[k] for k in _FOLDED}
        redelivered_before = pipeline.counts["redelivered"]
        sources: Counter[tuple[str, str]] = Counter()
        count = 0
        inputs = self.topics.inputs
        for stream, pending in shard.merger.release(lambda s: self._caught_up(shard.index, s)):
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
            count += 1
            source = (record.source or "unknown") if isinstance(record, Alert) else "change"
            sources[(source, topic)] += 1
        if not count:
            return 0
        shard.processed += count
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
        return count

    def _idle_advance(self, shard: Shard) -> None:
        """With `idle_advance_s`, a shard that is caught up and quiet lets its event clock run
        on with the wall clock, so incidents can resolve while nothing arrives. Off by default:
        it makes the outcome depend on timing, not only on the input."""
        idle = self.settings.idle_advance_s
        clock = shard.pipeline.clock
        if idle <= 0 or clock is None or len(shard.merger):
            return
        quiet = time.monotonic() - shard.last_record
        if quiet < idle or not all(self._caught_up(shard.index, s) for s in (ALERTS, CHANGES)):
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

    def _next_offsets(self, shard: Shard) -> dict[str, int]:
        """Per input topic of the shard: the next offset whose records are not all processed."""
        out: dict[str, int] = {}
        for stream, topic in enumerate(self.topics.inputs):
            first = shard.merger.first_offset(stream)
            if first is not None:
                out[topic] = first
                continue
            tp = TopicPartition(topic, shard.index)
            if tp in self.consumer.assignment():
                out[topic] = self._position(tp)
        return out

    def _write_snapshots(self, shards: list[Shard]) -> dict[TopicPartition, OffsetAndMetadata]:
        """Write a snapshot of each shard (after its outputs were acknowledged); return the
        offsets they reflect, to commit once the snapshots are acknowledged in turn."""
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for shard in shards:
            next_offsets = self._next_offsets(shard)
            snap = Snapshot(shard.index, next_offsets, shard.pipeline, self.digest, time.time())
            value = snap.encode()
            key = snapshot_key(
                self.settings.group, self.topics.alerts, self.topics.changes, shard.index
            )
            self.out.send(self.topics.checkpoints, key, value)
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
        if commit and offsets:
            try:
                self.consumer.commit(offsets)
            except KafkaError as exc:
                # The snapshots hold the offsets too; the next checkpoint commits again.
                self.metrics.commit_failures.inc()
                log.warning("offset commit failed (retried at the next checkpoint): %s", exc)
            else:
                self.metrics.last_commit.set(time.time())
        self.metrics.checkpoint_seconds.observe(time.monotonic() - started)

    # ---- rebalance --------------------------------------------------------------------
    def on_revoked(self) -> None:
        """Before a rebalance: snapshot every changed shard so the next owner starts from
        here, and park the shards (ours again if we are assigned them back)."""
        shards = list(self.shards.values())
        self.shards = {}
        self._parked = {}
        if self._failed:
            return
        try:
            self.out.flush()
            for shard in shards:
                shard.resume = self._next_offsets(shard)
            self._write_snapshots([s for s in shards if s.processed])
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
        self._parked = {}
        self.shards = {}

    def on_assigned(self, assigned: set[TopicPartition]) -> None:
        inputs = set(self.topics.inputs)
        indexes = sorted({tp.partition for tp in assigned if tp.topic in inputs})
        parked, self._parked = self._parked, {}
        missing = [i for i in indexes if i not in parked]
        snapshots = self._load_snapshots(missing) if missing else {}
        self.shards = {}
        self._paused.clear()
        self._positions = {}
        for index in indexes:
            shard = parked.get(index)
            if shard is None:
                shard = self._restore(index, snapshots.get(index))
            else:
                # The eager protocol reset positions to the committed offsets, which may be
                # older than where this shard's processing stopped.
                self._seek(index, shard.resume, assigned)
            shard.merger.clear()
            self.shards[index] = shard
        log.info("assigned shards %s of %s", indexes, sorted(self.topics.inputs))

    def _load_snapshots(self, indexes: list[int]) -> dict[int, bytes]:
        keys = {
            snapshot_key(self.settings.group, self.topics.alerts, self.topics.changes, i): i
            for i in indexes
        }
        found = read_latest(self.settings.bootstrap_servers, self.topics.checkpoints, set(keys))
        return {keys[k]: v for k, v in found.items()}

    def _restore(self, index: int, value: bytes | None) -> Shard:
        if value is not None:
            try:
                snap = Snapshot.decode(value, self.digest)
            except SnapshotError as exc:
                log.warning("shard %d: snapshot not restored (%s); starting fresh", index, exc)
                self.metrics.restores.labels("rejected").inc()
            else:
                self._seek(index, snap.offsets, None)
                self.metrics.restores.labels("restored").inc()
                log.info("shard %d restored at offsets %s", index, snap.offsets)
                return Shard(index, snap.pipeline)
        else:
            self.metrics.restores.labels("none").inc()
        return Shard(index, self.build_pipeline())

    def _seek(
        self, index: int, offsets: dict[str, int], assigned: set[TopicPartition] | None
    ) -> None:
        for topic, offset in offsets.items():
            tp = TopicPartition(topic, index)
            if assigned is None or tp in assigned:
                self.consumer.seek(tp, offset)
                self._positions[tp] = offset

    # ---- flow and gauges --------------------------------------------------------------
    def _caught_up(self, index: int, stream: int) -> bool:
        tp = TopicPartition(self.topics.inputs[stream], index)
        if tp not in self.consumer.assignment():
            return True  # that topic has no such partition: nothing can come from it
        if tp in self._paused:
            return False
        high = self.consumer.highwater(tp)
        if high is None:
            return False
        if self._position(tp) < high:
            # Control records (transaction markers) move the position past the last record.
            try:
                self._positions[tp] = self.consumer.position(tp)
            except KafkaError:
                return False
        return self._positions[tp] >= high

    def _position(self, tp: TopicPartition) -> int:
        """The next offset to fetch: known locally once a record came or we sought; asking
        the consumer otherwise (it may need the broker, and raise while it is away)."""
        known = self._positions.get(tp)
        if known is None:
            known = self._positions[tp] = self.consumer.position(tp)
        return known

    def _flow_control(self) -> None:
        limit = self.settings.max_buffered
        for shard in self.shards.values():
            for stream, topic in enumerate(self.topics.inputs):
                tp = TopicPartition(topic, shard.index)
                held = len(shard.merger.buffers[stream])
                if held > limit and tp not in self._paused:
                    self.consumer.pause(tp)
                    self._paused.add(tp)
                elif tp in self._paused and held < limit // 2:
                    self.consumer.resume(tp)
                    self._paused.discard(tp)

    def _update_gauges(self) -> None:
        m = self.metrics
        m.shards.set(len(self.shards))
        m.incidents_open.set(
            sum(
                1
                for s in self.shards.values()
                for inc in s.pipeline.store.live.values()
                if inc.status == OPEN
            )
        )
        for shard in self.shards.values():
            for topic, offset in self._next_offsets(shard).items():
                high = self.consumer.highwater(TopicPartition(topic, shard.index))
                if high is not None:
                    m.consumer_lag.labels(topic, str(shard.index)).set(max(0, high - offset))

    def caught_up(self) -> bool:
        """Every assigned partition read to its high watermark and every record processed."""
        if not self.shards:
            return False
        return all(
            not len(s.merger) and all(self._caught_up(s.index, st) for st in (ALERTS, CHANGES))
            for s in self.shards.values()
        )
