"""Kafka messages in and out: input messages to records (bad ones to dead letters), outputs
to (key, value) pairs, and the correlation-scope key every producer of input must use.

Parsing and validation are the same functions the file readers use
(`connectors.formats.parse_alert_payload`, `pipeline.records.change_from_dict`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from connectors.files import RAW_LIMIT
from connectors.formats import Parsed, detect_format, parse_alert_payload
from pipeline.incidents import Incident
from pipeline.outputs import Suppressed
from pipeline.records import (
    Alert,
    Change,
    MetricSample,
    RecordError,
    change_from_dict,
    metric_from_dict,
)
from pipeline.times import format_time

DEFAULT_SCOPE_LABEL = "env"


@dataclass(slots=True)
class MessageDeadLetter:
    """An input message (or one alert of it) that could not be used, and where it was."""

    topic: str
    partition: int
    offset: int
    error: str
    raw: bytes | None
    index: int | None = None  # position inside a multi-alert payload

    @property
    def key(self) -> bytes:
        """Stable per input position, so a reprocessed message replaces its dead letter."""
        suffix = "" if self.index is None else f"/{self.index}"
        return f"{self.topic}/{self.partition}/{self.offset}{suffix}".encode()

    def to_dict(self) -> dict[str, Any]:
        raw = "" if self.raw is None else self.raw[:RAW_LIMIT].decode("utf-8", "replace")
        out: dict[str, Any] = {
            "error": self.error,
            "raw": raw,
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
        }
        if self.index is not None:
            out["index"] = self.index
        return out


Decoded = Alert | Change | MetricSample | MessageDeadLetter


def load_value(value: bytes | None) -> Any:
    """A message's JSON value; RecordError (empty, invalid JSON) with the reason."""
    if value is None:
        raise RecordError("empty message (no value)")
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise RecordError(f"invalid JSON: {exc}") from None


def decode_alerts(
    topic: str, partition: int, offset: int, value: bytes | None, timestamp_ms: int | None
) -> list[Decoded]:
    """The alerts of one message in any supported format. The broker timestamp dates events
    that carry none (it is fixed per message, so a redelivery dates them the same)."""
    received_at = timestamp_ms / 1000 if timestamp_ms and timestamp_ms > 0 else None
    try:
        parsed = parse_alert_payload(load_value(value), received_at=received_at)
    except RecordError as exc:
        return [MessageDeadLetter(topic, partition, offset, str(exc), value)]
    out: list[Decoded] = list(parsed.alerts)
    for index, reason in parsed.errors:
        out.append(MessageDeadLetter(topic, partition, offset, reason, value, index))
    return out


def decode_change(topic: str, partition: int, offset: int, value: bytes | None) -> Decoded:
    try:
        return change_from_dict(load_value(value))
    except RecordError as exc:
        return MessageDeadLetter(topic, partition, offset, str(exc), value)


def decode_metric(topic: str, partition: int, offset: int, value: bytes | None) -> Decoded:
    try:
        return metric_from_dict(load_value(value))
    except RecordError as exc:
        return MessageDeadLetter(topic, partition, offset, str(exc), value)


# ---- keys ------------------------------------------------------------------------------
def scope_of(labels: Mapping[str, Any] | None, obj: Mapping[str, Any], label: str) -> str:
    """The correlation scope: the label's value, else a top-level field of that name, else ""
    (every unscoped event shares one partition, so they can still correlate)."""
    value = (labels or {}).get(label)
    if not isinstance(value, str) or not value:
        value = obj.get(label)
    return value if isinstance(value, str) else ""


def keyed_payloads(obj: Any, parsed: Parsed, label: str) -> list[tuple[bytes, Any]]:
    """One (scope key, payload) per message to produce for a validated alert payload.

    An Alertmanager webhook may carry alerts of several scopes: it is split into one payload
    per scope (same envelope, a subset of `alerts`; alert ids and fingerprints come from each
    alert alone, so they do not change). Any other payload is one message keyed by the scope
    of its (first) alert.
    """
    if parsed.format == "alertmanager" and isinstance(obj, dict):
        groups: dict[str, list[Any]] = {}
        for item in obj["alerts"]:
            labels = item.get("labels") if isinstance(item, dict) else None
            scope = scope_of(labels if isinstance(labels, dict) else None, {}, label)
            groups.setdefault(scope, []).append(item)
        if len(groups) <= 1:
            return [(next(iter(groups), "").encode(), obj)]
        return [(scope.encode(), {**obj, "alerts": items}) for scope, items in groups.items()]
    labels = parsed.alerts[0].labels if parsed.alerts else None
    envelope = obj if isinstance(obj, dict) else {}
    data = envelope.get("data") if parsed.format == "cloudevents" else None
    # A CloudEvent's scope may be a field of its data or an extension attribute.
    scope = scope_of(labels, data if isinstance(data, dict) else envelope, label)
    return [((scope or scope_of(None, envelope, label)).encode(), obj)]


def alert_messages(line: bytes, label: str) -> list[tuple[bytes, bytes]]:
    """(key, value) messages for one alert payload line, keyed by scope (the producer side).

    A canonical alert is keyed by its label without a full parse; a native payload is parsed
    to find its scopes (and split if they differ). A line that does not parse is sent as is,
    under the empty key: the service dead-letters it with the reason, nothing is dropped.
    """
    try:
        obj = orjson.loads(line)
        if detect_format(obj) == "canonical":
            labels = obj.get("labels")
            return [
                (scope_of(labels if isinstance(labels, dict) else None, obj, label).encode(), line)
            ]
        payloads = keyed_payloads(obj, parse_alert_payload(obj), label)
    except (orjson.JSONDecodeError, RecordError):
        return [(b"", line)]
    if len(payloads) == 1:
        return [(payloads[0][0], line)]
    return [(key, orjson.dumps(payload)) for key, payload in payloads]


def change_message(line: bytes, label: str) -> tuple[bytes, bytes]:
    """(key, value) for one change record (or metric sample) line: keyed by its `labels` or
    a top-level field named like the scope label (a change must name the scope of the alerts
    it may explain, a sample the scope of its service)."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        return b"", line
    if not isinstance(obj, dict):
        return b"", line
    labels = obj.get("labels")
    return scope_of(labels if isinstance(labels, dict) else None, obj, label).encode(), line


# ---- outputs ---------------------------------------------------------------------------
def incident_message(incident: Incident) -> tuple[bytes, bytes]:
    return incident.id.encode(), orjson.dumps(incident.to_dict())


def prediction_message(prediction: dict[str, Any]) -> tuple[bytes | None, bytes]:
    service = prediction.get("service")
    key = service.encode() if isinstance(service, str) else None
    return key, orjson.dumps(prediction)


def suppressed_message(s: Suppressed) -> tuple[bytes, bytes]:
    row: dict[str, Any] = {"alert_id": s.alert_id, "reason": s.reason, "time": format_time(s.time)}
    if s.candidate:
        row["candidate"] = s.candidate
    return s.alert_id.encode(), orjson.dumps(row)


def dead_letter_message(letter: MessageDeadLetter) -> tuple[bytes, bytes]:
    return letter.key, orjson.dumps(letter.to_dict())
