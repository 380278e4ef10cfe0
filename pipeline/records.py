"""Canonical input records and their validation (CONTRACT.md §1, and metric samples of §3).

Every connector, whatever format it reads, ends in these constructors, so a record is checked
in exactly one place. A record that fails raises `RecordError` with a reason fit for a dead
letter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from mypy_extensions import mypyc_attr

from pipeline.times import TimeError, format_time, parse_time

SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "minor": 2, "major": 3, "critical": 4}
SEVERITIES = tuple(SEVERITY_RANK)
STATUSES = ("firing", "resolved")
# Statuses only native parsers may produce (PagerDuty's acknowledge); canonical input keeps to
# STATUSES. Like a resolve, an acknowledge names its alert by fingerprint alone.
NATIVE_STATUSES = (*STATUSES, "acknowledged")
_KEYED_STATUSES = ("resolved", "acknowledged")


class RecordError(ValueError):
    """A record that cannot be used; the message is the dead letter's reason."""


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class Alert:
    """One alert event: a firing, a resolve or (native input only) an acknowledge of one alert.

    `fingerprint` is the upstream identity when the source has one (Alertmanager's
    `fingerprint`, PagerDuty's `dedup_key`); otherwise the dedup stage computes it.
    `time` is None only for native events that carry no timestamp (e.g. a PagerDuty resolve):
    the engine dates them by its clock.
    """

    id: str
    time: float | None
    name: str
    status: str = "firing"
    severity: str = "warning"
    service: str | None = None
    resource: str | None = None
    summary: str = ""
    source: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    fingerprint: str | None = None

    @property
    def severity_rank(self) -> int:
        return SEVERITY_RANK[self.severity]

    @property
    def entity(self) -> str:
        """The most specific thing the alert is about."""
        return self.resource or self.service or ""


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class Change:
    """A change record: deploy, config push, infrastructure work (CONTRACT.md §1.2)."""

    id: str
    time: float
    service: str | None = None
    resource: str | None = None
    type: str = "change"
    summary: str = ""


