"""`aiops change-impact`: the incidents a change likely caused."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from aiops.errors import UsageError
from aiops.rca.change_impact import incidents_of_change
from connectors.files import InputError, read_incidents


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "change-impact",
        help="list the incidents a change likely caused",
        description="Read a replay's incidents (incidents.jsonl or its directory) and list "
        "those whose root-cause ranking names the change, best score first: the incident, "
        "when it started, the score, the change's rank in its list and the evidence.",
    )
    p.add_argument("--change", required=True, help="change id, e.g. CHG0042")
    p.add_argument("--incidents", type=Path, required=True, help="incidents.jsonl or its dir")
    p.add_argument("--min-score", type=float, default=0.0, help="leave out weaker suspicions")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    return p


def run(args: argparse.Namespace) -> int:
    if not 0.0 <= args.min_score <= 1.0:
        raise UsageError("--min-score must be between 0 and 1")
    try:
        incidents = read_incidents(args.incidents)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    rows = incidents_of_change(args.change, incidents, args.min_score)
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return 0
    if not rows:
        print(f"no incident in {args.incidents} points at {args.change}")
        return 0
    print(f"{args.change}: {len(rows)} incident(s) it likely caused")
    for r in rows:
        rank = f"#{r['rank']}" if r["rank"] else "-"
        print(f"  {r['score']:.2f} {rank:>3}  {r['incident']}  {r['started_at']}  {r['title']}")
        print(f"             {r['evidence']}")
    return 0
