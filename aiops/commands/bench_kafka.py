"""`aiops bench-kafka`: the service through a real broker, against a bare consumer.

1. Throughput: a large generated scenario is produced to fresh topics; a bare kafka-python
   consumer reads the alerts topic end to end (same client, same fetch settings), then the
   service (the code of `aiops run`, in this process) consumes alerts and changes until it
   has caught up and checkpointed. For reference, the pipeline alone (`aiops replay` of the
   same files, no Kafka) runs too: the service cannot beat it.
2. Latency: `aiops run` as its own process on fresh topics (broker timestamps:
   LogAppendTime), a producer pacing the scenario's alerts at --rate per second; for each
   alert, the time from its landing on the alerts topic to the first incident message that
   lists it. Alerts that end in no incident (held, suppressed) have no such time.
"""

from __future__ import annotations

import argparse
import gc
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from tqdm import tqdm

from aiops.commands.run import add_kafka_options
from aiops.errors import UsageError
from aiops.replay import replay
from aiops.scenarios import generate_for_target, profile_params, write_scenario
from aiops.wiring import build_pipeline
from connectors.files import load_topology
from connectors.kafka.checkpoint import state_digest
from connectors.kafka.messages import DEFAULT_SCOPE_LABEL, alert_messages, change_message
from connectors.kafka.service import Service, tune_gc
from connectors.kafka.settings import Settings
from connectors.kafka.topics import Topics, create_missing, ensure_topics
from pipeline.config import load_config

_BROKER_TIME = {"message.timestamp.type": "LogAppendTime"}


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "bench-kafka",
        help="measure the service through a real broker (throughput, latency)",
        description="Throughput of the service against a bare kafka-python consumer on the "
        "same topic, and alert-to-incident latency at a paced rate. Creates topics named "
        "aiops-bench-*; delete them afterwards if the broker is shared.",
    )
    add_kafka_options(p)
    p.add_argument("--scenario", type=Path, help="existing scenario directory")
    p.add_argument("--alerts", type=int, default=110_000, help="alerts to generate")
    p.add_argument("--seed", type=int, default=1, help="generator seed")
    p.add_argument("--rate", type=float, default=2000.0, help="alerts/s of the latency run")
    p.add_argument("--latency-seconds", type=float, default=30.0, help="length of that run")
    p.add_argument("--out", type=Path, default=Path("aiops-bench-kafka"), help="results dir")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def _scenario(args: argparse.Namespace) -> Path:
    if args.scenario is not None:
        if not (args.scenario / "alerts.jsonl").is_file():
            raise UsageError(f"{args.scenario} has no alerts.jsonl")
        return args.scenario
    path = args.out / "scenario"
    if not (path / "alerts.jsonl").is_file():
        print(f"generating about {args.alerts} alerts into {path} ...", file=sys.stderr)
        params = profile_params("large", target_alerts=args.alerts)
        scenario = generate_for_target(params, args.seed, "large", progress=not args.no_progress)
        write_scenario(scenario, path, progress=not args.no_progress)
    return path


def _topics(prefix: str) -> Topics:
    return Topics(
        alerts=f"{prefix}.alerts",
        changes=f"{prefix}.changes",
        incidents=f"{prefix}.incidents",
        predictions=f"{prefix}.predictions",
        dead_letter=f"{prefix}.dead-letter",
        checkpoints=f"{prefix}.checkpoints",
    )


def _producer(bootstrap: str) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, batch_size=256 * 1024
    )


def _produce(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]], bar: bool) -> None:
    producer = _producer(bootstrap)
    for key, value in tqdm(messages, desc=f"produce {topic}", disable=not bar, file=sys.stderr):
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


