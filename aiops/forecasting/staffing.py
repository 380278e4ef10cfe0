"""A staffing plan from an hourly forecast: handling effort, service target, Erlang C.

The effort of a ticket depends on its priority (a critical ticket takes longer than a low
one); the planner gives minutes per priority, and the mix of priorities seen in the recent
history turns them into one mean handling time. Staff on tickets come from Erlang C per hour;
rostered staff add shrinkage (breaks, meetings, training: paid time not on tickets).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from aiops.forecasting.engine import SeriesForecast
from models.capacity import agents_needed, service_level
from pipeline.times import format_time

DEFAULT = "default"
# Placeholder minutes of work per ticket by priority (leading number of the value, as in
# "1 - Critical"); every desk should set its own with --effort.
DEFAULT_EFFORT = {"1": 120.0, "2": 90.0, "3": 45.0, "4": 30.0, DEFAULT: 45.0}
MIX_WEEKS = 4  # priority mix from the last four weeks: recent, yet every weekday 4 times


@dataclass(slots=True, frozen=True)
class ServiceTarget:
    """`level` of tickets picked up within `wait_minutes`."""

    level: float
    wait_minutes: float


def parse_sla(text: str) -> ServiceTarget:
    """'80/30', '80%/30m' or '0.8/30': 80 % of tickets picked up within 30 minutes."""
    match = re.fullmatch(r"\s*([\d.]+)\s*(%?)\s*/\s*([\d.]+)\s*(m|min)?\s*", text)
    if match is None:
        raise ValueError(f"SLA must look like 80/30 (80 % within 30 minutes), not {text!r}")
    level = float(match.group(1))
    if match.group(2) or level > 1:
        level /= 100.0
    wait = float(match.group(3))
    if not 0 < level < 1 or wait <= 0:
        raise ValueError(f"SLA {text!r}: level must be in (0, 100) %, wait above 0 minutes")
    return ServiceTarget(level, wait)


def parse_effort(text: str) -> dict[str, float]:
    """'1=120,2=90,3=45,4=30,default=45' (minutes per ticket by priority) or one number."""
    text = text.strip()
    try:
        if "=" not in text:
            return {DEFAULT: _minutes(text)}
        effort = {}
        for part in text.split(","):
            key, _, value = part.partition("=")
            effort[key.strip()] = _minutes(value)
        return effort
    except ValueError as exc:
        raise ValueError(f"effort {text!r}: {exc}") from None


def _minutes(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError("minutes must be above 0")
    return value


def effort_of(priority: str, effort: dict[str, float]) -> float:
    """Minutes for one priority value: exact key, else its leading number, else the default."""
    if priority in effort:
        return effort[priority]
    lead = priority.split(" - ", 1)[0].strip()
    if lead in effort:
        return effort[lead]
    return effort.get(DEFAULT, DEFAULT_EFFORT[DEFAULT])


def mean_handling_minutes(by_priority: pd.DataFrame, effort: dict[str, float]) -> float:
    """Mean minutes per ticket over the priority mix of the last `MIX_WEEKS` weeks."""
    recent = by_priority[by_priority.index > by_priority.index[-1] - pd.Timedelta(weeks=MIX_WEEKS)]
    totals = recent.sum()
    if totals.sum() <= 0:
        return effort.get(DEFAULT, DEFAULT_EFFORT[DEFAULT])
    minutes = np.array([effort_of(str(p), effort) for p in totals.index])
    return float((totals.to_numpy() * minutes).sum() / totals.sum())


@dataclass(slots=True, frozen=True)
class PlanSettings:
    target: ServiceTarget
    aht_minutes: float
    shrinkage: float = 0.3
    max_occupancy: float = 0.85
    shift_hours: int = 8


def staffing_plan(fc: SeriesForecast, settings: PlanSettings) -> pd.DataFrame:
    """One row per hour: tickets, workload, agents needed (forecast and upper bound), staff."""
    aht = settings.aht_minutes
    target = settings.target

    def agents(per_hour: float) -> int:
        return agents_needed(
            per_hour / 60.0, aht, target.level, target.wait_minutes, settings.max_occupancy
        )

    need = [agents(r) for r in fc.yhat]
    need_upper = [agents(r) for r in fc.upper]
    load = fc.yhat / 60.0 * aht
    level = [service_level(n, a, aht, target.wait_minutes) for n, a in zip(need, load, strict=True)]
    on_duty = 1.0 - settings.shrinkage
    shift = fc.index.floor(f"{settings.shift_hours}h")
    return pd.DataFrame(
        {
            "timestamp": [format_time(t.timestamp()) for t in fc.index],
            "shift_start": [format_time(t.timestamp()) for t in shift],
            "tickets": fc.yhat.round(3),
            "tickets_lower": fc.lower.round(3),
            "tickets_upper": fc.upper.round(3),
            "aht_minutes": round(aht, 2),
            "workload_erlangs": load.round(3),
            "agents": need,
            "service_level": np.round(level, 4),
            "occupancy": np.round(np.divide(load, need, out=np.zeros_like(load),
                                            where=np.array(need) > 0), 4),
            "agents_upper": need_upper,
            "staff": [math.ceil(n / on_duty) for n in need],
            "staff_upper": [math.ceil(n / on_duty) for n in need_upper],
        }
    )  # fmt: skip


def shift_summary(plan: pd.DataFrame) -> pd.DataFrame:
    """Per shift: tickets expected and the staff its busiest hour needs."""
    grouped = plan.groupby("shift_start", sort=True)
    return pd.DataFrame(
        {
            "tickets": grouped["tickets"].sum().round(1),
            "staff": grouped["staff"].max(),
            "staff_upper": grouped["staff_upper"].max(),
        }
    )
