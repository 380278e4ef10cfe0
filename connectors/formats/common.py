"""What the format parsers share: the result type, severity mapping and content-derived ids."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from mypy_extensions import mypyc_attr

from pipeline.records import Alert, RecordError


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class Parsed:
    """The alerts of one payload.

    `errors` holds (index within the payload, reason) for the parts that could not be used;
    the caller writes one dead letter per error, so one bad alert never loses the good ones.
    """

    format: str  # "canonical" | "alertmanager" | "pagerduty" | "cloudevents"
    alerts: list[Alert] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)


# Native severity words (Alertmanager `severity` labels as people write them, PagerDuty's
# critical|error|warning|info, syslog levels, P1-P5) onto the canonical five.
_SEVERITY_WORDS: dict[str, str] = {
    **dict.fromkeys(
        ("critical", "crit", "page", "fatal", "emergency", "emerg", "alert", "disaster", "p1"),
        "critical",
    ),
    **dict.fromkeys(("major", "error", "err", "high", "p2"), "major"),
    **dict.fromkeys(("minor", "medium", "moderate", "average", "p3"), "minor"),
    **dict.fromkeys(("warning", "warn", "p4"), "warning"),
    **dict.fromkeys(
        ("info", "informational", "information", "notice", "debug", "low", "none", "ok", "p5"),
        "info",
    ),
}


def map_severity(value: object) -> str:
    """A canonical severity for a native one; unknown or missing is `warning` (the default)."""
    if not isinstance(value, str):
        return "warning"
    return _SEVERITY_WORDS.get(value.strip().lower(), "warning")


def content_id(prefix: str, obj: Any) -> str:
    """A deterministic id for a native event that has none: prefix + 16 hex of sha1.

    Hashing the whole object with sorted keys means a redelivery of the same event gets the
    same id (the pipeline drops exact redeliveries by id), while any change gives a new one.
    """
    try:
        data = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    except TypeError as exc:  # orjson.JSONEncodeError, e.g. an integer beyond 64 bits
        raise RecordError(f"cannot derive an id: {exc}") from None
    return prefix + hashlib.sha1(data).hexdigest()[:16]


def first_str(mapping: Mapping[str, Any], keys: Iterable[str]) -> str | None:
    """The first non-empty string value among `keys`."""
    for key in keys:
        value = mapping.get(key)
        if isinstance(value, str) and value:
            return value
    return None
