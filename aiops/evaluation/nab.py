"""Numenta Anomaly Benchmark (NAB) scoring, standard profile.

How the published rules (Lavin & Ahmad 2015, "Evaluating Real-time Anomaly Detection
Algorithms - the Numenta Anomaly Benchmark", and the NAB repository's scorer) are followed:

- Windows come from `combined_windows.json`: a window is the inclusive run of points whose
  timestamps lie between its start and end (zone-less NAB times are UTC).
- A point is a detection when its anomaly score is >= the threshold. One threshold holds for
  every file of the corpus.
- Probation: the first `min(floor(0.15 * n), 0.15 * 5000)` points of a file of n points are
  ignored, detections and windows alike (a window counts only if it has a point after
  probation). The paper states 15 %; NAB's scorer caps it at 750 points, and so do we.
- Inside a window only the earliest detection counts, weighted A_TP * sigma(p) / sigma(-1)
  with sigma(p) = 2 / (1 + exp(5 p)) - 1 and p = -(right - i + 1) / width the relative
  position of point i (p = -1 at the window's first point, so a detection there scores exactly
  A_TP = 1.0; later detections score less, towards 0 at the window's end). Further detections
  in the same window are ignored.
- A detection outside every window is a false positive weighted A_FP * sigma(d) with
  d = (i - right of the preceding window) / (width of that window - 1), and sigma = -1 when
  d >= 3 or when no window precedes: a detection just after a window costs little, one far
  from any window costs the full A_FP = 0.11.
- A window with no detection costs A_FN = 1.0.
- Normalisation: score = 100 * (raw - null) / (perfect - null), where null is the detector
  that never detects (-A_FN per window) and perfect detects each window at its first scored
  point and nothing else (+A_TP per window). The corpus score sums raw, null and perfect over
  files before normalising, as NAB does; a file without windows has no normalised score of
  its own (null = perfect = 0) but its false positives count in the corpus total.
- The threshold is chosen as NAB's optimiser does, by maximising the corpus raw score, but
  exactly: every distinct score is tried (NAB's optimiser runs a local search instead).

Deviation: none in the rules. NAB's windowed-Gaussian baseline reports the tail probability
itself (high for ordinary points); ours reports one minus it so that, like every detector
here, a higher score means more anomalous (see `models.baselines`).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from connectors.files import InputError
from connectors.metrics import Series, load_series
from pipeline.times import TimeError, parse_time_assume_utc

A_TP = 1.0
A_FP = 0.11
A_FN = 1.0
PROBATION_SHARE = 0.15
PROBATION_CAP = PROBATION_SHARE * 5000
NO_WINDOW = -1


def scaled_sigmoid(position: float) -> float:
    """NAB's weight of a relative position: ~+1 at a window's start, 0 at its end, towards -1
    after it."""
    if position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


_MAX_TP = scaled_sigmoid(-1.0)


def probation_length(n: int) -> int:
    """Points at the start of a file of n points whose detections are ignored."""
    return int(min(math.floor(PROBATION_SHARE * n), PROBATION_CAP))


@dataclass(slots=True)
class LabelledSeries:
    """One corpus file: its points and its windows as inclusive index ranges."""

    name: str
    series: Series
    windows: list[tuple[int, int]]


@dataclass(slots=True)
class ScoringPlan:
    """What a detection at each point of one file would be worth (computed once per file)."""

    name: str
    probation: int
    weights: list[float]  # weight of a detection at point i
    window_of: list[int]  # window index of point i, NO_WINDOW outside windows
    windows: int  # windows with at least one point after probation
    null: float
    perfect: float


def plan_scoring(name: str, n: int, windows: Sequence[tuple[int, int]]) -> ScoringPlan:
    """Weights of a detection at every point of a file of n points with these windows."""
    probation = probation_length(n)
    weights = [0.0] * n
    window_of = [NO_WINDOW] * n
    prev_right: int | None = None
    prev_width = 0
    starts = {left: (k, left, right) for k, (left, right) in enumerate(windows)}
    i = 0
    while i < n:
        if i in starts:
            k, left, right = starts[i]
            width = right - left + 1
            for j in range(left, right + 1):
                weights[j] = A_TP * scaled_sigmoid(-(right - j + 1) / width) / _MAX_TP
                window_of[j] = k
            prev_right, prev_width = right, width
            i = right + 1
            continue
        if prev_right is None:
            weights[i] = -A_FP
        else:
            weights[i] = A_FP * scaled_sigmoid((i - prev_right) / max(prev_width - 1, 1))
        i += 1
    scored = sorted({window_of[j] for j in range(probation, n)} - {NO_WINDOW})
    perfect = sum(weights[max(windows[k][0], probation)] for k in scored)
    return ScoringPlan(
        name, probation, weights, window_of, len(scored), -A_FN * len(scored), perfect
    )


def normalised(raw: float, null: float, perfect: float) -> float | None:
    """100 for the perfect detector, 0 for the null one; None when they coincide."""
    if perfect == null:
        return None
    return 100.0 * (raw - null) / (perfect - null)


@dataclass(slots=True)
class FileScore:
    name: str
    raw: float
    null: float
    perfect: float
    detected: int  # windows with a counted detection
    windows: int
    false_positives: int
    detections: int = 0

    @property
    def score(self) -> float | None:
        return normalised(self.raw, self.null, self.perfect)


def score_file(plan: ScoringPlan, scores: Sequence[float], threshold: float) -> FileScore:
    """Raw NAB score of one file's anomaly scores at one threshold."""
    if len(scores) != len(plan.weights):
        raise ValueError(f"{plan.name}: {len(scores)} scores for {len(plan.weights)} points")
    best: dict[int, float] = {}
    fp_sum = 0.0
    fps = detections = 0
    for i in range(plan.probation, len(scores)):
        if scores[i] < threshold:
            continue
        detections += 1
        k = plan.window_of[i]
        if k == NO_WINDOW:
            fp_sum += plan.weights[i]
            fps += 1
        elif k not in best:  # points come in time order: the first detection is the earliest
            best[k] = plan.weights[i]
    raw = fp_sum + sum(best.values()) - A_FN * (plan.windows - len(best))
    return FileScore(
        plan.name, raw, plan.null, plan.perfect, len(best), plan.windows, fps, detections
    )


