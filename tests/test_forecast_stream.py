"""The streaming path: updates one at a time -> closed periods -> an online forecaster that
ends where the batch path ends."""

import numpy as np
import pandas as pd

from models.calendar import HolidayCalendar
from models.forecasters import OnlineProfile
from pipeline.arrivals import ArrivalStream, arrival_history
from pipeline.tickets import TicketFold, TicketUpdate

T0 = pd.Timestamp("2024-03-04").timestamp()  # a Monday


def updates(rng: np.random.Generator, days: int) -> list[TicketUpdate]:
    """Each ticket opens at a random minute and gets 1-3 updates within the next half hour."""
    rows = []
    for n in range(days * 30):
        opened = T0 + float(rng.integers(0, days * 86400 // 60)) * 60
        for k in range(int(rng.integers(1, 4))):
            rows.append(
                TicketUpdate(number=f"INC{n}", opened_at=opened, updated_at=opened + 600 * k)
            )
    return sorted(rows, key=lambda u: u.updated_at or 0.0)


def test_stream_counts_match_the_batch_counts_and_train_the_same_model() -> None:
    rng = np.random.default_rng(11)
    feed = updates(rng, days=21)
    calendar = HolidayCalendar(None)
    stream, online, fold = (
        ArrivalStream("H", grace=3600),
        OnlineProfile(calendar, "H"),
        TicketFold(),
    )
    closed = []
    for u in feed:
        fold.add(u)
        for start, count in stream.add(u.number, u.opened_at, now=u.updated_at or u.opened_at):
            online.learn_one(start, count)
            closed.append((start, count))
    assert stream.late == 0
    assert len(closed) > 24 * 19
    batch = arrival_history(fold, "H", fold.known_until or T0).counts["total"]
    streamed = pd.Series(dict(closed), dtype=float)
    pd.testing.assert_series_equal(
        streamed, batch.loc[streamed.index], check_names=False, check_freq=False
    )
    later = pd.date_range(batch.index[-1], periods=48, freq="h")
    batch_model = OnlineProfile(calendar, "H").fit(batch.loc[streamed.index])
    np.testing.assert_allclose(online.predict(later), batch_model.predict(later))


def test_a_ticket_seen_after_its_period_closed_counts_as_late() -> None:
    stream = ArrivalStream("H", grace=0)
    assert stream.add("a", T0 + 10, now=T0 + 20) == []
    closed = stream.add("b", T0 + 7300, now=T0 + 7300)
    assert closed == [(pd.Timestamp("2024-03-04 00:00"), 1), (pd.Timestamp("2024-03-04 01:00"), 0)]
    stream.add("c", T0 + 100, now=T0 + 7400)
    assert stream.late == 1
    stream.add("a", T0 + 10, now=T0 + 7500)  # a later update of a known ticket: not new
    assert stream.late == 1
