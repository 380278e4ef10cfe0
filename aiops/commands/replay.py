"""`aiops replay` (CONTRACT.md §2.1)."""

from __future__ import annotations

import argparse
from pathlib import Path

from aiops.errors import UsageError
from aiops.replay import replay
from aiops.wiring import load_inputs
from connectors.files import InputError
from pipeline.config import ConfigError


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "replay",
        help="run the pipeline over alert/change files and write incidents",
        description="Run the whole streaming pipeline over the files as if their lines "
        "arrived in file order; write incidents.jsonl, predictions.jsonl, dead_letter.jsonl, "
        "suppressed.jsonl and summary.json to DIR.",
    )
    p.add_argument("--alerts", type=Path, required=True, help="alerts JSONL (any format)")
    p.add_argument("--changes", type=Path, help="change records JSONL")
    p.add_argument("--metrics", type=Path, help="metric samples JSONL (aiops.metrics shape)")
    p.add_argument("--topology", type=Path, help="topology YAML")
    p.add_argument("--config", type=Path, help="config YAML overriding config/default.yaml")
    p.add_argument(
        "--feedback",
        type=Path,
        help="root-cause feedback store (aiops feedback) the ranker learns from first",
    )
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def run(args: argparse.Namespace) -> int:
    for label, path in (
        ("alerts", args.alerts),
        ("changes", args.changes),
        ("metrics", args.metrics),
        ("feedback", args.feedback),
    ):
        if path is not None and not path.is_file():
            raise UsageError(f"--{label} {path}: no such file")
    try:
        config, topology = load_inputs(args.config, args.topology)
        summary = replay(
            args.alerts,
            args.out,
            config,
            topology,
            changes=args.changes,
            metrics=args.metrics,
            progress=False if args.no_progress else None,
            feedback=args.feedback,
        )
    except (InputError, ConfigError) as exc:
        raise UsageError(str(exc)) from None
    print(
        f"{summary['alerts_in']} alerts -> {summary['incidents']} incidents "
        f"(noise reduction {summary['noise_reduction']}), {summary['duplicates_folded']} "
        f"duplicates folded, {summary['suppressed']} suppressed, {summary['dead_letters']} "
        f"dead letters; {summary['events_per_second']} events/s; outputs in {args.out}"
    )
    return 0
