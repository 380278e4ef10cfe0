"""One place that reads and writes timestamps.

Inputs carry ISO 8601 with a zone or epoch seconds; internally every time is a float of epoch
seconds (UTC), and outputs are ISO 8601 UTC with a `Z`.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

# Bounds that catch epoch milliseconds or garbage passed as epoch seconds.
_MIN_EPOCH = 0.0
_MAX_EPOCH = 7258118400.0  # 2200-01-01


class TimeError(ValueError):
    """A timestamp that cannot be read; the message says why."""


def parse_time(value: object) -> float:
    """Epoch seconds from ISO 8601 with a zone, epoch seconds (int/float) or a numeric string."""
    if isinstance(value, str):
        # ISO 8601 is the common case: try it first (a failed float() costs more).
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            ts = _parse_number(value)
        else:
            if parsed.tzinfo is None:
                raise TimeError(f"time {value!r} has no zone (add Z or an offset)")
            ts = parsed.timestamp()
    elif isinstance(value, bool):
        raise TimeError(f"time must be ISO 8601 or epoch seconds, not {value!r}")
    elif isinstance(value, int | float):
        ts = float(value)
    else:
        raise TimeError(f"time must be ISO 8601 or epoch seconds, not {type(value).__name__}")
    if not _MIN_EPOCH < ts < _MAX_EPOCH:
        raise TimeError(f"time {value!r} is out of range (epoch seconds expected)")
    return ts


def _parse_number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        stripped = text.strip()
        if stripped and stripped != text:
            return parse_time(stripped)
        raise TimeError(f"unreadable time {text!r}") from None


def parse_time_assume_utc(value: object) -> float:
    """Like `parse_time`, but an ISO 8601 text without a zone is read as UTC.

    Only for sources whose convention is zone-less UTC, such as metric series in the NAB
    layout (`2013-07-04 00:00:00`) and NAB's label files; event records keep requiring a zone.
    """
    if isinstance(value, str):
        text = value.strip()
        try:
            float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                raise TimeError(f"unreadable time {text!r}") from None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parse_time(parsed.timestamp())
    return parse_time(value)


_FORMATTED: dict[float, str] = {}  # recent answers: outputs repeat times (sweep clocks)
_FORMATTED_LIMIT = 4096


def format_time(ts: float | None) -> str | None:
    """ISO 8601 UTC with `Z`; milliseconds (rounded) only when the time has a fraction."""
    if ts is None:
        return None
    text = _FORMATTED.get(ts)
    if text is None:
        if len(_FORMATTED) >= _FORMATTED_LIMIT:
            _FORMATTED.clear()
        text = _FORMATTED[ts] = _format(ts)
    return text


def _format(ts: float) -> str:
    secs = math.floor(ts)
    ms = round((ts - secs) * 1000)
    if ms >= 1000:
        secs, ms = secs + 1, 0
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    return f"{base}.{ms:03d}Z" if ms else f"{base}Z"