@dataclass(slots=True)
class CorpusScore:
    threshold: float
    files: list[FileScore] = field(default_factory=list)

    @property
    def raw(self) -> float:
        return sum(f.raw for f in self.files)

    @property
    def score(self) -> float:
        null = sum(f.null for f in self.files)
        perfect = sum(f.perfect for f in self.files)
        return normalised(self.raw, null, perfect) or 0.0


def score_corpus(
    plans: Sequence[ScoringPlan], scores: Sequence[Sequence[float]], threshold: float
) -> CorpusScore:
    return CorpusScore(
        threshold, [score_file(p, s, threshold) for p, s in zip(plans, scores, strict=True)]
    )


def best_threshold(plans: Sequence[ScoringPlan], scores: Sequence[Sequence[float]]) -> float:
    """The threshold that maximises the corpus raw score, trying every distinct score.

    Lowering the threshold past a score adds the points with that score as detections; the
    total is kept up to date point by point. Ties go to the higher threshold (fewer
    detections). Returns +inf when no threshold beats never detecting.
    """
    points: list[tuple[float, int, int, float]] = []
    for f, (plan, file_scores) in enumerate(zip(plans, scores, strict=True)):
        for i in range(plan.probation, len(file_scores)):
            points.append((file_scores[i], f, plan.window_of[i], plan.weights[i]))
    points.sort(key=lambda p: p[0], reverse=True)
    total = sum(plan.null for plan in plans)
    best_total, best_at = total, math.inf
    window_best: dict[tuple[int, int], float] = {}
    for j, (score, f, k, weight) in enumerate(points):
        if k == NO_WINDOW:
            total += weight
        else:
            old = window_best.get((f, k), -A_FN)
            if weight > old:
                window_best[(f, k)] = weight
                total += weight - old
        last_of_group = j + 1 == len(points) or points[j + 1][0] != score
        if last_of_group and total > best_total + 1e-12:
            best_total, best_at = total, score
    return best_at


def _window_indices(times: list[float], start: float, end: float) -> tuple[int, int] | None:
    """Inclusive index range of a window, placed as NAB places it: at the first row carrying
    each boundary's timestamp (real files repeat or step back a few timestamps). A boundary
    that is no row's timestamp falls to the nearest row inside the window."""
    left = next((i for i, t in enumerate(times) if t == start), None)
    if left is None:
        left = next((i for i, t in enumerate(times) if t >= start), len(times))
    right = next((i for i, t in enumerate(times) if t == end), None)
    if right is None:
        right = max((i for i, t in enumerate(times) if t <= end), default=-1)
    return (left, right) if left <= right else None


def load_corpus(root: Path) -> list[LabelledSeries]:
    """The files named in `root/combined_windows.json`, read from `root/data/`, in name order."""
    labels_path = root / "combined_windows.json"
    try:
        labels = json.loads(labels_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read {labels_path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{labels_path} is not valid JSON: {exc}") from None
    if not isinstance(labels, dict) or not labels:
        raise InputError(f"{labels_path}: expected an object of file name -> windows")
    corpus = []
    for name in sorted(labels):
        series = load_series(root / "data" / name, name)
        if series.dead_letters:
            first = series.dead_letters[0]
            raise InputError(f"{name} line {first.line}: {first.error}")
        windows = []
        try:
            for start, end in labels[name]:
                found = _window_indices(
                    series.times, parse_time_assume_utc(start), parse_time_assume_utc(end)
                )
                if found is not None:
                    windows.append(found)
        except (TimeError, TypeError, ValueError) as exc:
            raise InputError(f"{labels_path}: bad window for {name}: {exc}") from None
        corpus.append(LabelledSeries(name, series, windows))
    return corpus


class OnlineScorer(Protocol):
    def score_and_learn(self, y: float, t: float) -> float: ...


def run_detector(
    factory: Callable[[], OnlineScorer], corpus: Sequence[LabelledSeries]
) -> tuple[list[list[float]], float]:
    """Scores of a fresh detector per file, point by point, and the CPU seconds it took."""
    all_scores = []
    cpu = 0.0
    for item in corpus:
        detector = factory()
        step = detector.score_and_learn
        started = time.process_time()
        scores = [step(y, t) for t, y in zip(item.series.times, item.series.values, strict=True)]
        cpu += time.process_time() - started
        all_scores.append(scores)
    return all_scores, cpu
