"""Point forecasters of arrival counts per period.

All share one shape (scikit-learn conventions): parameters in `__init__`, `fit(y)` on a
zero-filled series indexed by period start returns `self`, `predict(index)` gives the expected
count for each future period, learned attributes end with `_`. The online one also learns one
period at a time (`learn_one` / `predict_one`, river's verbs) so a stream can keep it current.
`freq` is "H" (hourly periods) or "D" (daily).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from river import stats
from sklearn.linear_model import PoissonRegressor
from threadpoolctl import threadpool_limits

from models.calendar import HolidayCalendar, calendar_cells, calendar_design

WEEK = pd.Timedelta(days=7)


def season_length(freq: str) -> int:
    """Periods in a week: the seasonal-naive lag (7 daily, 168 hourly)."""
    return 168 if freq == "H" else 7


class SeasonalNaive:
    """Each future period repeats the same period one week earlier."""

    def __init__(self, freq: str) -> None:
        self.freq = freq

    def fit(self, y: pd.Series) -> SeasonalNaive:
        m = season_length(self.freq)
        if len(y) < m:
            raise ValueError(f"seasonal naive needs at least {m} periods")
        self.last_week_ = y.iloc[-m:]
        return self

    def predict(self, index: pd.DatetimeIndex) -> np.ndarray:
        week = self.last_week_
        step = week.index[1] - week.index[0]
        lag = ((index - week.index[0]) % WEEK) // step
        return week.to_numpy()[np.asarray(lag, dtype=int)]


class CalendarPoisson:
    """Log-linear Poisson regression on calendar cells (weekday, hour, holidays).

    Days whose total strays more than `outlier_z` robust standard deviations from the usual
    day of their kind (outages, migrations, the first day of a new desk) are left out of the
    fit, so they do not bend the typical week. `alpha` is a light ridge penalty that keeps
    cells seen only a few times (e.g. one holiday hour) near the mean.
    """

    def __init__(
        self, calendar: HolidayCalendar, freq: str, alpha: float = 1e-4, outlier_z: float = 4.0
    ) -> None:
        self.calendar = calendar
        self.freq = freq
        self.alpha = alpha
        self.outlier_z = outlier_z

    def _design(self, index: pd.DatetimeIndex) -> np.ndarray:
        return calendar_design(index, self.calendar, hourly=self.freq == "H")

    def _fit_once(self, x: np.ndarray, y: np.ndarray) -> PoissonRegressor:
        # Periods with the same design row share one expected count, so fitting their mean
        # weighted by their number gives the same Poisson fit on ~168 rows instead of
        # thousands: an hourly fit takes milliseconds rather than seconds.
        rows, inverse = np.unique(x, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        weight = np.bincount(inverse).astype(float)
        mean = np.bincount(inverse, weights=y) / weight
        model = PoissonRegressor(alpha=self.alpha, solver="newton-cholesky", max_iter=100)
        # One thread: on a problem this small, OpenMP and BLAS threads only wait on each
        # other (measured 15x slower with two).
        with threadpool_limits(limits=1):
            return model.fit(rows, mean, sample_weight=weight)

    def _anomalous_days(self, y: pd.Series) -> pd.DatetimeIndex:
        """Days whose total is far from the median day of the same kind (weekday or off day).

        Medians, not a first fit, so one huge day cannot drag its whole weekday along and
        make every normal one look odd.
        """
        daily = y.groupby(y.index.normalize()).sum()
        kind = self.calendar.effective_weekday(pd.DatetimeIndex(daily.index))
        typical = daily.groupby(kind).transform("median")
        z = (daily - typical) / np.sqrt(typical.clip(lower=1.0))
        centred = np.abs(z - z.median())
        spread = max(1.4826 * float(centred.median()), 1.0)  # never below Poisson noise
        return pd.DatetimeIndex(daily.index[centred > self.outlier_z * spread])

    def fit(self, y: pd.Series) -> CalendarPoisson:
        anomalous = self._anomalous_days(y)
        self.anomalous_days_ = [d.date() for d in anomalous]
        keep = ~y.index.normalize().isin(anomalous)
        self.model_ = self._fit_once(self._design(y.index[keep]), y.to_numpy(dtype=float)[keep])
        return self

    def predict(self, index: pd.DatetimeIndex) -> np.ndarray:
        return self.model_.predict(self._design(index))


class OnlineProfile:
    """An exponentially weighted mean per calendar cell, learnt one period at a time.

    Each cell (effective weekday, × hour when hourly) keeps a river `EWMean`; a cell recurs
    once a week, so `fading_factor` is the weight of the newest week: 0.3 halves the weight of
    the past in about two weeks. A cell never seen falls back on the mean of all periods.
    """

    def __init__(self, calendar: HolidayCalendar, freq: str, fading_factor: float = 0.3) -> None:
        self.calendar = calendar
        self.freq = freq
        self.fading_factor = fading_factor
        self.cells_: dict[int, stats.EWMean] = {}
        self.overall_ = stats.Mean()

    def _cells(self, index: pd.DatetimeIndex) -> np.ndarray:
        return calendar_cells(index, self.calendar, hourly=self.freq == "H")

    def learn_one(self, t: pd.Timestamp, count: float) -> OnlineProfile:
        """Learn the arrival count of the period starting at `t`."""
        self._learn_cell(int(self._cells(pd.DatetimeIndex([t]))[0]), count)
        return self

    def predict_one(self, t: pd.Timestamp) -> float:
        return self._predict_cell(int(self._cells(pd.DatetimeIndex([t]))[0]))

    def _learn_cell(self, cell: int, count: float) -> None:
        mean = self.cells_.setdefault(cell, stats.EWMean(fading_factor=self.fading_factor))
        mean.update(count)
        self.overall_.update(count)

    def _predict_cell(self, cell: int) -> float:
        if cell in self.cells_:
            return float(self.cells_[cell].get())
        return float(self.overall_.get())

    def fit(self, y: pd.Series) -> OnlineProfile:
        """Start afresh and learn every period of `y` in order (a replay of the stream)."""
        self.cells_ = {}
        self.overall_ = stats.Mean()
        for cell, count in zip(self._cells(y.index), y.to_numpy(), strict=True):
            self._learn_cell(int(cell), float(count))
        return self

    def predict(self, index: pd.DatetimeIndex) -> np.ndarray:
        return np.array([self._predict_cell(int(c)) for c in self._cells(index)])
