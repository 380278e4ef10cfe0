"""The order in which one shard's records meet the pipeline.

A shard is one partition index: partition p of the alerts, changes and metrics topics
(producers key all by the correlation scope, so what may correlate lands on the same index).
Kafka orders records within a partition only; across the topics this module applies the rule
`connectors.files.merge_streams` applies to files, so a service that reads a backlog sees
exactly the order `aiops replay` sees:

- the head with the earliest event time goes next (ties: alerts, then changes, then metric
  samples); records without a time (dead letters) go as soon as they are a head;
- a dated head goes only when every other stream has a head too, or is *exhausted for now*:
  its buffer is empty and its consumer position has reached the partition's high watermark
  (nothing earlier can be waiting in the broker).

So while reading a backlog the merge is exact; once caught up, records go in arrival order
(a change that arrives late is processed when it arrives, like a late alert).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from connectors.files import merge_time
from connectors.kafka.messages import Decoded

_UNDATED = float("-inf")
_OPEN = float("inf")  # no other head to compare with
ALERTS, CHANGES, METRICS = 0, 1, 2  # stream order: on equal times alerts go first, as in replay
STREAMS = (ALERTS, CHANGES, METRICS)


@dataclass(slots=True)
class Pending:
    """A decoded record waiting for its turn."""

    record: Decoded
    offset: int  # of its message (a webhook payload may hold several records)


class ShardMerger:
    """Buffers of the input streams of one shard, released in merge order."""

    def __init__(self) -> None:
        self.buffers: tuple[deque[Pending], ...] = tuple(deque() for _ in STREAMS)

    def add(self, stream: int, offset: int, records: list[Decoded]) -> None:
        buf = self.buffers[stream]
        for record in records:  # mostly one: a loop costs less than a generator
            buf.append(Pending(record, offset))

    def __len__(self) -> int:
        return sum(len(buf) for buf in self.buffers)

    def first_offset(self, stream: int) -> int | None:
        """The offset of the first message of `stream` not fully processed, if any is
        buffered (a message half processed is processed again after a restore: its first
        alerts are then exact redeliveries, which the pipeline drops)."""
        buf = self.buffers[stream]
        return buf[0].offset if buf else None

    def clear(self) -> None:
        for buf in self.buffers:
            buf.clear()

    def release(self, exhausted: Callable[[int], bool]) -> Iterator[tuple[int, Pending]]:
        """(stream, pending) in merge order, as far as the rule above allows now.
        `exhausted(stream)` says whether that stream's partition is caught up.

        The heads are compared once per *run*: the chosen stream keeps going while its
        next head still sorts before every other head (the others do not change meanwhile),
        so a backlog of one stream costs one time lookup per record."""
        buffers = self.buffers
        known: dict[int, bool] = {}  # nothing is fetched during a release: ask once per stream

        def done(stream: int) -> bool:
            if stream not in known:
                known[stream] = exhausted(stream)
            return known[stream]

        while True:
            best = -1
            best_time = 0.0
            waiting = False  # an empty stream that may still deliver something earlier
            for stream, buf in enumerate(buffers):
                if buf:
                    t = merge_time(buf[0].record)
                    if best < 0 or t < best_time:
                        best, best_time = stream, t
                elif not waiting and not done(stream):
                    waiting = True
            if best < 0 or (waiting and best_time != _UNDATED):
                return
            # The run of `best` goes on while its head sorts first: before the earliest
            # other head of a lower stream (ties go to the lower stream), at or before that
            # of a higher one. While a stream may still deliver, only undated heads go.
            below = above = _OPEN
            for stream, buf in enumerate(buffers):
                if buf and stream != best:
                    t = merge_time(buf[0].record)
                    if stream < best:
                        below = min(below, t)
                    else:
                        above = min(above, t)
            run = buffers[best]
            yield best, run.popleft()
            while run:
                t = merge_time(run[0].record)
                if t >= below or t > above or (waiting and t != _UNDATED):
                    break
                yield best, run.popleft()
