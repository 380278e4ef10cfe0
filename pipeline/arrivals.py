"""Ticket arrivals per period: distinct tickets counted by the period of their `opened_at`.

An export is a snapshot "as known up to" its last update. Arrivals are complete for every
period that ended before that moment (a ticket's `opened_at` is known when it is created), so
the last period is the one holding the latest known time, unless less than half of it had
elapsed when the export was taken: then it is partial and left out of the history.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.tickets import Ticket

FREQS: dict[str, pd.Timedelta] = {"H": pd.Timedelta(hours=1), "D": pd.Timedelta(days=1)}
GROUP_FIELDS = ("priority", "category", "assignment_group", "cmdb_ci")
TOTAL = "total"
MISSING_GROUP = "(none)"
OTHER_GROUP = "(other)"


def to_timestamp(epoch: float) -> pd.Timestamp:
    """A naive pandas timestamp (UTC wall clock) for epoch seconds."""
    return pd.Timestamp(int(epoch), unit="s")


@dataclass(slots=True, frozen=True)
class History:
    """Arrival counts, one column per series, one row per period, zero-filled."""

    counts: pd.DataFrame
    freq: str
    known_until: pd.Timestamp
    dropped_partial: pd.Timestamp | None  # start of a trailing partial period left out

    @property
    def step(self) -> pd.Timedelta:
        return FREQS[self.freq]


def history_end(
    last_opened: pd.Timestamp, known_until: pd.Timestamp, freq: str
) -> tuple[pd.Timestamp, pd.Timestamp | None]:
    """(start of the last complete period, start of a dropped partial one or None)."""
    step = FREQS[freq]
    last = max(last_opened, known_until).floor(step)
    if known_until < last + step / 2:
        return last - step, last
    return last, None


def arrival_history(
    tickets: Iterable[Ticket],
    freq: str,
    known_until: float,
    by: str | None = None,
    top: int | None = None,
) -> History:
    """Count arrivals per period, in total or per value of the field `by`.

    With `by`, the `top` busiest values keep their own series and the rest are summed into
    `(other)`; tickets without a value count under `(none)`.
    """
    if freq not in FREQS:
        raise ValueError(f"freq must be one of {', '.join(FREQS)}, not {freq!r}")
    if by is not None and by not in GROUP_FIELDS:
        raise ValueError(f"cannot group by {by!r}: use one of {', '.join(GROUP_FIELDS)}")
    step = FREQS[freq]
    opened: list[int] = []
    labels: list[str] = []
    for ticket in tickets:
        opened.append(int(ticket.opened_at))
        labels.append(TOTAL if by is None else (ticket.field(by) or MISSING_GROUP))
    if not opened:
        raise ValueError("no tickets to count")
    times = pd.to_datetime(np.array(opened), unit="s")
    known = to_timestamp(known_until)
    end, dropped = history_end(times.max(), known, freq)
    start = times.min().floor("D")  # whole first day: hourly models see every hour of it
    if end < start:
        raise ValueError("the export holds no complete period")
    labels = _lump_small_groups(labels, top)
    frame = pd.DataFrame({"period": times.floor(step), "series": labels})
    frame = frame[frame["period"] <= end]
    counts = frame.groupby(["period", "series"]).size().unstack("series", fill_value=0)
    index = pd.date_range(start, end, freq=step)
    counts = counts.reindex(index, fill_value=0).astype(float)
    counts.index.name = "timestamp"
    order = counts.sum().sort_values(ascending=False).index
    counts = counts[[c for c in order if c != OTHER_GROUP] + [c for c in order if c == OTHER_GROUP]]
    return History(counts=counts, freq=freq, known_until=known, dropped_partial=dropped)


def _lump_small_groups(labels: list[str], top: int | None) -> list[str]:
    if top is None:
        return labels
    keep = {name for name, _ in Counter(labels).most_common(top)}
    return [name if name in keep else OTHER_GROUP for name in labels]


class ArrivalStream:
    """Arrival counts of a live feed of ticket updates, period by period.

    Feed every update's ticket number and `opened_at` (epoch seconds) with the feed's clock
    `now`; a period is closed, and its count of distinct new tickets returned, once `now` has
    passed its end by `grace` seconds (updates of a new ticket follow its opening closely).
    A ticket first seen after its period closed is counted in `late`, not lost silently.
    Ticket numbers are remembered to count each ticket once (tens of MB per million tickets).
    The closed counts are what an online forecaster learns one at a time (`learn_one`).
    """

    def __init__(self, freq: str, grace: float = 3600.0) -> None:
        if freq not in FREQS:
            raise ValueError(f"freq must be one of {', '.join(FREQS)}, not {freq!r}")
        self.step = int(FREQS[freq].total_seconds())
        self.grace = grace
        self.seen: set[str] = set()
        self.open: Counter[int] = Counter()  # period start (epoch s) -> new tickets so far
        self.closed_until: int | None = None  # periods starting before this are closed
        self.late = 0

    def add(self, number: str, opened_at: float, now: float) -> list[tuple[pd.Timestamp, int]]:
        """Take one update; return the (period start, count) of every period it closes."""
        if number not in self.seen:
            self.seen.add(number)
            period = int(opened_at) // self.step * self.step
            if self.closed_until is not None and period < self.closed_until:
                self.late += 1
            else:
                self.open[period] += 1
        return self._close(now)

    def _close(self, now: float) -> list[tuple[pd.Timestamp, int]]:
        horizon = int(now - self.grace) // self.step * self.step  # periods before are over
        if self.closed_until is None:
            if not self.open:
                return []
            self.closed_until = min(self.open)
        closed = []
        while self.closed_until + self.step <= horizon:
            start = self.closed_until
            closed.append((to_timestamp(start), self.open.pop(start, 0)))
            self.closed_until += self.step
        return closed
