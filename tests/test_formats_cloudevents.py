"""CloudEvents 1.0 structured JSON around the other formats."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from connectors.formats import parse_alert_payload
from pipeline.records import RecordError
from tests.format_samples import CANONICAL, T0, am_alert, am_payload, cloudevent, pd_trigger


def test_cloudevent_with_canonical_data_keeps_its_own_fields() -> None:
    parsed = parse_alert_payload(cloudevent(CANONICAL))
    assert parsed.format == "cloudevents"
    (alert,) = parsed.alerts
    assert (alert.id, alert.time, alert.source) == ("a-000123", T0 + 60, "prometheus")


def test_cloudevent_completes_canonical_data() -> None:
    data = {k: v for k, v in CANONICAL.items() if k not in ("id", "time", "source")}
    (alert,) = parse_alert_payload(cloudevent(data), received_at=T0 + 99).alerts
    assert alert.id == "7c1e5b7a-2f0d-4f59-9a0b-5d4a3c2b1a00"
    assert alert.time == T0
    assert alert.source == "//monitoring.example/eu-1"
    # Without a CloudEvent time, canonical data still needs its own.
    with pytest.raises(RecordError, match="missing required field 'time'"):
        parse_alert_payload(cloudevent(data, time=None), received_at=T0)


def test_cloudevent_with_alertmanager_data() -> None:
    broken = am_alert(pod="p2")
    del broken["labels"]["alertname"]
    payload = am_payload(am_alert(pod="p1"), broken)
    parsed = parse_alert_payload(cloudevent(payload, datacontenttype="application/json"))
    assert parsed.format == "cloudevents"
    assert [(a.resource, a.source) for a in parsed.alerts] == [("p1", "alertmanager")]
    assert [index for index, _ in parsed.errors] == [1]
    assert parsed.alerts[0].id == parse_alert_payload(payload).alerts[0].id


def test_cloudevent_with_pagerduty_data_dated_by_the_event() -> None:
    event = cloudevent(pd_trigger(timestamp=None))
    (alert,) = parse_alert_payload(event, received_at=T0 + 500).alerts
    assert (alert.time, alert.source, alert.fingerprint) == (T0, "pagerduty", "pg-main-2/disk/var")
    (undated,) = parse_alert_payload(cloudevent(pd_trigger(timestamp=None), time=None)).alerts
    assert undated.time is None
    resolve = {"event_action": "resolve", "dedup_key": "pg-main-2/disk/var"}
    assert parse_alert_payload(cloudevent(resolve)).alerts[0].time == T0


def test_cloudevent_data_base64() -> None:
    payload = am_payload(am_alert(pod="p1"))
    encoded = base64.b64encode(orjson.dumps(payload)).decode()
    event = cloudevent(None, data_base64=encoded, datacontenttype="application/json")
    parsed = parse_alert_payload(event)
    assert [a.resource for a in parsed.alerts] == ["p1"]
    assert parsed.alerts[0].id == parse_alert_payload(payload).alerts[0].id


@pytest.mark.parametrize(
    ("encoded", "reason"),
    [
        ("not base64!", "does not hold base64-encoded JSON"),
        (base64.b64encode(b"<alert/>").decode(), "does not hold base64-encoded JSON"),
        (42, "data_base64 must be a string"),
    ],
)
def test_cloudevent_bad_data_base64(encoded: Any, reason: str) -> None:
    with pytest.raises(RecordError, match=reason):
        parse_alert_payload(cloudevent(None, data_base64=encoded))


@pytest.mark.parametrize("version", ["0.3", 1.0, "1"])
def test_cloudevent_wrong_specversion(version: Any) -> None:
    with pytest.raises(RecordError, match="unsupported CloudEvents specversion"):
        parse_alert_payload(cloudevent(CANONICAL, specversion=version))


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/avro"])
def test_cloudevent_non_json_content_type(content_type: str) -> None:
    with pytest.raises(RecordError, match="is not JSON"):
        parse_alert_payload(cloudevent(CANONICAL, datacontenttype=content_type))


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-8", "application/cloudevents+json", "Application/JSON", None],
)
def test_cloudevent_json_content_types(content_type: str | None) -> None:
    parsed = parse_alert_payload(cloudevent(CANONICAL, datacontenttype=content_type))
    assert parsed.alerts[0].id == "a-000123"


def test_cloudevent_unusable_envelopes() -> None:
    with pytest.raises(RecordError, match="without 'data'"):
        parse_alert_payload(cloudevent(None))
    with pytest.raises(RecordError, match="both 'data' and 'data_base64'"):
        parse_alert_payload(cloudevent(CANONICAL, data_base64="e30="))
    with pytest.raises(RecordError, match="data must be a JSON object, got str"):
        parse_alert_payload(cloudevent(orjson.dumps(CANONICAL).decode()))
    with pytest.raises(RecordError, match="nesting is not supported"):
        parse_alert_payload(cloudevent(cloudevent(CANONICAL)))
    with pytest.raises(RecordError, match="CloudEvent time: unreadable time"):
        parse_alert_payload(cloudevent(CANONICAL, time="noon"))
