"""Helpers for the tests that run `aiops run` against the real broker."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata
from prometheus_client.parser import text_string_to_metric_families

from aiops.cli import main
from aiops.scenarios import generate, profile_params, write_scenario
from connectors.kafka.topics import Topics, ensure_topics
from tests.kafka_helpers import KafkaBroker, read_all, unique_topic_name

REPO = Path(__file__).resolve().parent.parent
AIOPS = [sys.executable, "-m", "aiops"]


def small_scenario(out: Path, seed: int = 7) -> Path:
    """A generated `small` scenario (a few hundred alerts, some changes) in `out`."""
    scenario = generate(profile_params("small"), seed, "small")
    write_scenario(scenario, out, progress=False)
    return out


@dataclass
class Deployment:
    """Uniquely named topics and group of one test, and how to run the service on them."""

    broker: KafkaBroker
    topics: Topics
    group: str

    @classmethod
    def create(
        cls,
        broker: KafkaBroker,
        name: str,
        partitions: int = 1,
        incidents_configs: dict | None = None,
        suppressed: bool = False,
    ) -> Deployment:
        prefix = unique_topic_name(name)
        topics = Topics(
            alerts=f"{prefix}.alerts",
            changes=f"{prefix}.changes",
            incidents=f"{prefix}.incidents",
            predictions=f"{prefix}.predictions",
            dead_letter=f"{prefix}.dead-letter",
            checkpoints=f"{prefix}.checkpoints",
            suppressed=f"{prefix}.suppressed" if suppressed else None,
            feedback=f"{prefix}.feedback",
            metrics=f"{prefix}.metrics",
        )
        if incidents_configs:
            admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
            try:
                admin.create_topics(
                    {
                        topics.incidents: {
                            "num_partitions": 1,
                            "replication_factor": 1,
                            "configs": incidents_configs,
                        }
                    }
                )
            finally:
                admin.close()
        ensure_topics(broker.bootstrap_servers, topics, partitions)
        return cls(broker, topics, f"{prefix}-group")

    def args(self, *extra: str, topology: Path | None = None) -> list[str]:
        t = self.topics
        out = [
            *AIOPS, "run",
            "--bootstrap-servers", self.broker.bootstrap_servers,
            "--group", self.group,
            "--alerts-topic", t.alerts,
            "--changes-topic", t.changes,
            "--incidents-topic", t.incidents,
            "--predictions-topic", t.predictions,
            "--dead-letter-topic", t.dead_letter,
            "--checkpoint-topic", t.checkpoints,
            "--feedback-topic", t.feedback,
            "--metrics-topic", t.metrics,
            "--metrics-port", "0",
            "--session-timeout-ms", "6000",
        ]  # fmt: skip
        if t.suppressed:
            out += ["--suppressed-topic", t.suppressed]
        if topology is not None:
            out += ["--topology", str(topology)]
        return out + list(extra)

    def start(
        self, *extra: str, topology: Path | None = None, log: Path | None = None
    ) -> subprocess.Popen:
        handle = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
        return subprocess.Popen(
            self.args(*extra, topology=topology),
            cwd=REPO,
            stdout=handle,
            stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def run_until_caught_up(
        self, *extra: str, topology: Path | None = None, timeout: float = 120
    ) -> str:
        """`aiops run --exit-when-caught-up`; returns its log (stderr)."""
        try:
            result = subprocess.run(
                self.args("--exit-when-caught-up", *extra, topology=topology),
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            log = exc.stderr.decode() if isinstance(exc.stderr, bytes) else str(exc.stderr)
            raise AssertionError(f"not caught up within {timeout}s; its log:\n{log}") from None
        assert result.returncode == 0, result.stderr[-4000:]
        return result.stderr

    def produce_scenario(self, scenario: Path, label: str = "env") -> tuple[int, int]:
        """Send the scenario's files with `aiops produce`; returns (alert, change) messages."""
        code = main(
            ["produce", "--bootstrap-servers", self.broker.bootstrap_servers,
             "--alerts-topic", self.topics.alerts, "--changes-topic", self.topics.changes,
             "--alerts", str(scenario / "alerts.jsonl"),
             "--changes", str(scenario / "changes.jsonl"),
             "--scope-label", label, "--no-progress"]
        )  # fmt: skip
        assert code == 0
        lines = [
            len((scenario / f).read_bytes().splitlines()) for f in ("alerts.jsonl", "changes.jsonl")
        ]
        return lines[0], lines[1]

    def end_offsets(self) -> dict[TopicPartition, int]:
        from kafka import KafkaConsumer

        consumer = KafkaConsumer(bootstrap_servers=self.broker.bootstrap_servers)
        try:
            tps = [
                TopicPartition(topic, p)
                for topic in self.topics.inputs
                for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
            return consumer.end_offsets(tps)
        finally:
            consumer.close()

    def committed(self) -> dict[TopicPartition, int]:
        admin = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap_servers)
        try:
            found = admin.list_group_offsets(self.group)
        finally:
            admin.close()
        offsets = found.get(self.group, {})
        return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}

    def set_committed(self, offsets: dict[TopicPartition, int]) -> None:
        admin = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap_servers)
        try:
            admin.alter_group_offsets(
                self.group, {tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()}
            )
        finally:
            admin.close()

    def latest_incidents(self) -> dict[str, dict[str, Any]]:
        """The incidents topic as a consumer that keeps the latest message per key sees it."""
        latest: dict[str, dict[str, Any]] = {}
        for record in read_all(self.broker.bootstrap_servers, self.topics.incidents, timeout_s=60):
            latest[record.key.decode()] = json.loads(record.value)
        return latest

    def delete(self) -> None:
        t = self.topics
        self.broker.delete_topics([*t.inputs, *t.outputs, t.checkpoints, t.feedback])


def live_groups(incidents: dict[str, dict[str, Any]]) -> list[list[str]]:
    """Alert id groups of incidents that hold alerts (merged-away ones hold none)."""
    return sorted(
        sorted(i["alert_ids"])
        for i in incidents.values()
        if i["alert_ids"] and not i["merged_into"]
    )


def replay_incidents(scenario: Path, out: Path) -> dict[str, dict[str, Any]]:
    """`aiops replay` of the scenario: its incidents by id."""
    subprocess.run(
        [
            *AIOPS,
            "replay",
            "--alerts",
            str(scenario / "alerts.jsonl"),
            "--changes",
            str(scenario / "changes.jsonl"),
            "--topology",
            str(scenario / "topology.yaml"),
            "--out",
            str(out),
            "--no-progress",
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    rows = [json.loads(line) for line in (out / "incidents.jsonl").read_text().splitlines()]
    return {row["id"]: row for row in rows}


def wait_for(condition: Callable[[], bool], timeout: float, what: str, step: float = 0.2) -> None:
    """Poll `condition` until it holds; a Kafka error while asking (a broker that is still
    starting, a group coordinator that is moving) counts as not yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except KafkaError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(step)


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    return process.wait(timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(port: int) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """The samples of a /metrics endpoint: name -> sorted label pairs -> value."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out
