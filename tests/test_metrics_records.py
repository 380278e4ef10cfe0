"""Metric samples (the `aiops.metrics` topic shape) and the zone-less UTC time reader."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.records import MetricSample, RecordError, metric_from_dict
from pipeline.times import TimeError, parse_time_assume_utc

# 2013-07-04T00:00:00Z
T_NAB = 1372896000.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2013-07-04 00:00:00", T_NAB),
        ("2013-07-04T00:00:00", T_NAB),
        ("2013-07-04 00:00:00.000000", T_NAB),
        ("2013-07-04 02:00:00+02:00", T_NAB),  # a zone, when given, is honoured
        ("2013-07-04T00:00:00Z", T_NAB),
        ("1372896000", T_NAB),
        (T_NAB, T_NAB),
    ],
)
def test_zone_less_times_are_utc(text: Any, expected: float) -> None:
    assert parse_time_assume_utc(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2013-13-04 00:00:00", "", True])
def test_unreadable_times_are_rejected(text: Any) -> None:
    with pytest.raises(TimeError):
        parse_time_assume_utc(text)


def sample(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "time": "2026-01-05T10:00:03Z",
        "service": "checkout",
        "resource": "checkout-2",
        "metric": "disk_used_percent",
        "value": 71.5,
    }
    record.update(overrides)
    return {k: v for k, v in record.items() if v is not None}


def test_topic_shape_parses_field_by_field() -> None:
    assert metric_from_dict(sample()) == MetricSample(
        time=1767607203.0,
        metric="disk_used_percent",
        value=71.5,
        service="checkout",
        resource="checkout-2",
    )


def test_round_trip_through_the_topic_shape() -> None:
    parsed = metric_from_dict(sample(value="3"))
    assert parsed.value == 3.0
    assert metric_from_dict(parsed.to_dict()) == parsed
    assert parsed.to_dict()["time"] == "2026-01-05T10:00:03Z"


@pytest.mark.parametrize("field", ["time", "metric", "value"])
def test_required_fields(field: str) -> None:
    with pytest.raises(RecordError, match=f"missing required field '{field}'"):
        metric_from_dict(sample(**{field: None}))


def test_service_or_resource_is_required() -> None:
    assert metric_from_dict(sample(service=None)).resource == "checkout-2"
    with pytest.raises(RecordError, match="needs 'service' or 'resource'"):
        metric_from_dict(sample(service=None, resource=None))


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("NaN", "finite"),
        (float("inf"), "finite"),
        ("-Infinity", "finite"),
        ("12%", "not a number"),
        (True, "must be a number"),
        ([1.0], "must be a number"),
    ],
)
def test_value_must_be_a_finite_number(value: Any, reason: str) -> None:
    with pytest.raises(RecordError, match=reason):
        metric_from_dict(sample(value=value))


def test_not_an_object_and_wrong_types() -> None:
    with pytest.raises(RecordError, match="must be a JSON object"):
        metric_from_dict([sample()])
    with pytest.raises(RecordError, match="'metric' must be a string"):
        metric_from_dict(sample(metric=5))
    with pytest.raises(RecordError, match="has no zone"):
        metric_from_dict(sample(time="2026-01-05T10:00:03"))


def test_series_key_names_the_series() -> None:
    parsed = metric_from_dict(sample(service=None))
    assert parsed.series_key == ("", "checkout-2", "disk_used_percent")
