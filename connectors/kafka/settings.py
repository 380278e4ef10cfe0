"""What `aiops run` can be told (its command-line options take their defaults from here)."""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.kafka.topics import Topics


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
    # How long the broker may hold a fetch waiting for data. With Kafka's 500 ms default the
    # alert-to-incident p99 at 2,000 alerts/s was ~270 ms, with 50 ms ~120 ms, with 20 ms
    # ~80 ms (aiops bench-kafka); the price is up to 40 fetch requests/s while idle.
    fetch_max_wait_ms: int = 25
