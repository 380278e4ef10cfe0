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

from aiops.errors import UsageError
from connectors.files import InputError, append_jsonl, read_incidents
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
        default=DEFAULT_STORE,
        help=f"feedback store (default {DEFAULT_STORE})",
    )
    p.add_argument("--incidents", type=Path, help="incidents.jsonl (or its directory)")
    return p


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
    if args.store.is_dir():
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
    try:
        append_jsonl(args.store, record.to_dict())
    except InputError as exc:
        raise UsageError(str(exc)) from None
    verdict = "confirmed" if listed else "corrected to"
    if context is None:
        verdict = "recorded"
    print(
        f"{record.incident}: root {verdict} {record.root} ({record.kind}) by {record.by} "
        f"at {format_time(record.at)} -> {args.store}"
    )
    if context is None:
        print(
            "note: without --incidents the record carries no ranking; only a pipeline that "
            "still remembers the incident can learn from it"
        )
    return 0
