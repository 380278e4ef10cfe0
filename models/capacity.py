"""Staffing from forecast arrivals: Erlang C (M/M/N queue) per interval.

Tickets arrive at random (Poisson) at the forecast rate, each takes an agent on average `aht`
of work, and a ticket waits in the queue until an agent is free. With N agents and offered
load A = rate × aht (in erlangs: agents kept busy on average), Erlang C gives the probability
that a ticket has to wait at all, and from it the share picked up within a target time:

    P(wait > 0) = C(N, A) = N·B / (N − A·(1 − B)),   B = Erlang B(N, A)
    service level(t) = 1 − C(N, A) · exp(−(N − A) · t / aht)

The smallest N meeting the target is the staff needed on tickets in that interval.
"""

from __future__ import annotations

import math

MAX_AGENTS = 100_000


def erlang_b(agents: int, load: float) -> float:
    """Blocking probability of an M/M/N/N system, by the stable recurrence
    B(0) = 1, B(k) = A·B(k−1) / (k + A·B(k−1))."""
    if agents < 0 or load < 0:
        raise ValueError("agents and load must not be negative")
    b = 1.0
    for k in range(1, agents + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(agents: int, load: float) -> float:
    """Probability that an arriving ticket waits (1 when the agents cannot keep up)."""
    if load <= 0:
        return 0.0
    if agents <= load:
        return 1.0
    b = erlang_b(agents, load)
    return agents * b / (agents - load * (1.0 - b))


def service_level(agents: int, load: float, aht: float, target_wait: float) -> float:
    """Share of tickets picked up within `target_wait` (same unit as `aht`)."""
    if load <= 0:
        return 1.0
    if agents <= load:
        return 0.0
    waiting = erlang_c(agents, load)
    return 1.0 - waiting * math.exp(-(agents - load) * target_wait / aht)


def agents_needed(
    rate: float,
    aht: float,
    target_level: float,
    target_wait: float,
    max_occupancy: float = 1.0,
) -> int:
    """Fewest agents so that `target_level` of tickets wait at most `target_wait`.

    `rate` is tickets per unit of time and `aht` the mean handling time in the same unit as
    `target_wait`, times that unit (e.g. tickets/minute and minutes). `max_occupancy` caps the
    share of time each agent is busy (0.85 leaves slack for follow-ups).
    """
    if not 0 < target_level < 1:
        raise ValueError("target level must lie strictly between 0 and 1")
    if not 0 < max_occupancy <= 1:
        raise ValueError("max occupancy must lie in (0, 1]")
    load = rate * aht
    if load <= 0:
        return 0
    agents = max(1, math.floor(load) + 1, math.ceil(load / max_occupancy))
    while service_level(agents, load, aht, target_wait) < target_level:
        agents += 1
        if agents > MAX_AGENTS:
            raise ValueError(f"more than {MAX_AGENTS} agents needed: check the inputs")
    return agents
