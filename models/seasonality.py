"""Daily and weekly seasonality of a metric series, found online from its own past.

A series is seasonal with period P when its value correlates with the value one period earlier
(r(P) > `min_corr`) clearly more than with the value half a period earlier
(r(P) - r(P/2) > `min_gain`). The second test keeps slow drift out: a series that merely
changes slowly correlates with itself at any short lag, a daily cycle correlates at a day and
not at twelve hours. Weekly is tried first (a weekly profile contains the daily one).

Times are bucketed into slots of the series' sampling interval, so missing samples and
irregular timestamps neither shift the lag nor invent values.
"""

from __future__ import annotations

from collections import deque

import numpy as np

DAY_S = 86400.0
WEEK_S = 7 * DAY_S


def _lagged_correlation(slots: np.ndarray, values: np.ndarray, lag: int) -> float | None:
    """Correlation of the values with the values `lag` slots earlier, over the slots where
    both are remembered; `slots` must be sorted."""
    wanted = slots - lag
    found = np.searchsorted(slots, wanted)
    found[found == len(slots)] = 0
    match = slots[found] == wanted
    if match.sum() < 3:
        return None
    a, b = values[match], values[found[match]]
    sa, sb = a.std(), b.std()
    if sa == 0 or sb == 0:
        return None
    return float(((a - a.mean()) * (b - b.mean())).mean() / (sa * sb))


class SeasonalLag:
    """Remembers the last three of the longest usable period and answers "what was the value
    one season ago?" once a season has been found."""

    def __init__(
        self,
        periods_s: tuple[float, ...] = (WEEK_S, DAY_S),
        min_corr: float = 0.5,
        min_gain: float = 0.2,
        max_slots: int = 65536,
    ) -> None:
        self.periods_s = periods_s
        self.min_corr = min_corr
        self.min_gain = min_gain
        self.max_slots = max_slots
        self.slot_s: float | None = None
        self.lag: int | None = None  # active period in slots, None while not seasonal
        self._values: dict[int, float] = {}
        self._order: deque[int] = deque()
        self._keep = 0
        self._check_every = 0
        self._since_check = 0

    def start(self, slot_s: float) -> None:
        """Fix the slot width (the sampling interval) once it is known."""
        if slot_s <= 0:
            return
        self.slot_s = slot_s
        lags = [round(p / slot_s) for p in self.periods_s]
        usable = [lag for lag in lags if lag >= 2 and 3 * lag < self.max_slots]
        # Slots newer than `newest - keep` are kept, so they span at most keep - 1 slots: the
        # +1 lets the longest period reach the three periods `_find_lag` asks for.
        self._keep = 3 * max(usable) + 1 if usable else 0
        self._check_every = max(50, min(1000, min(usable))) if usable else 0

    def previous(self, t: float) -> float | None:
        """The value one active period before time t, if seasonal and remembered."""
        if self.lag is None or self.slot_s is None:
            return None
        return self._values.get(round(t / self.slot_s) - self.lag)

    def learn(self, t: float, y: float) -> None:
        if self.slot_s is None or not self._keep:
            return
        slot = round(t / self.slot_s)
        if slot not in self._values:
            self._order.append(slot)
        self._values[slot] = y
        while self._order and self._order[0] <= slot - self._keep:
            self._values.pop(self._order.popleft(), None)
        self._since_check += 1
        if self._since_check >= self._check_every:
            self._since_check = 0
            self.lag = self._find_lag(slot)

    def _find_lag(self, newest: int) -> int | None:
        assert self.slot_s is not None
        if not self._order or newest - self._order[0] < 2:
            return None
        slots = np.fromiter(sorted(self._values), np.int64, len(self._values))
        values = np.fromiter((self._values[s] for s in slots.tolist()), float, len(slots))
        span = int(slots[-1] - slots[0])
        for period in self.periods_s:
            lag = round(period / self.slot_s)
            if lag < 2 or span < 3 * lag:
                continue
            at_period = _lagged_correlation(slots, values, lag)
            at_half = _lagged_correlation(slots, values, lag // 2)
            if at_period is None or at_half is None:
                continue
            if at_period > self.min_corr and at_period - at_half > self.min_gain:
                return lag
        return None
