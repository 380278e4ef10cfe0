"""What the forewarning stage (pipeline/forewarn.py) keeps about signs: one alert as a
sign, a labelled-later snapshot, and how long background warnings last."""

from __future__ import annotations

from bisect import bisect_right, insort
from collections import deque
from dataclasses import dataclass
from typing import Any

from mypy_extensions import mypyc_attr

CLEARED_KEPT = 200  # durations of cleared warnings remembered per alert name


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class Sign:
    """One alert on the entity, as a sign: when it started, how bad it got, whether it still
    fires and how often it was re-sent."""

    onset: float
    name: str
    severity: int
    chronic: bool
    anomaly: bool
    firing: bool = True
    last: float = 0.0
    resends: int = 0
    escalations: int = 0
    resource: str = ""
    persistent: bool = False
    recurring: bool = False  # the same alert fired and cleared earlier (history_s)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class Snapshot:
    t: float
    entity: str
    features: dict[str, float]


def band(minutes: float) -> str:
    for limit in (5, 15, 30, 60):
        if minutes < limit:
            return f"under_{limit}m"
    return "hour_plus"


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Background:
    """How long warnings that came to nothing lasted, per alert name and over all names
    (the latest CLEARED_KEPT per name): a sign that has already outlasted most background
    of its kind is worth more than one that has not, whatever the deployment's noise.

    Each window of durations has a sorted copy beside it, so `outlasted` counts by
    bisection instead of scanning up to 800 durations per firing sign and snapshot. The
    sorted copies are derived: they are not pickled and are rebuilt on unpickling, so the
    snapshot state keeps its shape."""

    def __init__(self) -> None:
        self.by_name: dict[str, deque[float]] = {}
        self.all: deque[float] = deque(maxlen=CLEARED_KEPT * 4)
        self._sorted: dict[str | None, list[float]] = {}

    def add(self, name: str, duration: float) -> None:
        kept = self.by_name.get(name)
        if kept is None:
            kept = self.by_name[name] = deque(maxlen=CLEARED_KEPT)
        self._push(kept, self._sorted.setdefault(name, []), duration)
        self._push(self.all, self._sorted.setdefault(None, []), duration)

    @staticmethod
    def _push(window: deque[float], ordered: list[float], duration: float) -> None:
        if len(window) == window.maxlen:
            oldest = window[0]
            del ordered[bisect_right(ordered, oldest) - 1]
        window.append(duration)
        insort(ordered, duration)

    def outlasted(self, name: str | None, age: float) -> float:
        """The share of cleared warnings (of this name; of any name for None) that a sign
        of this age has outlasted, smoothed: 0.5 while none is known."""
        ordered = self._sorted.get(name, ())
        longer = len(ordered) - bisect_right(ordered, age)
        return 1 - (longer + 1) / (len(ordered) + 2)

    def __getstate__(self) -> dict[str, Any]:
        return {"by_name": self.by_name, "all": self.all}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.by_name = state["by_name"]
        self.all = state["all"]
        self._sorted = {name: sorted(kept) for name, kept in self.by_name.items()}
        self._sorted[None] = sorted(self.all)
