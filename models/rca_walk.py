"""A random walk over an incident's part of the dependency graph (MonitorRank-style).

A walker starts at an alerting entity and keeps moving towards what could explain it: from
a service to the services it calls and the node it runs on, with a probability that grows
with how anomalous the target is. Moving back to a caller is allowed but costs (`backward`),
and a walker with nowhere better to go stays. Walkers restart at the alerting entities with
probability `restart`. Where walkers spend their time is where the symptoms lead: the
stationary visit frequency ranks root candidates, with no thresholds, on any graph.

The stationary distribution of a walk with restarts is solved exactly (one small linear
system, p = restart * t (I - (1 - restart) M)^-1), which on an incident's few dozen entities
costs tens of microseconds: no iteration count to tune.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def random_walk(
    anomaly: Mapping[str, float],
    forward: Mapping[str, list[str]],
    *,
    starts: Mapping[str, float] | None = None,
    backward: float = 0.25,
    restart: float = 0.15,
) -> dict[str, float]:
    """Visit frequency of every entity, scaled so the most visited scores 1.

    anomaly: entity -> how anomalous it is, > 0 (its pull on walkers).
    forward: entity -> entities that could explain it (callees, its node); both ends must be
        keys of `anomaly`. Reverse edges are derived and weighted by `backward`.
    starts: where walkers restart (default: every entity, by its anomaly).
    """
    nodes = sorted(anomaly)
    n = len(nodes)
    if n == 0:
        return {}
    if n == 1:
        return {nodes[0]: 1.0}
    index = {name: i for i, name in enumerate(nodes)}
    weight = [anomaly[name] for name in nodes]
    # Plain lists while building (n is small), one array for the algebra.
    moves = [[0.0] * n for _ in range(n)]
    ahead = [0.0] * n  # the most anomalous entity a walker could move on to
    for src, dsts in forward.items():
        i = index[src]
        row = moves[i]
        for dst in dsts:
            j = index[dst]
            row[j] += weight[j]  # towards a possible cause
            moves[j][i] += backward * weight[i]  # back to a caller, at a cost
            ahead[i] = max(ahead[i], weight[j])
    for i in range(n):
        # Stay when nothing ahead looks worse than here (a root keeps its walkers).
        moves[i][i] += max(weight[i] - ahead[i], 0.0) + 1e-6
    m = np.array(moves)
    m /= m.sum(axis=1, keepdims=True)
    seed = starts if starts is not None else anomaly
    teleport = np.array([seed.get(name, 0.0) for name in nodes])
    total = teleport.sum()
    teleport = teleport / total if total > 0 else np.full(n, 1.0 / n)
    # p = restart * t + (1 - restart) * p M  <=>  (I - (1 - restart) M)^T p = restart * t
    system = np.eye(n) - (1.0 - restart) * m
    visits = np.linalg.solve(system.T, restart * teleport)
    visits /= visits.max() or 1.0
    return dict(zip(nodes, visits.tolist(), strict=True))
