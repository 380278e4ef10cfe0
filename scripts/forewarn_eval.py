"""Forewarning figures over many scenarios at once (issue 5).

Replays each scenario through the whole pipeline, records every risk the forewarning stage
scores (aiops.training.outage.trace) and turns the risks into the predictions the stage
makes at the model's threshold (or at each of `--sweep` thresholds), scored by the
evaluator's own functions. Totals pool the scenarios: warned / predictable outages, the
median lead over all warned outages, false alarms per day over all hours.

    python scripts/forewarn_eval.py /tmp/scen/{default,dense,wide,storm}-{1..4}
    python scripts/forewarn_eval.py --config my.yaml --sweep 0.8,0.85,0.9 DIR...
    python scripts/forewarn_eval.py --detail DIR...   # one line per predictable outage
"""

from __future__ import annotations

import argparse
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from aiops.evaluation.prediction import prediction_scores, warning_leads
from aiops.evaluation.scenario import scenario_hours
from aiops.training.outage import Trace, trace, warnings_at
from aiops.wiring import configured_outage_model
from pipeline.config import Config, load_config
from pipeline.times import parse_time


def _run(args: tuple[str, str | None]) -> tuple[str, dict[str, Any], Trace]:
    scenario, config_path = args
    config = load_config(config_path)
    truth = orjson.loads((Path(scenario) / "truth.json").read_bytes())
    return scenario, truth, trace(Path(scenario), config)


def _profile(scenario: str) -> str:
    return Path(scenario).name.rsplit("-", 1)[0]


def summarise(
    runs: list[tuple[str, dict[str, Any], Trace]], config: Config, threshold: float
) -> dict[str, dict[str, Any]]:
    """Totals per profile and over all, at this threshold."""
    cfg = config.prediction
    groups: dict[str, dict[str, Any]] = {}
    for scenario, truth, risks in runs:
        preds = warnings_at(risks, threshold, cfg.rearm_s, cfg.horizon_s)
        hours = scenario_hours(truth)
        r = prediction_scores(truth["faults"], preds, hours)
        leads = [lead for _, lead in warning_leads(truth["faults"], preds) if lead is not None]
        for key in (_profile(scenario), "ALL"):
            g = groups.setdefault(key, {"warned": 0, "predictable": 0, "fa": 0, "h": 0.0})
            g["warned"] += r["warned"]
            g["predictable"] += r["predictable_outages"]
            g["fa"] += r["false_alarms"]
            g["h"] += hours
            g.setdefault("leads", []).extend(leads)
    return groups


def line(key: str, g: dict[str, Any]) -> str:
    share = g["warned"] / g["predictable"] if g["predictable"] else 0.0
    lead = statistics.median(g["leads"]) / 60 if g["leads"] else float("nan")
    return (
        f"{key:8s} warned {g['warned']:3d}/{g['predictable']:3d} ({100 * share:5.1f} %) "
        f"median lead {lead:5.1f} min  false alarms {g['fa']:3d} "
        f"({g['fa'] / (g['h'] / 24):4.1f}/day, {g['h']:.0f} h)"
    )


def detail(runs: list[tuple[str, dict[str, Any], Trace]], config: Config, threshold: float) -> None:
    cfg = config.prediction
    for scenario, truth, risks in runs:
        preds = warnings_at(risks, threshold, cfg.rearm_s, cfg.horizon_s)
        for f, lead in warning_leads(truth["faults"], preds):
            start = parse_time(f["start"])
            own = (start - parse_time(f["precursor_start"])) / 60 if f.get("precursor_start") else 0
            got = f"{lead / 60:5.1f}" if lead is not None else "  -  "
            print(f"{Path(scenario).name:12s} {f['kind']:8s} precursor {own:5.1f} warned {got}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenarios", nargs="+")
    ap.add_argument("--config", default=None, help="config YAML overriding the defaults")
    ap.add_argument("--sweep", default="", help="comma-separated thresholds to score too")
    ap.add_argument("--detail", action="store_true", help="one line per predictable outage")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    config = load_config(args.config)
    model = configured_outage_model(config)
    if model is None:
        raise SystemExit("forewarn_eval: prediction is disabled in this configuration")
    with ProcessPoolExecutor(args.jobs) as pool:
        runs = list(pool.map(_run, [(s, args.config) for s in args.scenarios]))
    print(f"model threshold {model.threshold}")
    groups = summarise(runs, config, model.threshold)
    for key in sorted(groups, key=lambda k: (k == "ALL", k)):
        print(line(key, groups[key]))
    if args.detail:
        detail(runs, config, model.threshold)
    for threshold in [float(x) for x in args.sweep.split(",") if x]:
        swept = summarise(runs, config, threshold)
        for key in sorted(swept, key=lambda k: (k == "ALL", k)):
            print(line(f"@{threshold:.2f} {key}", swept[key]))


if __name__ == "__main__":
    main()
