"""The pipeline: one object that takes validated records in arrival order and produces
incident updates, suppressions and predictions.

Stages, in the order an alert meets them:
silence -> dedup -> inhibit -> correlate -> enrich (root cause, priority, title).
Time is event time: the clock is the latest event time seen, and expiries run as it moves,
so a replay of a file and a live run over the same events in the same order produce the
same incidents with the same ids and versions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from mypy_extensions import mypyc_attr

from pipeline.announced_merge import announced_by
from pipeline.changes import ChangeIndex
from pipeline.config import Config
from pipeline.correlator import Correlator, LinkScorer
from pipeline.dedup import AlertState, Deduplicator, Outcome
from pipeline.explained_merge import explained_fragments, merge_explained
from pipeline.feedback import Feedback
from pipeline.incidents import OPEN, PENDING, RESOLVED, Incident
from pipeline.lifecycle import Lifecycle
from pipeline.links import NamePrior
from pipeline.outputs import Outputs, Suppressed
from pipeline.records import Alert, Change, MetricSample, RecordError
from pipeline.recovery_split import split_recovered, split_recovering
from pipeline.silences import Inhibitor, Silencer, match_labels
from pipeline.store import IncidentStore
from pipeline.topology import Topology

# Allocations between young garbage collections for a process running the pipeline (CPython's
# default: 700). The pipeline keeps most of what it allocates for a while (alert states,
# incidents), so most young collections would find little to free. Set by `aiops replay`
# and by the Kafka service (connectors.kafka.service.tune_gc).
YOUNG_GC_THRESHOLD = 10_000

_NO_LABELS: dict[str, str] = {}  # read-only: matchers are off when nothing needs labels


def _by_seq(entry: tuple[Incident, float, tuple[int, int]]) -> int:
    return entry[0].seq


class Enricher(Protocol):
    """Adds derived fields (e.g. `root_cause`) to an incident whose membership changed."""

    def enrich(self, incident: Incident) -> None: ...


class FeedbackLearner(Protocol):
    """An enricher that learns from people's verdicts on its output (the root-cause ranker):
    returns the record to persist, completed with what it knew of the incident."""

    def learn_one(self, feedback: Feedback) -> Feedback: ...


class MetricWatcher(Protocol):
    """Turns metric samples into anomaly alerts (see aiops.anomaly_watch.MetricWatch)."""

    def observe(self, sample: MetricSample) -> list[Alert]: ...


class Observer(Protocol):
    """Sees every accepted alert (with its dedup state) and change, e.g. the outage
    predictor; may emit predictions into `outputs.predictions`."""

    def observe(
        self, record: Alert | Change, outputs: Outputs, state: AlertState | None = None
    ) -> None: ...


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class Drained:
    """Everything produced since the previous drain."""

    # Incidents that changed, live objects: a sink serialises them (`to_dict`) when it writes,
    # so a replay can write each one once, at its final state.
    incidents: list[Incident] = field(default_factory=list)
    final: list[Incident] = field(default_factory=list)  # will not change again
    suppressed: list[Suppressed] = field(default_factory=list)
    predictions: list[dict[str, Any]] = field(default_factory=list)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Pipeline:
    def __init__(
        self,
        config: Config,
        topology: Topology | None = None,
        *,
        changes: ChangeIndex | None = None,
        enrichers: Sequence[Enricher] = (),
        observers: Sequence[Observer] = (),
        symptoms: NamePrior | None = None,
        link_model: LinkScorer | None = None,
        metrics: MetricWatcher | None = None,
    ) -> None:
        self.config = config
        self.topology = topology if topology is not None else Topology()
        self.out = Outputs()
        self.store = IncidentStore()
        self.dedup = Deduplicator(config.dedup)
        self.silencer = Silencer(config.silences)
        self.inhibitor = Inhibitor(config.inhibit_rules)
        self.correlator = Correlator(
            config.correlation,
            config.incidents,
            self.topology,
            self.store,
            self.out,
            symptoms,
            link_model,
        )
        self.lifecycle = Lifecycle(config.incidents, config.correlation, self.store, self.out)
        c = config.correlation
        if c.recovery_split_gap_s or c.recovery_merge_gap_s or c.recovery_explain_gap_s:
            self.lifecycle.before_resolve = self._split_recovered
        if c.announce_gap_s:
            self.lifecycle.before_expire = self._join_announced
        self.changes = (
            changes
            if changes is not None
            else ChangeIndex(self.topology, config.root_cause.change_retention_s)
        )
        self.enrichers = list(enrichers)
        self.metrics = metrics
        self.observers = list(observers)
        self._needs_labels = bool(config.silences or config.inhibit_rules)
        self.clock: float | None = None
        self._next_sweep = float("-inf")
        self._next_housekeeping = float("-inf")
        self._rank_later: dict[str, Incident] = {}  # stale rankings held back (holdoff)
        self.counts: Counter[str] = Counter()

    # ---- input --------------------------------------------------------------------------
    def process(self, record: Alert | Change | MetricSample) -> None:
        if type(record) is Alert:  # the common case first, without isinstance chains
            self.process_alert(record)
        elif isinstance(record, Change):
            self.process_change(record)
        elif isinstance(record, MetricSample):
            self.process_metric(record)
        else:
            self.process_alert(record)

    def process_metric(self, sample: MetricSample) -> None:
        """A metric sample: its anomalies enter as alerts of their own (source aiops-anomaly),
        so they join incidents, root-cause ranking and forewarning like any alert."""
        self.advance(sample.time)
        self.counts["metric_samples"] += 1
        if self.metrics is None:
            return
        for alert in self.metrics.observe(sample):
            self.counts["anomaly_alerts"] += 1
            self.process_alert(alert)

    def process_alert(self, alert: Alert) -> None:
        """Run one alert event through every stage. Raises RecordError if it cannot be dated."""
        t = alert.time
        clock = self.clock
        if t is None:
            if clock is None:
                raise RecordError("event has no timestamp and no earlier event dates it")
            t = alert.time = clock
        if clock is None or t > clock:
            if t < self._next_sweep and t < self.correlator.rehome.next_due:
                self.clock = t  # advance() when no sweep or late correction is due
            else:
                self.advance(t)
        counts = self.counts
        counts["alerts"] += 1
        labels = match_labels(alert) if self._needs_labels else _NO_LABELS
        if self.silencer.silences:
            reason = self.silencer.check(alert, labels)
            if reason:
                counts["silenced"] += 1
                self.out.suppress(alert.id, reason, t)
                return
        dedup = self.dedup
        fp = alert.fingerprint or dedup.fingerprint(alert)
        outcome, state = dedup.process(alert, fp)
        if outcome == Outcome.REDELIVERED:
            counts["redelivered"] += 1
            return
        assert state is not None
        if self.inhibitor.rules:
            self.inhibitor.observe(fp, state.firing, labels)
            if fp not in self.store.by_fp:
                reason = self.inhibitor.check(fp, labels)
                if reason:
                    counts["inhibited"] += 1
                    self.out.suppress(alert.id, reason, t)
                    return
        out = self.out
        for observer in self.observers:
            observer.observe(alert, out, state)
        inc = self.correlator.handle(alert, fp, outcome, state, self.clock or t)
        if inc is not None and inc.stale_rca and inc.status == OPEN:
            rc = self.config.root_cause
            if inc.rankings < rc.eager_rankings or t - inc.ranked_at >= rc.rerank_holdoff_s:
                self._enrich(inc)
            else:
                self._rank_later[inc.id] = inc

    def process_change(self, change: Change) -> None:
        self.advance(change.time)
        self.counts["changes"] += 1
        self.changes.add(change)
        for observer in self.observers:
            observer.observe(change, self.out)
        # A change delivered after the incident it may have caused: rank that incident again.
        rc = self.config.root_cause
        touched: set[Incident] = set()
        for entity in self.changes.entities(change):
            touched.update(self.store.by_service.get(entity, ()))
            touched.update(self.store.by_node.get(entity, ()))
        for inc in sorted(touched, key=lambda i: i.seq):
            lo, hi = inc.start - rc.change_lookback_s, inc.last_onset + rc.change_after_s
            if inc.status == OPEN and lo <= change.time <= hi:
                before = inc.root_cause
                self._enrich(inc)
                if inc.root_cause != before:
                    inc.changed()
                    self.out.touch(inc)

    def feedback(self, record: Feedback) -> Feedback:
        """A person confirmed or corrected an incident's root cause (the `aiops.feedback`
        topic, `aiops feedback`). Every enricher that learns takes it in order; the returned
        record (with the context of the ranking it corrects) is what to persist, so that a
        replay of the persisted records rebuilds the same learned state."""
        self.counts["feedback"] += 1
        for enricher in self.enrichers:
            learn = getattr(enricher, "learn_one", None)
            if learn is not None:
                record = learn(record)
        return record

    def _enrich(self, inc: Incident) -> None:
        for enricher in self.enrichers:
            enricher.enrich(inc)
        inc.update_priority(self.config.incidents, self.topology)
        inc.update_title()
        inc.stale_rca = False
        inc.rankings += 1
        inc.ranked_at = self.clock if self.clock is not None else inc.updated_at
        self._rank_later.pop(inc.id, None)

    def _split_recovered(self, inc: Incident, now: float) -> None:
        """Before an incident resolves: split off what recovered apart (pipeline.rehome),
        merge each part with what recovered with it or explains it (pipeline.explained_merge),
        and rank the root cause of every part afresh."""
        rehome, corr = self.correlator.rehome, self.correlator
        parts = split_recovered(rehome, corr, inc, now)
        if parts:
            for part in (inc, *parts):
                self._refresh(part)
        for part in (inc, *parts):
            if part.status in (OPEN, RESOLVED):
                survivor = rehome.merge_recovered(corr, part)
                if survivor is None:
                    survivor = merge_explained(corr, part, None if part is inc else inc)
                if survivor is None:
                    fragments = explained_fragments(corr, part)
                    if fragments:
                        survivor = rehome.merge_resolving(corr, [part, *fragments])
                if survivor is not None:
                    self._refresh(survivor)

    def _join_announced(self, held: Incident, now: float) -> bool:
        """A held incident that recovered with the outage it announced joins it
        (pipeline/announced_merge.py)."""
        target = announced_by(self.correlator, held)
        if target is None:
            return False
        self.correlator.absorb_held(target, held)
        if target.status == RESOLVED and target.resolved_at is not None:
            target.resolved_at = max(target.resolved_at, target.last_resolve)
        self._refresh(target)
        return True

    def _refresh(self, inc: Incident) -> None:
        """Rank an incident whose membership changed afresh, and emit it."""
        self._enrich(inc)
        inc.changed()
        self.out.touch(inc)

    def _rank_held(self, now: float | None) -> None:
        """Rank the incidents whose ranking was held back, once their holdoff is over (all
        of them when `now` is None: the end of the input)."""
        holdoff = self.config.root_cause.rerank_holdoff_s
        for inc in list(self._rank_later.values()):
            if now is not None and now - inc.ranked_at < holdoff:
                continue
            del self._rank_later[inc.id]
            if inc.status != OPEN or not inc.stale_rca:
                continue
            before = (inc.root_cause, inc.suspected_changes, inc.title, inc.priority)
            self._enrich(inc)
            if (inc.root_cause, inc.suspected_changes, inc.title, inc.priority) != before:
                inc.changed()
                self.out.touch(inc)

    # ---- time ---------------------------------------------------------------------------
    def advance(self, now: float) -> None:
        """Move the clock forward (never back) and run expiries that are due."""
        if self.clock is not None and now <= self.clock:
            return
        self.clock = now
        rehome = self.correlator.rehome
        if now >= rehome.next_due:
            # Late corrections due (pipeline.rehome), before the sweep resolves incidents;
            # the incidents they changed are ranked again at once.
            for inc in rehome.run(self.correlator, now):
                if inc.status == OPEN:
                    self._enrich(inc)
        if now >= self._next_sweep:
            self._next_sweep = now + self.config.engine.sweep_interval_s
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        # Alert timeouts and forgetting old state work on hours: check them less often than
        # incident resolution, which works on minutes.
        if now >= self._next_housekeeping:
            self._next_housekeeping = now + self.config.engine.housekeeping_interval_s
            for state in self.dedup.sweep(now):
                self.correlator.on_timeout(state)
            self.changes.sweep(now)
            self.correlator.rehome.forget(now)
        if self.correlator.rehome.recovering:
            self._split_recovering(now)
        if self._rank_later:
            self._rank_held(now)
        self.lifecycle.sweep(now)

    def _split_recovering(self, now: float) -> None:
        """Split off what recovered apart from open incidents whose other alerts still fire
        (pipeline.recovery_split); ranked afresh and emitted. An incident leaves the watch
        once it is no longer open and firing: the split at resolution takes over."""
        corr = self.correlator
        rehome, live = corr.rehome, corr.store.live
        for inc, due, seen in sorted(rehome.recovering.values(), key=_by_seq):
            if inc.status == PENDING and inc.id in live:
                continue  # it may still open
            if inc.status != OPEN or not inc.firing or inc.id not in live:
                del rehome.recovering[inc.id]
                continue
            state = (inc.version, inc.firing)
            if state == seen and now < due:
                continue  # nothing that could split it changed since the last look
            parts, due = split_recovering(rehome, corr, inc, now)
            rehome.recovering[inc.id] = (inc, due, (inc.version, inc.firing))
            for part in (inc, *parts) if parts else ():
                self._refresh(part)

    # ---- output -------------------------------------------------------------------------
    def drain(self) -> Drained:
        """Hand over what changed since the last drain; incidents as their latest state."""
        out = self.out
        drained = Drained(
            incidents=list(out.changed.values()),
            final=out.final,
            suppressed=out.suppressed,
            predictions=out.predictions,
        )
        for inc in drained.incidents:
            if not inc.title:
                inc.update_title()
            inc.dirty = False
        out.changed = {}
        out.final = []
        out.suppressed = []
        out.predictions = []
        return drained

    def finish(self) -> Drained:
        """End of a finite input: held alerts are reported as suppressed, then a last drain."""
        if self.clock is not None:
            self._rank_held(None)
            self.lifecycle.flush_pending(self.clock)
        return self.drain()

    def state_size(self) -> dict[str, int]:
        """What the pipeline holds in memory; grows with open state, not with history."""
        return {
            **self.store.size(),
            "alert_states": len(self.dedup.states),
            "alert_histories": len(self.dedup.episodes),
            "remembered_ids": self.dedup.remembered_ids(),
            "changes": len(self.changes),
            "rehome_tracked": len(self.correlator.rehome.events),
        }