def bare_consume(bootstrap: str, topic: str, expected: int) -> float:
    """Messages/s of a bare kafka-python consumer reading the topic from its start."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, max_poll_records=2000
    )
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    count = 0
    started = time.perf_counter()
    while count < expected:
        for batch in consumer.poll(timeout_ms=500).values():
            count += len(batch)
    elapsed = time.perf_counter() - started
    consumer.close()
    return count / elapsed


def throughput(args: argparse.Namespace, scenario: Path, bar: bool) -> dict[str, Any]:
    bootstrap = args.bootstrap_servers
    topics = _topics(f"aiops-bench-{uuid.uuid4().hex[:8]}")
    ensure_topics(bootstrap, topics)
    alerts = [
        m
        for line in (scenario / "alerts.jsonl").read_bytes().splitlines()
        for m in alert_messages(line, DEFAULT_SCOPE_LABEL)
    ]
    changes_file = scenario / "changes.jsonl"
    changes = [
        change_message(line, DEFAULT_SCOPE_LABEL)
        for line in (changes_file.read_bytes().splitlines() if changes_file.is_file() else [])
    ]
    _produce(bootstrap, topics.alerts, alerts, bar)
    _produce(bootstrap, topics.changes, changes, bar)
    counts = {"alerts": len(alerts), "changes": len(changes)}
    del alerts, changes  # `aiops run` does not hold them either
    bare = bare_consume(bootstrap, topics.alerts, counts["alerts"])
    print(f"bare consumer: {bare:,.0f} messages/s", file=sys.stderr)

    config = load_config()
    topology_path = scenario / "topology.yaml"
    service = Service(
        Settings(bootstrap, topics, group=f"{topics.alerts}-group"),
        lambda: build_pipeline(config, load_topology(topology_path)),
        state_digest(config, topology_path.read_bytes()),
    )
    # Wall and CPU time once the first records were processed, and how many: the clock
    # starts after the group join, so the records processed before it do not count either.
    first: list[float] = []

    def until(s: Service) -> bool:
        if not first and s.records_processed:
            first.extend((time.perf_counter(), time.process_time(), s.records_processed))
        return s.caught_up()

    thresholds = gc.get_threshold()
    tune_gc()  # as `aiops run` does
    started = time.perf_counter()
    service.run(until=until)  # ends with a checkpoint: outputs and snapshot acknowledged
    ended, cpu_ended = time.perf_counter(), time.process_time()
    gc.unfreeze()  # the replay below runs with the collector's defaults, as `aiops replay`
    gc.set_threshold(*thresholds)
    records = service.records_processed
    timed = records - first[2]
    service_rate = timed / (ended - first[0])
    replay_first: list[float] = []  # the same for replay: CPU and records at its first drain

    def on_drain(_: object, n: int) -> None:
        if not replay_first:
            replay_first.extend((time.process_time(), n))

    with tempfile.TemporaryDirectory() as tmp:
        before = time.process_time()
        summary = replay(
            scenario / "alerts.jsonl",
            Path(tmp),
            config,
            load_topology(topology_path),
            changes=changes_file if changes_file.is_file() else None,
            progress=False,
            on_drain=on_drain,
        )
        replay_first = replay_first or [before, 0]  # fewer records than one drain
        replay_cpu = time.process_time() - replay_first[0]
    replayed = summary["alerts_in"] + summary["changes_in"]
    replay_rate = replayed / summary["elapsed_s"]
    return {
        **counts,
        "records_processed": records,
        "group_join_s": round(first[0] - started, 2),
        "service_s": round(ended - first[0], 2),
        "service_records_per_s": round(service_rate, 1),
        # CPU time of the whole process (the clients' threads too) per record: steadier than
        # rates on a shared machine, where a process may get half a core.
        "service_cpu_us_per_record": round((cpu_ended - first[1]) / timed * 1e6, 1),
        "replay_cpu_us_per_record": round(replay_cpu / (replayed - replay_first[1]) * 1e6, 1),
        "bare_consumer_messages_per_s": round(bare, 1),
        "share_of_bare": round(service_rate / bare, 4),
        "replay_records_per_s": round(replay_rate, 1),
        "share_of_replay": round(service_rate / replay_rate, 4),
        "topics_prefix": topics.alerts.removesuffix(".alerts"),
    }


def _service_process(bootstrap: str, topics: Topics, topology: Path, port: int) -> subprocess.Popen:
    t = topics
    return subprocess.Popen(
        [sys.executable, "-m", "aiops", "run", "--bootstrap-servers", bootstrap,
         "--group", f"{t.alerts}-group", "--alerts-topic", t.alerts,
         "--changes-topic", t.changes, "--incidents-topic", t.incidents,
         "--predictions-topic", t.predictions, "--dead-letter-topic", t.dead_letter,
         "--checkpoint-topic", t.checkpoints, "--topology", str(topology),
         "--metrics-port", str(port), "--metrics-addr", "127.0.0.1", "--log-level", "WARNING"],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip


def _read(bootstrap: str, topic: str) -> list[Any]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, max_poll_records=5000)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    end = consumer.end_offsets([tp])[tp]
    out: list[Any] = []
    while consumer.position(tp) < end:
        for batch in consumer.poll(timeout_ms=500).values():
            out.extend(batch)
    consumer.close()
    return out


def _wait_ready(port: int, timeout_s: float = 60.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read()
            if b"aiops_shards 1.0" in text:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise UsageError("the service did not get its partition within 60 s")


def latency(args: argparse.Namespace, scenario: Path, bar: bool) -> dict[str, Any]:
    bootstrap = args.bootstrap_servers
    topics = _topics(f"aiops-bench-{uuid.uuid4().hex[:8]}")
    create_missing(
        bootstrap, {topics.alerts: (1, _BROKER_TIME), topics.incidents: (1, _BROKER_TIME)}
    )
    ensure_topics(bootstrap, topics)
    total = int(args.rate * args.latency_seconds)
    lines = (scenario / "alerts.jsonl").read_bytes().splitlines()[:total]
    port = _free_port()
    service = _service_process(bootstrap, topics, scenario / "topology.yaml", port)
    try:
        _wait_ready(port)
        producer = _producer(bootstrap)
        started = time.perf_counter()
        for i, line in enumerate(
            tqdm(lines, desc=f"{args.rate:.0f} alerts/s", disable=not bar, file=sys.stderr)
        ):
            due = started + i / args.rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            key, value = alert_messages(line, DEFAULT_SCOPE_LABEL)[0]
            producer.send(topics.alerts, key=key, value=value)
        producer.flush()
        producer.close()
        sent_s = time.perf_counter() - started
        time.sleep(3.0)  # the last alerts' incident updates
        inside = _histogram_quantiles(port, "aiops_poll_to_produce_seconds", (0.5, 0.99))
    finally:
        service.send_signal(signal.SIGTERM)
        service.wait(60)
    landed = {}
    for record in _read(bootstrap, topics.alerts):
        for alert_id in _ids_of(record.value):
            landed.setdefault(alert_id, record.timestamp)
    seen: set[str] = set()
    delays = []
    for record in _read(bootstrap, topics.incidents):
        for alert_id in orjson.loads(record.value)["alert_ids"]:
            if alert_id not in seen and alert_id in landed:
                seen.add(alert_id)
                delays.append(record.timestamp - landed[alert_id])
    ms = np.array(delays, dtype=float)
    return {
        "rate_target": args.rate,
        "rate_achieved": round(len(lines) / sent_s, 1),
        "alerts_sent": len(lines),
        "alerts_in_incidents": len(delays),
        "p50_ms": round(float(np.percentile(ms, 50)), 1) if len(ms) else None,
        "p99_ms": round(float(np.percentile(ms, 99)), 1) if len(ms) else None,
        "max_ms": round(float(ms.max()), 1) if len(ms) else None,
        # The service's own share: from a poll returning records to their outputs handed to
        # the producer (upper bounds of histogram buckets).
        "poll_to_produce_p50_ms_at_most": inside[0],
        "poll_to_produce_p99_ms_at_most": inside[1],
        "topics_prefix": topics.alerts.removesuffix(".alerts"),
    }


def _histogram_quantiles(port: int, name: str, quantiles: tuple[float, ...]) -> list[float]:
    """Upper bucket bounds (ms) holding each quantile of a histogram on /metrics."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    buckets = [
        (float(s.labels["le"]), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == f"{name}_bucket"
    ]
    total = buckets[-1][1] if buckets else 0
    return [
        next((le * 1000 for le, count in buckets if count >= q * total), float("inf"))
        for q in quantiles
    ]


