"""Replay a generated scenario and score it against its truth.json."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from aiops.evaluation.grouping import Event, baselines, grouping_scores
from aiops.evaluation.prediction import prediction_scores
from aiops.evaluation.rootcause import rca_scores
from aiops.replay import replay
from aiops.wiring import CONFIGURED, ConfiguredModel
from connectors.files import (
    DeadLetter,
    InputError,
    iter_lines,
    load_topology,
    read_alerts,
    read_incidents,
)
from models.linkmodel import AnyLinkModel
from pipeline.config import Config
from pipeline.times import parse_time


def load_truth(scenario: Path) -> dict[str, Any]:
    path = scenario / "truth.json"
    try:
        return orjson.loads(path.read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON: {exc}") from None


def load_incidents(out_dir: Path) -> dict[str, dict[str, Any]]:
    return {inc["id"]: inc for inc in read_incidents(out_dir / "incidents.jsonl")}


def load_predictions(out_dir: Path) -> list[dict[str, Any]]:
    path = out_dir / "predictions.jsonl"
    if not path.is_file():
        return []
    return [orjson.loads(line) for _, line in iter_lines(path)]


def scenario_hours(truth_doc: dict[str, Any]) -> float:
    meta = truth_doc["scenario"]
    return (parse_time(meta["end"]) - parse_time(meta["start"])) / 3600


def score(scenario: Path, out_dir: Path) -> dict[str, Any]:
    """Score the replay outputs in `out_dir` against the scenario's truth."""
    truth_doc = load_truth(scenario)
    truth: dict[str, str] = truth_doc["alerts"]
    topology = load_topology(scenario / "topology.yaml")
    incidents = load_incidents(out_dir)
    incident_of: dict[str, str] = {}
    in_two = 0
    for inc in incidents.values():
        for alert_id in inc["alert_ids"]:
            if alert_id in incident_of and incident_of[alert_id] != inc["id"]:
                in_two += 1
            incident_of[alert_id] = inc["id"]
    read = [a for a in read_alerts(scenario / "alerts.jsonl") if not isinstance(a, DeadLetter)]
    events = [Event(a.id, a.time or 0.0, a.service or a.resource or "") for a in read]
    facts = {a.id: (a.time or 0.0, a.service, a.resource) for a in read if a.status == "firing"}
    ids = [e.id for e in events]
    missing = [i for i in ids if i not in truth]
    if missing:
        raise InputError(f"truth.json has no group for {len(missing)} alerts, e.g. {missing[0]}")
    # Strict, contract-level view. Truth: each fault is a group; a noise alert belongs to no
    # problem, so it is a group of its own. Predicted: each incident; an alert in no incident
    # is alone. Suppressing noise costs nothing; noise in an incident is a false pair.
    fault_groups = {f["id"] for f in truth_doc["faults"]}
    truth_labels = [truth[i] if truth[i] in fault_groups else f"noise:{i}" for i in ids]
    predicted = [incident_of.get(i, f"none:{i}") for i in ids]
    ours = grouping_scores(truth_labels, predicted)
    ours["groups"] = len(incidents)
    ours["noise_reduction"] = round(1 - len(incidents) / len(ids), 4) if ids else 0.0
    fault_ids = [i for i in ids if truth[i] in fault_groups]
    faults_only = grouping_scores(
        [truth[i] for i in fault_ids], [incident_of.get(i, f"none:{i}") for i in fault_ids]
    )
    return {
        "scenario": str(scenario),
        "alerts": len(ids),
        "incidents": len(incidents),
        "alerts_in_two_incidents": in_two,
        "suppressed_alerts": sum(1 for i in ids if i not in incident_of),
        "grouping": ours,
        "grouping_fault_alerts_only": faults_only,
        "baselines": baselines(events, dict(zip(ids, truth_labels, strict=True))),
        "root_cause": rca_scores(
            truth_doc["faults"], truth, incident_of, incidents, topology, alerts=facts
        ),
        "prediction": prediction_scores(
            truth_doc["faults"], load_predictions(out_dir), scenario_hours(truth_doc)
        ),
        "truth_groups": dict(Counter(g[0] for g in truth.values())),
    }


def evaluate(
    scenario: Path,
    out_dir: Path,
    config: Config,
    progress: bool | None = None,
    link_model: AnyLinkModel | ConfiguredModel | None = CONFIGURED,
) -> dict[str, Any]:
    """Replay the scenario into `out_dir`, score it, and write `out_dir/evaluation.json`."""
    for name in ("alerts.jsonl", "topology.yaml", "truth.json"):
        if not (scenario / name).is_file():
            raise InputError(f"{scenario} has no {name} (make one with `aiops generate`)")
    changes = scenario / "changes.jsonl"
    summary = replay(
        scenario / "alerts.jsonl",
        out_dir,
        config,
        load_topology(scenario / "topology.yaml"),
        changes=changes if changes.is_file() else None,
        progress=progress,
        link_model=link_model,
    )
    result = score(scenario, out_dir)
    result["events_per_second"] = summary["events_per_second"]
    (out_dir / "evaluation.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return result
