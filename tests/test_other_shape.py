"""The quality floor on scenarios of another shape (tests/other_shape.py): no nodes, hosts the
topology does not know, generic alert names, another cascade and noise model. The pipeline was
never tuned on these; they check it does not depend on its own generator's habits."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from aiops.evaluation.grouping import Event, baselines, grouping_scores
from aiops.replay import replay
from connectors.files import load_topology
from pipeline.config import load_config
from tests.other_shape import write_other_shape

SEEDS = (11, 12, 13)  # consecutive seeds, taken as they came


def _time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _score(scenario: Path, out: Path, truth: dict[str, dict]) -> dict[str, float]:
    replay(
        scenario / "alerts.jsonl",
        out,
        load_config(None),
        load_topology(scenario / "topology.yaml"),
        progress=False,
    )
    incidents = [json.loads(line) for line in (out / "incidents.jsonl").read_text().splitlines()]
    latest = {inc["id"]: inc for inc in incidents}  # the file holds each incident's versions
    incident_of: dict[str, str] = {}
    in_two = 0
    for inc in latest.values():
        for alert_id in inc["alert_ids"]:
            in_two += alert_id in incident_of
            incident_of[alert_id] = inc["id"]
    alerts = [json.loads(line) for line in (scenario / "alerts.jsonl").read_text().splitlines()]
    ids = [a["id"] for a in alerts]
    labels = truth["alerts"]
    truth_labels = [labels[i] if labels[i].startswith("F") else f"noise:{i}" for i in ids]
    ours = grouping_scores(truth_labels, [incident_of.get(i, f"none:{i}") for i in ids])
    events = [Event(a["id"], _time(a["time"]), a["service"]) for a in alerts]
    naive = baselines(events, dict(zip(ids, truth_labels, strict=True)))
    # Root cause: the incident holding most of a fault's alerts, its first candidate (a host
    # stands for the service its alerts name).
    service_of = {a.get("resource", a["service"]): a["service"] for a in alerts}
    service_of.update({a["service"]: a["service"] for a in alerts})
    hits = 0
    for fault, root in truth["roots"].items():
        held = Counter(incident_of[i] for i in ids if labels[i] == fault and i in incident_of)
        if held:
            top = latest[held.most_common(1)[0][0]]["root_cause"][:1]
            hits += bool(top) and service_of.get(top[0]["entity"]) == root
    return {
        "f1": ours["pairwise_f1"],
        "best_baseline_f1": max(b["pairwise_f1"] for b in naive.values()),
        "noise_reduction": 1 - len(latest) / len(ids),
        "in_two": in_two,
        "ac1": hits / len(truth["roots"]),
    }


@pytest.mark.slow
def test_another_generators_scenarios_meet_the_quality_floor(tmp_path):
    scores = []
    for seed in SEEDS:
        scenario = tmp_path / f"s{seed}"
        truth = write_other_shape(scenario, seed)
        scores.append(_score(scenario, tmp_path / f"o{seed}", truth))
    for s in scores:
        assert s["in_two"] == 0
        assert s["noise_reduction"] >= 0.9
        assert s["f1"] > s["best_baseline_f1"]
        assert s["f1"] >= 0.7, scores  # measured 0.989 / 0.910 / 0.866 (2026-11-23)
    assert statistics.mean(s["f1"] for s in scores) >= 0.8, scores
    assert statistics.mean(s["ac1"] for s in scores) >= 0.8, scores


def test_the_other_shape_is_what_it_claims(tmp_path):
    """No nodes or resources in the topology, hosts it does not know, none of our names."""
    truth = write_other_shape(tmp_path, 5)
    topology = load_topology(tmp_path / "topology.yaml")
    alerts = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert not any(topology.is_node(a["resource"]) for a in alerts)
    assert all(topology.service_of(a["resource"]) in (None, a["service"]) for a in alerts)
    assert set(truth["alerts"]) == {a["id"] for a in alerts}
    assert len(truth["roots"]) == 12
    times = [_time(a["time"]) for a in alerts]
    assert times != sorted(times)  # delivered out of event-time order
