"""Outage forewarning against ground truth.

A predictable outage (a fault whose precursors the scenario emitted) is warned when a
prediction names its root (service, or node for a node fault) in the horizon before it
starts; its lead is how long before. A prediction is a false alarm when no fault starts on
the entity it names within its horizon.
"""

from __future__ import annotations

import statistics
from typing import Any

from pipeline.times import parse_time


def _entity(fault: dict[str, Any]) -> str | None:
    return fault["root"] if fault["kind"] == "node" else fault.get("root_service")


def _by_entity(predictions: list[dict[str, Any]]) -> dict[str, list[tuple[float, dict[str, Any]]]]:
    by_entity: dict[str, list[tuple[float, dict[str, Any]]]] = {}
    for p in predictions:
        by_entity.setdefault(p["service"], []).append((parse_time(p["time"]), p))
    return by_entity


def warning_leads(
    faults: list[dict[str, Any]], predictions: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], float | None]]:
    """Each predictable fault with its lead in seconds (None when it was not warned)."""
    by_entity = _by_entity(predictions)
    out: list[tuple[dict[str, Any], float | None]] = []
    for f in faults:
        if not f.get("predictable"):
            continue
        entity, start = _entity(f), parse_time(f["start"])
        times = [
            t
            for t, p in by_entity.get(entity or "", [])
            if start - float(p["horizon_s"]) <= t < start
        ]
        out.append((f, start - min(times) if times else None))
    return out


def prediction_scores(
    faults: list[dict[str, Any]], predictions: list[dict[str, Any]], hours: float
) -> dict[str, Any]:
    by_entity = _by_entity(predictions)
    starts: dict[str, list[float]] = {}
    for f in faults:
        entity = _entity(f)
        if entity:
            starts.setdefault(entity, []).append(parse_time(f["start"]))
    outcomes = warning_leads(faults, predictions)
    predictable = [f for f, _ in outcomes]
    leads = [lead for _, lead in outcomes if lead is not None]
    false_alarms = 0
    for entity, items in by_entity.items():
        for t, p in items:
            horizon = float(p["horizon_s"])
            if not any(t < s <= t + horizon for s in starts.get(entity, ())):
                false_alarms += 1
    days = max(hours / 24, 1e-9)
    return {
        "predictable_outages": len(predictable),
        "warned": len(leads),
        "warned_share": round(len(leads) / len(predictable), 4) if predictable else None,
        "median_lead_min": round(statistics.median(leads) / 60, 1) if leads else None,
        "predictions": len(predictions),
        "false_alarms": false_alarms,
        "false_alarms_per_day": round(false_alarms / days, 2),
    }
