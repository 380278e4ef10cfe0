"""The random walk's two set-ups (plain Python for small systems, numpy for large ones) must
give bit-identical visit frequencies: the ranking's scores and order depend on them."""

from __future__ import annotations

import random

import numpy as np

from models import rca_walk
from models.rca_walk import _solve, _solve_small, _sum, random_walk


def _moves(rng: random.Random, n: int) -> list[list[float]]:
    """A move matrix shaped like random_walk's: sparse positive weights, a positive diagonal."""
    moves = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            if i != j and rng.random() < 0.3:
                moves[i][j] = rng.uniform(0.1, 2.2) * rng.choice((1.0, 0.25))
        moves[i][i] += rng.choice((0.0, rng.uniform(0.0, 2.0))) + 1e-6
    return moves


def test_sum_is_numpys_sum_bit_for_bit() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        n = rng.randint(1, 300)
        values = [rng.random() * 10 ** rng.randint(-6, 6) for _ in range(n)]
        assert _sum(values) == float(np.array(values).sum())
        rows = np.array([values, values[::-1]])
        assert [_sum(values), _sum(values[::-1])] == rows.sum(axis=1).tolist()


def test_small_and_numpy_setups_agree_bit_for_bit() -> None:
    rng = random.Random(11)
    for _ in range(2000):
        n = rng.randint(2, 40)
        moves = _moves(rng, n)
        starts = [rng.choice((0.0, rng.uniform(0.1, 2.1))) for _ in range(n)]
        if rng.random() < 0.05:
            starts = [0.0] * n  # no restart weights: uniform restarts
        restart = rng.choice((0.15, rng.uniform(0.05, 0.5)))
        expected = _solve([row[:] for row in moves], starts, restart)
        assert _solve_small([row[:] for row in moves], starts, restart) == expected


def test_walk_answer_does_not_depend_on_the_setup(monkeypatch: object) -> None:
    rng = random.Random(3)
    names = [f"svc-{i}" for i in range(12)]
    anomaly = {s: 0.1 + rng.random() for s in names}
    forward = {s: [d for d in names if d != s and rng.random() < 0.25] for s in names}
    small = random_walk(anomaly, forward)
    monkeypatch.setattr(rca_walk, "SMALL", 0)  # type: ignore[attr-defined]
    assert random_walk(anomaly, forward) == small
    assert max(small.values()) == 1.0
