"""Candidate models, rolling origins, and forecasts with calibrated intervals.

A rolling origin is a cut of the history: fit on the periods before it, forecast the ones
after it, compare. The same cuts serve twice: inside the training data they give the
out-of-sample residuals that calibrate the intervals (so no interval ever sees the periods it
is judged on), and at the end of the data they are the backtest that picks the model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from models.calendar import HolidayCalendar
from models.forecasters import CalendarPoisson, OnlineProfile, SeasonalNaive, season_length
from models.intervals import ScaledConformal
from pipeline.arrivals import FREQS

CANDIDATES = ("calendar", "online", "snaive")
COVERAGE = 0.8
MIN_TRAIN_DAYS = 14  # two of each weekday before a model is fitted at all
CALIBRATION_ORIGINS = 4


class Forecaster(Protocol):
    def fit(self, y: pd.Series) -> Forecaster: ...

    def predict(self, index: pd.DatetimeIndex) -> np.ndarray: ...


def make_model(name: str, freq: str, calendar: HolidayCalendar) -> Forecaster:
    """A fresh, unfitted candidate by name."""
    if name == "calendar":
        return CalendarPoisson(calendar, freq)
    if name == "online":
        return OnlineProfile(calendar, freq)
    if name == "snaive":
        return SeasonalNaive(freq)
    raise ValueError(f"unknown model {name!r}: choose from {', '.join(CANDIDATES)}")


def future_index(last: pd.Timestamp, freq: str, horizon: int) -> pd.DatetimeIndex:
    """The `horizon` period starts after the period starting at `last`."""
    step = FREQS[freq]
    return pd.date_range(last + step, periods=horizon, freq=step)


def min_train(freq: str) -> int:
    return MIN_TRAIN_DAYS * (24 if freq == "H" else 1)


def backtest_cuts(n: int, freq: str, horizon: int, origins: int) -> list[int]:
    """Training lengths of the last `origins` weekly origins whose windows end with the data.

    The latest origin forecasts the last `horizon` periods; each earlier one starts a week
    before the next. Origins without `min_train` periods before them are left out.
    """
    week = season_length(freq)
    cuts = [n - horizon - k * week for k in range(origins - 1, -1, -1)]
    return [c for c in cuts if c >= min_train(freq)]


@dataclass(slots=True)
class Window:
    """One origin's forecast: the periods after the cut, with actuals."""

    cut: int
    index: pd.DatetimeIndex
    actual: np.ndarray
    forecast: np.ndarray


def rolling_windows(
    make: Callable[[], Forecaster], y: pd.Series, cuts: list[int], horizon: int
) -> list[Window]:
    """Fit a fresh model at each cut and forecast up to `horizon` periods after it."""
    windows = []
    for cut in cuts:
        future = y.iloc[cut : cut + horizon]
        model = make().fit(y.iloc[:cut])
        pred = np.maximum(model.predict(pd.DatetimeIndex(future.index)), 0.0)
        windows.append(Window(cut, pd.DatetimeIndex(future.index), future.to_numpy(), pred))
    return windows


def calibrate(
    make: Callable[[], Forecaster], y: pd.Series, freq: str, horizon: int
) -> ScaledConformal:
    """Interval calibration from weekly origins inside `y` (out-of-sample residuals).

    With too little history for any origin, falls back on Poisson-like noise (scores ±1.28,
    the 10 % and 90 % normal quantiles), said to be uncalibrated by `n_calibration_ == 0`.
    """
    week = season_length(freq)
    span = min(horizon, week)
    cuts = [len(y) - span - k * week for k in range(CALIBRATION_ORIGINS)]
    cuts = sorted(c for c in cuts if c >= min_train(freq))
    windows = rolling_windows(make, y, cuts, span)
    if not windows:
        fallback = ScaledConformal(COVERAGE)
        fallback.lower_score_, fallback.upper_score_, fallback.n_calibration_ = -1.28, 1.28, 0
        return fallback
    actual = np.concatenate([w.actual for w in windows])
    forecast = np.concatenate([w.forecast for w in windows])
    return ScaledConformal(COVERAGE).fit(actual, forecast)


@dataclass(slots=True)
class SeriesForecast:
    """One series' forecast with its 80 % interval."""

    series: str
    index: pd.DatetimeIndex
    yhat: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def forecast_series(
    name: str,
    y: pd.Series,
    freq: str,
    horizon: int,
    model: str,
    calendar: HolidayCalendar,
    index: pd.DatetimeIndex | None = None,
) -> SeriesForecast:
    """Fit `model` on all of `y` and forecast `horizon` periods after it (or `index`)."""
    if len(y) < min_train(freq):
        raise ValueError(
            f"{len(y)} {freq} periods of history; at least {MIN_TRAIN_DAYS} days are needed"
        )
    make = lambda: make_model(model, freq, calendar)  # noqa: E731
    future = index if index is not None else future_index(y.index[-1], freq, horizon)
    yhat = np.maximum(make().fit(y).predict(future), 0.0)
    lower, upper = calibrate(make, y, freq, len(future)).predict(yhat)
    return SeriesForecast(name, future, yhat, lower, upper)
