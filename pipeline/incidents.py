"""Incidents: what the correlator builds and what the pipeline emits (CONTRACT.md §2.1).

An incident starts `pending` (held: low-severity alerts that correlate with nothing yet), is
`open` once it meets the opening rule, `resolved` after its alerts resolve and a quiet period,
and `merged` when another incident absorbs it. Only open/resolved/merged incidents are emitted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from mypy_extensions import mypyc_attr

from pipeline.config import IncidentConfig
from pipeline.records import SEVERITIES, SEVERITY_RANK
from pipeline.times import format_time
from pipeline.topology import Topology

PENDING, OPEN, RESOLVED, MERGED = "pending", "open", "resolved", "merged"

# ITIL matrix: (impact, urgency) -> priority; 1 is highest for both.
_PRIORITY = {
    (1, 1): "P1",
    (1, 2): "P2",
    (2, 1): "P2",
    (1, 3): "P3",
    (2, 2): "P3",
    (3, 1): "P3",
    (2, 3): "P4",
    (3, 2): "P4",
    (3, 3): "P5",
}


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class Member:
    """One distinct alert (fingerprint) inside an incident."""

    fingerprint: str
    name: str
    service: str | None
    resource: str | None
    node: str | None
    severity: int
    onset: float
    firing: bool
    status_time: float
    flapping: bool = False
    chronic: bool = False
    symptom: bool = False  # something its service depends on was alerting when it started
    placed: int = 0  # placement order, over all incidents (see pipeline.rehome)
    via: str | None = None  # fingerprint of the member it linked to best when it joined
    named: frozenset[str] = frozenset()  # services and nodes its first summary names


# An empty SHA-1 to copy: OpenSSL 3 looks the algorithm up again for every new hash object,
# which inside a replay cost 6-8 us per incident against 1.5-2 us for a copy (13,632
# candidate incidents on large-1). The copy is never updated itself.
_SHA1 = hashlib.sha1()


def incident_id(first_alert_id: str) -> str:
    """Deterministic: the same first alert always names the same incident."""
    h = _SHA1.copy()
    h.update(first_alert_id.encode())
    return "inc-" + h.hexdigest()[:12]


def _worst_first(m: Member) -> tuple[int, float, str]:
    """Sort key: the most severe member first, then the earliest."""
    return (-m.severity, m.onset, m.fingerprint)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True, eq=False)  # identity semantics: incidents live in index sets
class Incident:
    id: str
    seq: int
    start: float  # earliest onset of any member
    status: str = PENDING
    members: dict[str, Member] = field(default_factory=dict)
    alert_ids: list[str] = field(default_factory=list)
    services: dict[str, float] = field(default_factory=dict)  # service -> earliest onset
    service_members: dict[str, list[Member]] = field(default_factory=dict)
    node_members: dict[str, list[Member]] = field(default_factory=dict)
    resource_members: dict[str, list[Member]] = field(default_factory=dict)
    resources: set[str] = field(default_factory=set)
    nodes: dict[str, int] = field(default_factory=dict)  # node -> members on it
    names: dict[str, set[str]] = field(default_factory=dict)  # alert name -> entities
    severity: int = 0
    firing: int = 0
    last_onset: float = 0.0  # latest onset of a new member
    updated_at: float = 0.0  # latest event time folded in
    last_resolve: float = 0.0  # latest member resolve time
    opened_at: float | None = None
    resolved_at: float | None = None
    reopen_count: int = 0
    merged_into: str | None = None
    merged_from: list[str] = field(default_factory=list)
    root_cause: list[dict[str, Any]] = field(default_factory=list)
    suspected_changes: list[dict[str, Any]] = field(default_factory=list)
    title: str = ""
    priority: str = "P5"
    impact: int = 3
    urgency: int = 3
    version: int = 0  # counts significant changes; deterministic for the same input
    dirty: bool = False  # changed since last emitted
    stale_rca: bool = True  # membership or severity changed since root cause was ranked
    rankings: int = 0  # how often its root cause was ranked
    ranked_at: float = float("-inf")  # event time of the latest ranking
    _origins: tuple[float, frozenset[str]] | None = None  # cache: (slack, origin entities)

    # ---- membership -----------------------------------------------------------------------
    def add_member(self, member: Member, alert_id: str, t: float) -> None:
        self._index(member)
        self.alert_ids.append(alert_id)
        self.updated_at = max(self.updated_at, t)

    def _index(self, member: Member) -> None:
        self.members[member.fingerprint] = member
        # Root cause is re-ranked when the picture changes: a new service, node or resource,
        # an earlier start or a worse severity (not for one more replica saying the same).
        structural = member.onset < self.start or member.severity > self.severity
        if member.service:
            prev = self.services.get(member.service)
            if prev is None or member.onset < prev:
                self.services[member.service] = member.onset
                structural = True
            self.service_members.setdefault(member.service, []).append(member)
        entity = member.service or member.resource or member.node or ""
        self.names.setdefault(member.name, set()).add(entity)
        if member.resource:
            structural = structural or member.resource not in self.resources
            self.resources.add(member.resource)
            self.resource_members.setdefault(member.resource, []).append(member)
        if member.node:
            structural = structural or member.node not in self.nodes
            self.nodes[member.node] = self.nodes.get(member.node, 0) + 1
            self.node_members.setdefault(member.node, []).append(member)
        self.severity = max(self.severity, member.severity)
        if member.firing:
            self.firing += 1
        else:
            self.last_resolve = max(self.last_resolve, member.status_time)
        self.start = min(self.start, member.onset)
        self.last_onset = max(self.last_onset, member.onset)
        if structural or len(self.members) == 1:
            self.stale_rca = True
        self._origins = None
        self.changed()

    def without(self, gone: set[str]) -> Incident:
        """A copy holding every member but those in `gone` (fingerprints), indexed afresh;
        alert ids are not copied. For weighing an alert against this incident as if it and
        what it brought had never joined (see pipeline.rehome)."""
        other = Incident(id=self.id, seq=self.seq, start=float("inf"), status=self.status)
        for member in self.members.values():
            if member.fingerprint not in gone:
                other._index(member)
        return other

    def drop(self, gone: set[str], gone_ids: set[str]) -> None:
        """Remove members (fingerprints in `gone`) and their alert events (`gone_ids`); the
        derived fields are rebuilt from the members that stay."""
        stay = [m for m in self.members.values() if m.fingerprint not in gone]
        version = self.version
        self.members = {}
        self.services = {}
        self.service_members = {}
        self.node_members = {}
        self.resource_members = {}
        self.resources = set()
        self.nodes = {}
        self.names = {}
        self.severity = self.firing = 0
        self.start, self.last_onset, self.last_resolve = float("inf"), 0.0, 0.0
        for member in stay:
            self._index(member)
        self.alert_ids = [a for a in self.alert_ids if a not in gone_ids]
        self.version = version
        self.stale_rca = True
        self.changed()

    def origins(self, slack: float) -> frozenset[str]:
        """Services and nodes of the members that started first (within `slack` of the
        incident's start): where the incident most likely began."""
        cached = self._origins
        if cached is not None and cached[0] == slack:
            return cached[1]
        limit = self.start + slack
        found: set[str] = set()
        for m in self.members.values():
            if m.onset <= limit:
                if m.service:
                    found.add(m.service)
                if m.node:
                    found.add(m.node)
        origins = frozenset(found)
        self._origins = (slack, origins)
        return origins

    def changed(self) -> None:
        """A significant change (member, status, severity): a new version to emit."""
        self.version += 1
        self.dirty = True

    def fold(self, alert_id: str, t: float) -> None:
        """Attach an event of a member already here (duplicate, resolve, late event)."""
        self.alert_ids.append(alert_id)
        if t > self.updated_at:
            self.updated_at = t
        self.dirty = True

    def set_firing(self, member: Member, firing: bool, t: float) -> None:
        if member.firing == firing:
            return
        member.firing = firing
        member.status_time = t
        if firing:
            self.firing += 1
        else:
            self.firing -= 1
            self.last_resolve = max(self.last_resolve, t)
        self.dirty = True

    def absorb(self, other: Incident) -> None:
        """Take over another incident's alerts (merge)."""
        for member in other.members.values():
            self._index(member)
        self.alert_ids.extend(other.alert_ids)
        self.updated_at = max(self.updated_at, other.updated_at)
        self.merged_from.append(other.id)
        self.merged_from.extend(other.merged_from)

    # ---- derived fields -------------------------------------------------------------------
    def update_priority(self, cfg: IncidentConfig, topology: Topology) -> None:
        crit = [topology.criticality.get(s, "") for s in self.services]
        n = len(self.services)
        if (
            "high" in crit
            or any(s in cfg.critical_services for s in self.services)
            or n >= cfg.impact_high_services
        ):
            self.impact = 1
        elif "medium" in crit or n >= cfg.impact_medium_services:
            self.impact = 2
        else:
            self.impact = 3
        sev = self.severity
        self.urgency = 1 if sev >= SEVERITY_RANK["critical"] else 2 if sev >= 3 else 3
        self.priority = _PRIORITY[(self.impact, self.urgency)]

    def update_title(self) -> None:
        """ "<origin>: <its worst alert> (+N services affected)". An origin that raises no
        alert itself (a silent dependency ranked first) says so and names where the worst
        alert is: "<origin> (silent): <alert> on <entity> (N services affected)"."""
        origin = (
            next((c["entity"] for c in self.root_cause if c["kind"] != "change"), None)
            or self._first_entity()
        )
        on_origin = [m for m in self.members.values() if origin in (m.service, m.resource, m.node)]
        n = len(self.services)
        if on_origin:
            worst = min(on_origin, key=_worst_first)
            others = f" (+{n - 1} service{'s' if n > 2 else ''} affected)" if n > 1 else ""
            self.title = f"{origin}: {worst.name}{others}"
            return
        worst = min(self.members.values(), key=_worst_first)
        where = worst.service or worst.resource or worst.node or "unknown"
        affected = f" ({n} service{'s' if n > 1 else ''} affected)" if n else ""
        self.title = f"{origin} (silent): {worst.name} on {where}{affected}"

    def _first_entity(self) -> str:
        first = min(self.members.values(), key=lambda m: (m.onset, m.fingerprint))
        return first.service or first.resource or first.node or "unknown"

    def to_dict(self) -> dict[str, Any]:
        ordered = sorted(self.services.items(), key=lambda kv: (kv[1], kv[0]))
        status = RESOLVED if self.status == MERGED else self.status
        return {
            "id": self.id,
            "status": status,
            "opened_at": format_time(self.opened_at),
            "updated_at": format_time(self.updated_at),
            "resolved_at": format_time(self.resolved_at),
            "severity": SEVERITIES[self.severity],
            "priority": self.priority,
            "title": self.title,
            "services": [s for s, _ in ordered],
            "alert_ids": list(self.alert_ids),
            "root_cause": self.root_cause,
            # Extensions beyond the contract's floor.
            "suspected_changes": self.suspected_changes,
            "alert_names": sorted(self.names),
            "started_at": format_time(self.start),
            "version": self.version,
            "impact": self.impact,
            "urgency": self.urgency,
            "resources": sorted(self.resources),
            "nodes": sorted(self.nodes),
            "alerts": len(self.members),
            "firing": self.firing,
            "flapping": sorted(m.fingerprint for m in self.members.values() if m.flapping),
            "reopen_count": self.reopen_count,
            "merged_from": list(self.merged_from),
            "merged_into": self.merged_into,
        }
