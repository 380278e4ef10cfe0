"""Outage forewarning: learn which signs come before a critical alert on an entity, and warn
before the next one.

When a non-critical alert on an entity (a service, or a node for node alerts) worsens
(escalates while firing), spreads (the same warning on several replicas) or persists (keeps
firing and being re-sent for `persist_s`), the stage describes what that entity showed
within `window_s`: how many distinct, non-chronic signs, which warnings they are, how long
they lasted, how cause-like their names are, anomalies, recent changes, whether something
below it alerts (then they are symptoms, not signs), how often its signs led to nothing
lately. The model scores the risk that a critical alert fires there within
`horizon_s`; at or above its threshold a prediction is emitted, at most once per entity per
`rearm_s` and never while a critical alert already fires there.

Labels arrive late: a snapshot is labelled positive when a critical alert starts on its
entity within the horizon, negative when the horizon passes without one; only then does the
model learn from it. Everything runs on event time, so replays and live runs agree.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Iterable
from typing import Any, Protocol

from mypy_extensions import mypyc_attr

from pipeline.changes import ChangeIndex
from pipeline.config import PredictionConfig
from pipeline.dedup import AlertState
from pipeline.forewarn_features import snapshot_features
from pipeline.forewarn_signs import Background, Sign, Snapshot
from pipeline.links import NamePrior
from pipeline.outputs import Outputs
from pipeline.records import SEVERITY_RANK, Alert, Change
from pipeline.times import format_time
from pipeline.topology import Topology

_CRITICAL = SEVERITY_RANK["critical"]


class RiskModel(Protocol):
    """An online classifier (see models.outage.OutageModel)."""

    threshold: float

    def predict_one(self, x: dict[str, float]) -> float: ...

    def learn_one(self, x: dict[str, float], y: bool) -> None: ...


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class OutagePredictor:
    """An observer stage: `observe(record, outputs, state)` for every alert and change."""

    def __init__(
        self,
        cfg: PredictionConfig,
        model: RiskModel,
        topology: Topology,
        changes: ChangeIndex,
        symptoms: NamePrior | None = None,
    ) -> None:
        self.cfg = cfg
        self.model = model
        self.topology = topology
        self.changes = changes
        self.symptoms = symptoms
        self.signs: dict[str, dict[str, Sign]] = {}  # entity -> fingerprint -> sign
        self.pending: dict[str, deque[Snapshot]] = {}
        self.critical_firing: dict[str, set[str]] = {}  # entity -> fingerprints
        self.last_warned: dict[str, float] = {}
        self.last_snapshot: dict[str, float] = {}
        # Per entity, times of snapshots that led to no critical alert (noisy entities).
        self.negatives: dict[str, deque[float]] = {}
        # Per fingerprint, onsets of its recent firing episodes: a warning that keeps coming
        # back and clearing by itself is background, not the start of something.
        self.episodes: dict[str, deque[float]] = {}
        # Due times for the expiry, so it pops what is due instead of scanning every sign
        # and episode: (last re-send, entity, fingerprint) of each cleared sign, and
        # (latest onset, fingerprint) of each episode start. An entry whose sign fired again
        # or whose episode started again since is skipped when it comes due.
        self._cleared_due: list[tuple[float, str, str]] = []
        self._episode_due: list[tuple[float, str]] = []
        self.background = Background()  # how long warnings that came to nothing lasted
        self.last_critical: dict[str, float] = {}
        self.learned = 0
        self._next_expiry = -math.inf
        # When set, called with every labelled snapshot (offline training collects them).
        self.recorder: Any = None
        # When set, called with every risk scored (offline threshold choice replays them).
        self.tracer: Any = None

    # ---- input --------------------------------------------------------------------------
    def observe(
        self, record: Alert | Change, outputs: Outputs, state: AlertState | None = None
    ) -> None:
        if state is None or isinstance(record, Change):  # changes come without a state
            return
        t = record.time
        if t is None:
            return
        # The entity: a node for an alert about the node itself, else the service.
        resource, topo = record.resource, self.topology
        if resource and resource in topo.node_resources:
            entity: str | None = resource
        else:
            entity = (
                record.service
                or (topo.resource_service.get(resource) if resource else None)
                or resource
            )
        if not entity:
            return
        if t >= self._next_expiry:
            self._next_expiry = t + 300.0
            self._expire(t)
        severity = SEVERITY_RANK[record.severity]
        firing = record.status == "firing"
        if severity >= _CRITICAL:
            self._critical(entity, state.fingerprint, firing, state.onset == t, t)
            return
        signs = self.signs.get(entity)
        if signs is None:
            if not firing:
                return
            signs = self.signs[entity] = {}
        sign = signs.get(state.fingerprint)
        worth_a_look = False
        if sign is None or (firing and not sign.firing):
            if not firing:
                return
            anomaly = record.source == "aiops-anomaly"
            sign = Sign(
                state.onset,
                record.name,
                severity,
                state.chronic,
                anomaly,
                last=t,
                resource=record.resource or "",
                recurring=self._recurs(state.fingerprint, state.onset),
            )
            signs[state.fingerprint] = sign
            worth_a_look = True
        elif firing:
            if t > sign.last:
                sign.last = t
            sign.resends += 1
            if severity > sign.severity:
                sign.severity = severity
                sign.escalations += 1
                worth_a_look = True
            # The re-send that first makes the sign persistent: look at once, whatever the
            # last snapshot was (escalations mostly come minutes before an outage, too late
            # to warn usefully).
            if not sign.persistent and t - sign.onset >= self.cfg.persist_s:  # _persists
                sign.persistent = True
                worth_a_look = True
        else:
            sign.firing = False
            heapq.heappush(self._cleared_due, (sign.last, entity, state.fingerprint))
            self._cleared(entity, sign, t)
            return
        # A re-send says the sign persists: look again now and then, not at every re-send.
        stale = t - self.last_snapshot.get(entity, -math.inf) >= self.cfg.rearm_s / 6
        if (worth_a_look or stale) and self._worth_weighing(signs.values(), t):
            self._snapshot(entity, t, outputs)

    def _critical(self, entity: str, fp: str, firing: bool, new: bool, t: float) -> None:
        now_firing = self.critical_firing.setdefault(entity, set())
        if not firing:
            now_firing.discard(fp)
            return
        self.last_critical[entity] = t
        # The label: a critical alert that starts on the entity while nothing below it is
        # failing (that would make it a symptom of something else).
        if new and not now_firing and not self._below_alerting(entity, t):
            self._label_positive(entity, t)
        now_firing.add(fp)

    def _recurs(self, fp: str, onset: float) -> bool:
        """Record the episode; whether the same alert started an episode before, well
        before this one (a flap within minutes is the same episode going on)."""
        starts = self.episodes.setdefault(fp, deque())
        while starts and starts[0] < onset - self.cfg.history_s:
            starts.popleft()
        recurs = bool(starts) and starts[0] < onset - self.cfg.window_s / 3
        starts.append(onset)
        heapq.heappush(self._episode_due, (onset, fp))
        return recurs

    def _cleared(self, entity: str, sign: Sign, t: float) -> None:
        """A warning cleared: if nothing critical happened on its entity meanwhile, it was
        background, and how long it lasted says how long background lasts."""
        if sign.chronic or self.critical_firing.get(entity):
            return
        if self.last_critical.get(entity, -math.inf) >= sign.onset:
            return
        self.background.add(sign.name, t - sign.onset)

    def _persists(self, sign: Sign, t: float) -> bool:
        """A fresh sign that has fired for `persist_s` and is still being re-sent."""
        return sign.resends > 0 and t - sign.onset >= self.cfg.persist_s

    def _worth_weighing(self, signs: Iterable[Sign], t: float) -> bool:
        """Only a sign that worsens (escalated while firing), spreads (the same warning on
        several replicas) or persists (fired for `persist_s` and still re-sent) is weighed
        and learned from: a first warning alone looks like the background noise it mostly
        is, and most noise is over within minutes."""
        seen: dict[str, str] = {}
        for s in signs:
            if not s.firing or s.chronic:
                continue
            if s.escalations or self._persists(s, t):
                return True
            other = seen.setdefault(s.name, s.resource)
            if other != s.resource:
                return True
        return False

    def _snapshot(self, entity: str, t: float, outputs: Outputs) -> None:
        self.last_snapshot[entity] = t
        if self.critical_firing.get(entity):
            # Already down: nothing to forewarn, and nothing to learn: what an entity shows
            # during its outage is not what it shows before one.
            return
        features = self.features(entity, t)
        self.pending.setdefault(entity, deque()).append(Snapshot(t, entity, features))
        risk = self.model.predict_one(features)
        if self.tracer is not None:
            self.tracer(entity, t, risk)
        rearmed = t - self.last_warned.get(entity, -math.inf) >= self.cfg.rearm_s
        if risk >= self.model.threshold and rearmed:
            self.last_warned[entity] = t
            outputs.predictions.append(self._prediction(entity, t, risk))

    # ---- features -----------------------------------------------------------------------
    def _fresh(self, entity: str, t: float) -> list[Sign]:
        """Signs of the window that are not chronic (repeat offenders say little)."""
        horizon = t - self.cfg.window_s
        return [
            s
            for s in self.signs.get(entity, {}).values()
            if not s.chronic and (s.firing or s.last >= horizon) and s.onset >= horizon - 3600
        ]

    def features(self, entity: str, t: float) -> dict[str, float]:
        """What the risk model weighs for `entity` at `t` (`pipeline.forewarn_features`)."""
        return snapshot_features(
            self.cfg,
            entity,
            t,
            self.signs.get(entity, {}),
            self.background,
            self.symptoms,
            self.changes,
            self.topology,
            self._false_starts(entity, t),
            self._below_alerting(entity, t),
        )

    def _below_alerting(self, entity: str, t: float) -> bool:
        """Signs on something the entity depends on: then its own are likely symptoms."""
        recent = t - self.cfg.window_s / 3
        for dep in self.topology.downstream(entity, 1):
            if self.critical_firing.get(dep):
                return True
            signs = self.signs.get(dep)
            if signs:
                for s in signs.values():  # a plain loop: any() over a generator costs more
                    if s.firing and s.onset >= recent:
                        return True
        return False

    def _prediction(self, entity: str, t: float, risk: float) -> dict[str, Any]:
        fresh = sorted(self._fresh(entity, t), key=lambda s: s.onset)
        names = sorted({s.name for s in fresh})
        minutes = (t - fresh[0].onset) / 60 if fresh else 0.0
        reason = (
            f"{len(fresh)} warning sign(s) on {entity} for {minutes:.0f} min ({', '.join(names)})"
        )
        change = self.changes.near([entity], t - self.cfg.change_lookback_s, t)
        if change:
            c = change[-1]
            reason += f"; {c.type} {c.id} {(t - c.time) / 60:.0f} min ago"
        return {
            "time": format_time(t),
            "service": entity,
            "kind": "node" if self.topology.is_node(entity) else "service",
            "risk": round(risk, 3),
            "horizon_s": self.cfg.horizon_s,
            "reason": reason,
        }

    # ---- delayed labels -----------------------------------------------------------------
    def _label_positive(self, entity: str, t: float) -> None:
        pending = self.pending.get(entity)
        if not pending:
            return
        keep: deque[Snapshot] = deque()
        for snap in pending:
            if snap.t >= t:
                keep.append(snap)
            else:
                # Older than the horizon: its horizon passed without an outage (the expiry
                # runs every few minutes and had not labelled it yet).
                self._learn(snap, t - self.cfg.horizon_s <= snap.t)
        self.pending[entity] = keep

    def _expire(self, now: float) -> None:
        """Label what the horizon has passed, and forget signs older than the window."""
        horizon = now - self.cfg.horizon_s
        for entity in [e for e, q in self.pending.items() if q and q[0].t < horizon]:
            queue = self.pending[entity]
            while queue and queue[0].t < horizon:
                self._learn(queue.popleft(), False)
            if not queue:
                del self.pending[entity]
        old = now - self.cfg.window_s
        due = self._cleared_due
        while due and due[0][0] < old:
            _, entity, fp = heapq.heappop(due)
            signs = self.signs.get(entity)
            sign = signs.get(fp) if signs else None
            if signs is not None and sign is not None and not sign.firing and sign.last < old:
                del signs[fp]
                if not signs:
                    del self.signs[entity]
        forget = now - self.cfg.history_s
        starting = self._episode_due
        while starting and starting[0][0] < forget:
            fp = heapq.heappop(starting)[1]
            starts = self.episodes.get(fp)
            if starts and starts[-1] < forget:
                del self.episodes[fp]

    def _false_starts(self, entity: str, t: float) -> int:
        times = self.negatives.get(entity)
        if not times:
            return 0
        while times and times[0] < t - self.cfg.history_s:
            times.popleft()
        return len(times)

    def _learn(self, snap: Snapshot, label: bool) -> None:
        if not label:
            self.negatives.setdefault(snap.entity, deque()).append(snap.t)
        if self.recorder is not None:
            self.recorder(snap.entity, snap.t, snap.features, label)
        if self.cfg.learn_online:
            self.model.learn_one(snap.features, label)
        self.learned += 1
