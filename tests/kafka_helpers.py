"""A real Kafka broker for tests, run by scripts/kafka-broker, and helpers to use it.

Use from a test module (or re-export from tests/conftest.py to share it)::

    from tests.kafka_helpers import KafkaBroker, kafka_broker  # noqa: F401

    def test_something(kafka_broker: KafkaBroker) -> None:
        topic = kafka_broker.create_topic("alerts", partitions=3)
        kafka_broker.produce(topic, [(b"k", b'{"id": "a-1"}')])
        records = kafka_broker.read_all(topic)

`kafka_broker` (session scope) starts the broker if it is not running and stops it at the end
only if it started it. Tests that use it are skipped, with the reason, when `AIOPS_SKIP_KAFKA=1`
or Java 17+ (or Maven, while the jars are not cached yet) is missing; with
`AIOPS_REQUIRE_KAFKA=1` (for CI) those cases fail instead of skipping. The broker's address and
directory follow the script's variables (`KAFKA_PORT`, `KAFKA_CONTROLLER_PORT`, `KAFKA_DIR`, ...).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

REPO_ROOT = Path(__file__).resolve().parent.parent
BROKER_SCRIPT = REPO_ROOT / "scripts" / "kafka-broker"
DEFAULT_LIB_DIR = REPO_ROOT / ".cache" / "kafka" / "lib"

# A cold start downloads ~45 MB of jars first; the script itself gives up on readiness after
# KAFKA_START_TIMEOUT (60 s), so this only guards against a hung script.
SCRIPT_TIMEOUT_S = 600.0

_TOPIC_CHARS = re.compile(r"[^A-Za-z0-9._-]")


class KafkaUnavailable(RuntimeError):
    """The broker could not be started or reached."""


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}


def _java_major() -> int | None:
    java_home = os.environ.get("JAVA_HOME")
    java = (
        str(Path(java_home) / "bin" / "java")
        if java_home and (Path(java_home) / "bin" / "java").exists()
        else shutil.which("java")
    )
    if java is None:
        return None
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)', out.stderr + out.stdout)
    return int(match.group(1)) if match else None


def missing_prerequisite() -> str | None:
    """Why the broker cannot run here (a skip reason), or None when it can."""
    if _env_flag("AIOPS_SKIP_KAFKA"):
        return "AIOPS_SKIP_KAFKA=1 is set"
    major = _java_major()
    if major is None:
        return "java is not installed (Kafka 4.x needs Java 17+; Debian: openjdk-17-jre-headless)"
    if major < 17:
        return f"Kafka 4.x needs Java 17+, found Java {major}"
    lib_dir = Path(os.environ.get("KAFKA_LIB_DIR", DEFAULT_LIB_DIR))
    jars_cached = (lib_dir / ".complete").is_file()
    if not jars_cached and shutil.which(os.environ.get("MVN", "mvn")) is None:
        return "mvn is not installed and the Kafka jars are not cached (Debian: maven)"
    return None


def unique_topic_name(prefix: str = "test") -> str:
    """A topic name no other test run uses: `<prefix>-<12 hex digits>`."""
    clean = _TOPIC_CHARS.sub("-", prefix) or "test"
    return f"{clean}-{uuid.uuid4().hex[:12]}"


def create_topic(
    bootstrap_servers: str,
    prefix: str = "test",
    partitions: int = 1,
    configs: Mapping[str, str] | None = None,
    timeout_s: float = 30.0,
) -> str:
    """Create a uniquely named topic, wait until every partition has a leader, return its name."""
    name = unique_topic_name(prefix)
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id="aiops-tests-admin",
        request_timeout_ms=int(timeout_s * 1000),
    )
    try:
        admin.create_topics(
            {
                name: {
                    "num_partitions": partitions,
                    "replication_factor": 1,
                    "configs": dict(configs or {}),
                }
            },
            timeout_ms=int(timeout_s * 1000),
        )
        admin.wait_for_topics([name], timeout_ms=int(timeout_s * 1000))
    finally:
        admin.close()
    return name


def delete_topics(bootstrap_servers: str, topics: Iterable[str], timeout_s: float = 30.0) -> None:
    """Delete the topics; ones that do not exist are ignored."""
    names = list(topics)
    if not names:
        return
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="aiops-tests-admin")
    try:
        admin.delete_topics(names, timeout_ms=int(timeout_s * 1000), raise_errors=False)
    finally:
        admin.close()


def produce(
    bootstrap_servers: str,
    topic: str,
    messages: Iterable[tuple[bytes | None, bytes]],
    timeout_s: float = 30.0,
) -> int:
    """Send (key, value) pairs with acks=all and idempotence; wait for every ack; return count."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        client_id="aiops-tests-producer",
    )
    try:
        futures = [producer.send(topic, key=key, value=value) for key, value in messages]
        producer.flush(timeout=timeout_s)
        for future in futures:
            future.get(timeout=timeout_s)
    finally:
        producer.close(timeout=timeout_s)
    return len(futures)


