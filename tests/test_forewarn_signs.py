"""Background durations: the bisection over the sorted copy counts as a scan would."""

from __future__ import annotations

import pickle
import random

from pipeline.forewarn_signs import CLEARED_KEPT, Background


def _scanned(bg: Background, name: str | None, age: float) -> float:
    durations = bg.all if name is None else bg.by_name.get(name, ())
    longer = sum(1 for d in durations if d > age)
    return 1 - (longer + 1) / (len(durations) + 2)


def test_outlasted_counts_as_a_scan_after_the_windows_wrap_and_after_pickling() -> None:
    rng = random.Random(201)
    bg = Background()
    # Far more than the windows keep, with ties, so the oldest leave the sorted copies too.
    for _ in range(CLEARED_KEPT * 10):
        bg.add(rng.choice("abc"), rng.choice([rng.random() * 600, 60.0, 120.0]))
    assert len(bg.all) == CLEARED_KEPT * 4 and len(bg.by_name["a"]) == CLEARED_KEPT
    restored = pickle.loads(pickle.dumps(bg))
    for held in (bg, restored):
        for name in (None, "a", "b", "c", "unknown"):
            for age in (0.0, 59.9, 60.0, 60.1, 120.0, 300.0, 599.0, 10_000.0):
                assert held.outlasted(name, age) == _scanned(held, name, age)
    assert Background().outlasted(None, 30.0) == 0.5
