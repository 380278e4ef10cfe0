"""How a new alert relates to a live incident: the evidence the correlator decides on.

Every relation is to one member of the incident whose onset is close in time, in the order
cause and effect imply:
- `resource` / `service`: the same resource or service (a resource also while its firing
  warnings announce the outage; a service's replicas within `service_gap_s`);
- `node_alert` / `node`: the node the alert runs on alerts itself, or another resource on it;
- `calls` / `calls2`: the alert's service calls the member's, 1 or 2 hops down: the alert
  would be a symptom, so it must start after the member;
- `called_by` / `called_by2`: the member's service calls the alert's: the alert may be the
  root, so it must start before the member;
- `check`: the same check failing on many entities at once (decided by the correlator).

`Evidence` keeps, per kind, the closest such member. `features` turns evidence into the named
numbers the link model scores, with one fact beside the evidence: whether the incident holds
a service the alert's text names (`Member.named`, pipeline/mentions.py), as a caller's
symptom often says which of its failing dependencies it waits for. `heuristic_score` is the
hand-weighted score used when no model is loaded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

from mypy_extensions import mypyc_attr

from pipeline.config import CorrelationConfig
from pipeline.incidents import Incident, Member
from pipeline.store import IncidentStore
from pipeline.topology import Topology

KINDS = (
    "resource",
    "service",
    "node_alert",
    "node",
    "calls",
    "called_by",
    "calls2",
    "called_by2",
    "check",
)
_CAUSE = frozenset({"calls", "calls2"})  # the alert is the symptom; the member the cause
_ROOT = frozenset({"called_by", "called_by2"})  # the alert is the cause


class NamePrior(Protocol):
    """Learns how symptom-like each alert name is (see models.symptoms.SymptomModel)."""

    def learn_one(self, name: str, dependency_alerting: bool) -> None: ...

    def predict_one(self, name: str) -> float: ...


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class Evidence:
    """The best member of each relation kind (by `quality`: how well it could explain the
    alert, times how close their onsets are), and whether the alert could be the root."""

    gaps: dict[str, float] = field(default_factory=dict)  # kind -> onset gap (s)
    via: dict[str, Member] = field(default_factory=dict)  # kind -> that member
    quality: dict[str, float] = field(default_factory=dict)
    explains: bool = False
    count: int = 0  # relations found, over all members and kinds

    def offer(self, kind: str, gap: float, via: Member | None, quality: float = 1.0) -> None:
        self.count += 1
        old = self.quality.get(kind)
        if old is None or quality > old:
            self.quality[kind] = quality
            self.gaps[kind] = gap
            if via is not None:
                self.via[kind] = via

    def __bool__(self) -> bool:
        return bool(self.gaps)


_NONE = Evidence()  # shared empty evidence for incidents out of reach (never offered to)

# Feature names per relation kind, built once (features() runs for every candidate).
_NAMES = {
    kind: {
        part: f"{kind}_{part}"
        for part in (
            "sym_m",
            "y_weak",
            "y_chronic",
            "sym_y",
            "m_weak",
            "y_symptom",
            "y_firing",
            "newroot",
            "escalation",
        )
    }
    | {"has": f"has_{kind}", "close": f"close_{kind}"}
    for kind in KINDS
}


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class LinkFinder:
    """Finds the evidence between a new member and a live incident, and describes it."""

    def __init__(
        self,
        cfg: CorrelationConfig,
        topology: Topology,
        store: IncidentStore,
        symptoms: NamePrior | None = None,
    ) -> None:
        self.cfg = cfg
        self.topology = topology
        self.store = store
        self.symptoms = symptoms
        # Per relation kind, its weight in the hand score (the configuration is frozen).
        self._weights = {
            "resource": cfg.same_resource,
            "service": cfg.same_service,
            "node_alert": cfg.node_alert,
            "node": cfg.shared_node,
            "calls": cfg.hop_weight(1),
            "calls2": cfg.hop_weight(2),
            "called_by": cfg.hop_weight(1),
            "called_by2": cfg.hop_weight(2),
            "check": cfg.same_name,
        }
        # The latest origin_hops answer: features and the hand score ask the same question
        # about the same alert and incident, one after the other.
        self._hops_memo: tuple[Member, Incident, int, int | None] | None = None

    # ---- evidence ---------------------------------------------------------------------------
    def find(self, m: Member, inc: Incident) -> Evidence:
        # Hot: runs for every candidate of every new alert. The helpers below (_closeness,
        # _plain, _cause_weight, _symptom_weight) are inlined with the same arithmetic.
        c = self.cfg
        t = m.onset
        if t > inc.start + c.max_age_s or t < inc.start - c.window_s:
            return _NONE
        ev = Evidence()
        window, chronic = c.window_s, c.chronic_factor
        if m.resource:
            for y in inc.resource_members.get(m.resource, ()):
                gap = abs(t - y.onset)
                if gap <= window or self.escalates(m, y, gap):
                    plain = chronic if y.chronic else 1.0
                    ev.offer("resource", gap, y, plain * (1.0 - 0.5 * min(gap / window, 1.0)))
        if m.service:
            for y in inc.service_members.get(m.service, ()):
                gap = abs(t - y.onset)
                if gap <= c.service_gap_s or self.escalates(m, y, gap):
                    plain = chronic if y.chronic else 1.0
                    ev.offer("service", gap, y, plain * (1.0 - 0.5 * min(gap / window, 1.0)))
        if m.node:
            node_alert = m.resource == m.node
            for y in inc.node_members.get(m.node, ()):
                gap = abs(t - y.onset)
                if gap <= c.node_window_s:
                    about_node = node_alert or y.resource == m.node
                    kind = "node_alert" if about_node else "node"
                    plain = chronic if y.chronic else 1.0
                    ev.offer(kind, gap, y, plain * (1.0 - 0.5 * min(gap / window, 1.0)))
                    if node_alert and t <= inc.start + c.root_slack_s:
                        ev.explains = True
        if m.service and inc.service_members:
            self._topology(m, inc, ev)
        return ev

    def _topology(self, m: Member, inc: Incident, ev: Evidence) -> None:
        c, topo = self.cfg, self.topology
        assert m.service is not None
        t = m.onset
        members = inc.service_members
        window, slack, chronic = c.window_s, c.link_slack_s, c.chronic_factor
        weak, floor = c.weak_cause_factor, c.symptom_floor
        as_symptom = self._symptom_weight(m.name)
        for svc, hops in topo.downstream(m.service, c.max_hops).items():
            ys = members.get(svc)
            if not ys:
                continue
            for y in ys:
                lag = t - y.onset
                if -slack <= lag <= window:
                    cause = 1.0 if y.severity >= 2 else weak
                    plain = chronic if y.chronic else 1.0
                    q = as_symptom * cause * plain
                    close = 1.0 - 0.5 * min(abs(lag) / window, 1.0)
                    ev.offer("calls" if hops == 1 else "calls2", abs(lag), y, q * close)
        root_like = t <= inc.start + c.root_slack_s
        as_cause = 1.0 if m.severity >= 2 else weak
        likeness = self.symptom_likeness
        for svc, hops in topo.upstream(m.service, c.max_hops).items():
            ys = members.get(svc)
            if not ys:
                continue
            for y in ys:
                lead = y.onset - t
                if -slack <= lead <= window:
                    plain = chronic if y.chronic else 1.0
                    q = (floor + (1.0 - floor) * likeness(y.name)) * as_cause * plain
                    kind = "called_by" if hops == 1 else "called_by2"
                    close = 1.0 - 0.5 * min(abs(lead) / window, 1.0)
                    ev.offer(kind, abs(lead), y, q * close)
                    if root_like and y.onset <= inc.start + c.root_slack_s:
                        ev.explains = True

    def _closeness(self, gap: float) -> float:
        """1 for onsets together, 0.5 for onsets a window apart."""
        return 1.0 - 0.5 * min(abs(gap) / self.cfg.window_s, 1.0)

    def _plain(self, y: Member) -> float:
        """A chronic member (a repeat offender) explains little."""
        return self.cfg.chronic_factor if y.chronic else 1.0

    def escalates(self, m: Member, y: Member, gap: float) -> bool:
        """m is the worse alert that y, still firing, announced (a precursor and its outage),
        rather than a second unrelated alert on a noisy entity. A precursor starts on its own:
        a member that was itself a symptom of something below announces nothing."""
        return (
            y.firing
            and not y.symptom
            and m.severity > y.severity
            and gap <= self.cfg.precursor_window_s
        )

    # ---- facts about the alert --------------------------------------------------------------
    def symptom_likeness(self, name: str) -> float:
        return self.symptoms.predict_one(name) if self.symptoms is not None else 0.5

    def dependency_alerting(self, m: Member) -> bool:
        """Does something m's service calls alert, starting shortly before m?"""
        if not m.service:
            return False
        c = self.cfg
        for svc in self.topology.downstream(m.service, 1):
            for inc in self.store.by_service.get(svc, ()):
                for y in inc.service_members.get(svc, ()):
                    if -c.link_slack_s <= m.onset - y.onset <= c.window_s:
                        return True
        return False

    def origin_hops(self, m: Member, inc: Incident) -> int | None:
        """Dependency hops from m down to the incident's origin (0: m is at the origin),
        None when the origin cannot reach m."""
        memo = self._hops_memo
        if memo is not None and memo[0] is m and memo[1] is inc and memo[2] == inc.version:
            return memo[3]
        hops = self._origin_hops(m, inc)
        self._hops_memo = (m, inc, inc.version, hops)
        return hops

    def _origin_hops(self, m: Member, inc: Incident) -> int | None:
        c = self.cfg
        origins = inc.origins(c.root_slack_s)
        if m.service in origins or m.node in origins:
            return 0
        if m.service:
            below = self.topology.downstream(m.service, c.origin_hops)
            hops = min((below[o] for o in origins if o in below), default=0)
            if hops:
                return hops
        return None

    # ---- scoring ----------------------------------------------------------------------------
    def features(self, m: Member, inc: Incident, ev: Evidence) -> dict[str, float]:
        """Named, mostly sparse numbers describing the evidence, for the link model."""
        c = self.cfg
        f: dict[str, float] = {}
        sym_m = self.symptom_likeness(m.name)
        for kind, gap in ev.gaps.items():
            name = _NAMES[kind]
            close = 1.0 - min(gap / c.window_s, 1.0)
            f[name["has"]] = 1.0
            f[name["close"]] = close
            y = ev.via.get(kind)
            if y is None:
                continue
            if kind in _CAUSE:  # m symptom of y
                f[name["sym_m"]] = sym_m
                f[name["y_weak"]] = 1.0 if y.severity <= 1 else 0.0
                f[name["y_chronic"]] = 1.0 if y.chronic else 0.0
            elif kind in _ROOT:  # m cause of y
                f[name["sym_y"]] = self.symptom_likeness(y.name)
                f[name["m_weak"]] = 1.0 if m.severity <= 1 else 0.0
            else:
                f[name["y_symptom"]] = 1.0 if y.symptom else 0.0
                f[name["y_firing"]] = 1.0 if y.firing else 0.0
                f[name["y_chronic"]] = 1.0 if y.chronic else 0.0
                f[name["newroot"]] = (1.0 - sym_m) * (0.0 if m.symptom else 1.0)
                f[name["escalation"]] = 1.0 if gap > c.window_s else 0.0
        f["m_severity"] = m.severity / 4
        f["m_sym"] = sym_m
        f["m_symptom"] = 1.0 if m.symptom else 0.0
        f["m_chronic"] = 1.0 if m.chronic else 0.0
        f["m_weak"] = 1.0 if m.severity <= 1 else 0.0
        f["inc_pending"] = 1.0 if inc.status == "pending" else 0.0
        f["inc_size"] = math.log1p(len(inc.members)) / 5
        f["inc_services"] = math.log1p(len(inc.services)) / 3
        f["inc_age"] = min((m.onset - inc.start) / 3600, 2.0)
        hops = self.origin_hops(m, inc)
        f["origin_unreached"] = 1.0 if hops is None else 0.0
        f["origin_hops"] = 0.0 if hops is None else min(hops, 5) / 5
        f["explains"] = 1.0 if ev.explains else 0.0
        f["links"] = math.log1p(ev.count) / 3
        f["linked_share"] = min(ev.count / len(inc.members), 1.0) if inc.members else 0.0
        f["best_quality"] = max(ev.quality.values())
        if m.named:  # the alert names what it suffers from: is that in the incident?
            f["names_any"] = 1.0
            if not m.named.isdisjoint(inc.services):
                f["named"] = 1.0
        return f

    def heuristic_score(self, m: Member, inc: Incident, ev: Evidence) -> tuple[float, float]:
        """Hand-weighted (strength, score): strength is how related (it must reach
        min_relation), score adds time closeness and the incident's origin."""
        c = self.cfg
        weights = self._weights
        strength = score = 0.0
        for kind, quality in ev.quality.items():
            w = weights[kind]
            gap = ev.gaps[kind]
            intrinsic = quality / self._closeness(gap)  # quality without the time part
            strength = max(strength, w * intrinsic)
            score = max(score, w * quality)
        if m.chronic and "check" not in ev.gaps:
            strength *= c.chronic_factor
        hops = self.origin_hops(m, inc)
        if hops is None:
            score *= c.unexplained_factor
        elif hops > 1:
            score *= 1.0 - c.origin_hop_penalty * (hops - 1)
        return strength, score

    def _symptom_weight(self, name: str) -> float:
        floor = self.cfg.symptom_floor
        return floor + (1.0 - floor) * self.symptom_likeness(name)

    def _cause_weight(self, severity: int) -> float:
        """A warning or info rarely breaks what calls it (noise most often is one)."""
        return 1.0 if severity >= 2 else self.cfg.weak_cause_factor
