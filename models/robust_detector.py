"""A short-memory robust detector for series with little history: median and quartiles.

`models.anomaly.SeriesAnomalyDetector` needs about a hundred points before it scores anything,
which suits a metric scraped for weeks. Series that only exist in short bursts (spans and log
lines kept for a few minutes around events, a pod that just started) need something that has
an opinion after a handful of points. This one keeps the last `window` values and scores a
new value by its distance from their median in robust units:

    z = |x - median| / max(IQR / 1.349, rel_floor * |median|, floor)

The floors keep a short or flat history from turning every wiggle into infinity (`floor`
in the series' own units: for a series of surprises, one decade). With `rises_only` only
values above the median count (a surprise that falls is good news). Counts of
rare events (`counts=True`: error lines a minute) are judged as counts instead: the
surprise of at least x events when the past averages lambda is -log10 P(X >= x) under a
Poisson law, so 0, 0 then 6 errors pages while 40, 50 then 55 does not; only rises count
(a count that drops is usually a shorter bucket, not a fault).

With `reset_after_gap_s` a series that went silent starts a fresh baseline when it comes
back: for data kept in bursts, the minutes before a burst's events, not the previous burst,
are what "normal" means. The score maps z to [0, 1] like the
k-NN detector's onset score, so both plug into `MetricWatch` and the same alert thresholds.
"""

from __future__ import annotations

import math
from collections import deque

from models.anomaly import Assessment
from models.memory import SortedMemory


def poisson_surprise(x: float, lam: float) -> float:
    """-log10 P(X >= x) for X ~ Poisson(lam); 0 when x is not above lam."""
    if x <= lam:
        return 0.0
    # P(X >= x) = 1 - P(X <= x - 1), summed in log space from the mode's side for stability.
    k = int(x)
    log_term = -lam + k * math.log(lam) - math.lgamma(k + 1)  # log P(X = k)
    tail, term, i = 0.0, 1.0, k
    while term > 1e-12 and i < k + 1000:  # P(X = i + 1) / P(X = i) = lam / (i + 1)
        tail += term
        i += 1
        term *= lam / i
    return max(-(log_term + math.log(tail)) / math.log(10), 0.0)


class RobustSeriesDetector:
    """Same interface as `SeriesAnomalyDetector` where `MetricWatch` uses it:
    `update(y, t) -> Assessment` and `expected_range()`."""

    def __init__(
        self,
        *,
        window: int = 60,
        warmup: int = 5,
        threshold: float = 3.0,
        scale: float = 2.0,
        rel_floor: float = 0.1,
        floor: float = 1e-12,
        reset_after_gap_s: float | None = None,
        counts: bool = False,
        rises_only: bool = False,
    ) -> None:
        if warmup < 1 or window < max(warmup, 2):
            raise ValueError("need 1 <= warmup <= window and window >= 2")
        self.threshold = threshold
        self.scale = scale
        self.rel_floor = rel_floor
        self.floor = floor
        self.rises_only = rises_only
        self.reset_after_gap_s = reset_after_gap_s
        self.counts = counts
        self.warmup = warmup
        self.window = window
        self._memory = SortedMemory(window)
        self._arrivals: deque[float] = deque()
        self._total = 0.0
        self._last_t: float | None = None

    def _centre_and_spread(self) -> tuple[float, float]:
        memory = self._memory
        median = memory.quantile(0.5)
        sigma = (memory.quantile(0.75) - memory.quantile(0.25)) / 1.349  # normal-consistent
        return median, max(sigma, self.rel_floor * abs(median), self.floor)

    def _restart_if_stale(self, t: float) -> None:
        gap = self.reset_after_gap_s
        if gap is not None and self._last_t is not None and t - self._last_t > gap:
            self._memory = SortedMemory(self.window)
            self._arrivals.clear()
            self._total = 0.0
            self._last_t = None

    def assess(self, y: float, t: float) -> Assessment:
        self._restart_if_stale(t)
        if len(self._memory) < self.warmup:
            return Assessment(0.0, 0.0, None)
        if self.counts:
            surprise = poisson_surprise(y, (self._total + 0.5) / len(self._memory))
            return Assessment(1.0 - math.exp(-surprise / self.scale), surprise, "count")
        median, spread = self._centre_and_spread()
        z = (max(y - median, 0.0) if self.rises_only else abs(y - median)) / spread
        excess = z - self.threshold
        score = 1.0 - math.exp(-excess / self.scale) if excess > 0 else 0.0
        return Assessment(score, z, "value")

    def update(self, y: float, t: float) -> Assessment:
        result = self.assess(y, t)
        if len(self._memory) == self.window:
            self._total -= self._arrivals.popleft()
        self._memory.add(y)
        self._arrivals.append(y)
        self._total += y
        self._last_t = t
        return result

    def score_one(self, y: float, t: float) -> float:
        return self.assess(y, t).score

    def learn_one(self, y: float, t: float) -> None:
        self.update(y, t)

    def expected_range(self) -> tuple[float, float] | None:
        if len(self._memory) < self.warmup:
            return None
        median, spread = self._centre_and_spread()
        return median - self.threshold * spread, median + self.threshold * spread
