"""`aiops produce`: send alert and change files to the input topics, keyed by scope.

The producer side of `aiops run` for files (tests, demos, backfills): every line is one
message, keyed by the correlation scope (`--scope-label`) the way the webhook keys them; an
Alertmanager payload with alerts of several scopes is split. Each file keeps its order on its
topic; a service reading the two topics as a backlog merges them by event time as `aiops
replay` merges the files (connectors/kafka/ordering.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kafka import KafkaProducer
from kafka.errors import KafkaError
from tqdm import tqdm

from aiops.commands.run import add_kafka_options
from aiops.errors import UsageError
from connectors.kafka import topics as t
from connectors.kafka.messages import DEFAULT_SCOPE_LABEL, alert_messages, change_message
from connectors.kafka.topics import create_missing


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "produce",
        help="send alert/change/metric files to the input topics, keyed by correlation scope",
        description="Send each line of the files as one message (acks=all, idempotent), "
        "keyed by the scope label; wait until Kafka acknowledged all of them.",
    )
    add_kafka_options(p)
    p.add_argument("--changes-topic", default=t.CHANGES, help="default: %(default)s")
    p.add_argument("--metrics-topic", default=t.METRICS, help="default: %(default)s")
    p.add_argument("--alerts", type=Path, help="alerts JSONL (any supported format)")
    p.add_argument("--changes", type=Path, help="change records JSONL")
    p.add_argument("--metrics", type=Path, help="metric samples JSONL (aiops.metrics shape)")
    p.add_argument("--scope-label", default=DEFAULT_SCOPE_LABEL, help="default: %(default)s")
    p.add_argument("--partitions", type=int, default=1, help="for topics it creates")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def run(args: argparse.Namespace) -> int:
    if args.alerts is None and args.changes is None and args.metrics is None:
        raise UsageError("give --alerts, --changes, --metrics or several")
    lines: dict[str, list[bytes]] = {}
    for label, path, topic in (
        ("alerts", args.alerts, args.alerts_topic),
        ("changes", args.changes, args.changes_topic),
        ("metrics", args.metrics, args.metrics_topic),
    ):
        if path is not None:
            try:
                lines[topic] = path.read_bytes().splitlines()
            except OSError as exc:
                raise UsageError(f"--{label} {path}: {exc.strerror or exc}") from None
    try:
        create_missing(args.bootstrap_servers, {name: (args.partitions, {}) for name in lines})
        producer = KafkaProducer(
            bootstrap_servers=args.bootstrap_servers, acks="all", linger_ms=5,
            batch_size=256 * 1024, client_id="aiops-produce",
        )  # fmt: skip
    except KafkaError as exc:
        raise UsageError(f"cannot reach Kafka at {args.bootstrap_servers}: {exc}") from None
    total = sum(len(x) for x in lines.values())
    sent = 0
    failed: list[BaseException] = []
    with tqdm(total=total, desc="produce", file=sys.stderr, disable=args.no_progress) as bar:
        for topic, items in lines.items():
            for line in items:
                if not line.strip():
                    continue
                if topic == args.alerts_topic:
                    messages = alert_messages(line, args.scope_label)
                else:
                    messages = [change_message(line, args.scope_label)]
                for key, value in messages:
                    producer.send(topic, key=key, value=value).add_errback(failed.append)
                    sent += 1
                bar.update()
    try:
        producer.flush()
    except KafkaError as exc:
        failed.append(exc)
    finally:
        producer.close()
    if failed:
        print(f"error: {len(failed)} messages not acknowledged: {failed[0]!r}", file=sys.stderr)
        return 1
    print(f"{sent} messages acknowledged ({', '.join(lines)})")
    return 0
