"""Prometheus Alertmanager webhook payloads (version 4): one Alert per element of `alerts`.

The labels are the alert's identity and pass through unchanged; Alertmanager's own
`fingerprint` is kept verbatim (see pipeline/fingerprint.py). Unknown fields at any level
(`notification_reason`, `routeLabels`, ...) are ignored.
"""

from __future__ import annotations

from typing import Any

from connectors.formats.common import Parsed, content_id, first_str, map_severity
from pipeline.fingerprint import label_fingerprint
from pipeline.records import Alert, RecordError, alert_from_dict

# Which label names the service and the resource, most specific first. `pod` and `node` come
# before `instance` because on Kubernetes `instance` is often the exporter's address
# (kube-state-metrics) rather than the thing the alert is about; `job` is a scrape job name,
# the weakest hint of a service.
SERVICE_LABELS = ("service", "app", "app_kubernetes_io_name", "job")
RESOURCE_LABELS = ("resource", "pod", "node", "host", "instance")
SUMMARY_ANNOTATIONS = ("summary", "description", "message")


def is_alertmanager(obj: dict[str, Any]) -> bool:
    return isinstance(obj.get("alerts"), list) and any(
        key in obj for key in ("version", "groupKey", "receiver")
    )


def parse(payload: dict[str, Any]) -> Parsed:
    """Every alert of a webhook payload; a broken alert becomes an error, not a lost payload."""
    version = payload.get("version")
    if version != "4":
        raise RecordError(
            f'unsupported Alertmanager webhook version {version!r} (only "4" is understood)'
        )
    result = Parsed("alertmanager")
    for index, item in enumerate(payload["alerts"]):
        try:
            result.alerts.append(_alert(item, payload.get("status")))
        except RecordError as exc:
            result.errors.append((index, f"alerts[{index}]: {exc}"))
    return result


def _alert(item: Any, payload_status: Any) -> Alert:
    if not isinstance(item, dict):
        raise RecordError(f"an alert must be a JSON object, got {type(item).__name__}")
    labels = item.get("labels")
    if not isinstance(labels, dict):
        raise RecordError("alert without a 'labels' object")
    annotations = item.get("annotations")
    if not isinstance(annotations, dict):
        annotations = {}
    # Alertmanager always sets the alert's own status; the payload's is a fallback.
    status = item.get("status") or payload_status
    if not item.get("startsAt"):
        raise RecordError("alert without 'startsAt'")
    if status == "resolved":
        if not item.get("endsAt"):
            raise RecordError("resolved alert without 'endsAt'")
        time = item["endsAt"]
    else:
        time = item["startsAt"]
    name = labels.get("alertname")
    if not name:
        raise RecordError("alert without the 'alertname' label")
    fingerprint = item.get("fingerprint") or None
    alert = alert_from_dict(
        {
            "id": content_id("am-", item),
            "time": time,
            "status": status,
            "name": name,
            "severity": map_severity(labels.get("severity")),
            "service": first_str(labels, SERVICE_LABELS),
            "resource": first_str(labels, RESOURCE_LABELS),
            "summary": first_str(annotations, SUMMARY_ANNOTATIONS) or "",
            "source": "alertmanager",
            "labels": labels,
            "fingerprint": fingerprint,
        }
    )
    if alert.fingerprint is None:
        alert.fingerprint = label_fingerprint(alert.labels)
    return alert
