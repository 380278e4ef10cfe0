"""Erlang C against values worked out by hand and by the textbook formula, and the plan."""

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from aiops.forecasting.engine import SeriesForecast
from aiops.forecasting.staffing import (
    PlanSettings,
    ServiceTarget,
    effort_of,
    mean_handling_minutes,
    parse_effort,
    parse_sla,
    staffing_plan,
)
from models.capacity import agents_needed, erlang_b, erlang_c, service_level


def textbook_erlang_c(n: int, a: int) -> Fraction:
    """P(wait) = (A^N/N! · N/(N−A)) / (Σ_{k<N} A^k/k! + A^N/N! · N/(N−A)), exactly."""
    top = Fraction(a**n, math.factorial(n)) * Fraction(n, n - a)
    return top / (sum(Fraction(a**k, math.factorial(k)) for k in range(n)) + top)


@pytest.mark.parametrize(("agents", "load", "expected"), [(3, 2, 4 / 9), (2, 1, 1 / 3)])
def test_erlang_c_small_cases_by_hand(agents: int, load: float, expected: float) -> None:
    assert erlang_c(agents, load) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("agents", "load"), [(11, 10), (12, 10), (15, 10), (40, 33), (7, 2)])
def test_erlang_c_matches_the_textbook_formula(agents: int, load: int) -> None:
    assert erlang_c(agents, load) == pytest.approx(float(textbook_erlang_c(agents, load)))


def test_erlang_b_known_value() -> None:
    # B(2, 1) = (1/2) / (1 + 1 + 1/2) = 0.2
    assert erlang_b(2, 1.0) == pytest.approx(0.2)


def test_erlang_c_edges() -> None:
    assert erlang_c(5, 0.0) == 0.0
    assert erlang_c(5, 5.0) == 1.0  # as many agents as load: the queue never empties
    assert service_level(5, 6.0, 1.0, 10.0) == 0.0


def test_service_level_by_hand() -> None:
    # A = 2, N = 3, AHT 1, target 1: 1 - (4/9)·e^{-1}
    assert service_level(3, 2.0, 1.0, 1.0) == pytest.approx(1 - 4 / 9 * math.exp(-1))


@pytest.mark.parametrize("rate", [0.05, 0.5, 2.0, 8.0])
def test_agents_needed_is_the_fewest_meeting_the_target(rate: float) -> None:
    aht, level, wait = 10.0, 0.8, 5.0
    n = agents_needed(rate, aht, level, wait)
    assert service_level(n, rate * aht, aht, wait) >= level
    if n - 1 > rate * aht:
        assert service_level(n - 1, rate * aht, aht, wait) < level
    assert agents_needed(0.0, aht, level, wait) == 0


def test_occupancy_cap_adds_agents() -> None:
    free = agents_needed(3.0, 10.0, 0.5, 60.0)
    capped = agents_needed(3.0, 10.0, 0.5, 60.0, max_occupancy=0.7)
    assert capped >= math.ceil(30.0 / 0.7) > free


@pytest.mark.parametrize(
    ("text", "level", "wait"), [("80/30", 0.8, 30), ("90%/15m", 0.9, 15), ("0.5/60", 0.5, 60)]
)
def test_parse_sla(text: str, level: float, wait: float) -> None:
    assert parse_sla(text) == ServiceTarget(level, wait)


@pytest.mark.parametrize("text", ["80", "100/30", "80/0", "fast"])
def test_parse_sla_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError):
        parse_sla(text)


def test_effort_by_priority_number_name_or_default() -> None:
    effort = parse_effort("1=120, 3 - Moderate=40, default=20")
    assert effort_of("1 - Critical", effort) == 120
    assert effort_of("3 - Moderate", effort) == 40
    assert effort_of("4 - Low", effort) == 20
    assert parse_effort("25") == {"default": 25.0}
    with pytest.raises(ValueError):
        parse_effort("1=-5")


def test_handling_time_follows_the_recent_priority_mix() -> None:
    index = pd.date_range("2024-01-01", periods=24 * 7 * 6, freq="h")
    counts = pd.DataFrame({"1 - Critical": 0.0, "3 - Moderate": 3.0}, index=index)
    counts.iloc[-24 * 7 * 4 :, 0] = 1.0  # the last four weeks: one critical per three moderate
    assert mean_handling_minutes(counts, {"1": 100.0, "3": 20.0}) == pytest.approx(40.0)


def test_plan_rows_agents_and_staff() -> None:
    index = pd.date_range("2024-03-04", periods=24, freq="h")
    yhat = np.where((index.hour >= 8) & (index.hour < 18), 30.0, 2.0)
    fc = SeriesForecast("total", index, yhat, yhat * 0.8, yhat * 1.3)
    settings = PlanSettings(ServiceTarget(0.8, 30.0), aht_minutes=20.0, shrinkage=0.25)
    plan = staffing_plan(fc, settings)
    assert len(plan) == 24
    busy, quiet = plan.iloc[10], plan.iloc[3]
    assert busy["workload_erlangs"] == pytest.approx(10.0)  # 30/h × 20 min
    assert busy["agents"] > 10 and busy["service_level"] >= 0.8
    assert busy["agents_upper"] >= busy["agents"] > quiet["agents"] >= 1
    assert (plan["staff"] == np.ceil(plan["agents"] / 0.75)).all()
    assert plan["shift_start"].nunique() == 3
