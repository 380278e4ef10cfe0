"""`aiops feedback`: confirm or correct an incident's root cause.

Appends one record (pipeline/feedback.py) to a JSONL store that the ranker learns from:
`aiops replay --feedback STORE` replays it before the first alert, and the Kafka service
feeds the same records, one per `aiops.feedback` message, to `Pipeline.feedback`. With
`--incidents` the record carries the context of the ranking it judges (the candidates'
signals, from incidents.jsonl), so it can teach on its own.
"""

from __future__ import annotations

import argparse
import getpass
import time
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaProducer
from kafka.errors import KafkaError

from aiops.errors import UsageError
from connectors.files import InputError, append_jsonl, read_incidents
from connectors.kafka.topics import FEEDBACK, FEEDBACK_CONFIGS, create_missing
from models.rca_feedback import context_from_incident
from pipeline.feedback import ROOT_KINDS, Feedback
from pipeline.times import TimeError, format_time, parse_time

DEFAULT_STORE = Path("aiops-feedback.jsonl")


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "feedback",
        help="confirm or correct an incident's root cause (the ranker learns from it)",
        description="Append a root-cause verdict to the feedback store. The ranker learns "
        "from the store online (aiops replay --feedback STORE; the service reads the "
        "aiops.feedback topic). Give --incidents (a replay's incidents.jsonl or its "
        "directory) so the record carries the ranking it corrects.",
    )
    p.add_argument("--incident", required=True, help="incident id (inc-...)")
    p.add_argument("--root", required=True, help="the root cause: an entity or a change id")
    p.add_argument("--kind", choices=ROOT_KINDS, default="service", help="what --root is")
    p.add_argument("--by", default=None, help="who decided (default: the current user)")
    p.add_argument("--note", default="", help="free text, e.g. the resolution")
    p.add_argument("--at", default=None, help="when (ISO 8601 or epoch seconds; default now)")
    p.add_argument(
        "--store",
        type=Path,
        default=None,
        help=f"feedback store (default {DEFAULT_STORE}, unless --bootstrap-servers is given)",
    )
    p.add_argument(
        "--bootstrap-servers",
        help="send the record to the feedback topic of `aiops run` (HOST:PORT)",
    )
    p.add_argument("--feedback-topic", default=FEEDBACK, help="default: %(default)s")
    p.add_argument("--incidents", type=Path, help="incidents.jsonl (or its directory)")
    return p


def _send(bootstrap_servers: str, topic: str, record: Feedback) -> None:
    """Produce the record and wait for the broker's acknowledgement (keyed by incident)."""
    try:
        create_missing(bootstrap_servers, {topic: (1, FEEDBACK_CONFIGS)})
        producer = KafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
        try:
            producer.send(
                topic, key=record.incident.encode(), value=orjson.dumps(record.to_dict())
            ).get(timeout=30)
        finally:
            producer.close()
    except KafkaError as exc:
        raise UsageError(f"cannot send to {topic} at {bootstrap_servers}: {exc}") from None


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _find(path: Path, incident: str) -> dict[str, Any]:
    try:
        incidents = read_incidents(path)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    for doc in incidents:
        if doc["id"] == incident or incident in (doc.get("merged_from") or ()):
            return doc
    raise UsageError(f"incident {incident} is not in {path}")


def run(args: argparse.Namespace) -> int:
    if not args.incident.strip() or not args.root.strip():
        raise UsageError("--incident and --root must not be empty")
    try:
        at = parse_time(args.at) if args.at is not None else time.time()
    except TimeError as exc:
        raise UsageError(f"--at: {exc}") from None
    if args.store is None and args.bootstrap_servers is None:
        args.store = DEFAULT_STORE
    if args.store is not None and args.store.is_dir():
        raise UsageError(f"--store {args.store} is a directory")
    context = None
    listed = False  # the ranking already had it first
    if args.incidents is not None:
        doc = _find(args.incidents, args.incident)
        context = context_from_incident(doc)
        ranked = doc.get("root_cause") or ()
        listed = bool(ranked) and ranked[0].get("entity") == args.root.strip()
    record = Feedback(
        incident=args.incident.strip(),
        root=args.root.strip(),
        kind=args.kind,
        by=args.by or _user(),
        at=at,
        note=args.note,
        context=context,
    )
    destinations = []
    if args.bootstrap_servers is not None:
        _send(args.bootstrap_servers, args.feedback_topic, record)
        destinations.append(args.feedback_topic)
    if args.store is not None:
        try:
            append_jsonl(args.store, record.to_dict())
        except InputError as exc:
            raise UsageError(str(exc)) from None
        destinations.append(str(args.store))
    verdict = "confirmed" if listed else "corrected to"
    if context is None:
        verdict = "recorded"
    print(
        f"{record.incident}: root {verdict} {record.root} ({record.kind}) by {record.by} "
        f"at {format_time(record.at)} -> {', '.join(destinations)}"
    )
    if context is None:
        print(
            "note: without --incidents the record carries no ranking; only a pipeline that "
            "still remembers the incident can learn from it"
        )
    return 0
