"""`aiops nab`: score an anomaly detector on the Numenta Anomaly Benchmark, next to NAB's
windowed-Gaussian baseline scored the same way in the same run, and measure its throughput."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from aiops.errors import UsageError
from aiops.evaluation.nab import (
    CorpusScore,
    OnlineScorer,
    best_threshold,
    load_corpus,
    plan_scoring,
    run_detector,
    score_corpus,
)
from connectors.files import InputError
from models.anomaly import SeriesAnomalyDetector
from models.baselines import WindowedGaussian

DETECTORS: dict[str, Callable[[], OnlineScorer]] = {
    "novelty": SeriesAnomalyDetector,
    "windowed-gaussian": WindowedGaussian,
}
BASELINE = "windowed-gaussian"


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "nab",
        help="NAB standard-profile score of an anomaly detector, with a baseline",
        description="Run DETECTOR and NAB's windowed-Gaussian baseline online over every file "
        "named in DIR/combined_windows.json (series under DIR/data/), score both with the NAB "
        "standard profile and print per-file and overall normalised scores (100 = perfect, "
        "0 = never detecting). One threshold holds for all files: by default each detector's "
        "is chosen by a sweep over the whole data set, as NAB's optimiser does. Also prints "
        "the detectors' throughput in points per CPU-second on one core.",
    )
    p.add_argument("--data", type=Path, required=True, metavar="DIR", help="NAB data directory")
    p.add_argument("--detector", choices=sorted(DETECTORS), default="novelty")
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--threshold", type=float, metavar="T", help="fixed threshold for DETECTOR (score >= T)"
    )
    how.add_argument(
        "--tune", action="store_true", help="choose the threshold by a sweep (the default)"
    )
    p.add_argument(
        "--bench", action="store_true", help="only measure throughput (points/s), no scoring"
    )
    p.add_argument(
        "--repeat", type=int, default=1, metavar="N", help="passes over the data for --bench"
    )
    return p


def _bench(name: str, corpus: list, repeat: int) -> str:
    points = sum(len(item.series) for item in corpus) * repeat
    cpu = 0.0
    wall_started = time.perf_counter()
    for _ in range(repeat):
        cpu += run_detector(DETECTORS[name], corpus)[1]
    wall = time.perf_counter() - wall_started
    return (
        f"{name}: {points:,} points in {cpu:.2f} s CPU ({points / cpu:,.0f} points/s on one core; "
        f"wall clock {points / wall:,.0f} points/s)"
    )


def _table(ours: CorpusScore, base: CorpusScore, names: tuple[str, str]) -> list[str]:
    head = f"{'file':<58}{names[0]:>12}{'raw':>8}{'found':>7}{'FP':>5}  |{names[1]:>19}{'raw':>8}"
    lines = [head, "-" * len(head)]
    for a, b in zip(ours.files, base.files, strict=True):
        a_score = f"{a.score:.1f}" if a.score is not None else "n/a"
        b_score = f"{b.score:.1f}" if b.score is not None else "n/a"
        lines.append(
            f"{a.name:<58}{a_score:>12}{a.raw:>8.2f}{f'{a.detected}/{a.windows}':>7}"
            f"{a.false_positives:>5}  |{b_score:>19}{b.raw:>8.2f}"
        )
    lines.append("-" * len(head))
    for label, result in zip(names, (ours, base), strict=True):
        found = sum(f.detected for f in result.files)
        windows = sum(f.windows for f in result.files)
        fps = sum(f.false_positives for f in result.files)
        lines.append(
            f"{label}: NAB standard score {result.score:.2f} (raw {result.raw:.2f}; "
            f"{found}/{windows} windows found, {fps} false positives; "
            f"threshold {result.threshold:.4f})"
        )
    return lines


def run(args: argparse.Namespace) -> int:
    if args.repeat < 1:
        raise UsageError("--repeat must be at least 1")
    if not args.data.is_dir():
        raise UsageError(f"--data {args.data}: no such directory")
    try:
        corpus = load_corpus(args.data)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    names = (args.detector, BASELINE)
    if args.bench:
        for name in dict.fromkeys(names):
            print(_bench(name, corpus, args.repeat))
        return 0
    plans = [plan_scoring(item.name, len(item.series), item.windows) for item in corpus]
    points = sum(len(item.series) for item in corpus)
    results, rates = [], []
    for i, name in enumerate(names):
        scores, cpu = run_detector(DETECTORS[name], corpus)
        fixed = args.threshold if i == 0 else None
        threshold = fixed if fixed is not None else best_threshold(plans, scores)
        results.append(score_corpus(plans, scores, threshold))
        rates.append(f"{name} {points / cpu:,.0f}" if cpu > 0 else f"{name} n/a")
    how = "fixed" if args.threshold is not None else "tuned over the data set"
    print(
        f"NAB standard profile: {len(corpus)} files, {points:,} points from {args.data}; "
        f"{names[0]} threshold {how}, baseline threshold tuned"
    )
    print("\n".join(_table(results[0], results[1], names)))
    print(f"throughput (points per CPU-second, one core): {', '.join(rates)}")
    return 0
