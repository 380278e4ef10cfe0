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
alerting), they merge into the oldest. A placement can be corrected once the alert recovers
(pipeline/rehome.py): the alerts of one problem recover together.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Protocol

from mypy_extensions import mypyc_attr

from pipeline.config import CorrelationConfig, IncidentConfig
from pipeline.dedup import AlertState, Outcome
from pipeline.incidents import MERGED, OPEN, PENDING, RESOLVED, Incident, Member
from pipeline.links import Evidence, LinkFinder, NamePrior
from pipeline.mentions import named_entities
from pipeline.outputs import Outputs
from pipeline.records import SEVERITY_RANK, Alert
from pipeline.refire import APART, REJOIN, refire_verdict
from pipeline.rehome import Rehomer
from pipeline.same_check import SameCheck
from pipeline.store import IncidentStore
from pipeline.topology import Topology

_FIRING = frozenset({Outcome.NEW, Outcome.REFIRE, Outcome.DUPLICATE, Outcome.UPDATE})
_LIVE = (OPEN, PENDING)  # the statuses an alert can still join
_SEQ = attrgetter("seq")

# Called with (alert id, member, candidate incident, features) for every candidate weighed,
# then with (alert id, member, None, {}) once the member is placed: how the link model's
# training data is collected.
Recorder = Callable[[str, Member, Incident | None, dict[str, float]], None]


