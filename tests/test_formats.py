"""Payload detection, canonical payloads and the Alertmanager webhook v4 format.

PagerDuty and CloudEvents have their own test files; the sample builders are in
format_samples.py.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import orjson
import pytest

from connectors.formats import Parsed, detect_format, map_severity, parse_alert_payload
from pipeline.fingerprint import label_fingerprint
from pipeline.records import RecordError
from pipeline.times import parse_time
from tests.format_samples import CANONICAL, T0, am_alert, am_payload, cloudevent

DATASET = (
    Path(__file__).parents[1] / ".." / "shared" / "datasets" / "alertmanager"
).resolve() / "webhook_payloads.jsonl"


@pytest.fixture(scope="module")
def real_payloads() -> list[dict[str, Any]]:
    if not DATASET.exists():
        pytest.skip(f"real Alertmanager payloads not found at {DATASET}")
    return [orjson.loads(line) for line in DATASET.read_bytes().splitlines() if line.strip()]


def real_pairs(payloads: list[dict[str, Any]]) -> list[tuple[dict[str, Any], Any]]:
    """(raw alert, parsed alert) for every alert of every payload."""
    pairs = []
    for payload in payloads:
        parsed = parse_alert_payload(payload)
        assert len(parsed.alerts) == len(payload["alerts"])
        pairs.extend(zip(payload["alerts"], parsed.alerts, strict=True))
    return pairs


# --- Alertmanager: the real payloads ------------------------------------------------------


def test_every_real_payload_parses(real_payloads: list[dict[str, Any]]) -> None:
    assert len(real_payloads) == 50
    total = 0
    for payload in real_payloads:
        parsed = parse_alert_payload(payload)
        assert parsed.format == "alertmanager"
        assert parsed.errors == []
        total += len(parsed.alerts)
    assert total == 66


def test_real_fingerprints_kept_verbatim_and_match_labels(
    real_payloads: list[dict[str, Any]],
) -> None:
    pairs = real_pairs(real_payloads)
    assert len(pairs) == 66
    for raw, alert in pairs:
        assert alert.fingerprint == raw["fingerprint"]
        assert alert.fingerprint == label_fingerprint(alert.labels)


def test_real_statuses_and_times(real_payloads: list[dict[str, Any]]) -> None:
    pairs = real_pairs(real_payloads)
    statuses = [alert.status for _, alert in pairs]
    assert statuses.count("firing") == 33 and statuses.count("resolved") == 33
    for raw, alert in pairs:
        assert alert.status == raw["status"]
        dated_by = raw["endsAt"] if raw["status"] == "resolved" else raw["startsAt"]
        assert alert.time == parse_time(dated_by)
    # A resolve is dated by its end, which is never before its start.
    resolved = [(raw, a) for raw, a in pairs if a.status == "resolved"]
    assert all(a.time >= parse_time(raw["startsAt"]) for raw, a in resolved)
    assert any(a.time > parse_time(raw["startsAt"]) for raw, a in resolved)


def test_real_field_mapping(real_payloads: list[dict[str, Any]]) -> None:
    for raw, alert in real_pairs(real_payloads):
        labels = raw["labels"]
        assert alert.name == labels["alertname"]
        assert alert.service == labels["service"]
        assert alert.resource == labels["instance"]
        assert alert.severity == labels["severity"]  # the dataset uses canonical words
        assert alert.summary == raw["annotations"]["summary"]
        assert alert.source == "alertmanager"
        assert alert.labels == labels
        assert alert.id.startswith("am-") and len(alert.id) == 19


def test_real_ids_unique_and_deterministic(real_payloads: list[dict[str, Any]]) -> None:
    first = [alert.id for _, alert in real_pairs(real_payloads)]
    again = [alert.id for _, alert in real_pairs(copy.deepcopy(real_payloads))]
    assert first == again
    assert len(set(first)) == 66


def test_unknown_fields_tolerated_at_every_level(real_payloads: list[dict[str, Any]]) -> None:
    payload = copy.deepcopy(real_payloads[0])
    payload["notification_reason"] = "new_alerts"
    payload["routeLabels"] = {"team": "web"}
    payload["futureField"] = [1, {"x": None}]
    for alert in payload["alerts"]:
        alert["silencedBy"] = []
        alert["annotations"]["runbook_url"] = "https://runbooks.example/slo"
    parsed = parse_alert_payload(payload)
    original = parse_alert_payload(real_payloads[0])
    assert parsed.errors == []
    assert [a.fingerprint for a in parsed.alerts] == [a.fingerprint for a in original.alerts]
    assert [a.labels for a in parsed.alerts] == [a.labels for a in original.alerts]


# --- Alertmanager: made-up payloads for the edges -----------------------------------------


def test_broken_alert_in_multi_alert_payload_keeps_the_good_ones() -> None:
    good1 = am_alert(pod="checkout-7d9f-abcde", namespace="shop")
    no_name = am_alert(pod="checkout-7d9f-fghij")
    del no_name["labels"]["alertname"]
    good2 = am_alert(pod="orders-5c8b-klmno")
    no_start = am_alert(pod="orders-5c8b-pqrst")
    del no_start["startsAt"]
    not_object = "KubePodCrashLooping"
    parsed = parse_alert_payload(am_payload(good1, no_name, good2, no_start, not_object))
    assert [a.resource for a in parsed.alerts] == ["checkout-7d9f-abcde", "orders-5c8b-klmno"]
    assert [index for index, _ in parsed.errors] == [1, 3, 4]
    reasons = dict(parsed.errors)
    assert "alertname" in reasons[1]
    assert "startsAt" in reasons[3]
    assert "JSON object" in reasons[4]


@pytest.mark.parametrize("version", ["3", 4, None, "5"])
def test_other_webhook_versions_are_rejected(version: Any) -> None:
    with pytest.raises(RecordError, match="unsupported Alertmanager webhook version"):
        parse_alert_payload(am_payload(am_alert(pod="p"), version=version))


def test_missing_version_is_rejected_when_shape_is_alertmanager() -> None:
    payload = am_payload(am_alert(pod="p"))
    del payload["version"]
    assert detect_format(payload) == "alertmanager"
    with pytest.raises(RecordError, match="version None"):
        parse_alert_payload(payload)


def test_resolved_alert_is_dated_by_ends_at_and_needs_it() -> None:
    resolved = am_alert(pod="checkout-1")
    resolved.update(status="resolved", endsAt="2026-01-05T10:05:03Z")
    no_end = am_alert(pod="checkout-2")
    no_end.update(status="resolved", endsAt="")
    parsed = parse_alert_payload(am_payload(resolved, no_end))
    assert [(a.status, a.time) for a in parsed.alerts] == [("resolved", T0 + 300)]
    assert parsed.errors == [(1, "alerts[1]: resolved alert without 'endsAt'")]


def test_upstream_fingerprint_is_never_rehashed() -> None:
    raw = am_alert(pod="checkout-1")
    raw["fingerprint"] = "0123456789abcdef"  # e.g. from a fork with its own hashing
    (alert,) = parse_alert_payload(am_payload(raw)).alerts
    assert alert.fingerprint == "0123456789abcdef" != label_fingerprint(raw["labels"])


def test_missing_fingerprint_is_computed_from_labels() -> None:
    raw = am_alert(pod="checkout-1")
    del raw["fingerprint"]
    (alert,) = parse_alert_payload(am_payload(raw)).alerts
    assert alert.fingerprint == label_fingerprint(raw["labels"])
    assert alert.fingerprint is not None and len(alert.fingerprint) == 16


@pytest.mark.parametrize(
    ("labels", "service", "resource"),
    [
        ({"service": "cart", "app": "cart-app", "job": "kubernetes-pods"}, "cart", None),
        ({"app": "cart-app", "job": "kubernetes-pods"}, "cart-app", None),
        ({"job": "node-exporter", "instance": "10.0.0.5:9100"}, "node-exporter", "10.0.0.5:9100"),
        # kube-state-metrics: `instance` is the exporter, `pod`/`node` the subject
        ({"pod": "cart-6f7-x2", "instance": "10.1.2.3:8080"}, None, "cart-6f7-x2"),
        ({"node": "node-3", "instance": "10.1.2.3:8080"}, None, "node-3"),
        ({"host": "db-1", "instance": "db-1:9187"}, None, "db-1"),
        ({"resource": "vol-42", "pod": "cart-6f7-x2", "service": "cart"}, "cart", "vol-42"),
    ],
)
def test_service_and_resource_label_order(
    labels: dict[str, str], service: str | None, resource: str | None
) -> None:
    (alert,) = parse_alert_payload(am_payload(am_alert(**labels))).alerts
    assert (alert.service, alert.resource) == (service, resource)


def test_alert_without_service_or_resource_labels_is_an_error() -> None:
    parsed = parse_alert_payload(am_payload(am_alert(namespace="monitoring")))
    assert parsed.alerts == []
    assert parsed.errors == [(0, "alerts[0]: an alert needs 'service' or 'resource'")]


@pytest.mark.parametrize(
    ("annotations", "summary"),
    [
        ({"summary": "s", "description": "d", "message": "m"}, "s"),
        ({"description": "d", "message": "m"}, "d"),
        ({"message": "m"}, "m"),
        ({"runbook_url": "https://runbooks"}, ""),
    ],
)
def test_summary_from_annotations(annotations: dict[str, str], summary: str) -> None:
    raw = am_alert(pod="p")
    raw["annotations"] = annotations
    assert parse_alert_payload(am_payload(raw)).alerts[0].summary == summary


@pytest.mark.parametrize(
    ("word", "severity"),
    [
        ("critical", "critical"),
        ("page", "critical"),
        ("error", "major"),
        ("High", "major"),
        ("minor", "minor"),
        ("warning", "warning"),
        ("info", "info"),
        ("low", "info"),
        ("none", "info"),
        ("bogus", "warning"),
    ],
)
def test_alertmanager_severity_label_mapping(word: str, severity: str) -> None:
    (alert,) = parse_alert_payload(am_payload(am_alert(pod="p", severity=word))).alerts
    assert alert.severity == severity
    assert alert.labels["severity"] == word  # labels stay as they came


def test_missing_severity_label_is_warning() -> None:
    raw = am_alert(pod="p")
    del raw["labels"]["severity"]
    assert parse_alert_payload(am_payload(raw)).alerts[0].severity == "warning"
    assert map_severity(None) == map_severity(3) == "warning"


def test_changed_alertmanager_alert_gets_a_new_id() -> None:
    raw = am_alert(pod="checkout-1")
    first = parse_alert_payload(am_payload(raw)).alerts[0]
    same = parse_alert_payload(am_payload(copy.deepcopy(raw))).alerts[0]
    changed = copy.deepcopy(raw)
    changed["annotations"]["description"] = "Pod is restarting 3 times / 10 minutes."
    other = parse_alert_payload(am_payload(changed)).alerts[0]
    assert first.id == same.id
    assert other.id != first.id
    # Same labels, so still the same alert for dedup.
    assert other.fingerprint == first.fingerprint


# --- Detection and whole-payload errors ---------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "fmt"),
    [
        (cloudevent(CANONICAL), "cloudevents"),
        ({"specversion": "0.3"}, "cloudevents"),
        (am_payload(), "alertmanager"),
        ({"alerts": [], "receiver": "hook"}, "alertmanager"),
        ({"alerts": [], "groupKey": "{}:{}"}, "alertmanager"),
        ({"event_action": "resolve", "dedup_key": "k"}, "pagerduty"),
        ({"routing_key": "R01", "payload": {}}, "pagerduty"),
        (CANONICAL, "canonical"),
        ({"alerts": "not a list", "version": "4"}, "canonical"),
        ({"alerts": [], "name": "x"}, "canonical"),
        ({"routing_key": "R01"}, "canonical"),
    ],
)
def test_detect_format_by_shape(payload: dict[str, Any], fmt: str) -> None:
    assert detect_format(payload) == fmt


@pytest.mark.parametrize(
    ("payload", "kind"), [([CANONICAL], "list"), ("x", "str"), (None, "NoneType")]
)
def test_not_an_object_is_rejected(payload: Any, kind: str) -> None:
    with pytest.raises(RecordError, match=f"must be a JSON object, got {kind}"):
        detect_format(payload)
    with pytest.raises(RecordError, match=f"must be a JSON object, got {kind}"):
        parse_alert_payload(payload)


def test_unknown_shape_says_so() -> None:
    with pytest.raises(RecordError, match=r"unrecognised alert payload.*keys: event, host"):
        parse_alert_payload({"event": "disk full", "host": "db-1"})


def test_canonical_payload() -> None:
    parsed = parse_alert_payload(CANONICAL, received_at=T0)
    assert parsed == Parsed("canonical", [parsed.alerts[0]], [])
    assert (parsed.alerts[0].id, parsed.alerts[0].time) == ("a-000123", T0 + 60)


def test_canonical_errors_are_whole_payload_errors() -> None:
    with pytest.raises(RecordError, match="missing required field 'time'"):
        parse_alert_payload({**CANONICAL, "time": None}, received_at=T0)
    with pytest.raises(RecordError, match="status 'acknowledged'"):
        parse_alert_payload({**CANONICAL, "status": "acknowledged", "fingerprint": "k"})
    with pytest.raises(RecordError, match="severity 'error'"):
        parse_alert_payload({**CANONICAL, "severity": "error"})
