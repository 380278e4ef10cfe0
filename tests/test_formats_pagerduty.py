"""PagerDuty Events API v2 payloads."""

from __future__ import annotations

import pytest

from connectors.formats import detect_format, parse_alert_payload
from pipeline.records import RecordError
from tests.format_samples import T0, pd_trigger


def test_pagerduty_full_trigger() -> None:
    parsed = parse_alert_payload(pd_trigger())
    assert (parsed.format, parsed.errors) == ("pagerduty", [])
    (alert,) = parsed.alerts
    assert alert.status == "firing"
    assert alert.name == "disk_full"
    assert alert.severity == "major"
    assert alert.service == "postgres"
    assert alert.resource == "pg-main-2.db.example.net"
    assert alert.summary == "Disk /var at 97% on pg-main-2"
    assert alert.time == T0
    assert alert.source == "pagerduty"
    assert alert.fingerprint == "pg-main-2/disk/var"
    assert alert.id.startswith("pd-") and len(alert.id) == 19
    assert alert.labels == {
        "component": "postgres",
        "group": "orders-db",
        "class": "disk_full",
        "details.free space": "3%",
        "details.mount": "/var",
        "details.threshold": "95",
        "details.ratio": "0.97",
        "details.paged": "true",
    }


def test_pagerduty_trigger_fallbacks_name_and_service() -> None:
    (alert,) = parse_alert_payload(pd_trigger(**{"class": None, "component": None})).alerts
    assert alert.name == "Disk /var at 97% on pg-main-2"
    assert alert.service == "orders-db"
    assert "class" not in alert.labels and "component" not in alert.labels


def test_pagerduty_trigger_without_dedup_key_has_no_fingerprint() -> None:
    event = pd_trigger()
    del event["dedup_key"]
    assert parse_alert_payload(event).alerts[0].fingerprint is None


@pytest.mark.parametrize(
    ("pd", "severity"),
    [("critical", "critical"), ("error", "major"), ("warning", "warning"), ("info", "info")],
)
def test_pagerduty_severity_mapping(pd: str, severity: str) -> None:
    assert parse_alert_payload(pd_trigger(severity=pd)).alerts[0].severity == severity


def test_pagerduty_trigger_without_timestamp() -> None:
    event = pd_trigger(timestamp=None)
    assert parse_alert_payload(event).alerts[0].time is None
    assert parse_alert_payload(event, received_at=T0 + 7).alerts[0].time == T0 + 7
    # An own timestamp wins over the arrival time.
    assert parse_alert_payload(pd_trigger(), received_at=T0 + 7).alerts[0].time == T0


@pytest.mark.parametrize(
    ("action", "status"), [("resolve", "resolved"), ("acknowledge", "acknowledged")]
)
def test_pagerduty_resolve_and_acknowledge_by_dedup_key(action: str, status: str) -> None:
    event = {
        "routing_key": "R0123456789abcdef0123456789abcde",
        "event_action": action,
        "dedup_key": "pg-main-2/disk/var",
    }
    (alert,) = parse_alert_payload(event, received_at=T0).alerts
    assert (alert.status, alert.fingerprint, alert.time) == (status, "pg-main-2/disk/var", T0)
    assert (alert.name, alert.service, alert.resource) == ("", None, None)
    assert alert.source == "pagerduty"
    assert parse_alert_payload(event).alerts[0].time is None
    # The same trigger's key lines up with it.
    assert alert.fingerprint == parse_alert_payload(pd_trigger()).alerts[0].fingerprint


@pytest.mark.parametrize("action", ["resolve", "acknowledge"])
def test_pagerduty_resolve_without_dedup_key_is_an_error(action: str) -> None:
    with pytest.raises(RecordError, match=f"PagerDuty {action} without 'dedup_key'"):
        parse_alert_payload({"routing_key": "R01", "event_action": action}, received_at=T0)


def test_pagerduty_bad_events() -> None:
    with pytest.raises(RecordError, match="event_action 'escalate'"):
        parse_alert_payload({**pd_trigger(), "event_action": "escalate"})
    no_action = pd_trigger()
    del no_action["event_action"]
    assert detect_format(no_action) == "pagerduty"
    with pytest.raises(RecordError, match="event_action None"):
        parse_alert_payload(no_action)
    with pytest.raises(RecordError, match="without a 'payload' object"):
        parse_alert_payload({"event_action": "trigger", "dedup_key": "k"})
    with pytest.raises(RecordError, match=r"without 'payload\.summary'"):
        parse_alert_payload(pd_trigger(summary=None, **{"class": None}))
    with pytest.raises(RecordError, match=r"without 'payload\.source'"):
        parse_alert_payload(pd_trigger(source=None, component=None, group=None))
    with pytest.raises(RecordError, match="unreadable time"):
        parse_alert_payload(pd_trigger(timestamp="yesterday"))


def test_pagerduty_ids_deterministic() -> None:
    first = parse_alert_payload(pd_trigger()).alerts[0].id
    assert parse_alert_payload(pd_trigger()).alerts[0].id == first
    assert parse_alert_payload(pd_trigger(summary="Disk /var at 98%")).alerts[0].id != first
    resolve = {"event_action": "resolve", "dedup_key": "pg-main-2/disk/var"}
    assert parse_alert_payload(resolve).alerts[0].id not in (first, "")
