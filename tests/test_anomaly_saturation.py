"""Time to a series' limit along a robust trend ("disk full in about 2 h")."""

from __future__ import annotations

import random

import pytest

from models.saturation import SaturationForecaster

T0 = 1_700_000_000.0
MIN = 60.0


def feed(forecaster: SaturationForecaster, values: list[float], step: float = MIN) -> None:
    for i, y in enumerate(values):
        forecaster.learn_one(y, T0 + i * step)


def test_steady_fill_reaches_the_limit_when_the_line_says() -> None:
    # 0.1 % per minute from 50 %: after 6 h (360 min) at 86 %, full 140 min later.
    forecaster = SaturationForecaster(100.0)
    feed(forecaster, [50.0 + 0.1 * i for i in range(361)])
    assert forecaster.time_to_limit() == pytest.approx(140 * MIN, rel=0.02)


def test_spikes_and_outliers_do_not_bend_the_trend() -> None:
    rng = random.Random(1)
    values = [50.0 + 0.1 * i + rng.gauss(0, 0.3) for i in range(361)]
    for i in range(0, 361, 9):
        values[i] = 99.0  # a tenth of the samples are wild readings
    for i in range(200, 215):
        values[i] = 5.0  # and a quarter hour of zeros from a broken exporter
    forecaster = SaturationForecaster(100.0)
    feed(forecaster, values)
    assert forecaster.time_to_limit() == pytest.approx(140 * MIN, rel=0.1)


def test_flat_or_shrinking_usage_never_fills() -> None:
    flat = SaturationForecaster(100.0)
    feed(flat, [70.0] * 400)
    assert flat.time_to_limit() is None
    shrinking = SaturationForecaster(100.0)
    feed(shrinking, [70.0 - 0.01 * i for i in range(400)])
    assert shrinking.time_to_limit() is None


def test_a_limit_below_is_reached_by_a_falling_series() -> None:
    # free space: 10 GB falling by 50 MB a minute reaches 0 in 200 min from the start
    forecaster = SaturationForecaster(0.0)
    feed(forecaster, [10_000.0 - 50.0 * i for i in range(121)])
    assert forecaster.time_to_limit() == pytest.approx(80 * MIN, rel=0.02)


def test_already_at_the_limit_is_zero() -> None:
    forecaster = SaturationForecaster(100.0)
    feed(forecaster, [90.0 + 0.1 * i for i in range(100)] + [100.0])
    assert forecaster.time_to_limit() == 0.0


def test_too_little_history_predicts_nothing() -> None:
    forecaster = SaturationForecaster(100.0, window_s=3600.0, buckets=12, min_buckets=6)
    feed(forecaster, [50.0 + i for i in range(20)])  # 20 minutes: 4 buckets of 5 minutes
    assert forecaster.time_to_limit() is None
    feed(forecaster, [50.0 + i for i in range(40)])  # same times again plus 20 more minutes
    assert forecaster.time_to_limit() is not None


def test_old_history_is_forgotten() -> None:
    # a long flat past, then two hours of 0.5 %/min up to 80 %: full 40 min later
    forecaster = SaturationForecaster(100.0, window_s=3600.0)
    feed(forecaster, [20.0] * 600 + [20.0 + 0.5 * i for i in range(1, 121)])
    assert forecaster.time_to_limit() == pytest.approx(40 * MIN, rel=0.05)


def test_invalid_parameters() -> None:
    with pytest.raises(ValueError):
        SaturationForecaster(100.0, window_s=0)
    with pytest.raises(ValueError):
        SaturationForecaster(100.0, buckets=4, min_buckets=6)
