"""Round trips through a real Kafka broker started by scripts/kafka-broker."""

from __future__ import annotations

import json
import socket
import time
from collections import Counter
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from tests.kafka_helpers import (
    KafkaBroker,
    kafka_broker,  # noqa: F401  (the fixture)
    run_broker_script,
    unique_topic_name,
)

N = 300
KEYS = [f"svc-{i}".encode() for i in range(7)]
PARTITIONS = 3


def _messages(start: int, count: int) -> list[tuple[bytes, bytes]]:
    return [(KEYS[i % len(KEYS)], f'{{"seq": {i}}}'.encode()) for i in range(start, start + count)]


def _group_consumer(broker: KafkaBroker, topic: str, group: str) -> KafkaConsumer:
    return KafkaConsumer(
        topic,
        bootstrap_servers=broker.bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id="test-kafka-broker",
    )


def _consume(consumer: KafkaConsumer, want: int, timeout_s: float = 60.0) -> list[ConsumerRecord]:
    """Poll until `want` records came, then poll briefly more to catch any extra."""
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout_s
    while len(records) < want and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500).values():
            records.extend(batch)
    for batch in consumer.poll(timeout_ms=1000).values():
        records.extend(batch)
    return records


def _seqs(records: list[ConsumerRecord]) -> list[int]:
    return sorted(json.loads(r.value)["seq"] for r in records)


def test_round_trip_with_group_commit_survives_restart(
    kafka_broker: KafkaBroker,  # noqa: F811
) -> None:
    broker = kafka_broker
    topic = broker.create_topic("roundtrip", partitions=PARTITIONS)
    group = unique_topic_name("group")

    assert broker.produce(topic, _messages(0, N)) == N

    consumer = _group_consumer(broker, topic, group)
    try:
        first = _consume(consumer, N)
        # Exactly once each, keys always on one partition.
        assert _seqs(first) == list(range(N))
        partitions_of_key: dict[bytes, set[int]] = {}
        for r in first:
            partitions_of_key.setdefault(r.key, set()).add(r.partition)
        assert all(len(p) == 1 for p in partitions_of_key.values()), partitions_of_key
        assert set(partitions_of_key) == set(KEYS)
        consumer.commit()
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        end = consumer.end_offsets(tps)
        committed_before = {tp: consumer.committed(tp) for tp in tps}
    finally:
        consumer.close()
    assert committed_before == end
    assert sum(end.values()) == N
    per_partition = Counter(r.partition for r in first)
    assert {tp: per_partition[tp.partition] for tp in tps} == end

    broker.restart()
    assert broker.is_running()

    # The committed offsets survived the restart, and the group resumes after them.
    broker.produce(topic, _messages(N, 10))
    consumer = _group_consumer(broker, topic, group)
    try:
        committed_after = {tp: consumer.committed(tp) for tp in tps}
        assert committed_after == committed_before
        second = _consume(consumer, 10)
    finally:
        consumer.close()
    assert _seqs(second) == list(range(N, N + 10))

    # The group-less reader sees everything, in partition/offset order.
    everything = broker.read_all(topic)
    assert _seqs(everything) == list(range(N + 10))
    assert [(r.partition, r.offset) for r in everything] == sorted(
        (r.partition, r.offset) for r in everything
    )


def test_read_all_of_an_empty_topic_returns_nothing(
    kafka_broker: KafkaBroker,  # noqa: F811
) -> None:
    topic = kafka_broker.create_topic("empty", partitions=2)
    assert kafka_broker.read_all(topic, timeout_s=10) == []
    kafka_broker.delete_topics([topic])


def test_read_all_of_a_missing_topic_times_out(
    kafka_broker: KafkaBroker,  # noqa: F811
) -> None:
    with pytest.raises(TimeoutError):
        kafka_broker.read_all(unique_topic_name("missing"), timeout_s=2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_second_broker_on_other_ports(
    kafka_broker: KafkaBroker,  # noqa: F811  (for its skip rules and the cached jars)
    tmp_path: Path,
) -> None:
    env = {
        "KAFKA_PORT": str(_free_port()),
        "KAFKA_CONTROLLER_PORT": str(_free_port()),
        "KAFKA_DIR": str(tmp_path / "broker"),
    }
    second = KafkaBroker(env=env)
    assert run_broker_script("status", env=env).returncode == 3
    try:
        assert "started" in second.start()
        assert "already running" in second.start()
        status = run_broker_script("status", env=env)
        assert status.returncode == 0, status.stdout + status.stderr
        topic = second.create_topic("second")
        second.produce(topic, [(b"k", b"v")])
        assert [(r.key, r.value) for r in second.read_all(topic)] == [(b"k", b"v")]
        assert "Kafka Server started" in second.logs(20)
        # The session broker is another one: the topic is not there.
        other = KafkaConsumer(bootstrap_servers=kafka_broker.bootstrap_servers)
        try:
            assert topic not in other.topics()
        finally:
            other.close()
    finally:
        second.stop()
    assert run_broker_script("status", env=env).returncode == 3
    assert (tmp_path / "broker" / "data" / "meta.properties").is_file()
