"""The online anomaly detector on synthetic series: no look-ahead, level shifts, spikes,
seasonality, drifting scale, scores in [0, 1]."""

from __future__ import annotations

import math
import pickle
import random

import pytest

from models.anomaly import SeriesAnomalyDetector
from models.baselines import WindowedGaussian
from models.memory import SortedMemory

T0 = 1_700_000_000.0  # a Tuesday
STEP = 300.0  # 5-minute samples
DAY = 288  # samples per day


def noise(n: int, seed: int, mean: float = 50.0, sd: float = 1.0) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(mean, sd) for _ in range(n)]


def scores(values: list[float], **kwargs: object) -> list[float]:
    detector = SeriesAnomalyDetector(**kwargs)  # type: ignore[arg-type]
    return [detector.score_and_learn(y, T0 + i * STEP) for i, y in enumerate(values)]


def test_scores_are_in_the_unit_interval_for_awkward_series() -> None:
    rng = random.Random(1)
    series = {
        "constant": [3.0] * 400,
        "huge": [rng.gauss(1e12, 1e9) for _ in range(400)],
        "negative": [rng.gauss(-5.0, 0.1) for _ in range(400)],
        "spiky": [rng.choice([0.0, 0.0, 0.0, 1e6]) for _ in range(400)],
        "jump_after_flat": [0.0] * 300 + [1e9] * 100,
    }
    for name, values in series.items():
        out = scores(values)
        assert all(0.0 <= s <= 1.0 for s in out), name
    assert max(scores(series["jump_after_flat"])[300:]) > 0.5


def test_no_look_ahead_scores_of_a_prefix_ignore_what_follows() -> None:
    base = noise(1500, seed=2)
    k = 1000
    other = base[:k] + [v * 3 + 40 for v in base[k:]]
    a, b = scores(base), scores(other)
    assert a[:k] == b[:k]
    assert a[k:] != b[k:]  # and the change after k does show


def test_score_one_does_not_learn() -> None:
    values = noise(300, seed=3)
    detector = SeriesAnomalyDetector()
    for i, y in enumerate(values):
        t = T0 + i * STEP
        first = detector.score_one(y, t)
        assert detector.score_one(y, t) == first
        assert detector.score_one(y + 1000.0, t) >= 0.0  # asking about another value is free
        detector.learn_one(y, t)
    reference = scores(values)
    replay = SeriesAnomalyDetector()
    assert [replay.update(y, T0 + i * STEP).score for i, y in enumerate(values)] == reference


def test_level_shift_scores_high_at_its_onset_then_settles() -> None:
    before = noise(2000, seed=4)
    after = noise(1000, seed=5, mean=58.0)
    out = scores(before + after)
    quiet = max(out[500:2000])
    onset = max(out[2000:2010])
    assert onset > 0.5
    assert onset > quiet + 0.3
    # once the new level is the norm it stops being news
    assert max(out[2300:]) < onset
    assert sum(s > 0.5 for s in out[2100:]) <= 3


def test_small_level_shift_in_noise_is_found_by_the_level_view() -> None:
    values = noise(2500, seed=6, sd=1.0)
    for i in range(2000, 2060):
        values[i] += 2.5  # each point stays within the noise; their mean does not
    out = scores(values)
    assert max(out[2000:2060]) > max(out[500:2000])


def test_a_single_spike_is_found() -> None:
    values = noise(2000, seed=7)
    values[1500] = 70.0
    out = scores(values)
    assert out[1500] > 0.8
    assert out[1500] == max(out[200:])


def test_recurring_spikes_become_familiar() -> None:
    values = noise(3000, seed=8, mean=0.1, sd=0.01)
    for i in range(150, 3000, 200):
        values[i] = 1.5  # a regular job
    out = scores(values)
    spike_scores = [out[i] for i in range(150, 3000, 200)]
    assert max(spike_scores[:3]) > 0.8  # the first ones are news
    assert max(spike_scores[3:]) < 0.5  # then it is the job that runs every 200 points
    values[2900] = 0.6  # never seen: between the noise and the job
    assert scores(values)[2900] > 0.5


