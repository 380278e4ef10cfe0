"""Snapshots of a shard's pipeline, kept in a compacted Kafka topic.

A snapshot is the whole `Pipeline` of one shard (pickled: it is our own state, read back
only by this code) together with the input offsets it reflects: the next offset to process
on the shard's alerts and changes partitions. The value is versioned:

    b"AIOPSNAP" | format version (2 bytes, big-endian) | core build (1 byte) | zlib(pickle(payload))

and the payload carries a digest of the configuration and topology it was built with; a
snapshot of another format version or another digest is not restored (the shard starts
fresh from the committed offsets and says so in the log).

The key is `group|alerts topic|changes topic|partition index`, so a compacted topic keeps
the latest snapshot of every shard of every group. Kafka rather than a local file because
a shard moves between workers (and hosts, and containers without volumes) on a rebalance:
whoever is assigned the shard next finds its state where it finds its offsets.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import struct
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, TopicPartition

import pipeline
from connectors.kafka.topics import CHECKPOINT_MAX_BYTES, Topics
from pipeline.config import Config
from pipeline.engine import Pipeline

log = logging.getLogger(__name__)

MAGIC = b"AIOPSNAP"
# 2: dedup, link finder and incident state changed shape (speed work); 3: the core build byte;
# 4: the correlator's same-check history moved into its own object (pipeline/same_check.py);
# 5: late correction keeps earlier episodes' events (Rehomer.past); 6: members keep what
# their alert's text names (Member.named)
FORMAT_VERSION = 6
_HEADER = struct.Struct(">8sHB")
_BUILDS = ("pure Python", "compiled")  # the build byte: pipeline.COMPILED


def _build_name(build: int) -> str:
    return _BUILDS[build] if build < len(_BUILDS) else f"build {build}"


class SnapshotError(ValueError):
    """A snapshot that cannot be restored (other format, other config, corrupt)."""


@dataclass(slots=True)
class Snapshot:
    shard: int
    offsets: dict[str, int]  # topic -> next offset to process in this shard's partition
    pipeline: Pipeline
    digest: str  # configuration and topology the pipeline was built with
    saved_at: float = 0.0  # wall clock, for the checkpoint-age metric
    # feedback topic partition -> next offset this pipeline has not learned from yet
    feedback: dict[int, int] = field(default_factory=dict)

    def encode(self) -> bytes:
        payload = {
            "shard": self.shard,
            "offsets": self.offsets,
            "digest": self.digest,
            "saved_at": self.saved_at or time.time(),
            "pipeline": self.pipeline,
            "feedback": self.feedback,
        }
        body = zlib.compress(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL), 1)
        return _HEADER.pack(MAGIC, FORMAT_VERSION, int(pipeline.COMPILED)) + body

    @classmethod
    def decode(cls, value: bytes, digest: str) -> Snapshot:
        if len(value) < _HEADER.size:
            raise SnapshotError("snapshot too short")
        magic, version, build = _HEADER.unpack_from(value)
        if magic != MAGIC:
            raise SnapshotError("not an aiops snapshot")
        if version != FORMAT_VERSION:
            raise SnapshotError(f"snapshot format {version}, this build reads {FORMAT_VERSION}")
        if build != int(pipeline.COMPILED):
            raise SnapshotError(
                f"snapshot of a {_build_name(build)} core, this one is "
                f"{_build_name(int(pipeline.COMPILED))}"
            )
        try:
            payload: dict[str, Any] = pickle.loads(zlib.decompress(value[_HEADER.size :]))
        except Exception as exc:  # corrupt or written by incompatible code
            raise SnapshotError(f"cannot read snapshot: {exc}") from None
        if payload["digest"] != digest:
            raise SnapshotError("snapshot was taken with another configuration or topology")
        return cls(
            payload["shard"],
            dict(payload["offsets"]),
            payload["pipeline"],
            payload["digest"],
            payload["saved_at"],
            dict(payload.get("feedback", {})),
        )


def state_digest(config: Config, topology_text: bytes) -> str:
    """What a snapshot must have been built with to be restored: the effective configuration
    and the topology file's bytes."""
    h = hashlib.sha256(config.model_dump_json().encode())
    h.update(b"\0")
    h.update(topology_text)
    return h.hexdigest()[:16]


def snapshot_key(group: str, alerts_topic: str, changes_topic: str, shard: int) -> bytes:
    return f"{group}|{alerts_topic}|{changes_topic}|{shard}".encode()


def read_latest(
    bootstrap_servers: str, topic: str, keys: set[bytes], timeout_s: float = 60.0
) -> dict[bytes, bytes]:
    """The latest value of each wanted key in the (compacted) topic; tombstones delete."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        client_id="aiops-checkpoint-reader",
        max_partition_fetch_bytes=CHECKPOINT_MAX_BYTES,
        fetch_max_bytes=CHECKPOINT_MAX_BYTES,
    )
    latest: dict[bytes, bytes] = {}
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return latest
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < end[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading checkpoints from {topic} took over {timeout_s}s")
            for batch in consumer.poll(timeout_ms=500).values():
                for msg in batch:
                    if msg.key not in keys:
                        continue
                    if msg.value is None:
                        latest.pop(msg.key, None)
                    else:
                        latest[msg.key] = msg.value
    finally:
        consumer.close()
    return latest


class SnapshotStore:
    """The snapshots of one consumer group's shards in the checkpoint topic."""

    def __init__(self, bootstrap_servers: str, topics: Topics, group: str, digest: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topics = topics
        self.group = group
        self.digest = digest

    def key(self, shard: int) -> bytes:
        return snapshot_key(self.group, self.topics.alerts, self.topics.changes, shard)

    def load(self, shards: list[int]) -> dict[int, Snapshot | str]:
        """Per shard: its restorable snapshot, or why there is none ("none", or the reason
        it was refused)."""
        keys = {self.key(i): i for i in shards}
        found = read_latest(self.bootstrap_servers, self.topics.checkpoints, set(keys))
        out: dict[int, Snapshot | str] = dict.fromkeys(shards, "none")
        for key, value in found.items():
            try:
                out[keys[key]] = Snapshot.decode(value, self.digest)
            except SnapshotError as exc:
                out[keys[key]] = str(exc)
        return out
