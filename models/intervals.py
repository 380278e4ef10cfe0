"""Prediction intervals by split conformal calibration on scaled residuals.

Counts are noisier where they are larger (Poisson-like: variance grows with the mean), so the
residuals of out-of-sample forecasts are divided by sqrt(max(forecast, 1)) before taking their
quantiles; bounds are then scaled back per period. Busy office hours get wide bounds, quiet
nights narrow ones, from one set of residuals. The finite-sample quantile rule of split
conformal prediction makes the coverage hold for exchangeable residuals whatever the noise's
shape, which the Poisson assumption alone would not (ticket counts are overdispersed).
"""

from __future__ import annotations

import math

import numpy as np


def _scale(yhat: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(yhat, 1.0))


class ScaledConformal:
    """Central `coverage` intervals around point forecasts, calibrated on past residuals."""

    def __init__(self, coverage: float = 0.8) -> None:
        if not 0.0 < coverage < 1.0:
            raise ValueError("coverage must lie strictly between 0 and 1")
        self.coverage = coverage

    def fit(self, actual: np.ndarray, forecast: np.ndarray) -> ScaledConformal:
        """Learn the residual quantiles from out-of-sample forecasts and their actuals."""
        actual = np.asarray(actual, dtype=float)
        forecast = np.asarray(forecast, dtype=float)
        if actual.shape != forecast.shape or actual.size == 0:
            raise ValueError("need as many forecasts as actuals, at least one")
        scores = np.sort((actual - forecast) / _scale(forecast))
        n = scores.size
        tail = (1.0 - self.coverage) / 2.0
        # Split conformal ranks: the k-th smallest score with k = ceil((n + 1)(1 - tail)).
        hi_rank = min(math.ceil((n + 1) * (1.0 - tail)), n)
        lo_rank = max(math.floor((n + 1) * tail), 1)
        self.lower_score_ = float(scores[lo_rank - 1])
        self.upper_score_ = float(scores[hi_rank - 1])
        self.n_calibration_ = n
        return self

    def predict(self, forecast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) bounds for each point forecast; counts never go below zero."""
        forecast = np.asarray(forecast, dtype=float)
        scale = _scale(forecast)
        lower = np.maximum(forecast + self.lower_score_ * scale, 0.0)
        upper = np.maximum(forecast + self.upper_score_ * scale, lower)
        return lower, upper
