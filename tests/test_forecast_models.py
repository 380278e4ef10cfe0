"""Forecasting pieces on synthetic data whose truth is known: calendar, models, intervals,
metrics, arrival counting."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from aiops.forecasting.engine import backtest_cuts, forecast_series
from aiops.forecasting.metrics import coverage, mase, smape
from models.calendar import HolidayCalendar
from models.forecasters import CalendarPoisson, OnlineProfile, SeasonalNaive
from models.intervals import ScaledConformal
from pipeline.arrivals import arrival_history, history_end
from pipeline.tickets import Ticket

# Expected arrivals per weekday (Mon..Sun) of the synthetic desk; holidays look like Sundays.
WEEKDAY_RATE = np.array([400.0, 350.0, 350.0, 340.0, 330.0, 50.0, 40.0])
HOLIDAY = date(2024, 3, 29)  # Good Friday, a public holiday in BR


def daily_series(rng: np.random.Generator, weeks: int, calendar: HolidayCalendar) -> pd.Series:
    index = pd.date_range("2024-02-05", periods=7 * weeks, freq="D")  # a Monday
    rate = WEEKDAY_RATE[calendar.effective_weekday(index)]
    return pd.Series(rng.poisson(rate).astype(float), index=index)


def test_holidays_of_the_country_count_as_sundays() -> None:
    cal = HolidayCalendar("BR", extra=[date(2024, 3, 13)])
    index = pd.DatetimeIndex(["2024-03-29", "2024-03-28", "2024-03-13", "2024-04-21"])
    assert list(cal.effective_weekday(index)) == [6, 3, 6, 6]
    assert not HolidayCalendar(None).is_holiday(HOLIDAY)


def test_calendar_model_recovers_weekday_rates_and_holidays() -> None:
    cal = HolidayCalendar("BR")
    y = daily_series(np.random.default_rng(1), 8, cal)
    model = CalendarPoisson(cal, "D").fit(y)
    week = pd.date_range("2024-04-01", periods=7, freq="D")
    np.testing.assert_allclose(model.predict(week), WEEKDAY_RATE, rtol=0.08)
    (holiday_forecast,) = model.predict(pd.DatetimeIndex([HOLIDAY]))
    assert holiday_forecast < 2 * WEEKDAY_RATE[6]


def test_calendar_model_leaves_out_anomalous_days() -> None:
    cal = HolidayCalendar(None)
    y = daily_series(np.random.default_rng(2), 6, cal)
    y.iloc[14] = 2000.0  # an outage Monday
    model = CalendarPoisson(cal, "D").fit(y)
    assert model.anomalous_days_ == [y.index[14].date()]
    (monday,) = model.predict(pd.DatetimeIndex(["2024-03-25"]))
    assert monday == pytest.approx(WEEKDAY_RATE[0], rel=0.1)


def test_hourly_calendar_model_learns_office_hours() -> None:
    rng = np.random.default_rng(3)
    index = pd.date_range("2024-02-05", periods=24 * 7 * 8, freq="h")
    office = (index.hour >= 8) & (index.hour < 18) & (index.day_of_week < 5)
    y = pd.Series(rng.poisson(np.where(office, 30.0, 2.0)).astype(float), index=index)
    pred = (
        CalendarPoisson(HolidayCalendar(None), "H")
        .fit(y)
        .predict(pd.DatetimeIndex(["2024-03-05 10:00", "2024-03-05 03:00", "2024-03-09 10:00"]))
    )
    np.testing.assert_allclose(pred, [30.0, 2.0, 2.0], rtol=0.25)


def test_online_profile_learns_one_period_at_a_time() -> None:
    cal = HolidayCalendar(None)
    model = OnlineProfile(cal, "D", fading_factor=0.5)
    monday, tuesday = pd.Timestamp("2024-03-04"), pd.Timestamp("2024-03-05")
    model.learn_one(monday, 100.0).learn_one(tuesday, 10.0)
    model.learn_one(monday + pd.Timedelta(days=7), 200.0)
    assert model.predict_one(monday + pd.Timedelta(days=14)) == pytest.approx(150.0)
    assert model.predict_one(tuesday + pd.Timedelta(days=7)) == pytest.approx(10.0)
    # A weekday never seen falls back on the mean of everything learnt.
    assert model.predict_one(pd.Timestamp("2024-03-08")) == pytest.approx(310.0 / 3)


def test_seasonal_naive_repeats_last_week() -> None:
    index = pd.date_range("2024-03-04", periods=14, freq="D")
    y = pd.Series(np.arange(14.0), index=index)
    future = pd.date_range("2024-03-18", periods=9, freq="D")
    assert list(SeasonalNaive("D").fit(y).predict(future)) == [7, 8, 9, 10, 11, 12, 13, 7, 8]


@pytest.mark.parametrize("noise", ["poisson", "overdispersed"])
def test_conformal_intervals_cover_80_percent_of_known_noise(noise: str) -> None:
    rng = np.random.default_rng(4)
    mean = rng.uniform(1.0, 300.0, size=4000)

    def draw() -> np.ndarray:
        if noise == "poisson":
            return rng.poisson(mean).astype(float)
        return rng.negative_binomial(5, 5 / (5 + mean)).astype(float)  # variance >> mean

    calibrated = ScaledConformal(0.8).fit(draw(), mean)
    lower, upper = calibrated.predict(mean)
    assert 0.77 <= coverage(draw(), lower, upper) <= 0.83
    assert np.all(lower >= 0) and np.all(upper >= lower)


def test_intervals_widen_with_the_noise() -> None:
    rng = np.random.default_rng(5)
    mean = np.full(2000, 100.0)
    narrow = ScaledConformal(0.8).fit(rng.normal(mean, 5.0), mean).predict(mean)
    wide = ScaledConformal(0.8).fit(rng.normal(mean, 20.0), mean).predict(mean)
    assert (wide[1] - wide[0])[0] > 3 * (narrow[1] - narrow[0])[0]


def test_forecast_series_intervals_are_calibrated_on_the_past() -> None:
    cal = HolidayCalendar("BR")
    rng = np.random.default_rng(6)
    hits = []
    for _ in range(5):
        y = daily_series(rng, 10, cal)
        train, test = y.iloc[:-7], y.iloc[-7:]
        fc = forecast_series("total", train, "D", 7, "calendar", cal)
        assert list(fc.index) == list(test.index)
        hits.append(coverage(test.to_numpy(), fc.lower, fc.upper))
    assert 0.6 <= np.mean(hits) <= 1.0


def test_mase_smape_and_coverage_by_hand() -> None:
    history = np.array([1.0, 2, 3, 5, 4, 7])  # lag-2 errors: 2, 3, 1, 2 -> scale 2
    assert mase(np.array([10.0, 10]), np.array([11.0, 7]), history, 2) == pytest.approx(1.0)
    assert smape(np.array([0.0, 100]), np.array([0.0, 300])) == pytest.approx(50.0)
    assert coverage(np.array([1.0, 5, 9]), np.array([0, 6, 9]), np.array([2, 8, 9])) == 2 / 3


def test_backtest_cuts_end_with_the_data() -> None:
    assert backtest_cuts(60, "D", 7, 3) == [39, 46, 53]
    assert backtest_cuts(20, "D", 7, 3) == []  # no origin has two weeks before it


def ticket(number: str, opened: str) -> Ticket:
    return Ticket(number=number, opened_at=pd.Timestamp(opened).timestamp(), priority="P3")


def test_arrivals_count_whole_days_and_keep_a_late_complete_period() -> None:
    tickets = [ticket("a", "2024-03-04 09:10"), ticket("b", "2024-03-04 09:50")]
    tickets += [ticket(f"c{i}", "2024-03-06 23:20") for i in range(3)]
    known = pd.Timestamp("2024-03-06 23:44").timestamp()
    daily = arrival_history(tickets, "D", known)
    assert list(daily.counts["total"]) == [2, 0, 3]
    hourly = arrival_history(tickets, "H", known, by="priority")
    assert hourly.counts.index[0] == pd.Timestamp("2024-03-04 00:00")
    assert hourly.counts.index[-1] == pd.Timestamp("2024-03-06 23:00")
    assert hourly.counts.loc["2024-03-04 09:00", "P3"] == 2
    assert hourly.dropped_partial is None


def test_a_period_known_for_less_than_half_its_length_is_partial() -> None:
    last, dropped = history_end(
        pd.Timestamp("2024-03-06 09:00"), pd.Timestamp("2024-03-06 09:10"), "D"
    )
    assert last == pd.Timestamp("2024-03-05")
    assert dropped == pd.Timestamp("2024-03-06")


def test_small_groups_are_lumped_and_missing_values_named() -> None:
    tickets = [ticket(str(i), "2024-03-04 10:00") for i in range(5)]
    tickets[0].priority = "P1"
    tickets[1].priority = None
    counts = arrival_history(tickets, "D", tickets[0].opened_at + 86400, "priority", top=1).counts
    assert list(counts.columns) == ["P3", "(other)"]
    assert counts.iloc[0].tolist() == [3, 2]
