"""`aiops replay`: the streaming pipeline over files, as if the lines arrived in file order."""

from __future__ import annotations

import gc
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from aiops.wiring import CONFIGURED, ConfiguredModel, build_pipeline
from connectors.files import (
    DeadLetter,
    OutputFiles,
    merge_streams,
    read_alerts,
    read_changes,
    read_feedback,
    read_metrics,
)
from models.linkmodel import AnyLinkModel
from pipeline.config import Config
from pipeline.engine import YOUNG_GC_THRESHOLD, Drained, Pipeline
from pipeline.incidents import MERGED, Incident
from pipeline.records import RecordError
from pipeline.times import format_time
from pipeline.topology import Topology

OUTPUT_FILES = (
    "incidents.jsonl",
    "predictions.jsonl",
    "dead_letter.jsonl",
    "suppressed.jsonl",
    "summary.json",
)
_DRAIN_EVERY = 2000  # records between drains: bounds what waits in memory for the sink


@dataclass(slots=True)
class ReplaySink:
    """Writes each incident once, at its final state; keeps only live ones in memory."""

    files: OutputFiles
    pending: dict[str, Incident] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)

    def take(self, drained: Drained) -> None:
        for inc in drained.incidents:
            self.pending[inc.id] = inc
        for inc in drained.final:
            self.pending.pop(inc.id, None)
            self._write(inc)
        rows = []
        for s in drained.suppressed:
            row = {"alert_id": s.alert_id, "reason": s.reason, "time": format_time(s.time)}
            if s.candidate:
                row["candidate"] = s.candidate
            rows.append(row)
        self.files.write_many("suppressed.jsonl", rows)
        self.counts["suppressed"] += len(rows)
        self.files.write_many("predictions.jsonl", drained.predictions)
        self.counts["predictions"] += len(drained.predictions)

    def dead_letter(self, letter: DeadLetter) -> None:
        self.files.write_json("dead_letter.jsonl", letter.to_dict())
        self.counts["dead_letters"] += 1

    def _write(self, inc: Incident) -> None:
        if inc.status == MERGED:  # its alerts live on in the incident that absorbed it
            self.counts["merged_away"] += 1
            return
        self.files.write_json("incidents.jsonl", inc.to_dict())
        self.counts["incidents"] += 1
        self.counts[f"incidents_{inc.status}"] += 1

    def close(self) -> None:
        for inc in sorted(self.pending.values(), key=lambda i: i.seq):
            self._write(inc)
        self.pending.clear()


@contextmanager
def _frozen_heap() -> Iterator[None]:
    """What is alive when the run starts (modules, configuration, models, topology) lives as
    long as the run: leave it out of the collector's full passes, which otherwise walk it
    again each time (0.2-0.3 s of a large replay). Given back afterwards, so a process that
    replays many times (training, evaluation) can still collect what was garbage by then.

    The young generation is collected every 10,000 net allocations instead of 700: the replay
    keeps most of what it allocates for a while (alert states, incidents), so most young
    collections found little to free. On large-1 (2 cores shared): 303 young, 27 middle and
    2 full collections taking 0.12-0.15 s in all, against 6 young ones taking 0.02-0.03 s."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNG_GC_THRESHOLD, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def replay(
    alerts: Path,
    out_dir: Path,
    config: Config,
    topology: Topology,
    changes: Path | None = None,
    progress: bool | None = None,
    metrics: Path | None = None,
    on_drain: Callable[[Pipeline, int], object] | None = None,
    link_model: AnyLinkModel | ConfiguredModel | None = CONFIGURED,
    feedback: Path | None = None,
) -> dict[str, Any]:
    """Run the pipeline over the files and write the outputs; returns the summary.
    `on_drain(pipeline, records_so_far)` is called at every periodic drain (benchmarks).
    `feedback` is a root-cause feedback store the ranker learns from before the first alert."""
    pipeline = build_pipeline(config, topology, link_model)
    started = time.perf_counter()
    total = sum(p.stat().st_size for p in (alerts, changes, metrics) if p is not None)
    bar = tqdm(
        total=total,
        unit="B",
        unit_scale=True,
        desc="replay",
        file=sys.stderr,
        leave=False,
        disable=None if progress is None else not progress,  # None: only on a terminal
    )
    with _frozen_heap(), bar, OutputFiles(out_dir, OUTPUT_FILES) as files:
        sink = ReplaySink(files)
        if feedback is not None:
            for record in read_feedback(feedback):
                if isinstance(record, DeadLetter):
                    sink.dead_letter(record)
                else:
                    pipeline.feedback(record)
        # A bar that shows nothing is not told about every line (the hot loop).
        update = None if bar.disable else bar.update
        streams = [read_alerts(alerts, progress=update)]
        if changes is not None:
            streams.append(read_changes(changes, progress=update))
        if metrics is not None:
            streams.append(read_metrics(metrics, progress=update))
        for n, record in enumerate(merge_streams(*streams), start=1):
            if isinstance(record, DeadLetter):
                sink.dead_letter(record)
                continue
            try:
                pipeline.process(record)
            except RecordError as exc:
                sink.dead_letter(DeadLetter(str(alerts), 0, str(exc), repr(record)))
            if n % _DRAIN_EVERY == 0:
                sink.take(pipeline.drain())
                if on_drain is not None:
                    on_drain(pipeline, n)
        sink.take(pipeline.finish())
        sink.close()
        elapsed = time.perf_counter() - started
        summary = build_summary(pipeline, sink, elapsed)
        files.write_whole("summary.json", summary)
    return summary


def build_summary(pipeline: Pipeline, sink: ReplaySink, elapsed: float) -> dict[str, Any]:
    counts = pipeline.counts
    dedup = pipeline.dedup.counts
    alerts = counts["alerts"]
    incidents = sink.counts["incidents"]
    folded = sum(dedup[o] for o in ("duplicate", "update", "refire", "late", "ack"))
    events = alerts + counts["changes"] + counts["metric_samples"]
    return {
        "events_in": events + sink.counts["dead_letters"],
        "alerts_in": alerts,
        "changes_in": counts["changes"],
        "metric_samples_in": counts["metric_samples"],
        "anomaly_alerts": counts["anomaly_alerts"],
        "dead_letters": sink.counts["dead_letters"],
        "duplicates_folded": folded,
        "dedup": {k: dedup[k] for k in sorted(dedup)},
        "redelivered": counts["redelivered"],
        "silenced": counts["silenced"],
        "inhibited": counts["inhibited"],
        "suppressed": sink.counts["suppressed"],
        "incidents": incidents,
        "incidents_open": sink.counts["incidents_open"],
        "incidents_resolved": sink.counts["incidents_resolved"],
        "merges": pipeline.correlator.merges,
        "reopens": pipeline.correlator.reopens,
        "predictions": sink.counts["predictions"],
        "feedback_learned": counts["feedback"],
        "noise_reduction": round(1 - incidents / alerts, 4) if alerts else None,
        "elapsed_s": round(elapsed, 3),
        "events_per_second": round(events / elapsed, 1) if elapsed > 0 else None,
        "by_source": {
            src or "unknown": dict(c) for src, c in sorted(pipeline.dedup.by_source.items())
        },
    }
