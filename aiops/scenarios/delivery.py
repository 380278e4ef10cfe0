"""Out-of-order delivery: the order in which a collector would receive the events.

Each event is delivered after a delay: usually a second or two (exponential, mean 1.5 s), for
a tail share anywhere from 5 s up to `max_delay`. Never more than `max_delay`, so a consumer
that waits that long can restore time order exactly.
"""

from __future__ import annotations

import random

from aiops.scenarios.lifecycle import Event
from aiops.scenarios.profiles import Params


def deliver(events: list[Event], params: Params, rng: random.Random) -> list[Event]:
    """The events sorted by delivery time (ties by creation order); sets `delivered`."""
    max_ms = int(params.max_delay * 1000)
    tail_lo = min(5000, max_ms // 2)
    tail = params.delay_tail_share
    for e in events:
        if rng.random() < tail:
            delay = rng.randint(tail_lo, max_ms)
        else:
            delay = min(max_ms, 50 + int(rng.expovariate(1 / 1500)))
        e.delivered = e.time + delay
    return sorted(events, key=lambda e: (e.delivered, e.seq))
