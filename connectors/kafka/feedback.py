"""The `aiops.feedback` topic under `aiops run`: problem managers' root-cause verdicts.

A verdict names an incident, not a correlation scope, so it cannot be routed to the one shard
that ranked the incident. Every worker reads the whole topic instead (its own consumer, no
group) and hands each record to every shard it owns:

- a record with `context` (what `aiops feedback --incidents` writes) teaches every shard's
  ranker, so every scope benefits;
- a record without it teaches the shard that still remembers the incident's ranking (the
  ranker completes it there); elsewhere it changes nothing.

Each shard keeps, per feedback partition, the next offset it has not learned from, and that
position travels in its snapshot: a restored shard learns exactly the verdicts that came after
its snapshot, a fresh one all of them. Verdicts are few (people write them), so the decoded
topic is kept in memory. Learning happens before the round's alerts: the model's state depends
on when a verdict arrived relative to the alerts, as it would for any online learner; `aiops
replay --feedback` applies a store before the first alert.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import replace

from kafka import KafkaConsumer, TopicPartition

from connectors.kafka.messages import MessageDeadLetter, load_value
from pipeline.feedback import Feedback, feedback_from_dict
from pipeline.records import RecordError

Decoded = Feedback | MessageDeadLetter


def decode_feedback(topic: str, partition: int, offset: int, value: bytes | None) -> Decoded:
    """One feedback message; a bad one becomes a dead letter with the reason. A record
    without `at` is dated 0 (not the reading time), so every shard learns the same."""
    try:
        return feedback_from_dict(load_value(value), now=0.0)
    except RecordError as exc:
        return MessageDeadLetter(topic, partition, offset, str(exc), value)


class FeedbackFeed:
    """Reads the feedback topic from its beginning and keeps every decoded record."""

    def __init__(self, bootstrap_servers: str, topic: str, client_id: str) -> None:
        self.topic = topic
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            group_id=None,
            client_id=client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        # ensure_topics made it with one partition; metadata may lag a just-created topic.
        partitions = sorted(self.consumer.partitions_for_topic(topic) or {0})
        self.consumer.assign([TopicPartition(topic, p) for p in partitions])
        self.consumer.seek_to_beginning()
        self.records: dict[int, list[tuple[int, Decoded]]] = {p: [] for p in partitions}

    def poll(self) -> int:
        """Fetch what arrived (without waiting); returns the number of new records."""
        batch = self.consumer.poll(timeout_ms=0)
        new = 0
        for tp, msgs in batch.items():
            kept = self.records.setdefault(tp.partition, [])
            for m in msgs:
                kept.append((m.offset, decode_feedback(tp.topic, tp.partition, m.offset, m.value)))
                new += 1
        return new

    def apply(
        self,
        position: dict[int, int],
        learn: Callable[[Feedback], Feedback],
        dead_letter: Callable[[MessageDeadLetter], None] | None,
    ) -> int:
        """Hand every record at or after `position` (partition -> next offset, updated in
        place) to `learn`; dead letters to `dead_letter` (one shard reports them, so each is
        reported once per snapshot interval, like any output). Returns the records handed."""
        handed = 0
        for partition, kept in self.records.items():
            first = bisect_left(kept, position.get(partition, 0), key=lambda r: r[0])
            for offset, record in kept[first:]:
                if isinstance(record, MessageDeadLetter):
                    if dead_letter is not None:
                        dead_letter(record)
                else:
                    learn(replace(record))  # a copy: learning completes the record in place
                handed += 1
                position[partition] = offset + 1
        return handed

    def close(self) -> None:
        self.consumer.close(autocommit=False)
