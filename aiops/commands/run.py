"""`aiops run`: the long-running service (Kafka in and out, checkpoints, metrics).

See connectors/kafka/service.py for the loop and the commit protocol, and the README's
"Running it for real" for ordering, checkpoints and scaling.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from kafka.errors import KafkaError

from aiops.errors import UsageError
from aiops.wiring import build_pipeline, load_inputs
from connectors.files import InputError, load_topology
from connectors.kafka import topics as t
from connectors.kafka.checkpoint import state_digest
from connectors.kafka.outputs import OutputError
from connectors.kafka.service import Service, tune_gc
from connectors.kafka.settings import Settings
from connectors.kafka.topics import Topics, ensure_topics
from connectors.telemetry import ServiceMetrics, serve
from pipeline.config import ConfigError

DEFAULT_METRICS_PORT = 9464
_DEFAULTS = Settings(bootstrap_servers="")  # the service's defaults are the options' defaults
log = logging.getLogger("aiops.run")


def add_kafka_options(p: argparse.ArgumentParser) -> None:
    """Options every Kafka command shares: the bootstrap address and the alerts topic."""
    p.add_argument(
        "--bootstrap-servers",
        default=os.environ.get("AIOPS_BOOTSTRAP_SERVERS", t.DEFAULT_BOOTSTRAP),
        metavar="HOST:PORT",
        help="Kafka bootstrap servers, comma-separated (default: $AIOPS_BOOTSTRAP_SERVERS "
        "or %(default)s)",
    )
    p.add_argument("--alerts-topic", default=t.ALERTS, help="default: %(default)s")


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "run",
        help="the long-running service: Kafka in and out, crash-safe, with metrics",
        description="Consume alerts and changes from Kafka, correlate them and produce "
        "incidents (keyed by id, latest state), predictions and dead letters. State is "
        "checkpointed to a compacted topic with the offsets it reflects; offsets are "
        "committed only after the outputs they produced were acknowledged.",
    )
    add_kafka_options(p)
    p.add_argument("--changes-topic", default=t.CHANGES, help="default: %(default)s")
    p.add_argument("--metrics-topic", default=t.METRICS, help="default: %(default)s")
    p.add_argument("--topology", type=Path, help="topology YAML")
    p.add_argument("--config", type=Path, help="config YAML overriding config/default.yaml")
    p.add_argument("--group", default=_DEFAULTS.group, help="consumer group (default: %(default)s)")
    p.add_argument("--incidents-topic", default=t.INCIDENTS, help="default: %(default)s")
    p.add_argument("--predictions-topic", default=t.PREDICTIONS, help="default: %(default)s")
    p.add_argument("--dead-letter-topic", default=t.DEAD_LETTER, help="default: %(default)s")
    p.add_argument("--checkpoint-topic", default=t.CHECKPOINTS, help="default: %(default)s")
    p.add_argument(
        "--feedback-topic",
        default=t.FEEDBACK,
        help="root-cause verdicts every worker learns from (default: %(default)s)",
    )
    p.add_argument(
        "--suppressed-topic",
        nargs="?",
        const=t.SUPPRESSED,
        help=f"also produce suppressed alert events (default name: {t.SUPPRESSED}; off "
        "unless given)",
    )
    p.add_argument("--partitions", type=int, default=1, help="for topics it creates")
    p.add_argument("--replication-factor", type=int, default=1, help="for topics it creates")
    p.add_argument(
        "--metrics-port",
        type=int,
        default=DEFAULT_METRICS_PORT,
        help="Prometheus /metrics port, 0 for none (default: %(default)s)",
    )
    p.add_argument("--metrics-addr", default="0.0.0.0", help="default: %(default)s")
    p.add_argument(
        "--checkpoint-interval-s",
        type=float,
        default=_DEFAULTS.checkpoint_interval_s,
        help="checkpoint at most this long after the first record not yet checkpointed "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--checkpoint-records",
        type=int,
        default=_DEFAULTS.checkpoint_records,
        help="... or after this many records (default: %(default)s)",
    )
    p.add_argument(
        "--max-poll-records",
        type=int,
        default=_DEFAULTS.max_poll_records,
        help="default: %(default)s",
    )
    p.add_argument(
        "--session-timeout-ms",
        type=int,
        default=_DEFAULTS.session_timeout_ms,
        help="default: %(default)s",
    )
    p.add_argument(
        "--fetch-max-wait-ms",
        type=int,
        default=_DEFAULTS.fetch_max_wait_ms,
        help="longest a fetch waits at the broker for data: latency against idle fetch "
        "requests (default: %(default)s)",
    )
    p.add_argument("--instance-id", help="static group membership id (a restart keeps shards)")
    p.add_argument(
        "--idle-advance-s",
        type=float,
        default=_DEFAULTS.idle_advance_s,
        help="let a caught-up shard's event clock follow the wall clock after this many quiet "
        "seconds, so incidents resolve while nothing arrives (default 0: off; outcomes then "
        "depend on the input only, as in replay)",
    )
    p.add_argument(
        "--exit-when-caught-up",
        action="store_true",
        help="checkpoint and exit once every assigned partition is processed to its end",
    )
    p.add_argument("--log-level", default="INFO", help="default: %(default)s")
    return p


def configure_logging(level: str) -> None:
    try:
        logging.basicConfig(
            level=level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
    except ValueError:
        raise UsageError(f"--log-level {level}: not a logging level") from None
    logging.getLogger("kafka").setLevel(max(logging.WARNING, logging.getLogger().level))
    # Restoring a snapshot runs inside the consumer's rebalance callback, which its event
    # loop reports as a slow task every time: expected, not worth a warning.
    logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)


def _check(args: argparse.Namespace) -> None:
    for name in (
        "partitions",
        "replication_factor",
        "checkpoint_records",
        "max_poll_records",
        "fetch_max_wait_ms",
    ):
        if getattr(args, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    if args.checkpoint_interval_s <= 0:
        raise UsageError("--checkpoint-interval-s must be positive")
    if not 0 <= args.metrics_port < 65536:
        raise UsageError("--metrics-port must be 0..65535")
    if args.topology is not None and not args.topology.is_file():
        raise UsageError(f"--topology {args.topology}: no such file")


def run(args: argparse.Namespace) -> int:
    _check(args)
    configure_logging(args.log_level)
    try:
        config, _ = load_inputs(args.config, args.topology)
    except (InputError, ConfigError) as exc:
        raise UsageError(str(exc)) from None
    topology_text = args.topology.read_bytes() if args.topology else b""
    topics = Topics(
        alerts=args.alerts_topic,
        changes=args.changes_topic,
        incidents=args.incidents_topic,
        predictions=args.predictions_topic,
        dead_letter=args.dead_letter_topic,
        checkpoints=args.checkpoint_topic,
        suppressed=args.suppressed_topic,
        feedback=args.feedback_topic,
        metrics=args.metrics_topic,
    )
    try:
        counts = ensure_topics(
            args.bootstrap_servers, topics, args.partitions, args.replication_factor
        )
    except KafkaError as exc:
        raise UsageError(f"cannot reach Kafka at {args.bootstrap_servers}: {exc}") from None
    for other in (topics.changes, topics.metrics):
        if counts[topics.alerts] != counts[other]:
            log.warning(
                "%s has %d partitions and %s %d: its records meet only the alerts of the "
                "same partition index",
                topics.alerts,
                counts[topics.alerts],
                other,
                counts[other],
            )
    settings = Settings(
        bootstrap_servers=args.bootstrap_servers,
        topics=topics,
        group=args.group,
        checkpoint_interval_s=args.checkpoint_interval_s,
        checkpoint_records=args.checkpoint_records,
        max_poll_records=args.max_poll_records,
        session_timeout_ms=args.session_timeout_ms,
        fetch_max_wait_ms=args.fetch_max_wait_ms,
        instance_id=args.instance_id,
        idle_advance_s=args.idle_advance_s,
    )
    metrics = ServiceMetrics()
    server = None
    if args.metrics_port:
        server = serve(args.metrics_port, metrics.registry, args.metrics_addr)
    service = Service(
        settings,
        lambda: build_pipeline(config, load_topology(args.topology)),
        state_digest(config, topology_text),
        metrics,
    )
    service.install_signal_handlers()
    tune_gc()
    progress = _Progress()
    until = (lambda s: progress(s) or s.caught_up()) if args.exit_when_caught_up else progress
    try:
        service.run(until=until)
    except OutputError as exc:
        print(f"error: {exc}; restart to resume from the last checkpoint", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.shutdown()
    log.info("stopped after %d records", service.records_processed)
    return 0


class _Progress:
    """A log line every 10 s: records processed, rate, shards (the service's progress)."""

    def __init__(self, every_s: float = 10.0) -> None:
        self.every_s = every_s
        self.last = time.monotonic()
        self.last_count = 0

    def __call__(self, service: Service) -> bool:
        now = time.monotonic()
        if now - self.last >= self.every_s:
            done = service.records_processed
            rate = (done - self.last_count) / (now - self.last)
            log.info(
                "%d records processed (%.0f/s), shards %s",
                done,
                rate,
                sorted(service.shards),
            )
            self.last, self.last_count = now, done
        return False
