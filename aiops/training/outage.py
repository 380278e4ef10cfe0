"""Starting weights for the outage forewarning model (`aiops train-outage`).

Replays generated training scenarios (seeds from `seed0`, never the evaluation seeds 1-99)
with the forewarning stage recording every labelled snapshot (the same delayed labels it
learns from online: did a critical alert start on that entity within the horizon?), fits a
logistic regression, then picks the warning threshold that warns most predictable outages
while keeping false alarms within `max_false_alarms_per_day` on the training scenarios.

The training scenarios are of two kinds: `per_profile` of each profile with randomised
departures from its parameters (noise levels, delays, names: so the weights do not hinge on
one set of parameters), and `standard` of each profile exactly as `aiops generate` makes it
(so the base rates of warnings and outages are those of the profiles, not only of the
departures).

The threshold is chosen from one replay per scenario: the stage's risks do not depend on the
threshold (it learns from every snapshot, warned or not), so the predictions at any threshold
follow from the risks it scored, under the stage's own rule (at or above the threshold, at
most once per entity per `rearm_s`), and are scored by the evaluator's own function.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from aiops.evaluation.prediction import prediction_scores
from aiops.evaluation.scenario import scenario_hours
from aiops.training.links import PROFILES, fit_logistic, standard_scenarios, training_scenarios
from aiops.wiring import build_pipeline
from connectors.files import DeadLetter, load_topology, merge_streams, read_alerts, read_changes
from models.outage import OutageModel
from pipeline.config import Config
from pipeline.forewarn import OutagePredictor
from pipeline.times import format_time, parse_time

# Candidate thresholds: fine enough that the false-alarm budget, not the grid, decides.
THRESHOLDS = tuple(round(0.5 + i / 100, 2) for i in range(50))
Row = tuple[dict[str, float], bool]
Trace = list[tuple[str, float, float]]  # (entity, time, risk) of every risk scored


def _replay(scenario: Path, config: Config, hook: Callable[[OutagePredictor], None]) -> None:
    pipeline = build_pipeline(config, load_topology(scenario / "topology.yaml"))
    predictors = [o for o in pipeline.observers if isinstance(o, OutagePredictor)]
    if not predictors:
        raise ValueError("prediction is disabled in the configuration")
    hook(predictors[0])
    records = merge_streams(
        read_alerts(scenario / "alerts.jsonl"), read_changes(scenario / "changes.jsonl")
    )
    for record in records:
        if not isinstance(record, DeadLetter):
            pipeline.process(record)


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

    def hook(predictor: OutagePredictor) -> None:
        predictor.recorder = record

    _replay(scenario, config, hook)
    return rows


def trace(scenario: Path, config: Config) -> Trace:
    """The risks the stage scores over a replay of the scenario (with the configured model)."""
    risks: Trace = []

    def hook(predictor: OutagePredictor) -> None:
        predictor.tracer = lambda entity, t, risk: risks.append((entity, t, risk))

    _replay(scenario, config, hook)
    return risks


def warnings_at(risks: Trace, threshold: float, rearm_s: float, horizon_s: float) -> list[dict]:
    """The predictions the stage makes from these risks at this threshold."""
    last: dict[str, float] = {}
    out = []
    for entity, t, risk in risks:
        if risk >= threshold and t - last.get(entity, -float("inf")) >= rearm_s:
            last[entity] = t
            out.append({"time": format_time(t), "service": entity, "horizon_s": horizon_s})
    return out


def fit(rows: list[Row], meta: dict[str, Any]) -> OutageModel:
    # Outages are rare among snapshots: weigh the classes evenly, the threshold does the rest.
    weights, intercept = fit_logistic(rows, balanced=True)
    return OutageModel(weights, intercept, meta=meta)


def choose_threshold(
    traces: Iterable[tuple[dict[str, Any], Trace]],
    config: Config,
    max_false_alarms_per_day: float,
    log: Callable[[str], object] = print,
) -> tuple[float, float, float]:
    """(threshold, warned share, false alarms a day): the threshold that warns the largest
    share of predictable outages within the false-alarm budget (the fewest false alarms
    among equals); the highest threshold if none stays within it."""
    traces = list(traces)
    cfg = config.prediction
    hours = sum(scenario_hours(truth) for truth, _ in traces)
    best: tuple[float, float, float] | None = None
    fallback = (THRESHOLDS[-1], 0.0, 0.0)
    for threshold in THRESHOLDS:
        warned = predictable = alarms = 0
        for truth, risks in traces:
            preds = warnings_at(risks, threshold, cfg.rearm_s, cfg.horizon_s)
            r = prediction_scores(truth["faults"], preds, scenario_hours(truth))
            warned += r["warned"]
            predictable += r["predictable_outages"]
            alarms += r["false_alarms"]
        share = warned / predictable if predictable else 0.0
        per_day = alarms / (hours / 24) if hours else 0.0
        log(
            f"threshold {threshold:.2f}: warned {warned}/{predictable}, "
            f"{alarms} false alarms ({per_day:.1f}/day)"
        )
        if threshold == THRESHOLDS[-1]:
            fallback = (threshold, share, per_day)
        if per_day <= max_false_alarms_per_day and (
            best is None or (share, -per_day) > (best[1], -best[2])
        ):
            best = (threshold, share, per_day)
    return best or fallback


def train(
    config: Config,
    per_profile: int,
    seed0: int,
    max_false_alarms_per_day: float,
    log: Callable[[str], object] = print,
    standard: int = 0,
) -> OutageModel:
    with tempfile.TemporaryDirectory(prefix="aiops-outage-") as tmp:
        root = Path(tmp)
        log(
            f"generating {per_profile * len(PROFILES)} randomised and "
            f"{standard * len(PROFILES)} standard training scenarios (seeds from {seed0})"
        )
        scenarios = training_scenarios(root / "scenarios", per_profile, seed0)
        scenarios += standard_scenarios(root / "standard", standard, seed0)
        rows: list[Row] = []
        for scenario in scenarios:
            rows.extend(collect(scenario, config))
        log(f"{len(rows)} labelled snapshots, {sum(y for _, y in rows)} before an outage")
        model = fit(
            rows,
            {
                "trained_on": f"{len(scenarios)} generated scenarios, seeds from {seed0}, "
                f"profiles {', '.join(PROFILES)} ({per_profile} randomised and {standard} "
                "standard each)"
            },
        )
        path = root / "outage_model.json"
        model.save(path)
        cfg = config.model_copy(
            update={"prediction": config.prediction.model_copy(update={"model": str(path)})}
        )
        traces = ((orjson.loads((s / "truth.json").read_bytes()), trace(s, cfg)) for s in scenarios)
        threshold, share, per_day = choose_threshold(traces, cfg, max_false_alarms_per_day, log)
        model.threshold = threshold
        model.meta["training_warned_share"] = round(share, 4)
        model.meta["training_false_alarms_per_day"] = round(per_day, 2)
        return model
