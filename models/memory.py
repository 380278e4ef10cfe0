"""A bounded memory of recent values kept in arrival order and in sorted order.

Sorted order answers the questions the anomaly detector asks of its past in O(log n) plus a
C-level list move: quantiles, the distance from a new value to its k-th nearest past value, and
the tail probability of a new value. A list with `bisect.insort` beats tree structures here for
memories of a few thousand values, and keeps the code plain.
"""

from __future__ import annotations

import bisect
import math
from collections import deque


class SortedMemory:
    """The last `size` values, in arrival order (to forget the oldest) and sorted."""

    __slots__ = ("_adds_since_spread", "_arrivals", "_sorted", "_spread", "size")

    # The robust spread moves slowly; recomputing it every few additions saves two quantile
    # look-ups per point without changing what it measures.
    SPREAD_REFRESH = 8

    def __init__(self, size: int) -> None:
        if size < 2:
            raise ValueError("size must be at least 2")
        self.size = size
        self._arrivals: deque[float] = deque()
        self._sorted: list[float] = []
        self._spread = 0.0
        self._adds_since_spread = self.SPREAD_REFRESH

    def __len__(self) -> int:
        return len(self._sorted)

    def add(self, x: float) -> None:
        arrivals = self._arrivals
        arrivals.append(x)
        bisect.insort(self._sorted, x)
        if len(arrivals) > self.size:
            oldest = arrivals.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, oldest)]
        self._adds_since_spread += 1

    def quantile(self, q: float) -> float:
        """The q-quantile (nearest rank); the memory must not be empty."""
        values = self._sorted
        return values[min(len(values) - 1, int(q * len(values)))]

    def spread(self) -> float:
        """A robust width of the remembered values: the central 90 % range, else the whole
        range, else a tiny positive number (a constant series). Refreshed every few adds."""
        if self._adds_since_spread >= self.SPREAD_REFRESH:
            self._spread = self._compute_spread()
            self._adds_since_spread = 0
        return self._spread

    def _compute_spread(self) -> float:
        width = self.quantile(0.95) - self.quantile(0.05)
        if width > 0:
            return width
        width = self._sorted[-1] - self._sorted[0]
        if width > 0:
            return width
        return max(abs(self._sorted[0]) * 1e-6, 1e-12)

    def neighbour_distance(self, x: float, k: int) -> float:
        """Distance from x to its k-th nearest remembered value (inf if fewer than k)."""
        values = self._sorted
        n = len(values)
        if n < k:
            return math.inf
        right = bisect.bisect_left(values, x)
        left = right - 1
        distance = 0.0
        for _ in range(k):
            if left >= 0 and (right >= n or x - values[left] <= values[right] - x):
                distance = x - values[left]
                left -= 1
            else:
                distance = values[right] - x
                right += 1
        return distance

    def tail_probability(self, x: float, tail_share: float) -> float:
        """P(X >= x) for a new X like the remembered ones.

        Empirical (with the +1 of a conformal p-value) up to the (1 - tail_share) quantile u;
        beyond it the excesses over u are taken as exponential with the mean excess of the
        remembered tail (peaks over threshold with a zero shape), so a value far beyond
        everything seen gets a probability far below 1/n rather than a tie with the maximum.
        """
        values = self._sorted
        n = len(values)
        at_or_above = n - bisect.bisect_left(values, x)
        empirical = (at_or_above + 1) / (n + 1)
        top = int((1.0 - tail_share) * n)
        u = values[top]
        if x <= u:
            return empirical
        excess = math.fsum(values[top:]) / (n - top) - u
        if excess <= 0:  # the whole tail is one value: x is beyond everything seen
            return 1.0 / (n + 1)
        return min(empirical, tail_share * math.exp(-(x - u) / excess))
