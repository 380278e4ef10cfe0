"""Baseline detectors to measure the real one against.

`WindowedGaussian` is NAB's "windowedGaussian" detector: the mean and standard deviation of
the last `window` values (NAB uses 1000) give a z-score for the next value, and the two-sided
Gaussian tail probability of that z-score becomes the score. NAB's detector reports the tail
probability itself; this one reports one minus it (erf(|z| / sqrt 2)) so that a higher score
means more anomalous, as for every detector here. The ranking of points, and so the NAB score
after the threshold sweep on the inverted side, is what the baseline is about.
"""

from __future__ import annotations

import math
from collections import deque


class WindowedGaussian:
    """Z-score of each value against the previous `window` values, as a score in [0, 1)."""

    def __init__(self, window: int = 1000) -> None:
        if window < 2:
            raise ValueError("window must be at least 2")
        self.window = window
        self._values: deque[float] = deque()
        self._sum = 0.0
        self._sum_sq = 0.0
        self._shift = 0.0  # first value seen: keeps the running sums small and exact enough

    def score_one(self, y: float, t: float | None = None) -> float:
        n = len(self._values)
        if n == 0:
            return 0.0
        mean = self._sum / n
        var = max(self._sum_sq / n - mean * mean, 0.0)
        std = math.sqrt(var) or 1e-6
        z = (y - self._shift - mean) / std
        return math.erf(abs(z) / math.sqrt(2.0))

    def learn_one(self, y: float, t: float | None = None) -> None:
        if not self._values:
            self._shift = y
        x = y - self._shift
        self._values.append(x)
        self._sum += x
        self._sum_sq += x * x
        if len(self._values) > self.window:
            old = self._values.popleft()
            self._sum -= old
            self._sum_sq -= old * old

    def score_and_learn(self, y: float, t: float | None = None) -> float:
        score = self.score_one(y, t)
        self.learn_one(y, t)
        return score
