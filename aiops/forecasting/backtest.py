"""Rolling-origin backtest of every candidate, and the choice of model it makes.

Each origin fits on the periods before it only, intervals included (their calibration
residuals also come from before the origin), and is scored on the periods after it by MASE
(scaled by the seasonal naive error of the training data), sMAPE and 80 % interval coverage.
statsforecast's AutoETS runs beside the candidates as an outside reference when it is
installed (the `baselines` extra); it is scored but never chosen.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from aiops.forecasting.engine import CANDIDATES, COVERAGE, backtest_cuts, forecast_series
from aiops.forecasting.metrics import coverage, mase, smape
from models.calendar import HolidayCalendar
from models.forecasters import season_length

AUTOETS = "autoets"
AUTOETS_MAX_SEASON = 24  # statsforecast's ETS handles seasons up to a day of hours


@dataclass(slots=True, frozen=True)
class Score:
    """One model at one origin."""

    model: str
    origin: pd.Timestamp  # start of the first forecast period
    mase: float
    smape: float
    coverage: float


def autoets_available() -> bool:
    try:
        import statsforecast.models  # noqa: F401
    except ImportError:
        return False
    return True


def _autoets(y: pd.Series, horizon: int, season: int) -> tuple[np.ndarray, ...]:
    from statsforecast.models import AutoETS

    level = round(COVERAGE * 100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = AutoETS(season_length=season).forecast(
            y=y.to_numpy(dtype=float), h=horizon, level=[level]
        )
    return (
        np.maximum(out["mean"], 0.0),
        np.maximum(out[f"lo-{level}"], 0.0),
        np.maximum(out[f"hi-{level}"], 0.0),
    )


def reference_models(freq: str, with_autoets: bool) -> list[str]:
    """Outside baselines that fit this frequency: AutoETS only for daily data."""
    return [AUTOETS] if with_autoets and season_length(freq) <= AUTOETS_MAX_SEASON else []


def run_backtest(
    y: pd.Series,
    freq: str,
    horizon: int,
    origins: int,
    calendar: HolidayCalendar,
    models: Iterable[str] = CANDIDATES,
    on_step: Callable[[], object] | None = None,
) -> list[Score]:
    """Scores of every model at each of the last `origins` weekly origins."""
    cuts = backtest_cuts(len(y), freq, horizon, origins)
    if not cuts:
        raise ValueError("too little history for a backtest: need two weeks before an origin")
    season = season_length(freq)
    scores = []
    for model in models:
        for cut in cuts:
            train, test = y.iloc[:cut], y.iloc[cut : cut + horizon]
            if model == AUTOETS:
                yhat, lower, upper = _autoets(train, len(test), season)
            else:
                fc = forecast_series(
                    "total", train, freq, len(test), model, calendar, index=test.index
                )
                yhat, lower, upper = fc.yhat, fc.lower, fc.upper
            actual = test.to_numpy()
            scores.append(
                Score(
                    model=model,
                    origin=test.index[0],
                    mase=mase(actual, yhat, train.to_numpy(), season),
                    smape=smape(actual, yhat),
                    coverage=coverage(actual, lower, upper),
                )
            )
            if on_step is not None:
                on_step()
    return scores


def averages(scores: Iterable[Score]) -> dict[str, dict[str, float]]:
    """Mean MASE, sMAPE and coverage per model, in first-seen order."""
    by_model: dict[str, list[Score]] = {}
    for s in scores:
        by_model.setdefault(s.model, []).append(s)
    return {
        model: {
            "mase": float(np.mean([s.mase for s in rows])),
            "smape": float(np.mean([s.smape for s in rows])),
            "coverage": float(np.mean([s.coverage for s in rows])),
        }
        for model, rows in by_model.items()
    }


def choose_model(scores: Iterable[Score]) -> str:
    """The candidate with the lowest mean MASE (references such as AutoETS never win)."""
    means = {m: v["mase"] for m, v in averages(scores).items() if m in CANDIDATES}
    if not means:
        raise ValueError("no candidate was scored")
    return min(means, key=lambda m: (means[m], CANDIDATES.index(m)))
