"""Realistic payloads of each format for the format tests, built with overrides."""

from __future__ import annotations

from typing import Any

T0 = 1767607203.0  # 2026-01-05T10:00:03Z


def am_alert(**labels: str) -> dict[str, Any]:
    return {
        "status": "firing",
        "labels": {"alertname": "KubePodCrashLooping", "severity": "warning", **labels},
        "annotations": {"description": "Pod is restarting 1.2 times / 10 minutes."},
        "startsAt": "2026-01-05T10:00:03Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=...",
        "fingerprint": "",
    }


def am_payload(*alerts: dict[str, Any], version: Any = "4") -> dict[str, Any]:
    return {
        "receiver": "aiops",
        "status": "firing",
        "alerts": list(alerts),
        "groupLabels": {"alertname": "KubePodCrashLooping"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": version,
        "groupKey": '{}:{alertname="KubePodCrashLooping"}',
        "truncatedAlerts": 0,
    }


def pd_trigger(**payload: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "summary": "Disk /var at 97% on pg-main-2",
        "source": "pg-main-2.db.example.net",
        "severity": "error",
        "timestamp": "2026-01-05T10:00:03.000+00:00",
        "component": "postgres",
        "group": "orders-db",
        "class": "disk_full",
        "custom_details": {
            "free space": "3%",
            "mount": "/var",
            "threshold": 95,
            "ratio": 0.97,
            "paged": True,
            "history": [91, 94, 97],
            "host": {"dc": "eu-1"},
        },
    }
    body.update(payload)
    body = {k: v for k, v in body.items() if v is not None}
    return {
        "routing_key": "R0123456789abcdef0123456789abcde",
        "event_action": "trigger",
        "dedup_key": "pg-main-2/disk/var",
        "payload": body,
        "client": "Zabbix",
        "links": [{"href": "https://zabbix.example/tr/42", "text": "trigger"}],
    }


def cloudevent(data: Any = None, **attributes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": "7c1e5b7a-2f0d-4f59-9a0b-5d4a3c2b1a00",
        "source": "//monitoring.example/eu-1",
        "type": "com.example.alert",
        "time": "2026-01-05T10:00:03Z",
        "datacontenttype": "application/json",
        "data": data,
    }
    event.update(attributes)
    return {k: v for k, v in event.items() if v is not None}


CANONICAL = {
    "id": "a-000123",
    "time": "2026-01-05T10:01:03Z",
    "name": "HighLatency",
    "severity": "major",
    "service": "checkout",
    "resource": "checkout-2",
    "summary": "p99 latency 2.3s on checkout-2",
    "source": "prometheus",
}
