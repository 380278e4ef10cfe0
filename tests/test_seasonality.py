"""Online seasonality detection: the period a series repeats with is found from its past."""

from __future__ import annotations

import random

from models.seasonality import DAY_S, SeasonalLag

STEP = 1800.0  # 30-minute samples
T0 = 1_700_000_000.0


def test_a_weekly_pattern_is_found_as_weekly_not_daily() -> None:
    """Busy weekday afternoons, quiet weekends: the value a week earlier is the right
    reference, the value a day earlier is wrong on Mondays and Saturdays."""
    rng = random.Random(3)
    season = SeasonalLag()
    season.start(STEP)
    per_day = round(DAY_S / STEP)
    for i in range(5 * 7 * per_day):
        day, slot = divmod(i, per_day)
        busy = day % 7 < 5 and per_day // 3 <= slot < 2 * per_day // 3
        season.learn(T0 + i * STEP, (80.0 if busy else 20.0) + rng.gauss(0, 1.0))
    assert season.lag == 7 * per_day
