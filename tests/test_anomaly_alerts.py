"""Anomaly scores and saturation forecasts become canonical alerts, once per episode."""

from __future__ import annotations

import random

import pytest

from aiops.anomaly_watch import MetricWatch
from pipeline.anomaly_alerts import AnomalyAlerter
from pipeline.fingerprint import alert_label_set, label_fingerprint
from pipeline.records import Alert, MetricSample, alert_from_dict
from pipeline.times import format_time

T0 = 1_700_000_000.0


def sample(i: int, value: float, metric: str = "latency_ms") -> MetricSample:
    return MetricSample(
        time=T0 + 60.0 * i, metric=metric, value=value, service="checkout", resource="checkout-2"
    )


def run(alerter: AnomalyAlerter, scores: list[float], values: list[float] | None = None) -> list:
    out = []
    for i, score in enumerate(scores):
        value = values[i] if values is not None else 10.0
        for alert in alerter.observe(sample(i, value), score, expected=(8.0, 12.0)):
            out.append((i, alert))
    return out


def test_fires_once_per_episode_and_resolves_after_calm() -> None:
    alerter = AnomalyAlerter(fire_at=0.5, clear_at=0.2, clear_after=3)
    scores = [0.0, 0.1, 0.9, 0.7, 0.95, 0.1, 0.1, 0.3, 0.1, 0.1, 0.1, 0.0, 0.6]
    values = [10.0, 10.0, 50.0, 40.0, 60.0, 11.0, 11.0, 11.0, 11.0, 11.0, 11.0, 10.0, 30.0]
    events = run(alerter, scores, values)
    assert [(i, a.status) for i, a in events] == [(2, "firing"), (10, "resolved"), (12, "firing")]
    firing, resolved, again = (a for _, a in events)
    assert (firing.name, firing.source, firing.service, firing.resource) == (
        "MetricAnomaly",
        "aiops-anomaly",
        "checkout",
        "checkout-2",
    )
    assert firing.labels == {"metric": "latency_ms"}
    assert "latency_ms = 50 on checkout-2 outside the expected 8..12" in firing.summary
    assert "0.90" in firing.summary
    assert firing.severity == "minor"
    assert len({firing.id, resolved.id, again.id}) == 3


def test_a_shifted_level_keeps_the_alert_firing() -> None:
    alerter = AnomalyAlerter(clear_after=3)
    # the detector gets used to the new level (low scores) but the value stays outside
    events = run(alerter, [0.9] + [0.0] * 20, [50.0] * 21)
    assert [a.status for _, a in events] == ["firing"]


def test_resolve_matches_the_firing_alert_identity() -> None:
    alerter = AnomalyAlerter(clear_after=2)
    events = [a for _, a in run(alerter, [0.99, 0.0, 0.0, 0.0])]
    assert [a.status for a in events] == ["firing", "resolved"]
    fingerprints = {
        label_fingerprint(alert_label_set(a.name, a.service, a.resource, a.labels)) for a in events
    }
    assert len(fingerprints) == 1
    assert events[0].severity == "major"


def test_alerts_are_valid_canonical_records() -> None:
    alerter = AnomalyAlerter(clear_after=1)
    for _, alert in run(alerter, [0.9, 0.0]):
        record = {
            "id": alert.id,
            "time": format_time(alert.time),
            "status": alert.status,
            "name": alert.name,
            "severity": alert.severity,
            "service": alert.service,
            "resource": alert.resource,
            "summary": alert.summary,
            "source": alert.source,
            "labels": alert.labels,
        }
        assert alert_from_dict(record) == alert


def test_series_are_independent() -> None:
    alerter = AnomalyAlerter(clear_after=1)
    a = alerter.observe(sample(0, 50.0, "latency_ms"), 0.9)
    b = alerter.observe(sample(0, 50.0, "error_rate"), 0.9)
    assert [x.status for x in a + b] == ["firing", "firing"]
    assert a[0].id != b[0].id


def test_saturation_fires_with_time_left_and_severity() -> None:
    alerter = AnomalyAlerter(clear_after=2, saturation_horizon_s=6 * 3600)
    s = sample(0, 91.0, "disk_used_percent")
    (alert,) = alerter.observe(s, 0.0, time_to_limit_s=7200.0)
    assert (alert.name, alert.status, alert.severity) == ("SaturationPredicted", "firing", "major")
    assert "reaches its limit in about 2 h (now 91)" in alert.summary
    assert alerter.observe(sample(1, 92.0, "disk_used_percent"), 0.0, time_to_limit_s=1800) == []
    assert alerter.observe(sample(2, 80.0, "disk_used_percent"), 0.0) == []
    (resolved,) = alerter.observe(sample(3, 80.0, "disk_used_percent"), 0.0)
    assert resolved.status == "resolved"
    (critical,) = alerter.observe(sample(4, 99.0, "disk_used_percent"), 0.0, time_to_limit_s=600.0)
    assert critical.severity == "critical"
    assert "about 10 min" in critical.summary


def test_invalid_thresholds() -> None:
    with pytest.raises(ValueError):
        AnomalyAlerter(fire_at=0.3, clear_at=0.5)
    with pytest.raises(ValueError):
        AnomalyAlerter(clear_after=0)


def test_watch_turns_a_metric_stream_into_alerts() -> None:
    rng = random.Random(3)
    watch = MetricWatch(AnomalyAlerter(clear_after=5), limits={"disk_used_percent": 100.0})
    alerts: list[Alert] = []
    for i in range(1500):
        latency = 20.0 + rng.gauss(0, 1.0) + (60.0 if 1200 <= i < 1210 else 0.0)
        alerts += watch.observe(sample(i, latency))
        alerts += watch.observe(sample(i, 40.0 + 0.05 * i + rng.gauss(0, 0.2), "disk_used_percent"))
    anomalies = [
        a for a in alerts if a.name == "MetricAnomaly" and a.labels["metric"] == "latency_ms"
    ]
    assert [a.status for a in anomalies if a.time >= T0 + 60 * 1200][:2] == ["firing", "resolved"]
    assert anomalies[-2].time == T0 + 60 * 1200
    saturation = [a for a in alerts if a.name == "SaturationPredicted"]
    assert saturation and saturation[0].status == "firing"
    # 40 % + 3 %/h reaches 100 % after 20 h; the 6 h horizon is crossed at about 14 h
    assert T0 + 13 * 3600 < saturation[0].time < T0 + 15 * 3600
