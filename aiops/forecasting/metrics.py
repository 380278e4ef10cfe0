"""Forecast accuracy: MASE, sMAPE and interval coverage over one forecast window."""

from __future__ import annotations

import numpy as np


def mase(actual: np.ndarray, forecast: np.ndarray, history: np.ndarray, season: int) -> float:
    """Mean absolute error scaled by the in-sample error of the seasonal naive forecast.

    Below 1 the forecast beats repeating last season's value (Hyndman & Koehler, 2006); the
    scale comes from `history`, the data the forecaster was fitted on.
    """
    history = np.asarray(history, dtype=float)
    if history.size <= season:
        raise ValueError(f"MASE needs more than {season} periods of history")
    scale = float(np.mean(np.abs(history[season:] - history[:-season])))
    error = float(np.mean(np.abs(np.asarray(actual, float) - np.asarray(forecast, float))))
    if scale == 0.0:
        return 0.0 if error == 0.0 else float("inf")
    return error / scale


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Symmetric MAPE in percent (0-200); a period where both are zero counts as no error."""
    actual = np.asarray(actual, dtype=float)
    forecast = np.asarray(forecast, dtype=float)
    denom = np.abs(actual) + np.abs(forecast)
    ratio = np.divide(
        2.0 * np.abs(actual - forecast), denom, out=np.zeros_like(denom), where=denom > 0
    )
    return float(100.0 * np.mean(ratio))


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actuals inside their [lower, upper] interval."""
    actual = np.asarray(actual, dtype=float)
    inside = (actual >= np.asarray(lower, float)) & (actual <= np.asarray(upper, float))
    return float(np.mean(inside))
