"""Starting weights for the outage forewarning model (`aiops train-outage`).

Replays generated training scenarios (seeds from `seed0`, never the evaluation seeds 1-99)
with the forewarning stage recording every labelled snapshot (the same delayed labels it
learns from online: did a critical alert start on that entity within the horizon?), fits a
logistic regression, then picks the warning threshold that warns most predictable outages
while keeping false alarms under `max_false_alarms_per_day` on the training scenarios.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from aiops.evaluation.scenario import evaluate, scenario_hours
from aiops.training.links import PROFILES, fit_logistic, training_scenarios
from aiops.wiring import build_pipeline
from connectors.files import DeadLetter, load_topology, merge_streams, read_alerts, read_changes
from models.outage import OutageModel
from pipeline.config import Config
from pipeline.forewarn import OutagePredictor
from pipeline.times import parse_time

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)
Row = tuple[dict[str, float], bool]


def collect(scenario: Path, config: Config) -> list[Row]:
    """Every snapshot the stage labels, labelled offline by the truth instead: did a fault
    with precursors start on that entity within the horizon? (Online, the stage can only
    learn from critical alerts; offline the starting weights can learn from the truth.)"""
    truth = orjson.loads((scenario / "truth.json").read_bytes())
    starts: dict[str, list[float]] = {}
    for fault in truth["faults"]:
        entity = fault["root"] if fault["kind"] == "node" else fault.get("root_service")
        if fault.get("predictable") and entity:
            starts.setdefault(entity, []).append(parse_time(fault["start"]))
    horizon = config.prediction.horizon_s
    rows: list[Row] = []

    def record(entity: str, t: float, features: dict[str, float], _label: bool) -> None:
        label = any(t < s <= t + horizon for s in starts.get(entity, ()))
        rows.append((features, label))

    pipeline = build_pipeline(config, load_topology(scenario / "topology.yaml"))
    predictors = [o for o in pipeline.observers if isinstance(o, OutagePredictor)]
    if not predictors:
        raise ValueError("prediction is disabled in the configuration")
    predictors[0].recorder = record
    records = merge_streams(
        read_alerts(scenario / "alerts.jsonl"), read_changes(scenario / "changes.jsonl")
    )
    for record in records:
        if not isinstance(record, DeadLetter):
            pipeline.process(record)
    return rows


def fit(rows: list[Row], meta: dict[str, Any]) -> OutageModel:
    # Outages are rare among snapshots: weigh the classes evenly, the threshold does the rest.
    weights, intercept = fit_logistic(rows, balanced=True)
    return OutageModel(weights, intercept, meta=meta)


def train(
    config: Config,
    per_profile: int,
    seed0: int,
    max_false_alarms_per_day: float,
    log: Callable[[str], object] = print,
) -> OutageModel:
    with tempfile.TemporaryDirectory(prefix="aiops-outage-") as tmp:
        root = Path(tmp)
        log(f"generating {per_profile * len(PROFILES)} training scenarios (seeds from {seed0})")
        scenarios = training_scenarios(root / "scenarios", per_profile, seed0)
        hours = sum(
            scenario_hours(orjson.loads((s / "truth.json").read_bytes())) for s in scenarios
        )
        rows: list[Row] = []
        for scenario in scenarios:
            rows.extend(collect(scenario, config))
        log(f"{len(rows)} labelled snapshots, {sum(y for _, y in rows)} before an outage")
        model = fit(
            rows,
            {
                "trained_on": f"{len(scenarios)} generated scenarios, seeds from "
                f"{seed0}, profiles {', '.join(PROFILES)}"
            },
        )
        path = root / "outage_model.json"
        best: tuple[float, float, float] = (-1.0, 0.0, 0.5)
        for threshold in THRESHOLDS:
            model.threshold = threshold
            model.save(path)
            cfg = config.model_copy(
                update={"prediction": config.prediction.model_copy(update={"model": str(path)})}
            )
            warned = predictable = alarms = 0
            for i, scenario in enumerate(scenarios):
                r = evaluate(scenario, root / f"eval-{i}", cfg, progress=False)["prediction"]
                warned += r["warned"]
                predictable += r["predictable_outages"]
                alarms += r["false_alarms"]
            share = warned / predictable if predictable else 0.0
            per_day = alarms / (hours / 24) if hours else 0.0
            log(
                f"threshold {threshold:.2f}: warned {warned}/{predictable}, "
                f"{alarms} false alarms ({per_day:.1f}/day)"
            )
            if per_day <= max_false_alarms_per_day and (share, -per_day) > best[:2]:
                best = (share, -per_day, threshold)
        model.threshold = best[2]
        model.meta["training_warned_share"] = round(best[0], 4)
        model.meta["training_false_alarms_per_day"] = round(-best[1], 2)
        return model
