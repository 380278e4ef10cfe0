"""Root-cause candidates of an incident and the signals that describe each one.

Candidates: every alerting service; every node that alerts itself or hosts alerting
resources of several services or several alerting resources (shared infrastructure); and
quiet services that raise no alert but that alerting services name in their alerts or sit
right below alerting services whose own dependencies are quiet (a root its monitoring missed
still shows in the services that call it).

Each candidate gets the same named signals, each in [0, 1], so one learned model scores them
all (`models.rca_model`). Signals a kind cannot have are 0 (a node has no symptom share, a
quiet service no severity); the kind flags let the model weigh kinds differently.
Everything here is a look-up in the incident or a cached graph search: ranking runs inside
the stream each time an incident's picture changes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from mypy_extensions import mypyc_attr

from models.rca_mentions import MentionIndex
from models.rca_walk import random_walk
from pipeline.incidents import Incident, Member
from pipeline.records import Change
from pipeline.topology import Topology

ENTITY_SIGNALS = (
    "explains",  # share of the other alerting services that depend on it (transitively)
    "explains_direct",  # share of the other alerting services that call it directly
    "named",  # share of the other alerting services whose alerts name it
    "no_alerting_deps",  # none of its own dependencies alert
    "onset",  # how early it started, relative to the incident's spread
    "first",  # started within 30 s of the incident's first alert
    "order",  # share of the services it explains that started after it
    "severity",  # its worst alert
    "cause_like",  # 1 - symptom-likeness of its most cause-like alert name (learned online)
    "alert_share",  # its share of the incident's alerts
    "symptom_share",  # share of its alerts that fired while a dependency was alerting
    "chronic_share",  # share of its alerts that are repeat offenders
    "silent",  # it raises no alert itself
    "node",  # it is a node (shared infrastructure)
    "node_cover",  # for a node: share of the alerting services running on it
    "node_hosted",  # for a node: share of the resources it hosts that alert
    "node_itself",  # for a node: it alerts itself
    "change",  # a change on it shortly before it started or escalated (1/e at 30 min)
    "walk",  # random-walk visit frequency over the incident's graph
    "history",  # similar confirmed incidents had it as their root
)
CHANGE_SIGNALS = (
    "entity_score",  # the score of the candidate the change touched
    "closeness",  # exp(-time before the candidate's onset or escalation / 30 min)
    "after_onset",  # the change came after the candidate started and escalated
    "latest",  # the latest change on that candidate before it escalated
    "siblings",  # other changes on the same candidate in the window (1 - 1/n)
    "on_resource",  # the change names a resource, not just a service
    "type_deploy",
    "type_config",
    "type_feature_flag",
    "type_infra",
    "type_other",
)
CHANGE_DECAY_S = 1800.0
_FIRST_S = 30.0
_MAX_QUIET = 3
_CHANGE_TYPES = {
    "deploy": "type_deploy",
    "config": "type_config",
    "feature-flag": "type_feature_flag",
}
_INFRA_TYPES = frozenset({"infra", "infrastructure", "maintenance", "node", "os"})


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class EntityCandidate:
    entity: str
    kind: str  # service | node
    signals: dict[str, float]
    onset: float  # when it started (for a quiet service: its first alerting caller)
    escalation: float  # when its worst alert started
    score: float = 0.0
    explained: list[str] = field(default_factory=list)  # alerting services it explains
    named_by: list[str] = field(default_factory=list)  # alerting services that name it


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class ChangeCandidate:
    change: Change
    on: EntityCandidate
    signals: dict[str, float]
    score: float = 0.0


def change_type_signal(kind: str) -> str:
    key = (kind or "").lower()
    if key in _CHANGE_TYPES:
        return _CHANGE_TYPES[key]
    return "type_infra" if key in _INFRA_TYPES else "type_other"


def closeness(change_time: float, refs: Iterable[float]) -> float:
    """How close a change came before a candidate started or escalated: 1 right before,
    1/e 30 min before; a change after all of them counts half (a reaction, or late)."""
    best = -1.0
    for ref in refs:
        before = ref - change_time
        if before >= 0:
            best = max(best, math.exp(-before / CHANGE_DECAY_S))
    return best if best >= 0 else 0.5


def _escalation(members: list[Member]) -> float:
    worst = max(m.severity for m in members)
    return min(m.onset for m in members if m.severity == worst)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class SignalBuilder:
    """Builds the candidates of one incident with their signals."""

    def __init__(
        self,
        topology: Topology,
        explain_hops: int,
        symptom_likeness: Callable[[str], float],
        mentions: MentionIndex | None = None,
    ) -> None:
        self.topology = topology
        self.hops = explain_hops
        self.symptom_likeness = symptom_likeness
        self.mentions = mentions

    # ---- candidates -----------------------------------------------------------------------
    def pointed(self, inc: Incident) -> dict[str, set[str]]:
        """Entity -> the alerting services whose alerts name it."""
        out: dict[str, set[str]] = {}
        mentions = self.mentions
        if mentions is None or mentions.states is None:
            return out
        for m in inc.members.values():
            if m.service is None:
                continue
            for target in mentions.named_by(m):
                out.setdefault(target, set()).add(m.service)
        return out

    def quiet_services(self, inc: Incident, pointed: dict[str, set[str]]) -> list[str]:
        """Services that raise no alert but are named by alerting services, or sit directly
        below alerting services whose own dependencies are quiet; most pointed at first."""
        topo, services = self.topology, inc.services
        votes: dict[str, float] = {
            t: 2.0 * len(by) for t, by in pointed.items() if t in topo and t not in services
        }
        for s in services:
            if any(d in services for d in topo.downstream(s, self.hops)):
                continue
            for d in topo.callees.get(s, ()):
                if d not in services:
                    votes[d] = votes.get(d, 0.0) + 1.0
        ranked = sorted(votes, key=lambda d: (-votes[d], d))
        return ranked[:_MAX_QUIET]

    def candidates(
        self,
        inc: Incident,
        changes: dict[str, list[Change]],
        quiet: Iterable[str],
        pointed: dict[str, set[str]],
    ) -> list[EntityCandidate]:
        """Alerting services, shared nodes and the `quiet` services, with every signal but
        `history`."""
        out = [self._service(inc, s, changes) for s in inc.service_members]
        out.extend(self._nodes(inc, changes))
        out.extend(self._quiet(inc, s, changes) for s in quiet if s not in inc.services)
        others = len(inc.services)
        for c in out:
            by = sorted(pointed.get(c.entity, set()) - {c.entity})
            c.named_by = by
            n = others - (1 if c.entity in inc.services else 0)
            c.signals["named"] = len(by) / n if n else 0.0
        self._walk(inc, out)
        return out

    def _service(
        self, inc: Incident, service: str, changes: dict[str, list[Change]]
    ) -> EntityCandidate:
        members = inc.service_members[service]
        onset = inc.services[service]
        escalation = _escalation(members)
        signals, explained = self._graph_signals(inc, service, onset)
        signals.update(self._member_signals(inc, members))
        signals["change"] = self._change_signal(changes.get(service, ()), (onset, escalation))
        cand = EntityCandidate(service, "service", signals, onset, escalation)
        cand.explained = explained
        return cand

    def _nodes(self, inc: Incident, changes: dict[str, list[Change]]) -> list[EntityCandidate]:
        out = []
        topo = self.topology
        n_services = len(inc.services)
        for node, on_node in inc.node_members.items():
            if len(on_node) < 2 and on_node[0].resource != node:
                continue  # one alert of one resource on it: nothing shared
            itself = [m for m in on_node if m.resource == node]
            services = {m.service for m in on_node if m.service}
            alerting = {m.resource for m in on_node if m.resource and m.resource != node}
            if not itself and len(services) < 2 and len(alerting) < 2:
                continue
            reach = set(services)
            for s in services:
                reach.update(x for x in topo.upstream(s, self.hops) if x in inc.services)
            onset = min(m.onset for m in on_node)
            own = itself or on_node
            escalation = _escalation(own)
            hosted = topo.node_resources.get(node, set())
            signals = self._member_signals(inc, own)
            signals.update(
                explains=len(reach) / n_services if n_services else 1.0,
                explains_direct=len(services) / n_services if n_services else 0.0,
                no_alerting_deps=1.0,
                onset=self._onset(inc, onset),
                first=1.0 if onset - inc.start <= _FIRST_S else 0.0,
                order=self._order_after(inc, onset, services),
                node=1.0,
                silent=0.0 if itself else 1.0,
                node_cover=len(services) / n_services if n_services else 0.0,
                node_hosted=len(alerting & hosted) / len(hosted) if hosted else 0.0,
                node_itself=1.0 if itself else 0.0,
                change=self._change_signal(changes.get(node, ()), (onset, escalation)),
            )
            cand = EntityCandidate(node, "node", signals, onset, escalation)
            cand.explained = sorted(reach)
            out.append(cand)
        return out

    def _quiet(
        self, inc: Incident, service: str, changes: dict[str, list[Change]]
    ) -> EntityCandidate:
        """A service that raises no alert in this incident."""
        topo = self.topology
        callers = [s for s in topo.callers.get(service, ()) if s in inc.services]
        onset = min((inc.services[s] for s in callers), default=inc.start)
        signals, explained = self._graph_signals(inc, service, onset)
        signals.update(
            silent=1.0,
            change=self._change_signal(changes.get(service, ()), (onset,)),
        )
        cand = EntityCandidate(service, "service", signals, onset, onset)
        cand.explained = explained
        return cand

    # ---- signals --------------------------------------------------------------------------
    def _deps_alert(self, inc: Incident, service: str) -> bool:
        # Two key views: isdisjoint walks the smaller (a generator per call costs more).
        down = self.topology.downstream(service, self.hops)
        return not down.keys().isdisjoint(inc.services.keys())

    def _graph_signals(
        self, inc: Incident, service: str, onset: float
    ) -> tuple[dict[str, float], list[str]]:
        """Topology and order signals, and the alerting services it explains."""
        services = inc.services
        others = len(services) - (1 if service in services else 0)
        up = self.topology.upstream(service, self.hops)
        explained = [s for s in services if s in up and s != service]
        direct = sum(1 for s in explained if up[s] == 1)
        signals = {
            "explains": len(explained) / others if others else 1.0,
            "explains_direct": direct / others if others else 1.0,
            "no_alerting_deps": 0.0 if self._deps_alert(inc, service) else 1.0,
            "onset": self._onset(inc, onset),
            "first": 1.0 if onset - inc.start <= _FIRST_S else 0.0,
            "order": self._order_after(inc, onset, explained),
        }
        return signals, explained

    @staticmethod
    def _onset(inc: Incident, onset: float) -> float:
        span = max(inc.last_onset - inc.start, 1.0)
        return min(max(1.0 - (onset - inc.start) / span, 0.0), 1.0)

    @staticmethod
    def _order_after(inc: Incident, onset: float, services: Iterable[str]) -> float:
        """Share of `services` that started no earlier than `onset` (cause before effect)."""
        starts = [inc.services[s] for s in services if s in inc.services]
        if not starts:
            return 0.5
        return sum(1 for t in starts if t >= onset - _FIRST_S) / len(starts)

    def _member_signals(self, inc: Incident, members: list[Member]) -> dict[str, float]:
        n = len(members)
        likeness = self.symptom_likeness
        severity = symptoms = chronic = 0
        names: set[str] = set()
        for m in members:  # one pass: generators per signal cost more than the arithmetic
            if m.severity > severity:
                severity = m.severity
            symptoms += m.symptom
            chronic += m.chronic
            names.add(m.name)
        return {
            "severity": severity / 4,
            "cause_like": 1.0 - min(likeness(name) for name in names),
            "alert_share": n / len(inc.members),
            "symptom_share": symptoms / n,
            "chronic_share": chronic / n,
        }

    @staticmethod
    def _change_signal(changes: Iterable[Change], refs: tuple[float, ...]) -> float:
        best = 0.0
        for c in changes:
            if any(c.time <= r for r in refs):
                best = max(best, closeness(c.time, refs))
        return best

    def _walk(self, inc: Incident, cands: list[EntityCandidate]) -> None:
        """Random walk from the alerting entities towards what could explain them."""
        topo = self.topology
        anomaly: dict[str, float] = {}
        for c in cands:
            s = c.signals
            if s.get("silent") and c.kind == "service":
                strength = 0.2 + s.get("named", 0.0)
            else:
                strength = s.get("severity", 0.0) + s.get("cause_like", 0.0)
            anomaly[c.entity] = 0.1 + strength
        forward: dict[str, list[str]] = {}
        for c in cands:
            if c.kind == "service":
                forward[c.entity] = [d for d in topo.callees.get(c.entity, ()) if d in anomaly]
        for node, on_node in inc.node_members.items():
            if node in anomaly:
                for svc in {m.service for m in on_node if m.service}:
                    if svc in forward:
                        forward[svc].append(node)
        starts = {c.entity: anomaly[c.entity] for c in cands if not c.signals.get("silent")}
        visits = random_walk(anomaly, forward, starts=starts or None)
        for c in cands:
            c.signals["walk"] = visits.get(c.entity, 0.0)


def change_signals(
    change: Change, on: EntityCandidate, siblings: int, latest: bool
) -> dict[str, float]:
    refs = (on.onset, on.escalation)
    signals = dict.fromkeys(CHANGE_SIGNALS, 0.0)
    signals.update(
        entity_score=on.score,
        closeness=closeness(change.time, refs),
        after_onset=1.0 if all(change.time > r for r in refs) else 0.0,
        latest=1.0 if latest else 0.0,
        siblings=1.0 - 1.0 / max(siblings, 1),
        on_resource=1.0 if change.resource else 0.0,
    )
    signals[change_type_signal(change.type)] = 1.0
    return signals
