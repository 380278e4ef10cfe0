"""`aiops bench`: replay throughput against the bare `json.loads` rate of the same lines.

Generates a large scenario (or takes one), times `json.loads` over its alert lines, then
replays the whole pipeline over the same files (parsing, dedup, correlation, root cause,
writing outputs) and prints alerts/s and that rate as a share of the json.loads rate, both
measured in this run on this machine. It also samples what the pipeline holds in memory as
the replay goes, to show state follows what is open, not the history.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import orjson

import pipeline
from aiops.errors import UsageError
from aiops.replay import replay
from aiops.scenarios import generate_for_target, profile_params, write_scenario
from connectors.files import InputError, load_topology
from pipeline.config import ConfigError, load_config
from pipeline.engine import Pipeline


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "bench",
        help="measure replay throughput against the bare json.loads rate",
        description="Replay a large scenario and print alerts/s, the json.loads rate of the "
        "same lines and the share, plus memory held along the way. Without --scenario it "
        "generates one of about --alerts alerts first.",
    )
    p.add_argument("--scenario", type=Path, help="existing scenario directory to replay")
    p.add_argument("--alerts", type=int, default=100_000, help="alerts to generate")
    p.add_argument("--seed", type=int, default=1, help="generator seed")
    p.add_argument("--out", type=Path, default=Path("aiops-bench"), help="output directory")
    p.add_argument("--config", type=Path, help="config YAML overriding the defaults")
    p.add_argument(
        "--repeat", type=int, default=3, help="runs of each measurement; the best counts"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def _json_rate(lines: list[str], repeats: int) -> float:
    """Best lines/s of plain json.loads over the lines (the yardstick)."""
    best = float("inf")
    loads = json.loads
    for _ in range(repeats):
        started = time.perf_counter()
        for line in lines:
            loads(line)
        best = min(best, time.perf_counter() - started)
    return len(lines) / best


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(args: argparse.Namespace) -> int:
    if args.alerts < 1000:
        raise UsageError("--alerts must be at least 1000")
    if args.repeat < 1:
        raise UsageError("--repeat must be at least 1")
    progress = False if args.no_progress else None
    scenario = args.scenario
    if scenario is None:
        scenario = args.out / "scenario"
        params = profile_params("large", target_alerts=args.alerts)
        print(f"generating about {args.alerts} alerts into {scenario} ...", file=sys.stderr)
        scn = generate_for_target(params, args.seed, "large", progress=progress is None)
        write_scenario(scn, scenario, progress=progress is None)
    alerts = scenario / "alerts.jsonl"
    if not alerts.is_file():
        raise UsageError(f"{scenario} has no alerts.jsonl")
    lines = alerts.read_text(encoding="utf-8").splitlines()
    samples: list[dict[str, Any]] = []

    def sample(pipeline: Pipeline, records: int) -> None:
        if records % 20_000 == 0:
            samples.append({"records": records, **pipeline.state_size(), "rss_mb": _rss_mb()})

    changes = scenario / "changes.jsonl"
    # Both measurements are best-of-N in this same run, interleaved, so a busy machine
    # slows both alike.
    json_rate = 0.0
    summary: dict[str, Any] = {}
    for attempt in range(args.repeat):
        json_rate = max(json_rate, _json_rate(lines, 1))
        samples.clear()
        try:
            run_summary = replay(
                alerts,
                args.out / "replay",
                load_config(args.config),
                load_topology(scenario / "topology.yaml"),
                changes=changes if changes.is_file() else None,
                progress=progress,
                on_drain=sample,
            )
        except (InputError, ConfigError) as exc:
            raise UsageError(str(exc)) from None
        if not summary or run_summary["elapsed_s"] < summary["elapsed_s"]:
            summary = run_summary
        run_rate = run_summary["alerts_in"] / run_summary["elapsed_s"]
        print(f"run {attempt + 1}/{args.repeat}: {run_rate:,.0f} alerts/s", file=sys.stderr)
    rate = summary["alerts_in"] / summary["elapsed_s"]
    result = {
        "alerts": summary["alerts_in"],
        "elapsed_s": summary["elapsed_s"],
        "alerts_per_s": round(rate, 1),
        "json_loads_lines_per_s": round(json_rate, 1),
        "share_of_json_loads": round(rate / json_rate, 4),
        "incidents": summary["incidents"],
        "compiled": pipeline.COMPILED,
        "memory": samples,
    }
    (args.out / "bench.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(
        f"{result['alerts']} alerts in {result['elapsed_s']:.1f} s: {rate:,.0f} alerts/s; "
        f"json.loads of the same lines: {json_rate:,.0f} lines/s; "
        f"share {rate / json_rate:.1%}"
    )
    # setup.py: the hot modules are compiled with mypyc unless built with AIOPS_PURE_PYTHON=1.
    print(f"core: {'compiled (mypyc)' if pipeline.COMPILED else 'pure Python'}")
    print(f"{'records':>9} {'live inc':>9} {'alert states':>13} {'episodes':>9} {'RSS MB':>8}")
    for s in samples:
        print(
            f"{s['records']:>9} {s['live_incidents']:>9} {s['alert_states']:>13} "
            f"{s['alert_histories']:>9} {s['rss_mb']:>8.0f}"
        )
    return 0