def _opt_str(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RecordError(f"'{key}' must be a string, got {type(value).__name__}")
    return value


def _req_str(record: dict[str, Any], key: str) -> str:
    value = _opt_str(record, key)
    if value is None:
        raise RecordError(f"missing required field '{key}'")
    return value


def _labels(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(f"'labels' must be an object, got {type(value).__name__}")
    for v in value.values():  # a plain loop: the common all-strings case is hot
        if type(v) is not str:
            break
    else:
        return value
    out: dict[str, str] = {}
    for key, item in value.items():
        if isinstance(item, str):
            out[key] = item
        elif isinstance(item, bool | int | float):
            out[key] = str(item).lower() if isinstance(item, bool) else str(item)
        elif item is None:
            continue
        else:
            raise RecordError(f"label '{key}' must be a scalar, got {type(item).__name__}")
    return out


def _time_value(value: Any, optional: bool = False) -> float | None:
    """A record's `time` as epoch seconds; None only when it may be missing."""
    if value is None or value == "":
        if optional:
            return None
        raise RecordError("missing required field 'time'")
    try:
        return parse_time(value)
    except TimeError as exc:
        raise RecordError(str(exc)) from None


def _time(record: dict[str, Any]) -> float:
    t = _time_value(record.get("time"))
    assert t is not None
    return t


def alert_from_dict(record: Any, *, time_optional: bool = False, native: bool = False) -> Alert:
    """Validate a canonical alert object (CONTRACT.md §1.1).

    A resolve that names its alert by `fingerprint` may leave out `name`, `service` and
    `resource` (PagerDuty resolves carry only the key). `time_optional` is for native formats
    whose timestamp is optional; the engine then dates the event by its clock.

    `native` is for the format parsers only: it also accepts status `acknowledged` (PagerDuty's
    acknowledge), which, like a resolve, may name its alert by `fingerprint` alone. Canonical
    input never passes it, so a canonical record with that status stays a dead letter.
    """
    if not isinstance(record, dict):
        raise RecordError(f"an alert must be a JSON object, got {type(record).__name__}")
    get = record.get
    status = get("status") or "firing"
    if status not in (NATIVE_STATUSES if native else STATUSES):
        raise RecordError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    severity = get("severity") or "warning"
    if severity not in SEVERITY_RANK:
        raise RecordError(f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    # Hot path: plain strings pass one type check; anything else goes through _opt_str,
    # which names the field in its error.
    service, resource = get("service"), get("resource")
    summary, source = get("summary"), get("source")
    fingerprint = get("fingerprint")
    if type(service) is not str or not service:
        service = _opt_str(record, "service")
    if type(resource) is not str or not resource:
        resource = _opt_str(record, "resource")
    if type(summary) is not str:
        summary = _opt_str(record, "summary") or ""
    if type(source) is not str:
        source = _opt_str(record, "source") or ""
    if fingerprint is not None and (type(fingerprint) is not str or not fingerprint):
        fingerprint = _opt_str(record, "fingerprint")
    by_key = status in _KEYED_STATUSES and fingerprint is not None
    alert_id = get("id")
    if type(alert_id) is not str or not alert_id:
        alert_id = _req_str(record, "id")
    name = get("name")
    if type(name) is not str or not name:
        name = (_opt_str(record, "name") or "") if by_key else _req_str(record, "name")
    t = _time_value(get("time"), time_optional)
    labels = _labels(get("labels"))
    if service is None and resource is None and not by_key:
        raise RecordError("an alert needs 'service' or 'resource'")
    return Alert(
        alert_id, t, name, status, severity, service, resource, summary, source, labels, fingerprint
    )


def change_from_dict(record: Any) -> Change:
    """Validate a canonical change record (CONTRACT.md §1.2)."""
    if not isinstance(record, dict):
        raise RecordError(f"a change must be a JSON object, got {type(record).__name__}")
    change = Change(
        id=_req_str(record, "id"),
        time=_time(record),
        service=_opt_str(record, "service"),
        resource=_opt_str(record, "resource"),
        type=_opt_str(record, "type") or "change",
        summary=_opt_str(record, "summary") or "",
    )
    if change.service is None and change.resource is None:
        raise RecordError("a change needs 'service' or 'resource'")
    return change


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class MetricSample:
    """One observation of one metric series (the `aiops.metrics` topic shape):
    `{"time", "service", "resource", "metric", "value"}`.

    A series is identified by (service, resource, metric); `value` is a finite float.
    """

    time: float
    metric: str
    value: float
    service: str | None = None
    resource: str | None = None

    @property
    def series_key(self) -> tuple[str, str, str]:
        return (self.service or "", self.resource or "", self.metric)

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": format_time(self.time),
            "service": self.service,
            "resource": self.resource,
            "metric": self.metric,
            "value": self.value,
        }


def metric_value(value: Any) -> float:
    """A sample value as a finite float; numeric strings are accepted (Prometheus sends
    values as strings), NaN and infinities are not."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RecordError(f"'value' must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except ValueError:
        raise RecordError(f"'value' is not a number: {value!r}") from None
    if not math.isfinite(number):
        raise RecordError(f"'value' must be finite, got {value!r}")
    return number


def metric_from_dict(record: Any) -> MetricSample:
    """Validate a canonical metric sample (the `aiops.metrics` topic, CONTRACT.md §3)."""
    if not isinstance(record, dict):
        raise RecordError(f"a metric sample must be a JSON object, got {type(record).__name__}")
    if record.get("value") is None:
        raise RecordError("missing required field 'value'")
    sample = MetricSample(
        time=_time(record),
        metric=_req_str(record, "metric"),
        value=metric_value(record["value"]),
        service=_opt_str(record, "service"),
        resource=_opt_str(record, "resource"),
    )
    if sample.service is None and sample.resource is None:
        raise RecordError("a metric sample needs 'service' or 'resource'")
    return sample
