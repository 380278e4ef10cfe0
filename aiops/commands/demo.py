"""`aiops demo`: the whole pipeline on the bundled sample, no services needed."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import orjson

from aiops.commands.evaluate import format_report
from aiops.errors import UsageError
from aiops.evaluation.scenario import evaluate
from connectors.files import InputError, iter_lines
from pipeline.config import ConfigError, load_config

SAMPLE = Path(__file__).resolve().parents[1] / "sample"


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "demo",
        help="run the pipeline on the bundled sample data and print what it found",
        description="Replay the bundled sample (alerts, changes, topology with ground truth) "
        "and print the summary, the top incidents with their root-cause candidates, and how "
        "the result scores against the truth.",
    )
    p.add_argument("--out", type=Path, default=Path("aiops-demo"), help="output directory")
    p.add_argument("--top", type=int, default=5, help="incidents to show")
    return p


def _top_incidents(out: Path, top: int) -> list[dict[str, Any]]:
    incidents = [orjson.loads(line) for _, line in iter_lines(out / "incidents.jsonl")]
    incidents.sort(key=lambda i: (i["priority"], -len(i["alert_ids"]), i["opened_at"]))
    return incidents[:top]


def run(args: argparse.Namespace) -> int:
    if args.top < 0:
        raise UsageError("--top must be 0 or more")
    try:
        result = evaluate(SAMPLE, args.out, load_config(), progress=None)
    except (InputError, ConfigError) as exc:
        raise UsageError(str(exc)) from None
    summary = orjson.loads((args.out / "summary.json").read_bytes())
    print(
        f"events in {summary['events_in']}  alerts {summary['alerts_in']}  "
        f"changes {summary['changes_in']}  dead letters {summary['dead_letters']}\n"
        f"duplicates folded {summary['duplicates_folded']}  suppressed {summary['suppressed']}  "
        f"incidents {summary['incidents']} ({summary['incidents_open']} open, "
        f"{summary['incidents_resolved']} resolved, {summary['merges']} merges)  "
        f"noise reduction {summary['noise_reduction']:.1%}  "
        f"{summary['events_per_second']:.0f} events/s\n"
    )
    print(f"Top {args.top} incidents (by priority, then size):")
    for inc in _top_incidents(args.out, args.top):
        print(
            f"  {inc['priority']} {inc['severity']:<8} {inc['id']}  {inc['title']}\n"
            f"     {len(inc['alert_ids'])} alerts, {len(inc['services'])} "
            f"service{'s' if len(inc['services']) != 1 else ''}, "
            f"{inc['status']} since {inc['opened_at']}"
        )
        for rank, cand in enumerate(inc["root_cause"][:3], start=1):
            print(
                f"     {rank}. {cand['entity']} ({cand['kind']}, {cand['score']:.2f}): "
                f"{cand['evidence']}"
            )
    print()
    print(format_report(result))
    print(f"\nOutputs in {args.out}/ (incidents.jsonl, suppressed.jsonl, summary.json, ...)")
    return 0
