"""PagerDuty Events API v2: one event (trigger, acknowledge or resolve) per payload.

`dedup_key` is PagerDuty's alert identity and becomes the fingerprint verbatim. A trigger
without one gets no fingerprint and the dedup stage computes its own.

Labels of a trigger: the payload's `component`, `group` and `class` under those names, and each
scalar entry of `custom_details` as `details.<key>` (the dot keeps them apart from those three
and from Prometheus-style label names, which never contain one). Nested details are left out:
labels are flat strings.

Acknowledge and resolve carry only `routing_key`, `dedup_key` and `event_action`; they become
alerts identified by the fingerprint alone, dated by `received_at` (or left for the engine's
clock).
"""

from __future__ import annotations

from typing import Any

from connectors.formats.common import Parsed, content_id, map_severity
from pipeline.records import Alert, RecordError, alert_from_dict

STATUS_BY_ACTION = {"trigger": "firing", "acknowledge": "acknowledged", "resolve": "resolved"}
_LABEL_FIELDS = ("component", "group", "class")
DETAILS_PREFIX = "details."


def is_pagerduty(obj: dict[str, Any]) -> bool:
    return "event_action" in obj or ("routing_key" in obj and "payload" in obj)


def parse(event: dict[str, Any], *, received_at: float | None = None) -> Parsed:
    """The one alert of an event; anything wrong with it makes the whole payload unusable."""
    action = event.get("event_action")
    if action not in STATUS_BY_ACTION:
        raise RecordError(
            f"PagerDuty event_action {action!r} is not one of {', '.join(STATUS_BY_ACTION)}"
        )
    if action == "trigger":
        alert = _trigger(event, received_at)
    else:
        if not event.get("dedup_key"):
            raise RecordError(f"PagerDuty {action} without 'dedup_key'")
        alert = alert_from_dict(
            {
                "id": content_id("pd-", event),
                "time": received_at,
                "status": STATUS_BY_ACTION[action],
                "source": "pagerduty",
                "fingerprint": event["dedup_key"],
            },
            time_optional=True,
            native=True,
        )
    return Parsed("pagerduty", [alert])


def _trigger(event: dict[str, Any], received_at: float | None) -> Alert:
    payload = event.get("payload")
    if not isinstance(payload, dict):
        raise RecordError("PagerDuty trigger without a 'payload' object")
    summary = payload.get("summary")
    if not summary and not payload.get("class"):
        raise RecordError("PagerDuty trigger without 'payload.summary'")
    if not any(payload.get(key) for key in ("source", "component", "group")):
        raise RecordError("PagerDuty trigger without 'payload.source'")
    timestamp = payload.get("timestamp")
    return alert_from_dict(
        {
            "id": content_id("pd-", event),
            "time": timestamp if timestamp not in (None, "") else received_at,
            "status": "firing",
            "name": payload.get("class") or summary,
            "severity": map_severity(payload.get("severity")),
            "service": payload.get("component") or payload.get("group"),
            "resource": payload.get("source"),
            "summary": summary,
            "source": "pagerduty",
            "labels": _labels(payload),
            "fingerprint": event.get("dedup_key"),
        },
        time_optional=True,
        native=True,
    )


def _labels(payload: dict[str, Any]) -> dict[str, Any]:
    labels: dict[str, Any] = {}
    details = payload.get("custom_details")
    if isinstance(details, dict):
        for key, value in details.items():
            if isinstance(value, str | int | float | bool):
                labels[DETAILS_PREFIX + key] = value
    for key in _LABEL_FIELDS:
        if payload.get(key) not in (None, ""):
            labels[key] = payload[key]
    return labels
