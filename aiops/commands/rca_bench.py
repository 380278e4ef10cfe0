"""`aiops rca-bench`: root-cause accuracy on one day of the Nezha Train-Ticket data."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from aiops.errors import UsageError
from aiops.rca.nezha_bench import METHODS, run_bench
from connectors.files import InputError
from pipeline.config import ConfigError, load_config


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "rca-bench",
        help="root-cause accuracy on a Nezha Train-Ticket day (metrics, traces, logs)",
        description="Turn one day of the Nezha Train-Ticket data (DAY/metric, DAY/trace, "
        "DAY/log) into per-pod anomaly alerts and a call graph, run the pipeline, then score "
        "each fault of DAY/*fault_list.json (read only to evaluate) by its incident's ranked "
        "services. Writes OUT/rca_results.jsonl (one line per fault) and OUT/summary.json; "
        "prints AC@1/3/5 with baselines: earliest alert, most alerts, random walk alone, random.",
    )
    p.add_argument("--nezha", type=Path, required=True, metavar="DAY_DIR", help="a day directory")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--config", type=Path, help="config YAML overriding the defaults")
    p.add_argument(
        "--feedback",
        action="store_true",
        help="also answer each fault 5 min after its injection, without and with a simulated "
        "problem manager confirming each earlier fault's root (OUT/rca_feedback.jsonl)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def format_report(s: dict[str, Any]) -> str:
    lines = [
        f"{s['day']}: {s['faults']} faults, {s['faults_with_incident']} with an incident; "
        f"{s['stats']['alerts']} anomaly alerts -> {s['stats']['incidents']} incidents over "
        f"{s['stats']['services']} services ({s['stats']['dependencies']} call edges)",
        f"{'method':<16}{'AC@1':>8}{'AC@3':>8}{'AC@5':>8}",
    ]
    for method in METHODS:
        a = s["accuracy"][method]
        lines.append(f"{method:<16}{a['ac@1']:>8.3f}{a['ac@3']:>8.3f}{a['ac@5']:>8.3f}")
    a = s["pipeline_where_root_alerted"]
    lines.append(
        f"root service alerted in the window for {s['faults_root_alerted']} of {s['faults']} "
        "faults; pipeline there: "
        + (f"AC@1 {a['ac@1']:.3f} AC@3 {a['ac@3']:.3f}" if a["ac@1"] is not None else "-")
    )
    lines.append(
        "pipeline by fault type: "
        + ", ".join(
            f"{kind} AC@1 {a['ac@1']:.2f} AC@3 {a['ac@3']:.2f}"
            for kind, a in s["pipeline_by_fault_type"].items()
        )
    )
    fb = s.get("feedback")
    if fb:
        lines.append(
            f"answered {fb['answered_at_s_after_injection'] / 60:.0f} min after each injection "
            f"({fb['faults_with_repeated_root']} faults repeat an earlier fault's root):"
        )
        for run in ("without", "with"):
            a, r = fb[run]["all"], fb[run]["repeated_root"]
            again = (
                f"repeated roots AC@1 {r['ac@1']:.3f} AC@3 {r['ac@3']:.3f}"
                if r["ac@1"] is not None
                else "no repeated roots"
            )
            lines.append(
                f"  {run + ' feedback':<18}AC@1 {a['ac@1']:.3f} AC@3 {a['ac@3']:.3f}  ({again})"
            )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if not args.nezha.is_dir():
        raise UsageError(f"--nezha {args.nezha}: no such directory")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a directory")
    try:
        config = load_config(args.config)
        summary = run_bench(
            args.nezha,
            args.out,
            config,
            progress=False if args.no_progress else None,
            feedback=args.feedback,
        )
    except (InputError, ConfigError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from None
    print(format_report(summary))
    return 0
