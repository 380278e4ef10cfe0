"""First root-cause ranking: which service, node, resource or change most likely started it.

Signals per candidate service, each in [0, 1], combined by configured weights:
- explains: the share of the incident's other alerting services that depend on it
  (transitively), i.e. where its fault would show up;
- no_alerting_deps: none of its own dependencies alert, so nothing below it explains it;
- onset: how early it started within the incident;
- severity: its worst alert;
- change: a change on it shortly before the incident started.
Nodes that host alerting resources of several services (or alert themselves) compete with
services; a lone alerting replica of a multi-replica service is named as a resource; recent
changes on a candidate inherit its score scaled by how close they came before the onset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pipeline.changes import ChangeIndex
from pipeline.config import RootCauseConfig
from pipeline.incidents import Incident, Member
from pipeline.records import SEVERITIES, Change
from pipeline.times import format_time
from pipeline.topology import Topology

_CHANGE_DECAY_S = 1800.0  # a change 30 min before onset counts 1/e of one at onset


@dataclass(slots=True)
class Candidate:
    entity: str
    kind: str  # service | resource | node | change
    score: float
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "kind": self.kind,
            "score": round(self.score, 4),
            "evidence": self.evidence,
        }


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 0):.0f} s"
    return f"{seconds / 60:.0f} min"


def _when(before: float) -> str:
    return f"{_ago(before)} before onset" if before >= 0 else f"{_ago(-before)} after onset"


class RootCauseRanker:
    """Ranks an incident's candidates; `enrich` is the pipeline's hook."""

    def __init__(self, cfg: RootCauseConfig, topology: Topology, changes: ChangeIndex) -> None:
        self.cfg = cfg
        self.topology = topology
        self.changes = changes
        w = cfg.weights
        self._weights = {
            "explains": w.explains,
            "no_alerting_deps": w.no_alerting_deps,
            "onset": w.onset,
            "severity": w.severity,
            "change": w.change,
        }
        self._total = sum(self._weights.values()) or 1.0

    def enrich(self, inc: Incident) -> None:
        inc.root_cause = [c.to_dict() for c in self.rank(inc)]

    def rank(self, inc: Incident) -> list[Candidate]:
        by_service: dict[str, list[Member]] = {}
        for m in inc.members.values():
            if m.service:
                by_service.setdefault(m.service, []).append(m)
        span = max(inc.last_onset - inc.start, 1.0)
        changes = self._recent_changes(inc)
        scored: list[Candidate] = []
        for service, members in by_service.items():
            scored.append(self._service(inc, service, members, span, changes))
        scored.extend(self._nodes(inc, span, changes))
        scored.sort(key=lambda c: (-c.score, c.entity))
        top = scored[: self.cfg.max_candidates]
        extra = self._resources(inc, top, by_service) + self._change_candidates(top, changes, inc)
        ranked = sorted(top + extra, key=lambda c: (-c.score, c.kind != "service", c.entity))
        return ranked[: self.cfg.max_candidates]

    # ---- candidates ---------------------------------------------------------------------
    def _service(
        self,
        inc: Incident,
        service: str,
        members: list[Member],
        span: float,
        changes: dict[str, list[Change]],
    ) -> Candidate:
        topo, hops = self.topology, self.cfg.explain_hops
        others = [s for s in inc.services if s != service]
        up = topo.upstream(service, hops)
        explained = [s for s in others if s in up]
        down = topo.downstream(service, hops)
        alerting_deps = [s for s in others if s in down]
        onset = inc.services[service]
        worst = max(m.severity for m in members)
        change = self._change_signal(changes.get(service, ()), inc.start)
        signals = {
            "explains": len(explained) / len(others) if others else 1.0,
            "no_alerting_deps": 0.0 if alerting_deps else 1.0,
            "onset": 1.0 - (onset - inc.start) / span,
            "severity": worst / 4,
            "change": change,
        }
        evidence = []
        if onset == inc.start:
            evidence.append(f"{service} alerted first ({format_time(onset)})")
        else:
            evidence.append(f"{service} alerted {_ago(onset - inc.start)} after the first alert")
        if others:
            evidence.append(
                f"{len(explained)} of the {len(others)} other alerting services depend on it"
            )
        if alerting_deps:
            evidence.append(f"its dependencies {', '.join(sorted(alerting_deps)[:3])} alert too")
        elif topo.downstream(service, 1):
            evidence.append("none of its dependencies alert")
        evidence.append(f"worst alert {SEVERITIES[worst]} ({members[0].name})")
        for c in changes.get(service, ())[-1:]:
            evidence.append(f"{c.type} {c.id} on {service} {_when(inc.start - c.time)}")
        return Candidate(service, "service", self._score(signals), "; ".join(evidence))

    def _nodes(
        self, inc: Incident, span: float, changes: dict[str, list[Change]]
    ) -> list[Candidate]:
        out = []
        topo, hops = self.topology, self.cfg.explain_hops
        for node in inc.nodes:
            on_node = [m for m in inc.members.values() if m.node == node]
            itself = [m for m in on_node if m.resource == node]
            services = {m.service for m in on_node if m.service}
            if not itself and len(services) < 2:
                continue
            reach = set(services)
            for s in services:
                reach.update(x for x in topo.upstream(s, hops) if x in inc.services)
            onset = min(m.onset for m in on_node)
            signals = {
                "explains": len(reach) / len(inc.services) if inc.services else 1.0,
                "no_alerting_deps": 1.0,
                "onset": 1.0 - (onset - inc.start) / span,
                "severity": max(m.severity for m in on_node) / 4,
                "change": self._change_signal(changes.get(node, ()), inc.start),
            }
            names = ", ".join(sorted(services)[:4])
            evidence = [f"{len(services)} alerting services run on {node} ({names})"]
            if itself:
                evidence.append(f"{node} itself alerts {itself[0].name}")
            score = self._score(signals) * (1.0 if itself else 0.9)
            out.append(Candidate(node, "node", score, "; ".join(evidence)))
        return out

    def _resources(
        self, inc: Incident, top: list[Candidate], by_service: dict[str, list[Member]]
    ) -> list[Candidate]:
        """Name the replica when one replica of a multi-replica top service alerts alone."""
        if not top or top[0].kind != "service":
            return []
        service = top[0].entity
        alerting = {m.resource for m in by_service.get(service, ()) if m.resource}
        known = self.topology.service_resources.get(service, set())
        if len(alerting) != 1 or len(known) < 2:
            return []
        resource = next(iter(alerting))
        evidence = f"only {resource} of {len(known)} replicas of {service} alerts"
        return [Candidate(resource, "resource", top[0].score * 0.98, evidence)]

    def _change_candidates(
        self, top: list[Candidate], changes: dict[str, list[Change]], inc: Incident
    ) -> list[Candidate]:
        out: dict[str, Candidate] = {}
        for cand in top:
            for change in changes.get(cand.entity, ()):
                closeness = self._change_signal([change], inc.start)
                score = cand.score * (0.6 + 0.4 * closeness)
                when = _when(inc.start - change.time)
                evidence = f"{change.type} {change.id} on {cand.entity} {when}"
                if change.summary:
                    evidence += f" ({change.summary})"
                if change.id not in out or out[change.id].score < score:
                    out[change.id] = Candidate(change.id, "change", score, evidence)
        return list(out.values())

    # ---- helpers ------------------------------------------------------------------------
    def _recent_changes(self, inc: Incident) -> dict[str, list[Change]]:
        entities = [*inc.services, *inc.resources, *inc.nodes]
        start = inc.start - self.cfg.change_lookback_s
        end = inc.start + self.cfg.change_after_s
        out: dict[str, list[Change]] = {}
        wanted = set(entities)
        for change in self.changes.near(entities, start, end):
            for entity in self.changes.entities(change):
                if entity in wanted:
                    out.setdefault(entity, []).append(change)
        return out

    @staticmethod
    def _change_signal(changes: Any, onset: float) -> float:
        best = 0.0
        for change in changes:
            before = max(onset - change.time, 0.0)
            best = max(best, math.exp(-before / _CHANGE_DECAY_S))
        return best

    def _score(self, signals: dict[str, float]) -> float:
        total = sum(self._weights[k] * v for k, v in signals.items())
        return min(max(total / self._total, 0.0), 1.0)
