"""Calendar features for ticket arrivals: weekday, hour of day and public holidays.

Desks see a weekly rhythm (weekends far quieter than weekdays) and a daily one (office hours);
a public holiday looks like a Sunday. Holidays therefore do not get a coefficient of their
own, learnt from the one or two the history holds: they are mapped onto the Sunday "off" day
type, which every week teaches.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import holidays
import numpy as np
import pandas as pd

SUNDAY = 6
DAY_TYPES = 3  # working day, Saturday, off day (Sunday or holiday)


class HolidayCalendar:
    """Public holidays of one country (python-holidays codes, e.g. BR, US, DE) plus extra dates.

    `country=None` means no public holidays (only `extra` dates count).
    """

    def __init__(
        self, country: str | None = None, subdiv: str | None = None, extra: Iterable[date] = ()
    ) -> None:
        self.country = country
        self.subdiv = subdiv
        self.extra = frozenset(extra)
        self._years: dict[int, frozenset[date]] = {}

    def _holidays_of(self, year: int) -> frozenset[date]:
        if year not in self._years:
            days: set[date] = set()
            if self.country:
                days.update(holidays.country_holidays(self.country, subdiv=self.subdiv, years=year))
            self._years[year] = frozenset(days)
        return self._years[year]

    def is_holiday(self, day: date) -> bool:
        return day in self.extra or day in self._holidays_of(day.year)

    def holidays_mask(self, index: pd.DatetimeIndex) -> np.ndarray:
        """True where the period falls on a holiday."""
        days = index.normalize()
        lookup = {d: self.is_holiday(d.date()) for d in days.unique()}
        return np.array([lookup[d] for d in days], dtype=bool)

    def effective_weekday(self, index: pd.DatetimeIndex) -> np.ndarray:
        """Monday=0 … Sunday=6, with holidays counted as Sundays."""
        return np.where(self.holidays_mask(index), SUNDAY, index.day_of_week).astype(int)


def validate_country(country: str | None) -> None:
    """Raise ValueError naming the problem if python-holidays does not know the country."""
    if country and country not in holidays.list_supported_countries():
        raise ValueError(f"unknown holiday country {country!r} (use an ISO code such as BR, US)")


def day_type(weekday: np.ndarray) -> np.ndarray:
    """0 working day, 1 Saturday, 2 off day (Sunday or holiday)."""
    return np.select([weekday < 5, weekday == 5], [0, 1], default=2)


def calendar_cells(index: pd.DatetimeIndex, calendar: HolidayCalendar, hourly: bool) -> np.ndarray:
    """One cell number per period: effective weekday (× hour of day when hourly)."""
    weekday = calendar.effective_weekday(index)
    if hourly:
        return weekday * 24 + index.hour.to_numpy()
    return weekday


def calendar_design(index: pd.DatetimeIndex, calendar: HolidayCalendar, hourly: bool) -> np.ndarray:
    """One-hot design for a log-linear model.

    Daily: the effective weekday (7 columns). Hourly: the effective weekday, plus the hour of
    day within each day type (3 × 24 columns), so working days share one office-hours shape
    scaled per weekday while Saturdays and off days keep their own shapes.
    """
    weekday = calendar.effective_weekday(index)
    columns = [np.eye(7)[weekday]]
    if hourly:
        cell = day_type(weekday) * 24 + index.hour.to_numpy()
        columns.append(np.eye(DAY_TYPES * 24)[cell])
    return np.hstack(columns)