def business_hours(days: int, seed: int) -> list[float]:
    """High from 08:00 to 16:00 every day, low otherwise, with noise."""
    rng = random.Random(seed)
    return [
        (60.0 if DAY // 3 <= i % DAY < 2 * DAY // 3 else 40.0) + rng.gauss(0, 1.0)
        for i in range(days * DAY)
    ]


def test_daily_pattern_is_normal_but_a_missing_business_day_is_not() -> None:
    values = business_hours(9, seed=9)
    start = 7 * DAY + DAY // 3
    for i in range(start, start + DAY // 3):
        values[i] -= 20.0  # day 8 never gets busy: familiar values, no jump, wrong time
    with_season = scores(values)
    without = scores(values, seasonal=False)
    normal_days = max(with_season[4 * DAY : 7 * DAY])
    missing = max(with_season[start : start + DAY // 3])
    assert normal_days < 0.5
    assert missing > 0.9
    # it is the seasonal view that sees it: without it the quiet day looks ordinary
    assert max(without[start : start + DAY // 3]) < 0.5


def test_drifting_scale_raises_no_more_alarms_than_stationary_noise() -> None:
    rng = random.Random(10)
    n = 6000
    stationary = noise(n, seed=10, mean=100.0)
    drifting = [100 + rng.gauss(0, 1.0 + 9.0 * i / n) for i in range(n)]  # noise grows tenfold
    alarms = [sum(s > 0.8 for s in scores(v)[300:]) for v in (stationary, drifting)]
    assert alarms[1] <= max(alarms[0], 5)
    # a detector with a fixed idea of the scale would fire all the time
    first_scale = [abs(y - 100) > 4.0 for y in drifting[300:]]
    assert sum(first_scale) > 50 * max(alarms[1], 1)


def test_expected_range_follows_the_recent_values() -> None:
    detector = SeriesAnomalyDetector()
    assert detector.expected_range() is None
    for i, y in enumerate(noise(1000, seed=11)):
        detector.learn_one(y, T0 + i * STEP)
    low, high = detector.expected_range() or (0, 0)
    assert 46 < low < 48 < 52 < high < 54


def test_invalid_parameters_are_rejected() -> None:
    with pytest.raises(ValueError):
        SeriesAnomalyDetector(neighbours=0)
    with pytest.raises(ValueError):
        SeriesAnomalyDetector(neighbours=5, warmup=5)
    with pytest.raises(ValueError):
        SeriesAnomalyDetector(settle=-1)


def test_settling_keeps_the_start_of_scoring_from_calling_noise_news() -> None:
    """When scoring starts the onset reference is zero, so ordinary noise right after the
    warm-up scores high; series started together then alert together. With `settle`, the
    first scored points only set the reference: the same surprises, no alarms on the noise,
    and a real spike later scores as before."""
    early_plain = noise_plain = noise_settled = 0
    for seed in range(10):
        values = [*noise(150, seed), 80.0]
        plain = SeriesAnomalyDetector(warmup=30)
        settled = SeriesAnomalyDetector(warmup=30, settle=30)
        a = [plain.update(y, T0 + i * STEP) for i, y in enumerate(values)]
        b = [settled.update(y, T0 + i * STEP) for i, y in enumerate(values)]
        assert [x.surprise for x in a] == [x.surprise for x in b]
        assert all(x.score == 0.0 for x in b[60:90])  # scoring starts at 60: settling
        early_plain += sum(x.score >= 0.8 for x in a[60:90])
        noise_plain += sum(x.score >= 0.8 for x in a[:150])
        noise_settled += sum(x.score >= 0.8 for x in b[:150])
        assert a[-1].score >= 0.8 and b[-1].score >= 0.8
    assert early_plain >= 3 and noise_settled < noise_plain


def test_a_detector_pickled_before_settle_existed_restores_without_settling() -> None:
    """Snapshots hold detectors by pickle: one written before `settle` and its counter
    existed restores without them and keeps scoring as it did."""
    values = noise(80, 3)
    detector = SeriesAnomalyDetector(warmup=30)
    for i, y in enumerate(values[:70]):
        detector.update(y, T0 + i * STEP)
    twin = pickle.loads(pickle.dumps(detector))
    del detector.__dict__["settle"], detector.__dict__["_scored"]  # the older shape
    old = pickle.loads(pickle.dumps(detector))
    for i, y in enumerate(values[70:], start=70):
        assert old.update(y, T0 + i * STEP) == twin.update(y, T0 + i * STEP)


def test_sorted_memory_forgets_the_oldest_and_answers_from_what_it_holds() -> None:
    memory = SortedMemory(4)
    for x in (5.0, 1.0, 3.0, 9.0, 7.0):  # 5.0 falls out
        memory.add(x)
    assert len(memory) == 4
    assert memory.quantile(0.0) == 1.0 and memory.quantile(0.99) == 9.0
    assert memory.neighbour_distance(4.0, 1) == 1.0
    assert memory.neighbour_distance(4.0, 2) == 3.0
    assert memory.neighbour_distance(100.0, 5) == math.inf


def test_sorted_memory_tail_is_empirical_inside_and_exponential_beyond() -> None:
    memory = SortedMemory(20)
    for x in range(1, 21):
        memory.add(float(x))
    # inside: the conformal share of values at least as large
    assert memory.tail_probability(11.0, 0.25) == pytest.approx(11 / 21)
    # beyond the 75th percentile (16): 0.25 * exp(-(x - 16) / mean excess 2)
    assert memory.tail_probability(20.0, 0.25) == pytest.approx(0.25 * math.exp(-2.0))
    assert memory.tail_probability(40.0, 0.25) == pytest.approx(0.25 * math.exp(-12.0))
    # a tail that is one repeated value: beyond it is "less than 1 in n + 1"
    flat = SortedMemory(10)
    for _ in range(10):
        flat.add(2.0)
    assert flat.tail_probability(3.0, 0.25) == pytest.approx(1 / 11)


def test_windowed_gaussian_baseline() -> None:
    baseline = WindowedGaussian(window=100)
    assert baseline.score_and_learn(10.0) == 0.0  # nothing to compare with yet
    for y in noise(200, seed=12, mean=10.0, sd=1.0):
        baseline.learn_one(y)
    assert baseline.score_one(10.0) < 0.3
    assert baseline.score_one(16.0) > 0.99
    assert baseline.score_one(4.0) == pytest.approx(baseline.score_one(16.0), abs=0.01)
    # the window forgets: after 100 values around 100, 100 is ordinary
    for y in noise(100, seed=13, mean=100.0, sd=1.0):
        baseline.learn_one(y)
    assert baseline.score_one(100.0) < 0.3


def test_the_onset_reference_holds_an_episode_peak_then_decays() -> None:
    """After a surprising point, the next ones must beat its surprise for `onset_hold` points
    (the rest of the episode does not page again), then the bar halves every
    `onset_half_life` points (the next episode is not masked by an old one)."""
    values = noise(2000, seed=21)
    values[1500] = 75.0
    detector = SeriesAnomalyDetector(onset_hold=100, onset_half_life=20.0)
    peak = 0.0
    for i, y in enumerate(values[:1501]):
        peak = detector.update(y, T0 + i * STEP).surprise
    assert peak > 5.0
    references = []
    for i in range(1501, 1700):
        references.append(detector._reference())
        detector.update(values[i], T0 + i * STEP)
    assert references[0] == references[99] == peak
    assert references[120] == pytest.approx(peak / 2)


def test_the_season_view_averages_the_last_seasonal_differences() -> None:
    values = business_hours(9, seed=22)
    detector = SeriesAnomalyDetector(season_window=12)
    for i, y in enumerate(values[:-1]):
        detector.update(y, T0 + i * STEP)
    assert detector._season is not None and detector._season.lag == DAY
    n = len(values) - 1
    t = T0 + n * STEP
    season = {name: x for _, name, x in detector._view_values(values[-1], t)}["season"]
    diffs = [values[j] - values[j - DAY] for j in range(n - 11, n + 1)]
    assert season == pytest.approx(sum(diffs) / 12)
