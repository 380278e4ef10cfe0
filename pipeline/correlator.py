"""Streaming correlation: each alert is assigned when it arrives, with no look-ahead.

A new alert joins the live incident it relates to most strongly, or opens a candidate of its
own. It relates to an incident through one of its members, never through the incident as a
whole: the same resource, the same service, the same node, or a dependency path of a few hops,
and only when the two onsets are close and in the order cause and effect imply (a caller's
symptom starts after the callee's fault). Linking member to member, instead of to an
incident's overall time span, keeps a long incident from absorbing every later fault nearby
and keeps an alert storm of unrelated faults apart. The same check failing on several
entities at once (an expired certificate) groups by content.

When one new alert explains several live incidents (the database both depend on starts
alerting), they merge into the oldest.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol

from pipeline.config import CorrelationConfig, IncidentConfig
from pipeline.dedup import AlertState, Outcome
from pipeline.incidents import MERGED, OPEN, PENDING, RESOLVED, Incident, Member
from pipeline.outputs import Outputs
from pipeline.records import SEVERITY_RANK, Alert
from pipeline.store import IncidentStore
from pipeline.topology import Topology

_FIRING = frozenset({Outcome.NEW, Outcome.REFIRE, Outcome.DUPLICATE, Outcome.UPDATE})


class NamePrior(Protocol):
    """Learns how symptom-like each alert name is (see models.symptoms.SymptomModel)."""

    def learn_one(self, name: str, dependency_alerting: bool) -> None: ...

    def predict_one(self, name: str) -> float: ...


class _Link:
    """The best relation found between a new alert and one incident."""

    __slots__ = ("chronic_factor", "explains", "kind", "score", "strength", "via", "window")

    def __init__(self, window: float, chronic_factor: float = 1.0) -> None:
        self.window = window
        self.chronic_factor = chronic_factor
        self.strength = 0.0  # structural: how related (same resource ... a few hops)
        self.score = 0.0  # strength discounted by the time between the two onsets
        self.kind = ""  # the relation behind the best score, for explanations
        self.via: Member | None = None  # the member it links to
        self.explains = False  # the alert could be the root of the incident

    def offer(self, strength: float, gap: float, kind: str, via: Member | None = None) -> None:
        if via is not None and via.chronic:
            strength *= self.chronic_factor  # a repeat offender explains little
        score = strength * (1.0 - 0.5 * min(gap / self.window, 1.0))
        if score > self.score:
            self.score = score
            self.kind = kind
            self.via = via
        if strength > self.strength:
            self.strength = strength


class Correlator:
    def __init__(
        self,
        cfg: CorrelationConfig,
        icfg: IncidentConfig,
        topology: Topology,
        store: IncidentStore,
        out: Outputs,
        symptoms: NamePrior | None = None,
    ) -> None:
        self.cfg = cfg
        self.symptoms = symptoms
        self.icfg = icfg
        self.topology = topology
        self.store = store
        self.out = out
        self._open_rank = SEVERITY_RANK[icfg.open_min_severity]
        self._merge_rank = SEVERITY_RANK[cfg.merge_min_severity]
        self.merges = 0
        self.reopens = 0
        # Recent first firings per alert name: (onset, entity), for the same-check baseline.
        self._name_starts: dict[str, deque[tuple[float, str]]] = {}

    # ---- events -------------------------------------------------------------------------
    def handle(
        self, alert: Alert, fp: str, outcome: str, state: AlertState, now: float
    ) -> Incident | None:
        """Fold one deduplicated event in; return the incident it landed in, if any."""
        t = alert.time
        assert t is not None
        inc = self.store.by_fp.get(fp)
        version = inc.version if inc is not None else -1
        if inc is not None and outcome in _FIRING:
            member = inc.members[fp]
            if not member.firing and t - member.status_time > self.cfg.window_s:
                # Fires again long after it resolved: a new problem may have hit the same
                # check, so it is placed afresh instead of reopening the old incident.
                inc = None
        if inc is None:
            if outcome not in _FIRING:
                self.store.orphans.setdefault(fp, []).append((alert.id, t))
                return None
            inc = self._place(alert, fp, state, state.onset, t)
        else:
            member = inc.members[fp]
            inc.fold(alert.id, t)
            member.flapping = state.flapping
            member.chronic = state.chronic
            if outcome in _FIRING:
                rank = SEVERITY_RANK[alert.severity]
                member.severity = max(member.severity, rank)
                if rank > inc.severity:
                    inc.severity = rank
                    inc.stale_rca = True
                    inc.changed()
                if not member.firing:
                    inc.set_firing(member, True, t)
                    if inc.status == RESOLVED:
                        inc.status = OPEN
                        inc.resolved_at = None
                        inc.reopen_count += 1
                        inc.changed()
                        self.reopens += 1
            elif outcome == Outcome.RESOLVE:
                inc.set_firing(member, False, t)
        if inc.status == PENDING and inc.version != version:  # membership or severity moved
            self._maybe_open(inc, now)
        if inc.status != PENDING:
            self.out.touch(inc)
        return inc

    def on_timeout(self, state: AlertState) -> None:
        """A firing alert went silent for too long (dedup's alert_timeout_s): count it resolved."""
        inc = self.store.by_fp.get(state.fingerprint)
        if inc is not None:
            inc.set_firing(inc.members[state.fingerprint], False, state.status_time)
            if inc.status != PENDING:
                self.out.touch(inc)

    # ---- placement ----------------------------------------------------------------------
    def _place(self, alert: Alert, fp: str, state: AlertState, onset: float, t: float) -> Incident:
        service, resource, node = self._locate(alert, state)
        member = Member(
            fingerprint=fp,
            name=state.name,
            service=service,
            resource=resource,
            node=node,
            severity=SEVERITY_RANK[alert.severity],
            onset=onset,
            firing=state.firing,  # False when its resolve was delivered first
            status_time=t if state.firing else state.status_time,
            flapping=state.flapping,
            chronic=state.chronic,
        )
        member.symptom = self._dependency_alerting(member)
        best, explained = self._choose(member)
        if not member.chronic:
            entity = member.service or member.resource or member.node or ""
            self._name_starts.setdefault(member.name, deque()).append((member.onset, entity))
        if self.symptoms is not None:
            self.symptoms.learn_one(member.name, member.symptom)
        inc = best if best is not None else self.store.create(alert.id, onset)
        inc.add_member(member, alert.id, t)
        self.store.index(inc, member)
        for orphan_id, orphan_time in self.store.orphans.pop(fp, ()):
            inc.fold(orphan_id, orphan_time)
        if self.cfg.merge and member.severity >= self._merge_rank:
            others = [e for e in explained if e is not inc]
            if others:
                inc = self._merge([inc, *others])
        return inc

    def _locate(self, alert: Alert, state: AlertState) -> tuple[str | None, str | None, str | None]:
        topo = self.topology
        resource = state.resource
        service = state.service or topo.service_of(resource)
        if topo.is_node(resource):
            node = resource  # an alert about the node itself
        else:
            node = topo.node_of(resource) or alert.labels.get("node")
        return service, resource, node

    def _candidates(self, member: Member) -> list[Incident]:
        store, topo, hops = self.store, self.topology, self.cfg.max_hops
        found: set[Incident] = set()
        if member.service:
            for svc in (
                member.service,
                *topo.downstream(member.service, hops),
                *topo.upstream(member.service, hops),
            ):
                found.update(store.by_service.get(svc, ()))
        if member.resource:
            found.update(store.by_resource.get(member.resource, ()))
        if member.node:
            found.update(store.by_node.get(member.node, ()))
        if not member.chronic and not self._common_name(member):
            found.update(store.by_name.get(member.name, ()))  # same-check bursts
        return sorted((i for i in found if i.status in (OPEN, PENDING)), key=lambda i: i.seq)

    def _choose(self, member: Member) -> tuple[Incident | None, list[Incident]]:
        """The most related live incident (if any is related enough), and every incident the
        member could be the root of, or that fails the same check (merge candidates)."""
        best: Incident | None = None
        best_key = (0.0, 0.0, 0)
        explained: list[Incident] = []
        candidates = self._candidates(member)
        burst = self._same_check_burst(member, candidates)
        for inc in candidates:
            link = self._link(member, inc)
            if inc in burst:
                link.offer(self.cfg.same_name, 0.0, "same check")
                link.explains = True
            if member.chronic and not link.kind.startswith("same check"):
                link.strength *= self.cfg.chronic_factor
            if link.strength < self.cfg.min_relation:
                continue
            link.score *= self._origin_factor(member, inc)
            if link.explains:
                explained.append(inc)
            key = (link.score, inc.last_onset, inc.seq)
            if key > best_key:
                best, best_key = inc, key
        return best, explained

    def _same_check_burst(self, m: Member, candidates: list[Incident]) -> set[Incident]:
        """Incidents made only of alert `m.name` that started within the content window, when
        with `m` that check now fails on more than content_min_services entities: the same
        check failing on many hosts at once (an expired certificate, DNS, clock skew)."""
        c = self.cfg
        if m.chronic or self._common_name(m):
            return set()
        pure = [
            inc
            for inc in candidates
            if len(inc.names) == 1
            and m.name in inc.names
            and abs(m.onset - inc.last_onset) <= c.content_window_s
        ]
        if not pure:
            return set()
        entities = {m.service or m.resource or m.node}.union(*(inc.names[m.name] for inc in pure))
        entities.discard(None)
        return set(pure) if len(entities) > c.content_min_services else set()

    def _common_name(self, m: Member) -> bool:
        """Did this check already fail on several entities in the hour before the burst?
        Then it is background (disks fill everywhere), not one cause hitting many hosts."""
        c = self.cfg
        starts = self._name_starts.get(m.name)
        if not starts:
            return False
        while starts and starts[0][0] < m.onset - c.content_baseline_s:
            starts.popleft()
        before = {e for t, e in starts if t < m.onset - c.content_window_s}
        return len(before) > c.content_min_services

    def _link(self, m: Member, inc: Incident) -> _Link:
        """How `m` relates to the members of `inc`. Every relation is to one member whose
        onset is close in time, in the order cause and symptom imply: a caller (symptom)
        starts after the callee it depends on, a possible root before what it explains."""
        c = self.cfg
        link = _Link(c.window_s, c.chronic_factor)
        t = m.onset
        if t > inc.start + c.max_age_s or t < inc.start - c.window_s:
            return link
        # A cause-like alert with nothing below it alerting, on an entity whose member was
        # only a symptom of something else, is more likely a new problem there.
        new_root = (
            not m.symptom and self._symptom_likeness(m.name) < 0.5 and not self._below_firing(m)
        )
        if m.resource:
            # The same resource links within the window, or later as the outage its firing
            # warnings announced; an old member links weakly, so a fresh relation elsewhere
            # explains better.
            for y in inc.resource_members.get(m.resource, ()):
                gap = abs(t - y.onset)
                if gap <= c.window_s or self._escalates(m, y, gap):
                    weight = c.same_resource * (c.new_root_factor if new_root and y.symptom else 1)
                    link.offer(weight, gap, "same resource", y)
        if m.service:
            # Replicas of one service fail together: members link when they start within
            # service_gap_s, or as a precursor does on the same resource.
            for y in inc.service_members.get(m.service, ()):
                gap = abs(t - y.onset)
                if gap <= c.service_gap_s or self._escalates(m, y, gap):
                    weight = c.same_service * (c.new_root_factor if new_root and y.symptom else 1)
                    link.offer(weight, gap, "same service", y)
        if m.node:
            # Two resources on one node link weakly (nodes host many things); the node's own
            # alert links strongly to what runs on it.
            node_alert = m.resource == m.node
            for y in inc.node_members.get(m.node, ()):
                gap = abs(t - y.onset)
                if gap <= c.node_window_s:
                    about_node = node_alert or y.resource == m.node
                    link.offer(c.node_alert if about_node else c.shared_node, gap, "same node", y)
                    if node_alert and t <= inc.start + c.root_slack_s:
                        link.explains = True
        if m.service and inc.service_members:
            self._topology_links(m, inc, link)
        return link

    def _symptom_likeness(self, name: str) -> float:
        return self.symptoms.predict_one(name) if self.symptoms is not None else 0.5

    def _below_firing(self, m: Member) -> bool:
        """Is an alert on a service that m's service depends on firing right now?"""
        if not m.service:
            return False
        for svc in self.topology.downstream(m.service, 1):
            for inc in self.store.by_service.get(svc, ()):
                if any(y.firing for y in inc.service_members.get(svc, ())):
                    return True
        return False

    def _symptom_weight(self, name: str) -> float:
        """Scale for a link that makes an alert of this name a symptom of another."""
        if self.symptoms is None:
            return 1.0
        floor = self.cfg.symptom_floor
        return floor + (1.0 - floor) * self.symptoms.predict_one(name)

    def _escalates(self, m: Member, y: Member, gap: float) -> bool:
        """m is the worse alert that y, still firing, announced (a precursor and its outage),
        rather than a second unrelated alert on a noisy entity. A precursor starts on its own:
        a member that was itself a symptom of something below announces nothing."""
        return (
            y.firing
            and not y.symptom
            and m.severity > y.severity
            and gap <= self.cfg.precursor_window_s
        )

    def _origin_factor(self, m: Member, inc: Incident) -> float:
        """How well the incident's origin explains `m`: 1 at the origin itself, less for each
        dependency hop up from it, least when the origin cannot reach m at all. Between two
        incidents that both touch m's neighbourhood, the one whose origin lies below m wins."""
        c = self.cfg
        origins = inc.origins(c.root_slack_s)
        if m.service in origins or m.node in origins:
            return 1.0
        if m.service:
            below = self.topology.downstream(m.service, c.origin_hops)
            hops = min((below[o] for o in origins if o in below), default=0)
            if hops:
                return 1.0 - c.origin_hop_penalty * (hops - 1)
        return c.unexplained_factor

    def _cause_weight(self, cause: int) -> float:
        """A warning or info rarely breaks what calls it (noise most often is one)."""
        return 1.0 if cause >= SEVERITY_RANK["minor"] else self.cfg.weak_cause_factor

    def _dependency_alerting(self, m: Member) -> bool:
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

    def _topology_links(self, m: Member, inc: Incident, link: _Link) -> None:
        c, topo = self.cfg, self.topology
        assert m.service is not None
        t = m.onset
        members = inc.service_members
        # m calls these services: m would be a symptom, starting after the member it links
        # to. Symptom-like names and real failures (not warnings) as the cause weigh most.
        as_symptom = self._symptom_weight(m.name)
        for svc, hops in topo.downstream(m.service, c.max_hops).items():
            for y in members.get(svc, ()):
                lag = t - y.onset
                if -c.link_slack_s <= lag <= c.window_s:
                    cause = self._cause_weight(y.severity)
                    weight = c.hop_weight(hops) * as_symptom * cause
                    link.offer(weight, abs(lag), f"calls {svc}", y)
        # These services call m: m may be their root, starting before them. It explains the
        # incident (a merge candidate) only if it started no later than the incident did.
        root_like = t <= inc.start + c.root_slack_s
        for svc, hops in topo.upstream(m.service, c.max_hops).items():
            for y in members.get(svc, ()):
                lead = y.onset - t
                if -c.link_slack_s <= lead <= c.window_s:
                    cause = self._cause_weight(m.severity)
                    weight = c.hop_weight(hops) * self._symptom_weight(y.name) * cause
                    link.offer(weight, abs(lead), f"called by {svc}", y)
                    if root_like and y.onset <= inc.start + c.root_slack_s:
                        link.explains = True

    def _merge(self, incidents: list[Incident]) -> Incident:
        survivor = min(incidents, key=lambda i: i.seq)
        for other in sorted(incidents, key=lambda i: i.seq):
            if other is survivor:
                continue
            self.store.unindex(other)
            survivor.absorb(other)
            for member in other.members.values():
                self.store.index(survivor, member)
            if other.status == OPEN:
                if survivor.status == PENDING:
                    survivor.status = OPEN
                    survivor.opened_at = other.opened_at
                elif other.opened_at is not None and survivor.opened_at is not None:
                    survivor.opened_at = min(survivor.opened_at, other.opened_at)
            was_emitted = other.status != PENDING
            other.status = MERGED
            other.merged_into = survivor.id
            other.alert_ids.clear()
            other.members.clear()
            other.firing = 0
            self.store.live.pop(other.id, None)
            if was_emitted:
                other.changed()
                self.out.touch(other)
                self.out.final.append(other)
            self.merges += 1
        return survivor

    def _maybe_open(self, inc: Incident, now: float) -> None:
        if inc.status != PENDING:
            return
        # A chronic alert (a repeat offender) does not open an incident on its own severity.
        severe = any(m.severity >= self._open_rank and not m.chronic for m in inc.members.values())
        fresh = sum(1 for m in inc.members.values() if not m.chronic)
        if severe or fresh >= self.icfg.open_min_alerts:
            inc.status = OPEN
            inc.opened_at = now
            inc.stale_rca = True
            inc.changed()
