"""CloudEvents 1.0, structured JSON mode: an envelope around one of the other formats.

The envelope lends its attributes to the data where the data lacks them: `time` dates data
without a time, `source` fills an empty alert source, `id` identifies canonical data without
an id. Other attributes (`type`, `subject`, extensions) are tolerated and not used.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import orjson
from mypy_extensions import mypyc_attr

from pipeline.records import Alert, RecordError
from pipeline.times import TimeError, parse_time


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class Envelope:
    data: Any
    id: str | None
    source: str | None
    time: float | None

    def complete_canonical(self, data: dict[str, Any]) -> dict[str, Any]:
        """Canonical data with the envelope's id and time where it has none."""
        filled = dict(data)
        for key, value in (("id", self.id), ("time", self.time)):
            if filled.get(key) in (None, "") and value is not None:
                filled[key] = value
        return filled

    def fill_sources(self, alerts: list[Alert]) -> None:
        if self.source:
            for alert in alerts:
                alert.source = alert.source or self.source


def is_cloudevent(obj: dict[str, Any]) -> bool:
    return "specversion" in obj


def unwrap(event: dict[str, Any]) -> Envelope:
    """The decoded data and the attributes that complete it; RecordError if unusable."""
    version = event.get("specversion")
    if version != "1.0":
        raise RecordError(f'unsupported CloudEvents specversion {version!r} (expected "1.0")')
    _check_content_type(event.get("datacontenttype"))
    return Envelope(
        data=_data(event),
        id=_opt_str(event.get("id")),
        source=_opt_str(event.get("source")),
        time=_time(event.get("time")),
    )


def _check_content_type(value: Any) -> None:
    if value is None:  # structured mode: data is JSON unless said otherwise
        return
    if not isinstance(value, str):
        raise RecordError("CloudEvent datacontenttype must be a string")
    media = value.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise RecordError(f"CloudEvent datacontenttype {value!r} is not JSON")


def _data(event: dict[str, Any]) -> Any:
    has_data, has_b64 = "data" in event, "data_base64" in event
    if has_data and has_b64:
        raise RecordError("CloudEvent has both 'data' and 'data_base64'")
    if has_data:
        return event["data"]
    if not has_b64:
        raise RecordError("CloudEvent without 'data'")
    encoded = event["data_base64"]
    if not isinstance(encoded, str):
        raise RecordError("CloudEvent data_base64 must be a string")
    try:
        return orjson.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        raise RecordError("CloudEvent data_base64 does not hold base64-encoded JSON") from None


def _time(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        return parse_time(value)
    except TimeError as exc:
        raise RecordError(f"CloudEvent time: {exc}") from None


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
