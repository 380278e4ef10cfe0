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

import functools
from collections.abc import Mapping

import numpy as np
from threadpoolctl import ThreadpoolController


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
    seed = starts if starts is not None else anomaly
    start_weights = [seed.get(name, 0.0) for name in nodes]
    if n <= SMALL:
        visits = _solve_small(moves, start_weights, restart)
    else:
        visits = _solve(moves, start_weights, restart)
    return dict(zip(nodes, visits, strict=True))


# Up to this many entities the system is set up in plain Python (most incidents): each numpy
# call costs tens of microseconds inside the stream, more than the arithmetic. Both set-ups
# do the same IEEE operations in the same order (sums as numpy's pairwise sum), so they give
# bit-identical answers (tests/test_rca_walk.py checks it); larger systems use numpy.
SMALL = 24


def _solve(moves: list[list[float]], start_weights: list[float], restart: float) -> list[float]:
    """Visit frequencies, scaled so the most visited is 1, with numpy throughout."""
    n = len(moves)
    m = np.array(moves)
    m /= m.sum(axis=1, keepdims=True)
    teleport = np.array(start_weights)
    total = teleport.sum()
    teleport = teleport / total if total > 0 else np.full(n, 1.0 / n)
    # p = restart * t + (1 - restart) * p M  <=>  (I - (1 - restart) M)^T p = restart * t
    system = np.eye(n) - (1.0 - restart) * m
    with _blas().limit(limits=1, user_api="blas"):
        visits = np.linalg.solve(system.T, restart * teleport)
    visits /= visits.max() or 1.0
    out: list[float] = visits.tolist()
    return out


@functools.cache
def _blas() -> ThreadpoolController:
    """The BLAS thread pools, found once (a scan of the loaded libraries costs about 1 ms).

    A system of a few hundred entities is solved on one thread: OpenBLAS's threads cost far
    more than they save at that size, and on a machine whose cores are busy with other work
    they wait for each other (measured on the large-1 scenario with 2 cores shared: 294 ms
    across its 6 largest solves with OpenBLAS's default 2 threads, 2 ms with 1)."""
    return ThreadpoolController()


def _solve_small(
    moves: list[list[float]], start_weights: list[float], restart: float
) -> list[float]:
    """`_solve` with the set-up in Python and numpy only for the linear solve."""
    n = len(moves)
    keep = 1.0 - restart
    system = []
    for i, row in enumerate(moves):
        total = _sum(row)
        system.append([(1.0 if i == j else 0.0) - keep * (x / total) for j, x in enumerate(row)])
    total = _sum(start_weights)
    teleport = [x / total for x in start_weights] if total > 0 else [1.0 / n] * n
    rhs = [restart * x for x in teleport]
    visits: list[float] = np.linalg.solve(np.array(system).T, np.array(rhs)).tolist()
    top = max(visits) or 1.0
    return [v / top for v in visits]


def _sum(values: list[float]) -> float:
    """numpy's sum of a float vector, operation for operation (its pairwise summation:
    eight running sums over blocks of up to 128, halves above that)."""
    n = len(values)
    if n < 8:
        total = -0.0
        for x in values:
            total += x
        return total
    if n <= 128:
        r = values[:8]
        i, stop = 8, n - n % 8
        while i < stop:
            for j in range(8):
                r[j] += values[i + j]
            i += 8
        total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for x in values[i:]:
            total += x
        return total
    half = n // 2
    half -= half % 8
    return _sum(values[:half]) + _sum(values[half:])
