"""NAB standard-profile rules on hand-built files (Lavin & Ahmad 2015).

Expected values are worked out from the published formulas here, not taken from the code:
sigma(p) = 2 / (1 + exp(5 p)) - 1, a window point's weight is sigma(p) / sigma(-1) with
p = -(right - i + 1) / width, a false positive costs 0.11 * sigma(d) (or 0.11 with no window
before it), a missed window costs 1.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from aiops.evaluation.nab import (
    best_threshold,
    load_corpus,
    normalised,
    plan_scoring,
    probation_length,
    score_corpus,
    score_file,
)


def sigma(p: float) -> float:
    return -1.0 if p >= 3 else 2.0 / (1.0 + math.exp(5.0 * p)) - 1.0


# 100 points: probation = 15 points; one window over points 40..59 (width 20).
N = 100
WINDOW = (40, 59)


def detections(*at: int, n: int = N) -> list[float]:
    scores = [0.0] * n
    for i in at:
        scores[i] = 1.0
    return scores


def raw(*at: int, windows: tuple[tuple[int, int], ...] = (WINDOW,), n: int = N) -> float:
    return score_file(plan_scoring("f", n, windows), detections(*at, n=n), 0.5).raw


def test_probation_is_15_percent_capped_at_750_points() -> None:
    assert probation_length(100) == 15
    assert probation_length(4032) == 604
    assert probation_length(5000) == 750
    assert probation_length(22695) == 750


def test_detection_at_window_start_scores_exactly_the_maximum() -> None:
    assert raw(40) == pytest.approx(1.0)


def test_later_detection_in_the_window_scores_less() -> None:
    middle = raw(50)
    assert middle == pytest.approx(sigma(-10 / 20) / sigma(-1.0))
    assert 0.8 < middle < 1.0
    last = raw(59)
    assert last == pytest.approx(sigma(-1 / 20) / sigma(-1.0))
    assert 0 < last < middle


def test_only_the_first_detection_in_a_window_counts() -> None:
    assert raw(45, 46, 50, 58) == pytest.approx(raw(45))


def test_a_miss_costs_one() -> None:
    assert raw() == pytest.approx(-1.0)


def test_false_positive_before_any_window_costs_the_full_weight() -> None:
    assert raw(20) == pytest.approx(-1.0 - 0.11)
    assert raw(20, 30) == pytest.approx(-1.0 - 0.22)


def test_false_positive_after_a_window_costs_by_distance() -> None:
    # d = (i - right) / (width - 1): just after the window is cheap, far after is full price.
    near = raw(40, 61)
    assert near == pytest.approx(1.0 + 0.11 * sigma(2 / 19))
    assert -0.11 < near - 1.0 < 0
    far = raw(40, 99)
    assert far == pytest.approx(1.0 + 0.11 * sigma(40 / 19))
    assert far < near


def test_detections_in_probation_are_ignored() -> None:
    assert raw(0, 5, 14) == pytest.approx(raw())
    assert raw(15) == pytest.approx(-1.11)  # first point after probation counts


def test_window_inside_probation_does_not_count() -> None:
    plan = plan_scoring("f", N, [(2, 10), WINDOW])
    assert plan.windows == 1
    assert score_file(plan, detections(), 0.5).raw == pytest.approx(-1.0)


def test_threshold_is_greater_or_equal() -> None:
    plan = plan_scoring("f", N, [WINDOW])
    scores = [0.0] * N
    scores[40] = 0.7
    assert score_file(plan, scores, 0.7).detected == 1
    assert score_file(plan, scores, 0.70001).detected == 0


def test_normalisation_is_100_for_perfect_and_0_for_null() -> None:
    windows = ((40, 59), (70, 79))
    plan = plan_scoring("f", N, windows)
    perfect = score_file(plan, detections(40, 70), 0.5)
    null = score_file(plan, detections(), 0.5)
    assert perfect.score == pytest.approx(100.0)
    assert null.score == pytest.approx(0.0)
    assert normalised(0.0, -2.0, 2.0) == pytest.approx(50.0)
    assert normalised(0.0, 0.0, 0.0) is None  # a file without windows


def test_corpus_score_sums_raw_null_and_perfect_before_normalising() -> None:
    plans = [plan_scoring("a", N, [WINDOW]), plan_scoring("b", N, [])]
    # a: perfect (+1); b: no windows, two false positives (-0.22).
    result = score_corpus(plans, [detections(40), detections(30, 50)], 0.5)
    assert result.raw == pytest.approx(1.0 - 0.22)
    assert result.score == pytest.approx(100 * (0.78 + 1.0) / 2.0)
    assert result.files[1].score is None


def test_best_threshold_matches_a_brute_force_sweep() -> None:
    plans = [plan_scoring("a", N, [(40, 59)]), plan_scoring("b", N, [(20, 29), (60, 69)])]
    a = [0.1 * (i % 7) for i in range(N)]
    a[45], a[80] = 0.95, 0.9
    b = [0.05 * (i % 11) for i in range(N)]
    b[22], b[66], b[90] = 0.8, 0.6, 0.7
    chosen = best_threshold(plans, [a, b])
    candidates = sorted(set(a) | set(b) | {2.0})
    best = max(score_corpus(plans, [a, b], t).raw for t in candidates)
    assert score_corpus(plans, [a, b], chosen).raw == pytest.approx(best)


def test_best_threshold_is_infinite_when_detecting_never_pays() -> None:
    plan = plan_scoring("f", N, [])
    assert best_threshold([plan], [[0.5] * N]) == math.inf


def test_load_corpus_places_windows_at_the_first_row_of_a_timestamp(tmp_path: Path) -> None:
    (tmp_path / "data" / "cat").mkdir(parents=True)
    rows = ["timestamp,value"]
    # 10 rows 5 minutes apart, then the 00:20 row repeated (as NAB files do).
    stamps = [f"2014-01-01 00:{5 * i:02d}:00" for i in range(10)]
    stamps.insert(5, "2014-01-01 00:20:00")
    rows += [f"{s},{i}" for i, s in enumerate(stamps)]
    (tmp_path / "data" / "cat" / "s.csv").write_text("\n".join(rows) + "\n")
    windows = {"cat/s.csv": [["2014-01-01 00:20:00.000000", "2014-01-01 00:30:00.000000"]]}
    (tmp_path / "combined_windows.json").write_text(json.dumps(windows))
    (labelled,) = load_corpus(tmp_path)
    assert labelled.name == "cat/s.csv"
    assert labelled.windows == [(4, 7)]
