"""Canonical record validation (CONTRACT.md §1.1, §1.2) and the one time reader/writer."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.records import Alert, RecordError, alert_from_dict, change_from_dict
from pipeline.times import TimeError, format_time, parse_time

# 2026-01-05T10:00:03Z
T0 = 1767607203.0


def alert(**overrides: Any) -> dict[str, Any]:
    """The CONTRACT.md §1.1 example, with overrides; a value of None removes the key."""
    record: dict[str, Any] = {
        "id": "a-000123",
        "time": "2026-01-05T10:00:03Z",
        "status": "firing",
        "name": "HighLatency",
        "severity": "major",
        "service": "checkout",
        "resource": "checkout-2",
        "summary": "p99 latency 2.3s on checkout-2",
        "source": "prometheus",
        "labels": {"env": "prod", "team": "payments"},
    }
    record.update(overrides)
    return {k: v for k, v in record.items() if v is not None}


def test_contract_example_parses_field_by_field() -> None:
    assert alert_from_dict(alert()) == Alert(
        id="a-000123",
        time=T0,
        name="HighLatency",
        status="firing",
        severity="major",
        service="checkout",
        resource="checkout-2",
        summary="p99 latency 2.3s on checkout-2",
        source="prometheus",
        labels={"env": "prod", "team": "payments"},
        fingerprint=None,
    )


@pytest.mark.parametrize("field", ["id", "time", "name"])
@pytest.mark.parametrize("absent", [None, ""])
def test_each_required_field_missing_is_rejected(field: str, absent: str | None) -> None:
    record = alert()
    if absent is None:
        del record[field]
    else:
        record[field] = absent
    with pytest.raises(RecordError, match=f"missing required field '{field}'"):
        alert_from_dict(record)


def test_service_or_resource_is_enough_but_one_is_required() -> None:
    assert alert_from_dict(alert(service=None)).resource == "checkout-2"
    assert alert_from_dict(alert(resource=None)).service == "checkout"
    with pytest.raises(RecordError, match="needs 'service' or 'resource'"):
        alert_from_dict(alert(service=None, resource=None))


@pytest.mark.parametrize("value", ["not an object", ["env", "prod"], 3])
def test_labels_must_be_an_object(value: Any) -> None:
    with pytest.raises(RecordError, match="'labels' must be an object"):
        alert_from_dict(alert(labels=value))


def test_label_values_must_be_scalars_and_scalars_become_strings() -> None:
    with pytest.raises(RecordError, match="label 'env' must be a scalar"):
        alert_from_dict(alert(labels={"env": {"nested": 1}}))
    labels = alert_from_dict(alert(labels={"n": 3, "up": True, "gone": None, "r": 0.5})).labels
    assert labels == {"n": "3", "up": "true", "r": "0.5"}


@pytest.mark.parametrize(
    ("field", "value"),
    [("name", 42), ("name", ["HighLatency"]), ("service", 7), ("id", 123), ("summary", {})],
)
def test_string_fields_reject_other_types(field: str, value: Any) -> None:
    with pytest.raises(RecordError, match=f"'{field}' must be a string"):
        alert_from_dict(alert(**{field: value}))


def test_not_an_object_is_rejected() -> None:
    with pytest.raises(RecordError, match="must be a JSON object, got list"):
        alert_from_dict([alert()])


@pytest.mark.parametrize("value", ["yesterday", "2026-13-05T10:00:03Z", [2026], True])
def test_unreadable_time_is_rejected(value: Any) -> None:
    with pytest.raises(RecordError, match="time"):
        alert_from_dict(alert(time=value))


def test_naive_time_without_zone_is_rejected() -> None:
    with pytest.raises(RecordError, match="has no zone"):
        alert_from_dict(alert(time="2026-01-05T10:00:03"))


def test_epoch_milliseconds_are_out_of_range() -> None:
    with pytest.raises(RecordError, match="out of range"):
        alert_from_dict(alert(time=T0 * 1000))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1767607203, T0),
        (1767607203.25, T0 + 0.25),
        ("1767607203", T0),
        ("2026-01-05T11:00:03+01:00", T0),
        ("2026-01-05T10:00:03.500Z", T0 + 0.5),
    ],
)
def test_time_forms(value: Any, expected: float) -> None:
    assert alert_from_dict(alert(time=value)).time == expected


@pytest.mark.parametrize("status", ["FIRING", "ok", "acknowledged", "pending"])
def test_status_outside_the_set_is_rejected(status: str) -> None:
    with pytest.raises(RecordError, match=r"status .* is not one of firing, resolved"):
        alert_from_dict(alert(status=status))


@pytest.mark.parametrize("severity", ["error", "Critical", "high", "p1"])
def test_severity_outside_the_set_is_rejected(severity: str) -> None:
    with pytest.raises(RecordError, match=r"severity .* is not one of"):
        alert_from_dict(alert(severity=severity))


def test_defaults_for_status_severity_and_optional_text() -> None:
    parsed = alert_from_dict(
        alert(status=None, severity=None, summary=None, source=None, labels=None)
    )
    assert (parsed.status, parsed.severity) == ("firing", "warning")
    assert (parsed.summary, parsed.source, parsed.labels) == ("", "", {})
    assert parsed.fingerprint is None
    assert parsed.severity_rank == 1


def test_resolve_by_fingerprint_needs_no_name_or_service() -> None:
    record = {"id": "r-1", "time": T0, "status": "resolved", "fingerprint": "f1b2"}
    parsed = alert_from_dict(record)
    assert (parsed.status, parsed.name, parsed.fingerprint) == ("resolved", "", "f1b2")
    assert parsed.service is None and parsed.resource is None
    assert parsed.entity == ""


def test_resolve_without_fingerprint_still_needs_name_and_service() -> None:
    with pytest.raises(RecordError, match="missing required field 'name'"):
        alert_from_dict({"id": "r-1", "time": T0, "status": "resolved", "service": "checkout"})
    with pytest.raises(RecordError, match="needs 'service' or 'resource'"):
        alert_from_dict({"id": "r-1", "time": T0, "status": "resolved", "name": "HighLatency"})


def test_firing_with_fingerprint_still_needs_name() -> None:
    with pytest.raises(RecordError, match="missing required field 'name'"):
        alert_from_dict(alert(name=None, fingerprint="f1b2"))


def test_acknowledged_only_from_native_parsers() -> None:
    record = {"id": "pd-1", "time": T0, "status": "acknowledged", "fingerprint": "srv01/disk"}
    with pytest.raises(RecordError, match="status 'acknowledged'"):
        alert_from_dict(record)
    parsed = alert_from_dict(record, native=True)
    assert (parsed.status, parsed.fingerprint, parsed.name) == ("acknowledged", "srv01/disk", "")


def test_acknowledged_without_fingerprint_needs_name() -> None:
    record = {"id": "pd-1", "time": T0, "status": "acknowledged", "service": "checkout"}
    with pytest.raises(RecordError, match="missing required field 'name'"):
        alert_from_dict(record, native=True)


def test_time_optional_only_when_asked() -> None:
    with pytest.raises(RecordError, match="missing required field 'time'"):
        alert_from_dict(alert(time=None))
    assert alert_from_dict(alert(time=None), time_optional=True).time is None
    # An unreadable time is still an error when time is optional.
    with pytest.raises(RecordError, match="unreadable time"):
        alert_from_dict(alert(time="soon"), time_optional=True)


def test_entity_prefers_resource() -> None:
    assert alert_from_dict(alert()).entity == "checkout-2"
    assert alert_from_dict(alert(resource=None)).entity == "checkout"


def test_change_record() -> None:
    change = change_from_dict(
        {
            "id": "CHG0042",
            "time": "2026-01-05T09:52:00Z",
            "service": "payments",
            "resource": "payments-1",
            "type": "deploy",
            "summary": "payments v2.14.0",
        }
    )
    assert (change.time, change.type, change.service) == (T0 - 483, "deploy", "payments")
    assert change_from_dict({"id": "c", "time": T0, "resource": "db-1"}).type == "change"
    with pytest.raises(RecordError, match="needs 'service' or 'resource'"):
        change_from_dict({"id": "c", "time": T0})
    with pytest.raises(RecordError, match="missing required field 'time'"):
        change_from_dict({"id": "c", "service": "payments"})


@pytest.mark.parametrize(
    ("ts", "text"),
    [
        (T0, "2026-01-05T10:00:03Z"),
        (T0 + 0.25, "2026-01-05T10:00:03.250Z"),
        (0.5, "1970-01-01T00:00:00.500Z"),
        (None, None),
    ],
)
def test_format_time(ts: float | None, text: str | None) -> None:
    assert format_time(ts) == text


def test_format_time_round_trips_through_parse_time() -> None:
    for ts in (T0, T0 + 0.125, 1_000_000_000.0):
        text = format_time(ts)
        assert text is not None and text.endswith("Z")
        assert parse_time(text) == ts


def test_parse_time_reasons() -> None:
    with pytest.raises(TimeError, match="epoch seconds, not False"):
        parse_time(False)
    with pytest.raises(TimeError, match="not NoneType"):
        parse_time(None)
    with pytest.raises(TimeError, match="out of range"):
        parse_time(-5)
