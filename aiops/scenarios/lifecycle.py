"""From a series to its events: the first firing, flaps, re-sends and the resolve.

Re-sends follow the series' interval with ±10 % jitter (as Alertmanager's repeat interval or a
monitor's renotify), each a new event with the same name, resource and labels; the reading in
the summary drifts now and then, and an escalating series switches severity at its
`escalate_at`. A flapping series resolves and fires again a few times soon after it starts.
Events outside the scenario are not emitted: a series that began before the start shows only
its later re-sends and resolve, one that outlasts the end is still firing when it ends.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from aiops.scenarios.series import Series


@dataclass(slots=True)
class Event:
    time: int  # event time, epoch ms
    seq: int  # creation order, the tie-breaker that keeps output deterministic
    status: str
    severity: str
    summary: str
    series: Series
    delivered: int = 0


class Expander:
    """Turns series into events, numbering them in creation order."""

    def __init__(self, rng: random.Random, start: int, horizon: int) -> None:
        self.rng = rng
        self.start = start  # events before it happened before the stream was cut
        self.horizon = horizon
        self.events: list[Event] = []

    def expand(self, s: Series) -> int:
        """Append the events of `s`; return how many there were."""
        rng, horizon, out = self.rng, self.horizon, self.events
        if s.start > horizon:
            return 0
        first = len(out)
        atype = s.atype
        value = rng.uniform(atype.lo, atype.hi)
        summary = atype.render(s.target, value, s.dep)
        severity = s.severity
        stop = min(s.end, horizon)

        def emit(t: int, status: str) -> None:
            if t >= self.start:
                out.append(Event(t, len(out), status, severity, summary, s))

        t = s.start
        emit(t, "firing")
        for _ in range(s.flaps if s.resolves else 0):  # a flap is a resolve and a re-fire
            down = t + rng.randint(20_000, 90_000)
            up = down + rng.randint(15_000, 120_000)
            if up >= stop:
                break
            emit(down, "resolved")
            emit(up, "firing")
            t = up
        if s.refire:
            t += int(s.refire * rng.uniform(0.9, 1.1))
            while t < stop:
                if atype.hi > atype.lo and rng.random() < 0.35:
                    value = min(atype.hi, max(atype.lo, value * rng.uniform(0.9, 1.15)))
                    summary = atype.render(s.target, value, s.dep)
                if s.escalate_at is not None and t >= s.escalate_at:
                    severity = s.escalate_to
                emit(t, "firing")
                t += int(s.refire * rng.uniform(0.9, 1.1))
        if s.resolves and s.end <= horizon:
            emit(max(s.end, s.start + 1000), "resolved")
        return len(out) - first
