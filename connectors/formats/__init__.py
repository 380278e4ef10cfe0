"""Native alert formats, recognised by shape and turned into canonical alerts.

One JSON payload (a file line, a Kafka message or an HTTP body) becomes a `Parsed`: its format,
the usable alerts in payload order, and an error per unusable part. Every alert is built as a
canonical dict and validated by `pipeline.records.alert_from_dict`, the one validation path.

Shapes, checked in this order: CloudEvents 1.0 structured JSON has `specversion`; an
Alertmanager webhook has an `alerts` list and `version`, `groupKey` or `receiver`; a PagerDuty
Events v2 event has `event_action` (or `routing_key` and `payload`); anything else must be a
canonical alert (CONTRACT.md §1.1).
"""

from __future__ import annotations

from typing import Any, cast

from connectors.formats import alertmanager, cloudevents, pagerduty
from connectors.formats.common import Parsed, map_severity
from pipeline.records import Alert, RecordError, alert_from_dict

__all__ = ["Parsed", "canonical_alert", "detect_format", "map_severity", "parse_alert_payload"]

_CANONICAL_KEYS = ("id", "time", "name", "service", "resource")


def detect_format(obj: object) -> str:
    """The payload's format by shape: cloudevents, alertmanager, pagerduty or canonical."""
    if not isinstance(obj, dict):
        raise RecordError(f"an alert payload must be a JSON object, got {type(obj).__name__}")
    if cloudevents.is_cloudevent(obj):
        return "cloudevents"
    if alertmanager.is_alertmanager(obj):
        return "alertmanager"
    if pagerduty.is_pagerduty(obj):
        return "pagerduty"
    return "canonical"


def canonical_alert(obj: object) -> Alert | None:
    """The alert of a payload that can only be canonical (none of the keys that mark a native
    format), as `parse_alert_payload` would give it; None for every other payload. The fast
    path for most input: no `Parsed` and no format probing."""
    if (
        type(obj) is not dict
        or "specversion" in obj
        or "alerts" in obj
        or "event_action" in obj
        or "routing_key" in obj
    ):
        return None
    return _canonical(obj)


def parse_alert_payload(obj: object, *, received_at: float | None = None) -> Parsed:
    """The alerts of one decoded JSON payload.

    `received_at` (epoch seconds) dates events that carry no timestamp of their own (a
    PagerDuty event without `payload.timestamp`); without it they keep `time=None` and the
    engine dates them. Raises `RecordError` when the payload as a whole is unusable; problems
    with single alerts of a multi-alert payload are in `Parsed.errors`.
    """
    alert = canonical_alert(obj)
    if alert is not None:
        return Parsed("canonical", [alert])
    fmt = detect_format(obj)
    payload = cast(dict[str, Any], obj)  # detect_format rejects everything else
    if fmt != "cloudevents":
        return _parse_as(fmt, payload, received_at)
    envelope = cloudevents.unwrap(payload)
    data = envelope.data
    inner = detect_format(data) if isinstance(data, dict) else None
    if inner is None:
        raise RecordError(f"CloudEvent data must be a JSON object, got {type(data).__name__}")
    if inner == "cloudevents":
        raise RecordError("CloudEvent data is itself a CloudEvent; nesting is not supported")
    if inner == "canonical":
        data = envelope.complete_canonical(data)
    dated_by = envelope.time if envelope.time is not None else received_at
    parsed = _parse_as(inner, data, dated_by)
    envelope.fill_sources(parsed.alerts)
    return Parsed("cloudevents", parsed.alerts, parsed.errors)


def _parse_as(fmt: str, obj: dict[str, Any], received_at: float | None) -> Parsed:
    if fmt == "alertmanager":
        return alertmanager.parse(obj)
    if fmt == "pagerduty":
        return pagerduty.parse(obj, received_at=received_at)
    return Parsed("canonical", [_canonical(obj)])


def _canonical(obj: dict[str, Any]) -> Alert:
    try:
        return alert_from_dict(obj)
    except RecordError as exc:
        if any(key in obj for key in _CANONICAL_KEYS):
            raise
        keys = ", ".join(sorted(obj)[:8]) or "none"
        raise RecordError(
            "unrecognised alert payload: not a canonical alert, an Alertmanager webhook, "
            f"a PagerDuty event or a CloudEvent (keys: {keys}; {exc})"
        ) from None
