"""Scores of an alert grouping against ground truth, and the naive groupings to beat.

Every alert event counts. An alert in no incident (suppressed) is a group of its own; so is
every noise alert in the truth (it belongs to no problem). Pairwise precision/recall are over
pairs of alert events that share a group (scikit-learn's pair confusion matrix); the adjusted
Rand index corrects for chance.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sklearn.metrics import adjusted_rand_score
from sklearn.metrics.cluster import pair_confusion_matrix


@dataclass(frozen=True, slots=True)
class Event:
    """What a naive baseline may look at: id, time, and the service (or resource)."""

    id: str
    time: float
    key: str


def grouping_scores(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """Pairwise precision/recall/F1 and ARI of two labelings of the same items."""
    (_tn, fp), (fn, tp) = pair_confusion_matrix(list(truth), list(predicted))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    groups = len(set(predicted))
    return {
        "pairwise_precision": round(float(precision), 4),
        "pairwise_recall": round(float(recall), 4),
        "pairwise_f1": round(float(f1), 4),
        "ari": round(float(adjusted_rand_score(list(truth), list(predicted))), 4),
        "groups": groups,
        "noise_reduction": round(1 - groups / len(predicted), 4) if predicted else 0.0,
    }


def by_service_window(events: Iterable[Event], window_s: float) -> dict[str, str]:
    """Baseline: one group per service, restarted when an alert comes window_s after the
    group's first alert."""
    groups: dict[str, str] = {}
    current: dict[str, tuple[str, float]] = {}
    for e in sorted(events, key=lambda e: (e.time, e.id)):
        group = current.get(e.key)
        if group is None or e.time - group[1] > window_s:
            group = (f"{e.key}@{e.time}", e.time)
            current[e.key] = group
        groups[e.id] = group[0]
    return groups


def by_time_gap(events: Iterable[Event], gap_s: float) -> dict[str, str]:
    """Baseline: alerts in time order; a silence longer than gap_s starts a new group."""
    groups: dict[str, str] = {}
    label, last = "", float("-inf")
    for e in sorted(events, key=lambda e: (e.time, e.id)):
        if e.time - last > gap_s:
            label = f"gap@{e.time}"
        last = e.time
        groups[e.id] = label
    return groups


BASELINE_WINDOWS_S = (300, 900, 1800, 3600)
BASELINE_GAPS_S = (30, 60, 120, 300, 600)


def baselines(events: list[Event], truth: dict[str, str]) -> dict[str, dict[str, float]]:
    """Each naive baseline at the parameter that suits it best on this scenario (so the
    comparison is against its strongest form)."""
    ids = [e.id for e in events]
    truth_labels = [truth[i] for i in ids]
    out: dict[str, dict[str, float]] = {}
    for name, fn, params in (
        ("service_window", by_service_window, BASELINE_WINDOWS_S),
        ("time_gap", by_time_gap, BASELINE_GAPS_S),
    ):
        best: dict[str, float] | None = None
        for param in params:
            groups = fn(events, param)
            scores = grouping_scores(truth_labels, [groups[i] for i in ids])
            scores["param_s"] = param
            if best is None or scores["pairwise_f1"] > best["pairwise_f1"]:
                best = scores
        assert best is not None
        out[name] = best
    return out
