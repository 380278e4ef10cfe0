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


# The common shape of event times, "YYYY-MM-DDTHH:MM:SS[.fff]Z", is read without datetime:
# the minute ("YYYY-MM-DDTHH:MM", checked once by datetime and cached), two digits of
# seconds, then ".fff" and the zone from a table. The answer is bit for bit datetime's
# (whole microseconds over 10**6, as `timedelta.total_seconds` computes it).
_MINUTES: dict[str, int] = {}  # "YYYY-MM-DDTHH:MM" -> epoch seconds
_MINUTES_LIMIT = 100_000
_SECONDS = {f"{n:02d}": n for n in range(60)}
_FRACTIONS = {"Z": 0, **{f".{n:03d}Z": n * 1000 for n in range(1000)}}  # -> microseconds


def _fast_iso(value: str) -> float | None:
    """Epoch seconds of a time in the common shape, None for any other text."""
    if value[16:17] != ":" or value[10:11] != "T":
        return None
    seconds = _SECONDS.get(value[17:19])
    micros = _FRACTIONS.get(value[19:])
    if seconds is None or micros is None:
        return None
    minute = value[:16]
    base = _MINUTES.get(minute)
    if base is None:
        try:
            parsed = datetime.fromisoformat(minute)
        except ValueError:
            return None
        if parsed.tzinfo is not None or parsed.second or value[4] != "-" or value[7] != "-":
            return None
        if len(_MINUTES) >= _MINUTES_LIMIT:
            _MINUTES.clear()
        base = _MINUTES[minute] = int(parsed.replace(tzinfo=UTC).timestamp())
    return ((base + seconds) * 1_000_000 + micros) / 1_000_000


def parse_time(value: object) -> float:
    """Epoch seconds from ISO 8601 with a zone, epoch seconds (int/float) or a numeric string."""
    if type(value) is str:
        ts = _fast_iso(value)
        if ts is not None and _MIN_EPOCH < ts < _MAX_EPOCH:
            return ts
    if isinstance(value, bool):
        raise TimeError(f"time must be ISO 8601 or epoch seconds, not {value!r}")
    if isinstance(value, int | float):
        ts = float(value)
    elif isinstance(value, str):
        # ISO 8601 is the common case: try it first (a failed float() costs more).
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            ts = _parse_number(value)
        else:
            if parsed.tzinfo is None:
                raise TimeError(f"time {value!r} has no zone (add Z or an offset)")
            ts = parsed.timestamp()
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