def _ids_of(value: bytes) -> list[str]:
    obj = orjson.loads(value)
    return [obj["id"]] if isinstance(obj, dict) and "id" in obj else []


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(args: argparse.Namespace) -> int:
    if args.alerts < 1000 or args.rate <= 0 or args.latency_seconds <= 0:
        raise UsageError("--alerts must be at least 1000; --rate, --latency-seconds positive")
    bar = not args.no_progress
    args.out.mkdir(parents=True, exist_ok=True)
    scenario = _scenario(args)
    result = {
        "throughput": throughput(args, scenario, bar),
        "latency": latency(args, scenario, bar),
    }
    (args.out / "bench-kafka.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    t, lat = result["throughput"], result["latency"]
    print(
        f"throughput: {t['records_processed']} records ({t['alerts']} alerts) in "
        f"{t['service_s']} s after a {t['group_join_s']} s group join: "
        f"{t['service_records_per_s']:,.0f} records/s; bare consumer "
        f"{t['bare_consumer_messages_per_s']:,.0f} msgs/s (share {t['share_of_bare']:.1%}); "
        f"pipeline alone (replay) {t['replay_records_per_s']:,.0f} records/s "
        f"(share {t['share_of_replay']:.1%}); CPU per record: service "
        f"{t['service_cpu_us_per_record']} us, replay {t['replay_cpu_us_per_record']} us"
    )
    print(
        f"latency at {lat['rate_achieved']:,.0f} alerts/s: p50 {lat['p50_ms']} ms, "
        f"p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms over {lat['alerts_in_incidents']} of "
        f"{lat['alerts_sent']} alerts that reached an incident; inside the service, poll to "
        f"produce: p50 <= {lat['poll_to_produce_p50_ms_at_most']} ms, "
        f"p99 <= {lat['poll_to_produce_p99_ms_at_most']} ms"
    )
    return 0
