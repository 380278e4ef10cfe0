"""`aiops webhook`: the HTTP receiver (connectors/webhook.py) as its own process.

A process of its own rather than part of `aiops run`: it holds no state, so it scales and
restarts independently (several behind a load balancer), and it keeps taking alerts into
Kafka while the correlator restarts, restores a snapshot or rebalances.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

from kafka.errors import KafkaError

from aiops.commands.run import add_kafka_options, configure_logging
from aiops.errors import UsageError
from connectors.kafka.messages import DEFAULT_SCOPE_LABEL
from connectors.kafka.topics import create_missing
from connectors.telemetry import WebhookMetrics
from connectors.webhook import (
    DEFAULT_MAX_BODY,
    DEFAULT_PORT,
    AlertReceiver,
    ReceiverSettings,
    WebhookServer,
    make_producer,
)

log = logging.getLogger("aiops.webhook")
TOKEN_ENV = "AIOPS_WEBHOOK_TOKEN"


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "webhook",
        help="HTTP receiver: alert payloads in any supported format into the alerts topic",
        description="Accept Alertmanager (webhook v4), PagerDuty Events v2, CloudEvents and "
        "canonical alerts on POST /alerts and produce them to the alerts topic, keyed by "
        "correlation scope; answer 2xx only after Kafka acknowledged them.",
    )
    add_kafka_options(p)
    p.add_argument("--host", default="0.0.0.0", help="listen address (default: %(default)s)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="default: %(default)s")
    p.add_argument(
        "--scope-label",
        default=DEFAULT_SCOPE_LABEL,
        help="label whose value keys the messages: alerts that may correlate must share it "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--max-body-bytes", type=int, default=DEFAULT_MAX_BODY, help="default: %(default)s"
    )
    p.add_argument(
        "--token-file",
        type=Path,
        help=f"require 'Authorization: Bearer <token>' with the token in this file (or in "
        f"${TOKEN_ENV})",
    )
    p.add_argument("--ack-timeout-s", type=float, default=30.0, help="default: 30")
    p.add_argument("--partitions", type=int, default=1, help="if it creates the alerts topic")
    p.add_argument("--log-level", default="INFO", help="default: %(default)s")
    return p


def _token(args: argparse.Namespace) -> str | None:
    if args.token_file is not None:
        try:
            token = args.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise UsageError(f"--token-file {args.token_file}: {exc.strerror or exc}") from None
        if not token:
            raise UsageError(f"--token-file {args.token_file} is empty")
        return token
    return os.environ.get(TOKEN_ENV) or None


def run(args: argparse.Namespace) -> int:
    if args.max_body_bytes < 1 or args.ack_timeout_s <= 0 or args.partitions < 1:
        raise UsageError("--max-body-bytes, --ack-timeout-s and --partitions must be positive")
    configure_logging(args.log_level)
    settings = ReceiverSettings(
        alerts_topic=args.alerts_topic,
        scope_label=args.scope_label,
        token=_token(args),
        max_body_bytes=args.max_body_bytes,
        ack_timeout_s=args.ack_timeout_s,
    )
    try:
        create_missing(args.bootstrap_servers, {args.alerts_topic: (args.partitions, {})})
        producer = make_producer(args.bootstrap_servers)
    except KafkaError as exc:
        raise UsageError(f"cannot reach Kafka at {args.bootstrap_servers}: {exc}") from None
    metrics = WebhookMetrics()
    try:
        server = WebhookServer(
            (args.host, args.port), AlertReceiver(producer, settings, metrics), metrics
        )
    except OSError as exc:
        producer.close()
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None

    def shutdown(*_: Any) -> None:
        # serve_forever must be stopped from another thread than its own.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    log.info(
        "listening on %s:%d, producing to %s (token %s)",
        args.host, server.server_port, args.alerts_topic, "required" if settings.token else "off",
    )  # fmt: skip
    try:
        server.serve_forever()
    finally:
        server.server_close()
        producer.close()
    return 0
