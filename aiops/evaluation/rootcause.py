"""Root-cause accuracy: for each truth fault, is its root among the top k candidates of the
incident that holds most of its alerts? Changes are scored apart: is the causing change among
the first three entries of that incident's list?

Simple baselines rank the same incident's alerting entities (the service of each alert, or
the node when the alert is about a node itself): by earliest alert, by most alerts, and by a
random walk alone (`models.rca_walk` over the alerting services and their direct
dependencies, quiet ones weighted 0.1, no learned signal)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from models.rca_walk import random_walk
from pipeline.topology import Topology

BASELINES = ("earliest_alert", "most_alerts", "random_walk")
AlertFacts = tuple[float, str | None, str | None]  # (time, service, resource)


def candidate_matches(candidate: dict[str, Any], fault: dict[str, Any], topology: Topology) -> bool:
    """Whether a ranked candidate names the fault's root (a resource counts for its service)."""
    kind, entity = candidate["kind"], candidate["entity"]
    if fault["kind"] == "node":
        return kind == "node" and entity == fault["root"]
    service = fault.get("root_service")
    if kind == "service":
        return entity == service
    if kind == "resource":
        return entity == fault.get("root_resource") or topology.service_of(entity) == service
    return False


def baseline_rankings(
    alerts: Iterable[AlertFacts], topology: Topology
) -> dict[str, list[dict[str, Any]]]:
    """Each baseline's candidates, best first, for one incident's alerts."""
    onset: dict[tuple[str, str], float] = {}
    counts: Counter[tuple[str, str]] = Counter()
    for t, service, resource in alerts:
        if topology.is_node(resource):
            key = ("node", str(resource))
        else:
            name = service or topology.service_of(resource)
            if not name:
                continue
            key = ("service", name)
        counts[key] += 1
        onset[key] = min(onset.get(key, t), t)
    alerting = {e for kind, e in onset if kind == "service"}
    weight = {e: 1.0 for _, e in onset}
    forward: dict[str, list[str]] = {}
    for s in alerting:
        deps = sorted(topology.callees.get(s, ()))
        for d in deps:
            weight.setdefault(d, 0.1)
        forward[s] = deps
    walk = random_walk(weight, forward)
    kind_of = {e: kind for kind, e in onset}
    walked = [(kind_of.get(e, "service"), e) for e in walk]
    orders = {
        "earliest_alert": sorted(onset, key=lambda x: (onset[x], x)),
        "most_alerts": sorted(onset, key=lambda x: (-counts[x], onset[x], x)),
        "random_walk": sorted(walked, key=lambda x: (-walk[x[1]], x)),
    }
    return {m: [{"kind": k, "entity": e} for k, e in order] for m, order in orders.items()}


def rca_scores(
    faults: list[dict[str, Any]],
    truth: dict[str, str],
    incident_of: dict[str, str],
    incidents: dict[str, dict[str, Any]],
    topology: Topology,
    ks: tuple[int, ...] = (1, 3, 5),
    alerts: Mapping[str, AlertFacts] | None = None,
) -> dict[str, Any]:
    """Accuracy of the incidents' `root_cause` lists; with `alerts` (id -> facts) also of the
    simple baselines on the same incidents (under `baselines`)."""
    alerts_of: dict[str, list[str]] = {}
    for alert_id, group in truth.items():
        alerts_of.setdefault(group, []).append(alert_id)
    hits: Counter[int] = Counter()
    base_hits: dict[str, Counter[int]] = {m: Counter() for m in BASELINES}
    detected = 0
    change_faults = change_hits = 0
    for fault in faults:
        holders = Counter(
            incident_of[a] for a in alerts_of.get(fault["id"], ()) if a in incident_of
        )
        ranked: list[dict[str, Any]] = []
        if holders:
            detected += 1
            main = incidents[holders.most_common(1)[0][0]]
            ranked = main.get("root_cause") or []
            if alerts is not None:
                facts = (alerts[a] for a in main.get("alert_ids") or () if a in alerts)
                for method, order in baseline_rankings(facts, topology).items():
                    for k in ks:
                        if any(candidate_matches(c, fault, topology) for c in order[:k]):
                            base_hits[method][k] += 1
        entities = [c for c in ranked if c["kind"] != "change"]
        for k in ks:
            if any(candidate_matches(c, fault, topology) for c in entities[:k]):
                hits[k] += 1
        if fault.get("cause_change"):
            change_faults += 1
            if any(c["entity"] == fault["cause_change"] for c in ranked[:3]):
                change_hits += 1
    n = len(faults)
    out: dict[str, Any] = {f"ac@{k}": round(hits[k] / n, 4) if n else None for k in ks}
    out["faults"] = n
    out["faults_detected"] = detected
    out["change_caused_faults"] = change_faults
    out["change_in_top3"] = round(change_hits / change_faults, 4) if change_faults else None
    if alerts is not None:
        out["baselines"] = {
            m: {f"ac@{k}": round(h[k] / n, 4) if n else None for k in ks}
            for m, h in base_hits.items()
        }
    return out
