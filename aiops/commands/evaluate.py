"""`aiops evaluate`: replay a generated scenario and score it against its ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from aiops.errors import UsageError
from aiops.evaluation.scenario import evaluate
from connectors.files import InputError
from pipeline.config import ConfigError, load_config


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "evaluate",
        help="score a replay of a generated scenario against its ground truth",
        description="Replay SCENARIO (alerts.jsonl, changes.jsonl, topology.yaml, truth.json) "
        "into OUT and score the grouping (pairwise precision/recall/F1, adjusted Rand index, "
        "noise reduction), root causes (AC@1/3/5, causing change in the top 3) and naive "
        "baselines on the same alerts. Writes OUT/evaluation.json.",
    )
    p.add_argument("--scenario", type=Path, required=True, help="scenario directory")
    p.add_argument("--out", type=Path, required=True, help="output directory")
    p.add_argument("--config", type=Path, help="config YAML overriding the defaults")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def format_report(r: dict[str, Any]) -> str:
    g, rc = r["grouping"], r["root_cause"]
    lines = [
        f"scenario {r['scenario']}: {r['alerts']} alerts, {rc['faults']} faults -> "
        f"{r['incidents']} incidents ({r['suppressed_alerts']} alerts suppressed, "
        f"{r['alerts_in_two_incidents']} in two incidents)",
        f"{'grouping':<22}{'precision':>10}{'recall':>10}{'F1':>8}{'ARI':>8}{'noise red.':>12}",
    ]
    rows = [("pipeline", g)] + [
        (f"{name} ({b['param_s']:.0f}s)", b) for name, b in r["baselines"].items()
    ]
    for name, s in rows:
        lines.append(
            f"{name:<22}{s['pairwise_precision']:>10.3f}{s['pairwise_recall']:>10.3f}"
            f"{s['pairwise_f1']:>8.3f}{s['ari']:>8.3f}{s['noise_reduction']:>12.3f}"
        )
    change = rc["change_in_top3"]
    lines.append(
        f"root cause: AC@1 {rc['ac@1']:.3f}  AC@3 {rc['ac@3']:.3f}  AC@5 {rc['ac@5']:.3f}  "
        f"causing change in top 3: "
        + (f"{change:.3f} of {rc['change_caused_faults']}" if change is not None else "n/a")
        + f"  (faults detected {rc['faults_detected']}/{rc['faults']})"
    )
    for method, acc in (rc.get("baselines") or {}).items():
        lines.append(
            f"  baseline {method:<15} AC@1 {acc['ac@1']:.3f}  AC@3 {acc['ac@3']:.3f}  "
            f"AC@5 {acc['ac@5']:.3f}"
        )
    pr = r.get("prediction")
    if pr and pr["predictable_outages"]:
        lead = pr["median_lead_min"]
        lines.append(
            f"forewarning: {pr['warned']}/{pr['predictable_outages']} predictable outages "
            f"warned, median lead {lead if lead is not None else 'n/a'} min, "
            f"{pr['false_alarms']} false alarms ({pr['false_alarms_per_day']}/day)"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        result = evaluate(
            args.scenario, args.out, config, progress=False if args.no_progress else None
        )
    except (InputError, ConfigError) as exc:
        raise UsageError(str(exc)) from None
    print(format_report(result))
    return 0