def read_all(
    bootstrap_servers: str,
    topic: str,
    timeout_s: float = 30.0,
    value_deserializer: Callable[[bytes], Any] | None = None,
) -> list[ConsumerRecord]:
    """Every message of the topic, from its first offset to the end offsets seen at the call.

    Reads without a consumer group (commits nothing), so it does not disturb the groups under
    test. Records are ordered by partition, then offset. Raises TimeoutError when the end is not
    reached within `timeout_s`, or when the topic does not exist.
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        client_id="aiops-tests-reader",
        value_deserializer=value_deserializer,
    )
    deadline = time.monotonic() + timeout_s
    try:
        partitions = consumer.partitions_for_topic(topic)
        while not partitions:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"topic {topic!r} has no partitions after {timeout_s}s")
            time.sleep(0.1)
            consumer.topics()  # refreshes the metadata
            partitions = consumer.partitions_for_topic(topic)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        records: list[ConsumerRecord] = []
        while any(consumer.position(tp) < end[tp] for tp in tps):
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"read {len(records)} records of {topic!r} but not its end {end} "
                    f"within {timeout_s}s"
                )
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
    finally:
        consumer.close()
    records.sort(key=lambda r: (r.partition, r.offset))
    return records


def run_broker_script(
    *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `scripts/kafka-broker ARGS...` and return its result (never raises on exit codes)."""
    return subprocess.run(
        ["bash", str(BROKER_SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_S,
        check=False,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


@dataclass
class KafkaBroker:
    """A broker run by scripts/kafka-broker; `env` holds overrides of the script's variables."""

    env: dict[str, str] = field(default_factory=dict)
    started_here: bool = False

    def _var(self, name: str, default: str) -> str:
        return self.env.get(name, os.environ.get(name, default))

    @property
    def host(self) -> str:
        return self._var("KAFKA_HOST", "127.0.0.1")

    @property
    def port(self) -> int:
        return int(self._var("KAFKA_PORT", "9092"))

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def directory(self) -> Path:
        default = REPO_ROOT / ".cache" / "kafka" / f"broker-{self.port}"
        return Path(self._var("KAFKA_DIR", str(default)))

    def _run(self, command: str) -> str:
        result = run_broker_script(command, env=self.env)
        if result.returncode != 0:
            raise KafkaUnavailable(
                f"scripts/kafka-broker {command} exited {result.returncode}:\n"
                f"{result.stdout}{result.stderr}"
            )
        return result.stdout

    def is_running(self) -> bool:
        return run_broker_script("status", env=self.env).returncode == 0

    def start(self) -> str:
        """Start the broker (a no-op when it runs) and return the script's message."""
        return self._run("start")

    def stop(self) -> str:
        return self._run("stop")

    def restart(self) -> str:
        """Stop (controlled shutdown) and start again; data and committed offsets survive."""
        return self._run("restart")

    def logs(self, lines: int = 50) -> str:
        """The last lines of the broker's log (WARN and above, plus the start-up line)."""
        result = run_broker_script("logs", str(lines), env=self.env)
        return result.stdout + result.stderr

    def create_topic(
        self, prefix: str = "test", partitions: int = 1, configs: Mapping[str, str] | None = None
    ) -> str:
        return create_topic(self.bootstrap_servers, prefix, partitions, configs)

    def delete_topics(self, topics: Iterable[str]) -> None:
        delete_topics(self.bootstrap_servers, topics)

    def produce(self, topic: str, messages: Iterable[tuple[bytes | None, bytes]]) -> int:
        return produce(self.bootstrap_servers, topic, messages)

    def read_all(
        self,
        topic: str,
        timeout_s: float = 30.0,
        value_deserializer: Callable[[bytes], Any] | None = None,
    ) -> list[ConsumerRecord]:
        return read_all(self.bootstrap_servers, topic, timeout_s, value_deserializer)


def _unavailable(reason: str) -> None:
    if _env_flag("AIOPS_REQUIRE_KAFKA"):
        pytest.fail(f"Kafka is required (AIOPS_REQUIRE_KAFKA=1) but {reason}", pytrace=False)
    pytest.skip(f"no Kafka broker: {reason}")


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[KafkaBroker]:
    """A running single-node Kafka broker for the whole test session (see the module doc)."""
    reason = missing_prerequisite()
    if reason is not None:
        _unavailable(reason)
    broker = KafkaBroker()
    if not broker.is_running():
        try:
            broker.start()
        except subprocess.TimeoutExpired:
            pytest.fail(f"scripts/kafka-broker start hung for {SCRIPT_TIMEOUT_S}s", pytrace=False)
        except KafkaUnavailable as exc:
            pytest.fail(str(exc), pytrace=False)
        broker.started_here = True
    try:
        yield broker
    finally:
        if broker.started_here:
            broker.stop()


@pytest.fixture
def kafka_topic(kafka_broker: KafkaBroker, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh single-partition topic named after the test, deleted afterwards."""
    topic = kafka_broker.create_topic(request.node.name[:60])
    try:
        yield topic
    finally:
        if kafka_broker.is_running():
            kafka_broker.delete_topics([topic])
