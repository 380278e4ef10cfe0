"""When will a series reach its limit? A robust online trend for capacity metrics.

For a metric with a known limit (disk used % towards 100, free bytes towards 0), the recent
trend is extrapolated to the limit: "disk full in about 2 h". The trend must ignore the spikes
and sawtooth of real capacity metrics (log rotation, compaction), so it is a Theil-Sen line
(the median of pairwise slopes) through per-bucket medians of the last `window_s` seconds:
robust to up to ~29 % of bad buckets, cheap (at most `buckets` medians), and online: each
point only updates its bucket, the line is fitted when asked.
"""

from __future__ import annotations

import math
import statistics
from collections import OrderedDict
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Trend:
    slope: float  # units per second
    level: float  # fitted value at `at`
    at: float  # time (epoch seconds) of the newest point


class SaturationForecaster:
    """Time until a series reaches `limit` along its robust recent trend.

    The limit is approached from whichever side the series is on: from below for "used"
    metrics, from above for "free" ones. `window_s` is how much history the trend looks at;
    at least `min_buckets` buckets with data are needed before anything is predicted.
    """

    def __init__(
        self, limit: float, *, window_s: float = 6 * 3600.0, buckets: int = 24, min_buckets: int = 6
    ) -> None:
        if window_s <= 0 or buckets < 2 or not 2 <= min_buckets <= buckets:
            raise ValueError("window_s must be > 0 and 2 <= min_buckets <= buckets")
        self.limit = limit
        self.window_s = window_s
        self.buckets = buckets
        self.min_buckets = min_buckets
        self._width = window_s / buckets
        self._data: OrderedDict[int, tuple[list[float], list[float]]] = OrderedDict()
        self._last_t: float | None = None
        self._last_y: float | None = None
        self._fitted: Trend | None = None
        self._dirty = False

    def learn_one(self, y: float, t: float) -> None:
        key = math.floor(t / self._width)
        times, values = self._data.setdefault(key, ([], []))
        times.append(t)
        values.append(y)
        if self._last_t is None or t >= self._last_t:
            self._last_t, self._last_y = t, y
        oldest = math.floor(self._last_t / self._width) - self.buckets + 1
        for stale in [k for k in self._data if k < oldest]:
            del self._data[stale]
        self._dirty = True

    def trend(self) -> Trend | None:
        """The robust line through the recent buckets, or None with too little history."""
        if not self._dirty:
            return self._fitted
        self._dirty = False
        self._fitted = None
        if len(self._data) < self.min_buckets or self._last_t is None:
            return None
        points = [(statistics.fmean(ts), statistics.median(vs)) for ts, vs in self._data.values()]
        slopes = [
            (yb - ya) / (tb - ta)
            for i, (ta, ya) in enumerate(points)
            for tb, yb in points[i + 1 :]
            if tb != ta
        ]
        if not slopes:
            return None
        slope = statistics.median(slopes)
        intercept = statistics.median(y - slope * t for t, y in points)
        self._fitted = Trend(slope, intercept + slope * self._last_t, self._last_t)
        return self._fitted

    def time_to_limit(self) -> float | None:
        """Seconds from the newest point until the trend reaches the limit: 0 when already
        there, None when the trend does not head towards it (or there is too little data)."""
        trend = self.trend()
        if trend is None:
            return None
        gap = self.limit - trend.level
        if gap == 0 or (self._last_y is not None and _reached(self._last_y, trend.level, gap)):
            return 0.0
        if trend.slope == 0 or (gap > 0) != (trend.slope > 0):
            return None
        return gap / trend.slope


def _reached(last: float, level: float, gap: float) -> bool:
    """Whether the newest value already stands at or beyond the limit (gap = limit - level)."""
    limit = level + gap
    return last >= limit if gap > 0 else last <= limit
