"""How a fault spreads upstream: from a service to the services that call it, hop by hop.

Each edge is tried once, from the earliest time its callee is hit: it carries the fault with a
probability that falls with depth (`propagation * propagation_decay ** depth`), after a delay
drawn from `hop_delay`. A partial origin (one replica of several, or a node that hosts only
some replicas) passes the fault on less readily at the first hop.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass

from aiops.scenarios.profiles import Params
from aiops.scenarios.topology import Topology


@dataclass(frozen=True, slots=True)
class Origin:
    service: str
    time: int  # epoch ms
    strength: float  # 1.0 = the whole service is down


@dataclass(frozen=True, slots=True)
class Hit:
    service: str
    time: int
    depth: int
    via: str  # the dependency through which the fault arrived


def spread(
    topo: Topology,
    params: Params,
    rng: random.Random,
    origins: list[Origin],
    severe: bool,
    until: int,
) -> list[Hit]:
    """Services reached by the fault before it ends at `until` (origins excluded), in the
    order they are hit."""
    best: dict[str, Hit] = {}
    for o in origins:
        best[o.service] = Hit(o.service, o.time, 0, "")
    strength = {o.service: o.strength for o in origins}
    heap = [(o.time, topo.services[o.service].rank, o.service) for o in origins]
    heapq.heapify(heap)
    lo, hi = (int(x * 1000) for x in params.hop_delay)
    # Major faults degrade rather than break: they spread a little less.
    base = params.propagation * (1.0 if severe else 0.85)
    done: set[str] = set()
    while heap:
        t, _, name = heapq.heappop(heap)
        if name in done:
            continue
        done.add(name)
        hit = best[name]
        if hit.depth >= params.max_depth:
            continue
        p = base * params.propagation_decay**hit.depth
        if hit.depth == 0:
            p *= strength[name]
        for caller in topo.callers[name]:
            if caller in done or caller in strength or rng.random() >= p:
                continue
            when = t + rng.randint(lo, hi)
            if when >= until:
                continue  # the root recovered before the trouble got this far
            old = best.get(caller)
            if old is None or when < old.time:
                best[caller] = Hit(caller, when, hit.depth + 1, name)
                heapq.heappush(heap, (when, topo.services[caller].rank, caller))
    hits = [h for h in best.values() if h.depth > 0]
    hits.sort(key=lambda h: (h.time, topo.services[h.service].rank))
    return hits
