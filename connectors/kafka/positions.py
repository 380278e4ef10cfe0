"""Where the service stands on each input partition: positions, caught-up, flow control.

The consumer knows its positions, but asking it may need the broker (and raise while the
broker is away), so positions are tracked here from the records received and the seeks made,
and the consumer is asked only when that is not enough.
"""

from __future__ import annotations

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from connectors.kafka.ordering import ShardMerger


class Positions:
    def __init__(self, consumer: KafkaConsumer, inputs: tuple[str, ...]) -> None:
        self.consumer = consumer
        self.inputs = inputs
        self.known: dict[TopicPartition, int] = {}
        self.paused: set[TopicPartition] = set()

    def reset(self) -> None:
        """A new assignment: nothing is known, nothing is paused."""
        self.known = {}
        self.paused.clear()

    def received(self, tp: TopicPartition, last_offset: int) -> None:
        self.known[tp] = last_offset + 1

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.consumer.seek(tp, offset)
        self.known[tp] = offset

    def position(self, tp: TopicPartition) -> int:
        """The next offset to fetch (may ask the broker, and raise while it is away)."""
        known = self.known.get(tp)
        if known is None:
            known = self.known[tp] = self.consumer.position(tp)
        return known

    def caught_up(self, index: int, stream: int) -> bool:
        """Whether the stream's partition of shard `index` has been fetched to its end."""
        tp = TopicPartition(self.inputs[stream], index)
        if tp not in self.consumer.assignment():
            return True  # that topic has no such partition: nothing can come from it
        if tp in self.paused:
            return False
        high = self.consumer.highwater(tp)
        if high is None:
            return False
        if self.known.get(tp, -1) < high:
            # Unknown yet, or control records (transaction markers) moved the position past
            # the last record: ask the consumer.
            try:
                self.known[tp] = self.consumer.position(tp)
            except KafkaError:
                return False
        return self.known[tp] >= high

    def next_offsets(
        self, index: int, merger: ShardMerger, local_only: bool = False
    ) -> dict[str, int]:
        """Per input topic of shard `index`: the next offset whose records are not all
        processed (the first buffered one, or the fetch position).

        `local_only` (inside a rebalance callback, which must not block on the consumer):
        a partition whose position is not known here is left out; nothing was received
        from it nor sought on it, so its committed offset is where it stands."""
        out: dict[str, int] = {}
        assignment = self.consumer.assignment()
        for stream, topic in enumerate(self.inputs):
            first = merger.first_offset(stream)
            tp = TopicPartition(topic, index)
            if first is not None:
                out[topic] = first
            elif local_only and tp in self.known:
                out[topic] = self.known[tp]
            elif not local_only and tp in assignment:
                out[topic] = self.position(tp)
        return out

    def lag(self, index: int, merger: ShardMerger) -> dict[str, int]:
        """Per input topic of the shard: high watermark minus the next offset to process."""
        out = {}
        for topic, offset in self.next_offsets(index, merger).items():
            high = self.consumer.highwater(TopicPartition(topic, index))
            if high is not None:
                out[topic] = max(0, high - offset)
        return out

    def flow_control(self, index: int, merger: ShardMerger, limit: int) -> None:
        """Pause a partition whose records wait in the merge buffer beyond `limit` (the other
        stream is behind); resume it once half of them are processed."""
        for stream, topic in enumerate(self.inputs):
            tp = TopicPartition(topic, index)
            held = len(merger.buffers[stream])
            if held > limit and tp not in self.paused:
                self.consumer.pause(tp)
                self.paused.add(tp)
            elif tp in self.paused and held < limit // 2:
                self.consumer.resume(tp)
                self.paused.discard(tp)
