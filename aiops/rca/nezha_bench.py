"""`aiops rca-bench`: the pipeline on one day of the Nezha Train-Ticket data.

1. Read the day (`aiops.rca.nezha_data`): the call graph from the spans, per-pod series from
   metrics, spans and logs, one sample a minute.
2. Stream the samples through `MetricWatch`: the continuous pod metrics with the project's
   k-NN detector (`models.anomaly`, 30 points of warm-up instead of 100: the day starts
   minutes before its first fault, then 30 scored points to settle, see `METRIC_WARMUP`),
   the span and log series, which exist only in bursts of a
   few minutes, with the short-memory robust detector (`models.robust_detector`): span
   latencies start a fresh baseline after each gap, log counts (errors, warnings, new
   templates, judged as Poisson counts) and the surprise of missing log templates
   (`aiops.rca.event_mix`) keep the pod's own history across bursts. Every anomaly becomes
   a canonical alert named after its metric (`cpuAnomaly`, `log_errorsAnomaly`,
   `calls_toAnomaly` "... calls to ts-route-service").
3. Run the alerts through the full pipeline (`build_pipeline`): dedup, correlation over the
   derived topology, root-cause ranking. The pipeline's online symptom model starts from
   what each alert family means here (`SYMPTOM_PRIOR`, see `seed_symptom_prior`). Nothing
   here reads the fault list.
4. Only then read the fault list. For each fault, the incidents holding alerts that started
   after the injection and at most 5 min after it are the fault's incidents; their ranked
   services, each by its candidates' scores weighted by their incident's share of those
   alerts and summed over the incidents (`aiops.rca.nezha_merge`; then their other services
   by onset), are the answer. Baselines on the same incidents:
   services by earliest alert, by most alerts, and by the random walk alone.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from aiops.anomaly_watch import MetricWatch
from aiops.rca.nezha_data import (
    BURST_SERIES,
    COUNT_SERIES,
    SURPRISE_SERIES,
    Fault,
    NezhaDay,
    load_day,
)
from aiops.rca.nezha_merge import merged_candidates
from aiops.wiring import build_pipeline
from connectors.files import OutputFiles
from models.anomaly import SeriesAnomalyDetector
from models.robust_detector import RobustSeriesDetector
from models.rootcause import RootCauseRanker
from models.symptoms import SymptomModel
from pipeline.anomaly_alerts import AnomalyAlerter
from pipeline.config import Config
from pipeline.engine import Pipeline
from pipeline.incidents import MERGED, PENDING, Incident
from pipeline.records import Alert
from pipeline.topology import Topology

METHODS = ("pipeline", "earliest_alert", "most_alerts", "random_walk", "random")
# A fault's window: alerts with onset in (injection - WINDOW_BEFORE_S, injection +
# WINDOW_AFTER_S]. Nothing before: every sample is stamped at the end of what it covers (span
# and log minutes at the minute's end, metric rows at their scrape), so an alert stamped at or
# before the injection saw only data from before the fault and cannot be one of its effects.
# (It was 60 s: on 2023-01-29 that counted e.g. an incident of two callers' alerts stamped
# 09:49:00, before the 09:49:34 fault, as the fault's incident. AC@1 0.464 -> 0.500.)
WINDOW_BEFORE_S = 0.0
WINDOW_AFTER_S = 300.0
_DRAIN_EVERY = 5000
GAP_S = 300.0  # a series silent this long is in a new burst
# The alerters' gap test is strict (`>`) and samples are minute-stamped: a burst series whose
# next sample comes exactly GAP_S after its last has been silent for the gap too, and its
# alert ends there (instead of resolving on the new burst's first calm sample).
ALERT_GAP_S = GAP_S - 1.0
# The pod metrics' k-NN detector: 30 points of warm-up instead of 100 (the day starts minutes
# before its first fault), and as many scored points to settle before a score counts: every
# pod's series starts with the day, so without it they all reach the end of their warm-up
# (values, then as many calibration points) in the same minutes, with no recent surprise to
# compare with, and alert together on ordinary fluctuations (on 2023-01-29, 84 pod and node
# metric alerts of the day's incidents started 09:40-09:50, at most 31 in any later ten
# minutes).
METRIC_WARMUP = 30
SURPRISE_WARMUP = 3
SURPRISE_THRESHOLD = 1.0
# How symptom-like each alert family of this source is by what it measures, as the starting
# belief of the pipeline's online symptom model (probability that an alert of that name
# fires because of something below its service). A pod's latency calling another service
# (`calls_to`) or its client-side latency is what its callees' faults look like from above;
# its own error lines, missing log templates, time spent in itself and CPU are its own.
# Families not listed are learned from the stream alone, as before.
SYMPTOM_PRIOR = {
    "calls_toAnomaly": 0.9,
    "client_latency_p90Anomaly": 0.8,
    "client_latency_p99Anomaly": 0.8,
    "log_errorsAnomaly": 0.1,
    "log_missingAnomaly": 0.1,
    "self_time_p90Anomaly": 0.2,
    "cpuAnomaly": 0.3,
}
SYMPTOM_PRIOR_WEIGHT = 200.0  # observations the prior is worth (measured: 50..1000 alike)


@dataclass(slots=True)
class Streamed:
    incidents: dict[str, Incident]
    alerts: int
    ranker: RootCauseRanker


# Called once the stream reaches its time (before the first sample at or after it), with the
# pipeline and the incidents so far: how `--feedback` answers and teaches as the day goes.
Hook = tuple[float, Callable[[Pipeline, Streamed], None]]


def count_detector() -> RobustSeriesDetector:
    """Log line counts a minute (errors, warnings, new templates) as Poisson counts. They keep
    their baseline across bursts: a pod that logs errors in every burst (a chronic
    complainer) is judged by its own past, not by the one minute before."""
    return RobustSeriesDetector(warmup=1, counts=True)


def surprise_detector() -> RobustSeriesDetector:
    """Surprises of missing log templates, against the pod's own history across bursts:
    some pods' template mix always wanders more than others'. Only rises count, and the
    spread is at least one decade."""
    return RobustSeriesDetector(
        warmup=SURPRISE_WARMUP, floor=1.0, threshold=SURPRISE_THRESHOLD, scale=1.0, rises_only=True
    )


def seed_symptom_prior(
    symptoms: SymptomModel,
    prior: dict[str, float] = SYMPTOM_PRIOR,
    weight: float = SYMPTOM_PRIOR_WEIGHT,
) -> None:
    """Start the symptom model from `prior`, worth `weight` observations per name.

    Learned from the stream alone, the model gets these families wrong on this data: faults
    come every few minutes and unrelated bursts overlap, so a faulty service's own error
    alert usually fires while something below it alerts too and is learned as a symptom,
    while callers' latency alerts look no more symptom-like than the root's. The ranker's
    cause-likeness (and the correlator's symptom links) then cannot tell a root from the
    callers complaining about it. The stream still moves the estimates, slowly."""
    for name, p in prior.items():
        counts = symptoms.counts_.setdefault(name, [0.0, 0.0])
        counts[0] += p * weight
        counts[1] += weight


def bench_config(config: Config) -> Config:
    """The config for burst data: unless set, an alert firing again more than GAP_S after it
    resolved (in a later burst: with faults every few minutes, usually the next fault) is a
    new problem and stays out of its old incident (`correlation.refire_apart_s`). Otherwise
    the same check failing again on the same pod folds into the earlier fault's incident
    with its first onset, and the later fault's window does not see it."""
    if config.correlation.refire_apart_s is not None:
        return config
    correlation = config.correlation.model_copy(update={"refire_apart_s": GAP_S})
    return config.model_copy(update={"correlation": correlation})


def _as_alert(alert: Alert) -> Alert:
    """Name the alert after its metric family, and let the summary name a called service."""
    metric = alert.labels.get("metric", "metric")
    family = metric.split(":", 1)[0]
    alert.name = f"{family}Anomaly"
    alert.summary = alert.summary.replace("calls_to:", "calls to ")
    return alert


def stream(
    day: NezhaDay,
    config: Config,
    progress: bool | None = None,
    hooks: Sequence[Hook] = (),
) -> tuple[Streamed, Topology, dict[str, Any]]:
    """Steps 1-3: the day's samples through anomaly detection and the pipeline."""
    data = load_day(day)
    metrics = MetricWatch(
        AnomalyAlerter(clear_after=3, max_gap_s=GAP_S),
        detector_factory=lambda: SeriesAnomalyDetector(warmup=METRIC_WARMUP, settle=METRIC_WARMUP),
    )
    bursts = MetricWatch(
        AnomalyAlerter(clear_after=1, max_gap_s=ALERT_GAP_S),
        detector_factory=lambda: RobustSeriesDetector(
            warmup=1, rel_floor=0.25, reset_after_gap_s=GAP_S
        ),
    )
    events = MetricWatch(
        AnomalyAlerter(clear_after=1, max_gap_s=ALERT_GAP_S),
        detector_factory=count_detector,
    )
    surprises = MetricWatch(
        AnomalyAlerter(clear_after=1, max_gap_s=ALERT_GAP_S),
        detector_factory=surprise_detector,
    )
    pipeline = build_pipeline(bench_config(config), data.topology)
    ranker = next(e for e in pipeline.enrichers if isinstance(e, RootCauseRanker))
    if isinstance(ranker.symptoms, SymptomModel):
        seed_symptom_prior(ranker.symptoms)
    seen: dict[str, Incident] = {}
    alerts = 0
    bar = tqdm(
        data.samples,
        desc="rca-bench",
        unit="sample",
        file=sys.stderr,
        leave=False,
        disable=None if progress is None else not progress,
    )
    due = sorted(hooks, key=lambda h: h[0])
    fired = 0

    def fire(until: float) -> None:
        nonlocal fired
        if fired < len(due) and due[fired][0] <= until:
            seen.update((i.id, i) for i in pipeline.drain().incidents)
            while fired < len(due) and due[fired][0] <= until:
                due[fired][1](pipeline, Streamed(reported(seen), alerts, ranker))
                fired += 1

    for n, sample in enumerate(bar, start=1):
        fire(sample.time)
        family = sample.metric.split(":")[0]
        if family in SURPRISE_SERIES:
            watch = surprises
        elif family in COUNT_SERIES:
            watch = events
        else:
            watch = bursts if family in BURST_SERIES else metrics
        for alert in watch.observe(sample):
            alerts += alert.status == "firing"
            pipeline.process(_as_alert(alert))
        if n % _DRAIN_EVERY == 0:
            seen.update((i.id, i) for i in pipeline.drain().incidents)
    seen.update((i.id, i) for i in pipeline.finish().incidents)
    fire(float("inf"))
    incidents = reported(seen)
    stats = dict(data.stats, alerts=alerts, incidents=len(incidents))
    return Streamed(incidents, alerts, ranker), data.topology, stats


def reported(seen: dict[str, Incident]) -> dict[str, Incident]:
    """The incidents an operator has been shown (not merged away, not still pending)."""
    return {k: i for k, i in seen.items() if i.status not in (MERGED, PENDING)}


def in_window(fault: Fault, onset: float) -> bool:
    """Whether an alert with this onset falls in the fault's window (see WINDOW_BEFORE_S)."""
    return fault.time - WINDOW_BEFORE_S < onset <= fault.time + WINDOW_AFTER_S


def window_alerts(fault: Fault, incidents: Iterable[Incident]) -> list[tuple[Incident, int]]:
    """The incidents holding alerts that started around the injection, most such alerts first
    (what an operator sees open when the fault hits), each with how many of them."""
    found = []
    for inc in incidents:
        n = sum(1 for m in inc.members.values() if in_window(fault, m.onset))
        if n:
            found.append((-n, inc.start, inc.id, inc))
    return [(inc, -n) for n, _, _, inc in sorted(found, key=lambda x: x[:3])]


def rankings(
    found: list[tuple[Incident, int]], streamed: Streamed, topology: Topology, seed: int
) -> dict[str, list[str]]:
    """The services of the fault's incidents ranked by the pipeline and by each baseline over
    the same alerts. The pipeline's candidates of all the incidents are merged by score
    times the incident's share of the alerts around the injection, summed over the
    incidents (`merged_candidates`): a candidate's score is a
    probability within its incident, and a lone noisy alert in an incident of its own
    (which the ranker, rightly, calls its own root) is not as likely the fault's incident
    as the one holding most of what broke then."""
    incs = [inc for inc, _ in found]
    onset: dict[str, float] = {}
    counts: Counter[str] = Counter()
    walk: dict[str, float] = {}
    for inc in incs:
        for s, t in inc.services.items():
            onset[s] = min(onset.get(s, t), t)
        counts.update(m.service for m in inc.members.values() if m.service)
        last = streamed.ranker.last_ranking(inc.id)
        for entity, _, signals in last.candidates if last else ():
            walk[entity] = max(walk.get(entity, 0.0), signals.get("walk", 0.0))
    by_onset = sorted(onset, key=lambda s: (onset[s], s))
    ranked = merged_candidates(found, topology)
    ranked += [s for s in by_onset if s not in ranked]
    shuffled = sorted(onset)
    random.Random(f"{seed}:{incs[0].id if incs else ''}").shuffle(shuffled)
    return {
        "pipeline": ranked,
        "earliest_alert": by_onset,
        "most_alerts": sorted(onset, key=lambda s: (-counts[s], onset[s], s)),
        "random_walk": sorted(onset, key=lambda s: (-walk.get(s, 0.0), onset[s], s)),
        "random": shuffled,
    }


def answer(
    fault: Fault, streamed: Streamed, topology: Topology, seed: int
) -> tuple[dict[str, Any], list[tuple[Incident, int]]]:
    """One fault's result row from the incidents so far, and the incidents it came from."""
    found = window_alerts(fault, streamed.incidents.values())
    methods = rankings(found, streamed, topology, seed) if found else {}
    row = {
        "inject_time": fault.inject_time,
        "ranked": methods.get("pipeline", []),
        "incidents": [inc.id for inc, _ in found],
        "baselines": {m: methods.get(m, []) for m in METHODS if m != "pipeline"},
        "root_service": fault.service,
        "inject_type": fault.kind,
        "root_alerted": root_alerted(fault, found),
    }
    return row, found


def root_alerted(fault: Fault, found: list[tuple[Incident, int]]) -> bool:
    """Whether the fault's own service has an alert that started in the window. Without one
    only the topology or callers' complaints can name it: this splits a miss of detection
    (the anomaly detectors saw nothing on the root) from a miss of ranking."""
    return any(
        m.service == fault.service and in_window(fault, m.onset)
        for inc, _ in found
        for m in inc.members.values()
    )


def accuracy(rows: list[dict[str, Any]], ks: tuple[int, ...] = (1, 3, 5)) -> dict[str, dict]:
    out: dict[str, dict] = {}
    n = len(rows)
    for method in METHODS:
        hits = Counter()
        for row in rows:
            ranked = row["ranked"] if method == "pipeline" else row["baselines"][method]
            for k in ks:
                hits[k] += row["root_service"] in ranked[:k]
        out[method] = {f"ac@{k}": round(hits[k] / n, 4) if n else None for k in ks}
    return out


def run_bench(
    day_dir: Path,
    out_dir: Path,
    config: Config,
    progress: bool | None = None,
    seed: int = 1,
    feedback: bool = False,
) -> dict[str, Any]:
    """The benchmark; with `feedback`, also the two passes of `aiops.rca.nezha_feedback`."""
    day = NezhaDay.open(day_dir)
    day.fault_list_path()  # fail before the long part if the day has no fault list
    streamed, topology, stats = stream(day, config, progress)
    faults = day.faults()  # read only now, to evaluate
    rows = [answer(fault, streamed, topology, seed)[0] for fault in faults]
    scores = accuracy(rows)
    by_type = {
        kind: accuracy([r for r in rows if r["inject_type"] == kind])["pipeline"]
        for kind in sorted({r["inject_type"] for r in rows})
    }
    alerted = [r for r in rows if r["root_alerted"]]
    summary = {
        "day": str(day_dir),
        "faults": len(rows),
        "faults_with_incident": sum(1 for r in rows if r["incidents"]),
        "faults_root_alerted": len(alerted),
        "accuracy": scores,
        "pipeline_where_root_alerted": accuracy(alerted)["pipeline"],
        "pipeline_by_fault_type": by_type,
        "stats": stats,
    }
    taught: list[dict[str, Any]] = []
    if feedback:
        from aiops.rca.nezha_feedback import feedback_runs  # it builds on this module

        summary["feedback"], taught = feedback_runs(day, config, progress, seed)
    names = ("rca_results.jsonl", "summary.json", *(("rca_feedback.jsonl",) if feedback else ()))
    with OutputFiles(out_dir, names) as files:
        for row in rows:
            files.write_json("rca_results.jsonl", row)
        for row in taught:
            files.write_json("rca_feedback.jsonl", row)
        files.write_whole("summary.json", summary)
    return summary
