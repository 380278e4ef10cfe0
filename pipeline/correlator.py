"""Streaming correlation: each alert is assigned when it arrives, with no look-ahead.

A new alert joins the live incident it relates to most strongly, or opens a candidate of its
own. Relations, strongest first: the same resource, the same service, a shared node, a
dependency path of a few hops (upstream callers are symptoms; a downstream callee that started
no later than the incident may be its root), and the same check failing on several services.
Only the relation opens the door; time decides whether it is still open (the onset window),
and an incident stops absorbing neighbours after `max_span_s`, which keeps an alert storm of
unrelated faults from chaining into one incident.

When one new alert explains several live incidents (the database both depend on starts
alerting), they merge into the oldest.
"""

from __future__ import annotations

from pipeline.config import CorrelationConfig, IncidentConfig
from pipeline.dedup import AlertState, Outcome
from pipeline.incidents import MERGED, OPEN, PENDING, RESOLVED, Incident, Member
from pipeline.outputs import Outputs
from pipeline.records import SEVERITY_RANK, Alert
from pipeline.store import IncidentStore
from pipeline.topology import Topology

_FIRING = {Outcome.NEW, Outcome.REFIRE, Outcome.DUPLICATE, Outcome.UPDATE}


class Correlator:
    def __init__(
        self,
        cfg: CorrelationConfig,
        icfg: IncidentConfig,
        topology: Topology,
        store: IncidentStore,
        out: Outputs,
    ) -> None:
        self.cfg = cfg
        self.icfg = icfg
        self.topology = topology
        self.store = store
        self.out = out
        self._open_rank = SEVERITY_RANK[icfg.open_min_severity]
        self._merge_rank = SEVERITY_RANK[cfg.merge_min_severity]
        self.merges = 0
        self.reopens = 0

    # ---- events -------------------------------------------------------------------------
    def handle(
        self, alert: Alert, fp: str, outcome: Outcome, state: AlertState, now: float
    ) -> Incident | None:
        """Fold one deduplicated event in; return the incident it landed in, if any."""
        t = alert.time
        assert t is not None
        inc = self.store.by_fp.get(fp)
        if inc is None:
            if outcome not in _FIRING:
                self.store.orphans.setdefault(fp, []).append((alert.id, t))
                return None
            onset = state.onset if outcome in (Outcome.NEW, Outcome.REFIRE) else t
            inc = self._place(alert, fp, state, onset, t)
        else:
            member = inc.members[fp]
            inc.fold(alert.id, t)
            member.flapping = state.flapping
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
            elif outcome is Outcome.RESOLVE:
                inc.set_firing(member, False, t)
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
        )
        best, explained = self._choose(member)
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
        if member.node:
            found.update(store.by_node.get(member.node, ()))
        found.update(store.by_name.get(member.name, ()))
        return sorted((i for i in found if i.status in (OPEN, PENDING)), key=lambda i: i.seq)

    def _choose(self, member: Member) -> tuple[Incident | None, list[Incident]]:
        """The most related live incident (if any is related enough), and every incident the
        member could be the root of, or that fails the same check (merge candidates)."""
        best: Incident | None = None
        best_key = (0.0, 0.0)
        explained: list[Incident] = []
        candidates = self._candidates(member)
        burst = self._same_check_burst(member, candidates)
        for inc in candidates:
            relation, explains = self._relation(member, inc)
            if inc in burst:
                relation, explains = max(relation, self.cfg.same_name), True
            if relation < self.cfg.min_relation:
                continue
            if explains:
                explained.append(inc)
            key = (relation, inc.last_onset)
            if key > best_key:
                best, best_key = inc, key
        return best, explained

    def _same_check_burst(self, m: Member, candidates: list[Incident]) -> set[Incident]:
        """Incidents made only of alert `m.name` that started within the content window, when
        with `m` that check now fails on more than content_min_services services: the same
        check failing on many hosts at once (an expired certificate, DNS, clock skew)."""
        c = self.cfg
        pure = [
            inc
            for inc in candidates
            if len(inc.names) == 1
            and m.name in inc.names
            and inc.start - c.early_slack_s <= m.onset <= inc.last_onset + c.content_window_s
        ]
        if not pure:
            return set()
        services = {m.service}.union(*(inc.names[m.name] for inc in pure))
        services.discard(None)
        return set(pure) if len(services) > c.content_min_services else set()

    def _relation(self, m: Member, inc: Incident) -> tuple[float, bool]:
        """How strongly member `m` belongs to `inc` (0..1), and whether it would explain it."""
        c = self.cfg
        t = m.onset
        if t < inc.start - c.early_slack_s or t > inc.start + c.max_age_s:
            return 0.0, False
        relation = 0.0
        in_window = t <= inc.last_onset + c.window_s
        # The same resource or service: in the window, or while the incident still fires and
        # has grown recently (a chronic alert must not pull in everything on its service).
        if in_window or (inc.firing > 0 and t <= inc.last_onset + c.max_span_s):
            if m.resource and m.resource in inc.resources:
                relation = c.same_resource
            elif m.service and m.service in inc.services:
                relation = c.same_service
        if not in_window or t > inc.start + c.max_span_s:
            return relation, False
        explains = False
        if m.node and inc.nodes.get(m.node):
            relation = max(relation, c.shared_node)
            explains = m.resource == m.node  # the node itself alerts
        if m.service and m.service not in inc.services:
            topo = self.topology
            down = topo.downstream(m.service, c.max_hops)  # m calls these: m is a symptom
            hops = min((down[s] for s in inc.services if s in down), default=0)
            if hops:
                relation = max(relation, c.hop_weight(hops))
            up = topo.upstream(m.service, c.max_hops)  # these call m: m may be the root
            hops = min((up[s] for s in inc.services if s in up), default=0)
            if hops:
                early = t <= inc.start + c.root_slack_s
                weight = c.hop_weight(hops) * (1.0 if early else c.late_root_factor)
                relation = max(relation, weight)
                explains = explains or early
        if t <= inc.last_onset + c.content_window_s:
            services = inc.names.get(m.name)
            if services and len(services - {m.service}) >= c.content_min_services:
                relation = max(relation, c.same_name)
        return relation, explains

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
        if inc.status == PENDING and (
            inc.severity >= self._open_rank or len(inc.members) >= self.icfg.open_min_alerts
        ):
            inc.status = OPEN
            inc.opened_at = now
            inc.stale_rca = True
            inc.changed()
