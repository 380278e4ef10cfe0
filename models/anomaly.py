"""Online anomaly detection for one metric series, one point at a time.

Each point is looked at in up to four views, each a number computed from the point and the
points before it:

- `value`: the value itself (a value in a range the series never visits);
- `level`: the mean of the last few values (a level shift hidden in noise);
- `step`: the change from the previous value, divided by sqrt(elapsed / usual interval) and
  skipped across a gap in the data (a jump no earlier step made);
- `season`: the change from the value one day or one week earlier, averaged over the last
  `season_window` points, only while the series is seasonal (`models.seasonality`), so a
  normal daily peak is not news but a missing one is. A single seasonal difference carries the
  noise of two points; the average sees a day that runs low for an hour through that noise.

For each view the *nonconformity* of the new number is its distance to the k-th nearest number
of that view in a long memory, in units of the memory's robust spread: a number is familiar
once it, or something close, has been seen k times, however rare or multi-modal the series.
Its *p-value* is the share of past nonconformities at least as large, with an exponential tail
beyond the 95th percentile so that "far beyond anything seen" is told apart from "just beyond".
The views are combined by the smallest p-value times the number of views (Bonferroni), and the
point's *surprise* is -log10 of that.

Real incidents are episodes: dozens of surprising points in a row, often with calmer points in
between. The anomaly score reports the *onset*: the surprise beyond a reference, mapped to
[0, 1] by 1 - exp(-excess / 2). The reference is the largest recent surprise, held for
`onset_hold` points after it happened and then decaying with half-life `onset_half_life`
points. An episode therefore scores high at its start and again only if it gets worse; holding
the peak (rather than letting it decay at once) keeps the second and third bursts of the same
episode from paging again, while the quick decay after the hold keeps the next episode from
being masked by an old one.

Strictly no look-ahead: `score_one` reads only state built from earlier points, `learn_one`
then adds the point. Memories are bounded, so a series that drifts (level or scale) is judged
against its last `memory` points (five weeks of 5-minute samples), and every view is in units
of its own spread.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from models.memory import SortedMemory
from models.seasonality import SeasonalLag

VIEWS = ("value", "level", "step", "season")
_ONSET_SCALE = 2.0  # decades of surprise for a score of 1 - 1/e


@dataclass(frozen=True, slots=True)
class Assessment:
    """What the detector made of one point (before learning it)."""

    score: float  # onset score in [0, 1]
    surprise: float  # -log10 of the point's combined p-value (0 = ordinary)
    view: str | None  # the most surprising view


class _View:
    __slots__ = ("nonconformities", "values")

    def __init__(self, memory: int) -> None:
        self.values = SortedMemory(memory)
        self.nonconformities = SortedMemory(memory)


class SeriesAnomalyDetector:
    """Online anomaly scorer of one series: `score_one(y, t)` then `learn_one(y, t)`.

    Parameters (defaults are the ones evaluated on NAB; see `aiops nab`):
    memory: values (and nonconformities) remembered per view.
    neighbours: k of the k-th nearest neighbour; a pattern seen k times is familiar.
    level_window: points averaged by the `level` view.
    tail_share: share of past nonconformities used to fit the exponential tail.
    onset_hold: points the recent-surprise reference holds its peak.
    onset_half_life: points for the recent-surprise reference to halve after the hold.
    season_window: seasonal differences averaged by the `season` view.
    warmup: points learned before anything is scored.
    seasonal: whether to look for daily/weekly seasonality at all.
    gap_factor: a step over more than this many usual intervals is a gap, not a step.
    settle: points scored (after the warm-up) before any score is reported (0: none).
        When scoring starts there is no recent surprise yet, so the onset reference (the
        recent peak) is zero and the first ordinary fluctuations all count as news; a fleet
        of series started together then alerts together. While settling, points are scored
        and learned as usual, so the reference is in place when scores start to count.
    """

    # Class-level defaults: a detector pickled before `settle` existed (a Kafka snapshot)
    # restores without these instance attributes and then behaves as before (no settling).
    settle: int = 0
    _scored: int = 0

    def __init__(
        self,
        *,
        memory: int = 10_000,
        neighbours: int = 2,
        level_window: int = 6,
        tail_share: float = 0.05,
        onset_hold: int = 100,
        onset_half_life: float = 20.0,
        season_window: int = 12,
        warmup: int = 100,
        seasonal: bool = True,
        gap_factor: float = 2.0,
        settle: int = 0,
    ) -> None:
        if neighbours < 1 or level_window < 1 or season_window < 1 or warmup < neighbours + 1:
            raise ValueError(
                "neighbours, level_window and season_window must be >= 1, warmup > neighbours"
            )
        if onset_hold < 0 or onset_half_life <= 0:
            raise ValueError("onset_hold must be >= 0 and onset_half_life > 0")
        if settle < 0:
            raise ValueError("settle must be >= 0")
        self.memory = memory
        self.neighbours = neighbours
        self.level_window = level_window
        self.tail_share = tail_share
        self.onset_hold = onset_hold
        self.onset_half_life = onset_half_life
        self.season_window = season_window
        self.warmup = warmup
        self.gap_factor = gap_factor
        self.settle = settle
        self._scored = 0  # points learned after the value view could score them
        self._decay = 0.5 ** (1.0 / onset_half_life)
        self._views = {name: _View(memory) for name in VIEWS}
        self._recent: deque[float] = deque(maxlen=level_window)
        self._recent_sum = 0.0
        self._prev: tuple[float, float] | None = None  # (t, y) of the last point learned
        self._interval: float | None = None  # usual sampling interval, seconds
        self._season = SeasonalLag() if seasonal else None
        # the last season_window - 1 seasonal differences, consecutive (cleared at a gap)
        self._season_diffs: deque[float] = deque(maxlen=season_window - 1)
        self._peak = 0.0  # the largest recent surprise ...
        self._peak_age = 0  # ... and how many points ago it was learned, minus one
        self._seen = 0
        self._cache: tuple[float, float, list[tuple[_View, str, float, float | None]]] | None = None

    # -- the views of a point --------------------------------------------------------------

    def _view_values(self, y: float, t: float) -> list[tuple[_View, str, float]]:
        views = self._views
        n = len(self._recent)
        if n == self.level_window:
            level = (self._recent_sum - self._recent[0] + y) / n
        else:
            level = (self._recent_sum + y) / (n + 1)
        out = [(views["value"], "value", y), (views["level"], "level", level)]
        if self._prev is not None and self._interval:
            ratio = (t - self._prev[0]) / self._interval
            if ratio <= 1.0:
                out.append((views["step"], "step", y - self._prev[1]))
            elif ratio <= self.gap_factor:
                out.append((views["step"], "step", (y - self._prev[1]) / math.sqrt(ratio)))
        if self._season is not None:
            before = self._season.previous(t)
            diffs = self._season_diffs
            if before is not None and len(diffs) == diffs.maxlen:
                change = (sum(diffs) + y - before) / self.season_window
                out.append((views["season"], "season", change))
        return out

    def _evaluate(self, y: float, t: float) -> list[tuple[_View, str, float, float | None]]:
        """Each view's value and nonconformity (None while the view is warming up)."""
        cache = self._cache
        if cache is not None and cache[0] == y and cache[1] == t:
            return cache[2]
        k, warmup = self.neighbours, self.warmup
        evaluated = []
        for view, name, x in self._view_values(y, t):
            memory = view.values
            if len(memory) < warmup:
                evaluated.append((view, name, x, None))
            else:
                distance = memory.neighbour_distance(x, k)
                evaluated.append((view, name, x, distance / memory.spread()))
        self._cache = (y, t, evaluated)
        return evaluated

    # -- the river-style interface ---------------------------------------------------------

    def assess(self, y: float, t: float) -> Assessment:
        """Score the point against the past only; nothing is learned."""
        best_p, best_view, counted = 1.0, None, 0
        for view, name, _, a in self._evaluate(y, t):
            calibration = view.nonconformities
            if a is None or len(calibration) < self.warmup:
                continue
            counted += 1
            p = calibration.tail_probability(a, self.tail_share)
            if p < best_p:
                best_p, best_view = p, name
        if counted == 0:
            return Assessment(0.0, 0.0, None)
        surprise = -math.log10(max(min(1.0, best_p * counted), 1e-300))
        excess = surprise - self._reference()
        if self._scored < self.settle:  # still settling: no reference yet (see `settle`)
            excess = 0.0
        score = 1.0 - math.exp(-excess / _ONSET_SCALE) if excess > 0 else 0.0
        return Assessment(score, surprise, best_view)

    def score_one(self, y: float, t: float) -> float:
        """Anomaly score in [0, 1] of value y at time t (epoch seconds), from the past only."""
        return self.assess(y, t).score

    def learn_one(self, y: float, t: float) -> None:
        """Add the point to the detector's past."""
        self._learn(y, t, self.assess(y, t).surprise)

    def update(self, y: float, t: float) -> Assessment:
        """Score the point, then learn it (the usual streaming step)."""
        result = self.assess(y, t)
        self._learn(y, t, result.surprise)
        return result

    def _learn(self, y: float, t: float, surprise: float) -> None:
        if len(self._views["value"].nonconformities) >= self.warmup:
            self._scored += 1
        for view, _, x, a in self._evaluate(y, t):
            if a is not None:
                view.nonconformities.add(a)
            view.values.add(x)
        if surprise >= self._reference():
            self._peak, self._peak_age = surprise, 0
        else:
            self._peak_age += 1
        if len(self._recent) == self.level_window:
            self._recent_sum -= self._recent[0]
        self._recent.append(y)
        self._recent_sum += y
        self._learn_time(t)
        if self._season is not None:
            before = self._season.previous(t)
            if before is None:
                self._season_diffs.clear()
            else:
                self._season_diffs.append(y - before)
            self._season.learn(t, y)
        self._prev = (t, y)
        self._seen += 1
        self._cache = None

    def score_and_learn(self, y: float, t: float) -> float:
        return self.update(y, t).score

    # -- helpers ---------------------------------------------------------------------------

    def _reference(self) -> float:
        """The surprise the next point must exceed to be news: the recent peak, held for
        `onset_hold` points, then decaying."""
        late = self._peak_age - self.onset_hold
        return self._peak if late < 0 else self._peak * self._decay**late

    def _learn_time(self, t: float) -> None:
        if self._prev is None:
            return
        elapsed = t - self._prev[0]
        if elapsed <= 0:
            return  # repeated or backward timestamp: says nothing about the interval
        if self._interval is None:
            self._interval = elapsed
        elif elapsed < 3 * self._interval:  # gaps do not stretch the usual interval
            self._interval += 0.01 * (elapsed - self._interval)
        if self._season is not None and self._season.slot_s is None and self._seen >= 10:
            self._season.start(self._interval)

    def expected_range(self) -> tuple[float, float] | None:
        """The central 99 % of remembered values, once there are enough of them."""
        memory = self._views["value"].values
        if len(memory) < self.warmup:
            return None
        return memory.quantile(0.005), memory.quantile(0.995)
