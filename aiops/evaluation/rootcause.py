"""Root-cause accuracy: for each truth fault, is its root among the top k candidates of the
incident that holds most of its alerts? Changes are scored apart: is the causing change among
the first three entries of that incident's list?"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pipeline.topology import Topology


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


def rca_scores(
    faults: list[dict[str, Any]],
    truth: dict[str, str],
    incident_of: dict[str, str],
    incidents: dict[str, dict[str, Any]],
    topology: Topology,
    ks: tuple[int, ...] = (1, 3, 5),
) -> dict[str, Any]:
    alerts_of: dict[str, list[str]] = {}
    for alert_id, group in truth.items():
        alerts_of.setdefault(group, []).append(alert_id)
    hits = Counter()
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
    return out