class LinkScorer(Protocol):
    """A learned link model (see models.linkmodel.LinkModel): P(same problem) from features."""

    threshold: float

    def score(self, features: dict[str, float]) -> float: ...


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Correlator:
    def __init__(
        self,
        cfg: CorrelationConfig,
        icfg: IncidentConfig,
        topology: Topology,
        store: IncidentStore,
        out: Outputs,
        symptoms: NamePrior | None = None,
        link_model: LinkScorer | None = None,
    ) -> None:
        self.cfg = cfg
        self.symptoms = symptoms
        self.links = LinkFinder(cfg, topology, store, symptoms)
        self.link_model = link_model
        self.recorder: Recorder | None = None
        self._alert_id = ""
        self.icfg = icfg
        self.topology = topology
        self.store = store
        self.out = out
        self._open_rank = SEVERITY_RANK[icfg.open_min_severity]
        self._merge_rank = SEVERITY_RANK[cfg.merge_min_severity]
        self.merges = 0
        self.reopens = 0
        self.same_check = SameCheck(cfg)  # grouping by content
        # Late correction of close calls (pipeline.rehome): the engine runs it as the clock
        # moves, before incidents are resolved.
        self.rehome = Rehomer(cfg)
        self._best_score = self._runner_up = 0.0
        self._best_via: str | None = None

    # ---- events -------------------------------------------------------------------------
    def handle(
        self, alert: Alert, fp: str, outcome: str, state: AlertState, now: float
    ) -> Incident | None:
        """Fold one deduplicated event in; return the incident it landed in, if any."""
        t = alert.time
        assert t is not None
        rehome = self.rehome
        inc = self.store.by_fp.get(fp)
        firing = outcome in _FIRING
        member = inc.members[fp] if inc is not None else None
        version = inc.version if inc is not None else -1
        stale = member is not None and not member.firing
        avoid: Incident | None = None  # a re-fire's old incident, never a candidate
        retired: Member | None = None  # a re-fire's old member, left in its incident
        if stale and firing:
            assert inc is not None and member is not None
            # A flap reopens its member; a new problem is placed afresh (pipeline/refire.py).
            verdict = refire_verdict(self.cfg, inc, t - member.status_time)
            if verdict != REJOIN:
                avoid = inc if verdict == APART else None  # APART: never back into it
                retired = member
                inc = member = None
        if inc is None or member is None:
            if retired is not None:
                rehome.retire(retired, now)
            if not firing:
                self.store.orphans.setdefault(fp, []).append((alert.id, t))
                return None
            inc = self._place(alert, fp, state, state.onset, t, now, avoid)
        else:
            # Incident.fold, inlined: most events are re-sends folded here.
            inc.alert_ids.append(alert.id)
            events = rehome.events.get(fp)
            if events is not None:
                events.append(alert.id)
            if t > inc.updated_at:
                inc.updated_at = t
            inc.dirty = True
            member.flapping = state.flapping
            member.chronic = state.chronic
            if firing:
                rank = SEVERITY_RANK[alert.severity]
                if rank > member.severity:
                    member.severity = rank
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
                rehome.recovered(inc)
                if fp in rehome.watched:
                    rehome.resolved(fp, t)
        if inc.status == PENDING and inc.version != version:  # membership or severity moved
            self._maybe_open(inc, now)
        if inc.status != PENDING:
            self.out.changed.setdefault(inc.id, inc)  # Outputs.touch
        return inc

    def on_timeout(self, state: AlertState) -> None:
        """A firing alert went silent for too long (dedup's alert_timeout_s): count it resolved."""
        inc = self.store.by_fp.get(state.fingerprint)
        if inc is not None:
            inc.set_firing(inc.members[state.fingerprint], False, state.status_time)
            self.rehome.resolved(state.fingerprint, state.status_time)
            self.rehome.recovered(inc)
            if inc.status != PENDING:
                self.out.touch(inc)

    # ---- placement ----------------------------------------------------------------------
    def _place(
        self,
        alert: Alert,
        fp: str,
        state: AlertState,
        onset: float,
        t: float,
        now: float,
        avoid: Incident | None = None,
    ) -> Incident:
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
        member.symptom = self.links.dependency_alerting(member)
        member.named = named_entities(alert.summary, service, resource, self.topology)
        self._alert_id = alert.id
        best, explained = self._choose(member, avoid)
        self.same_check.record(member)
        if self.symptoms is not None:
            self.symptoms.learn_one(member.name, member.symptom)
        merging = self.cfg.merge and member.severity >= self._merge_rank and explained
        if merging and best is None:
            best = min(explained, key=lambda i: i.seq)  # it roots them: join the oldest
        inc = best if best is not None else self.store.create(alert.id, onset)
        if self.recorder is not None:
            self.recorder(alert.id, member, None, {})
        rehome = self.rehome
        if best is not None:
            member.via = self._best_via
        # A close call between incidents: watched, to be weighed again once it recovers.
        close_call = (
            best is not None
            and not merging
            and self._runner_up > 0.0
            and self._best_score - self._runner_up <= rehome.ambiguity
        )
        rehome.placed_one(member, alert.id, now, close_call, best is not None and not merging)
        inc.add_member(member, alert.id, t)
        self.store.index(inc, member)
        events = rehome.events.get(fp)
        for orphan_id, orphan_time in self.store.orphans.pop(fp, ()):
            inc.fold(orphan_id, orphan_time)
            if events is not None:
                events.append(orphan_id)
        if merging:
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

    def _candidates(self, member: Member, common: bool) -> list[Incident]:
        store, topo, hops = self.store, self.topology, self.cfg.max_hops
        found: set[Incident] = set()
        if member.service:
            by_service = store.by_service
            found.update(by_service.get(member.service, ()))
            # Neighbours link only through members started within the window: skip incidents
            # that have had no new alert for longer (the common case in a long stream).
            recent = member.onset - self.cfg.window_s - self.cfg.link_slack_s
            add = found.add
            for near in (
                topo.downstream(member.service, hops),
                topo.upstream(member.service, hops),
            ):
                for svc in near:
                    incs = by_service.get(svc)
                    if incs:
                        for inc in incs:  # a plain loop: a generator per neighbour costs more
                            if inc.last_onset >= recent:
                                add(inc)
        if member.resource:
            found.update(store.by_resource.get(member.resource, ()))
        if member.node:
            found.update(store.by_node.get(member.node, ()))
        if not member.chronic and not common:
            found.update(store.by_name.get(member.name, ()))  # same-check bursts
        live = [i for i in found if i.status in _LIVE]
        live.sort(key=_SEQ)
        return live

    def _choose(
        self, member: Member, avoid: Incident | None = None
    ) -> tuple[Incident | None, list[Incident]]:
        """The most related live incident (if any is related enough), and every incident the
        member could be the root of, or that fails the same check (merge candidates). Sets
        `_best_score`, `_runner_up` (the best score of any other candidate) and `_best_via`
        (the member of the chosen incident it links to best)."""
        best: Incident | None = None
        best_key = (0.0, 0.0, 0)
        best_ev: Evidence | None = None
        explained: list[Incident] = []
        accepted: list[Incident] = []
        # Whether the check is background noise: asked once, both steps below need it.
        common = self.same_check.background(member)
        runner_up = 0.0
        candidates = self._candidates(member, common)
        if avoid is not None:
            candidates = [c for c in candidates if c is not avoid]
        for inc, ev, strength, score, ok in self._weigh(member, candidates, common):
            # An alert that could be the root of several incidents merges them (below),
            # whatever the link model thinks of joining any one of them.
            if ev.explains and strength >= self.cfg.min_relation:
                explained.append(inc)
            key = (score, inc.last_onset, inc.seq)
            if ok:
                accepted.append(inc)
                if key > best_key:
                    if best is not None:
                        runner_up = max(runner_up, best_key[0])
                    best, best_key, best_ev = inc, key, ev
                    continue
            runner_up = max(runner_up, score)
        # Merge what the alert explains: several incidents at once, or one it also belongs to.
        if len(explained) < 2:
            explained = [inc for inc in explained if inc in accepted]
        self._best_score, self._runner_up = best_key[0], runner_up
        self._best_via = None
        if best_ev is not None:
            kind = max(best_ev.via, key=best_ev.quality.__getitem__, default=None)
            if kind is not None:
                self._best_via = best_ev.via[kind].fingerprint
        return best, explained

    def _weigh(
        self, member: Member, candidates: list[Incident], common: bool
    ) -> list[tuple[Incident, Evidence, float, float, bool]]:
        """(incident, evidence, strength, score, accepted) of every candidate with evidence."""
        burst = self.same_check.burst(member, candidates, common)
        model, links = self.link_model, self.links
        evidence = []
        for inc in candidates:
            ev = links.find(member, inc)
            if inc in burst:
                ev = ev or Evidence()  # never touch the shared empty evidence
                ev.offer("check", 0.0, None)
                ev.explains = True
            if ev:
                evidence.append((inc, ev))
        # How crowded the choice is: in an alert storm, many incidents touch one alert.
        crowd = len(evidence)
        top = max((max(ev.quality.values()) for _, ev in evidence), default=0.0)
        weighed = []
        for inc, ev in evidence:
            if model is not None or self.recorder is not None:
                features = links.features(member, inc, ev)
                features["crowd"] = min(crowd - 1, 5) / 5
                features["top_quality"] = 1.0 if max(ev.quality.values()) >= top else 0.0
                if self.recorder is not None:
                    self.recorder(self._alert_id, member, inc, features)
            strength, score = links.heuristic_score(member, inc, ev)
            if model is not None:
                score = model.score(features)
                ok = score >= model.threshold
            else:
                ok = strength >= self.cfg.min_relation
            weighed.append((inc, ev, strength, score, ok))
        return weighed

    def _merge(self, incidents: list[Incident]) -> Incident:
        survivor = min(incidents, key=lambda i: i.seq)
        for other in sorted(incidents, key=lambda i: i.seq):
            if other is survivor:
                continue
            self._take_in(survivor, other)
            if other.status == OPEN:
                if survivor.status == PENDING:
                    survivor.status = OPEN
                    survivor.opened_at = other.opened_at
                elif other.opened_at is not None and survivor.opened_at is not None:
                    survivor.opened_at = min(survivor.opened_at, other.opened_at)
            was_emitted = other.status != PENDING
            self._retire(other, survivor)
            if was_emitted:
                other.changed()
                self.out.touch(other)
                self.out.final.append(other)
        return survivor

    def absorb_held(self, inc: Incident, held: Incident) -> None:
        """Take in a held incident's alerts (pipeline/announced_merge.py). Unlike `_merge`,
        `inc` keeps its id whatever the ages: the held incident was never emitted."""
        self._take_in(inc, held)
        inc.merged_from.remove(held.id)  # never emitted: nothing for consumers to look up
        self._retire(held, inc)

    def _take_in(self, inc: Incident, other: Incident) -> None:
        """Move `other`'s alerts into `inc`, indexes included."""
        self.store.unindex(other)
        inc.absorb(other)
        for member in other.members.values():
            self.store.index(inc, member)

    def _retire(self, other: Incident, into: Incident) -> None:
        """`other`, emptied by a merge into `into`, leaves the live incidents."""
        other.status = MERGED
        other.merged_into = into.id
        other.alert_ids.clear()
        other.members.clear()
        other.firing = 0
        self.store.live.pop(other.id, None)
        self.merges += 1

    def _maybe_open(self, inc: Incident, now: float) -> None:
        if inc.status != PENDING:
            return
        # A chronic alert (a repeat offender) does not open an incident on its own severity.
        severe, fresh, rank = False, 0, self._open_rank
        for m in inc.members.values():  # one plain pass instead of any() and sum()
            if not m.chronic:
                fresh += 1
                if m.severity >= rank:
                    severe = True
        if severe or fresh >= self.icfg.open_min_alerts:
            inc.status = OPEN
            inc.opened_at = now
            inc.stale_rca = True
            inc.changed()
