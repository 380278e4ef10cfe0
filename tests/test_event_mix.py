"""Missing log templates (`aiops.rca.event_mix`) and the robust detector's options for them."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from aiops.rca.event_mix import EventMix, poisson_low_surprise
from aiops.rca.nezha_bench import count_detector, surprise_detector
from models.robust_detector import RobustSeriesDetector


def test_poisson_low_surprise():
    assert poisson_low_surprise(5, 5.0) == 0.0
    assert poisson_low_surprise(0, 10.0) == pytest.approx(10 / math.log(10))  # P(0) = e^-10
    assert 0.0 < poisson_low_surprise(3, 10.0) < poisson_low_surprise(0, 10.0)


def test_a_template_that_stops_is_surprising_and_a_quiet_minute_is_not():
    mix = EventMix()
    for _ in range(30):
        assert mix.missing("pod", Counter(query=20, found=20, other=2)) < 1.0
    # half the traffic, same mix: not a drop
    assert mix.missing("pod", Counter(query=10, found=10, other=1)) < 1.0
    # same traffic, but the line after the faulty call is no longer written
    assert mix.missing("pod", Counter(query=40, other=2)) > 5.0
    # another source has its own mix
    assert mix.missing("other-pod", Counter(query=40)) == 0.0


def test_rare_templates_do_not_count_by_being_absent():
    mix = EventMix(min_expected=3.0)
    for _ in range(30):
        mix.missing("pod", Counter(query=20, rare=1))
    assert mix.missing("pod", Counter(query=21)) == 0.0


def test_rises_only_and_an_absolute_floor():
    both = RobustSeriesDetector(warmup=3, floor=1.0)
    rises = RobustSeriesDetector(warmup=3, floor=1.0, rises_only=True)
    for y in (2.0, 2.0, 2.0, 2.1, 1.9):
        both.update(y, 0.0)
        rises.update(y, 0.0)
    assert both.assess(-6.0, 0.0).score > 0.8
    assert rises.assess(-6.0, 0.0).score == 0.0
    assert rises.assess(10.0, 0.0).score > 0.8
    assert rises.assess(4.0, 0.0).score == 0.0  # within 3 of the floor's units


def test_log_counts_keep_their_baseline_across_bursts():
    """A pod that logs a few errors in every burst is not news in the next one."""
    det = count_detector()
    t = 0.0
    for _burst in range(5):
        for errors in (4.0, 5.0, 3.0):
            det.update(errors, t)
            t += 60.0
        t += 3600.0
    assert det.assess(5.0, t).score < 0.5
    assert det.assess(30.0, t).score > 0.8


def test_missing_templates_are_judged_against_the_pods_own_history():
    wandering, steady = surprise_detector(), surprise_detector()
    for i in range(20):
        wandering.update(2.0 + 4.0 * (i % 2), 60.0 * i)
        steady.update(0.5, 60.0 * i)
    assert wandering.assess(7.0, 1300.0).score == 0.0
    assert steady.assess(7.0, 1300.0).score > 0.8
