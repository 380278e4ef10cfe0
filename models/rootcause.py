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
from pipeline.incidents import Incident
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
        span = max(inc.last_onset - inc.start, 1.0)
        changes = self._recent_changes(inc)
        # Score every candidate first (cheap), write evidence only for the ones shown.
        scored: list[tuple[float, str, str]] = [
            (self._service_score(inc, service, span, changes), "service", service)
            for service in inc.service_members
        ]
        scored.extend(self._node_scores(inc, span, changes))
        scored.sort(key=lambda c: (-c[0], c[1] != "service", c[2]))
        top = [
            Candidate(entity, kind, score, self._evidence(inc, kind, entity, changes))
            for score, kind, entity in scored[: self.cfg.max_candidates]
        ]
        extra = self._resources(inc, top) + self._change_candidates(top, changes, inc)
        ranked = sorted(top + extra, key=lambda c: (-c.score, c.kind != "service", c.entity))
        return ranked[: self.cfg.max_candidates]

    # ---- candidates ---------------------------------------------------------------------
    def _service_score(
        self, inc: Incident, service: str, span: float, changes: dict[str, list[Change]]
    ) -> float:
        topo, hops = self.topology, self.cfg.explain_hops
        services = inc.services
        others = len(services) - 1
        up = topo.upstream(service, hops)
        explained = sum(1 for s in up if s in services)
        down = topo.downstream(service, hops)
        deps_alert = any(s in services for s in down)
        worst = max(m.severity for m in inc.service_members[service])
        return self._score(
            explains=explained / others if others else 1.0,
            no_alerting_deps=0.0 if deps_alert else 1.0,
            onset=1.0 - (services[service] - inc.start) / span,
            severity=worst / 4,
            change=self._change_signal(changes.get(service, ()), inc.start),
        )

    def _node_scores(
        self, inc: Incident, span: float, changes: dict[str, list[Change]]
    ) -> list[tuple[float, str, str]]:
        out = []
        topo, hops = self.topology, self.cfg.explain_hops
        for node, on_node in inc.node_members.items():
            itself = any(m.resource == node for m in on_node)
            services = {m.service for m in on_node if m.service}
            if not itself and len(services) < 2:
                continue
            reach = set(services)
            for s in services:
                reach.update(x for x in topo.upstream(s, hops) if x in inc.services)
            score = self._score(
                explains=len(reach) / len(inc.services) if inc.services else 1.0,
                no_alerting_deps=1.0,
                onset=1.0 - (min(m.onset for m in on_node) - inc.start) / span,
                severity=max(m.severity for m in on_node) / 4,
                change=self._change_signal(changes.get(node, ()), inc.start),
            )
            out.append((score * (1.0 if itself else 0.9), "node", node))
        return out

    def _evidence(
        self, inc: Incident, kind: str, entity: str, changes: dict[str, list[Change]]
    ) -> str:
        if kind == "node":
            on_node = inc.node_members[entity]
            services = sorted({m.service for m in on_node if m.service})
            parts = [
                f"{len(services)} alerting services run on {entity} ({', '.join(services[:4])})"
            ]
            itself = [m for m in on_node if m.resource == entity]
            if itself:
                parts.append(f"{entity} itself alerts {itself[0].name}")
            return "; ".join(parts)
        topo, hops = self.topology, self.cfg.explain_hops
        onset = inc.services[entity]
        others = [s for s in inc.services if s != entity]
        up = topo.upstream(entity, hops)
        down = topo.downstream(entity, hops)
        explained = [s for s in others if s in up]
        alerting_deps = sorted(s for s in others if s in down)
        members = inc.service_members[entity]
        worst = max(members, key=lambda m: (m.severity, -m.onset))
        parts = []
        if onset == inc.start:
            parts.append(f"{entity} alerted first ({format_time(onset)})")
        else:
            parts.append(f"{entity} alerted {_ago(onset - inc.start)} after the first alert")
        if others:
            parts.append(
                f"{len(explained)} of the {len(others)} other alerting services depend on it"
            )
        if alerting_deps:
            parts.append(f"its dependencies {', '.join(alerting_deps[:3])} alert too")
        elif topo.downstream(entity, 1):
            parts.append("none of its dependencies alert")
        parts.append(f"worst alert {SEVERITIES[worst.severity]} ({worst.name})")
        for c in changes.get(entity, ())[-1:]:
            parts.append(f"{c.type} {c.id} on {entity} {_when(inc.start - c.time)}")
        return "; ".join(parts)

    def _resources(self, inc: Incident, top: list[Candidate]) -> list[Candidate]:
        """Name the replica when one replica of a multi-replica top service alerts alone."""
        if not top or top[0].kind != "service":
            return []
        service = top[0].entity
        alerting = {m.resource for m in inc.service_members.get(service, ()) if m.resource}
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

    def _score(self, **signals: float) -> float:
        w = self._weights
        total = sum(w[k] * v for k, v in signals.items())
        return min(max(total / self._total, 0.0), 1.0)
