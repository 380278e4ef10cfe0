"""Root-cause ranking: which service, node, resource or change most likely started it.

For each incident the ranker (1) gathers candidates: the alerting services, nodes shared by
several of them, quiet services right below them, and roots of similar confirmed incidents
(`models.rca_signals`); (2) describes each with the same signals: topology (what it
explains, a random walk), onset order, severity, how cause-like its alert names are (learned
online by the symptom model), shared infrastructure, recent changes and history; (3) scores
them with a logistic model learned offline from generated incidents with ground truth
(`aiops train-rca`) and online from problem managers' feedback (`learn_one`); (4) scores the
changes on the best candidates with a second model; (5) writes checkable evidence for what is
shown. It runs inside the stream each time an incident's picture changes, so it does look-ups
and small sums only.

Feedback: `learn_one(Feedback)` takes one SGD step per candidate of the incident as it was ranked
(confirmed root positive, the rest negative), remembers the incident as a past case for
similar future ones, and returns the record completed with that context, so a store of such
records replays into the same learned state (`replay`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, Protocol

from mypy_extensions import mypyc_attr

from models.rca_evidence import EvidenceWriter, change_evidence
from models.rca_feedback import rounded, teach
from models.rca_history import IncidentHistory, PastCase, ticket_tokens, tokens_of
from models.rca_mentions import MentionIndex
from models.rca_model import RootCauseModel
from models.rca_signals import (
    CHANGE_SIGNALS,
    ENTITY_SIGNALS,
    ChangeCandidate,
    EntityCandidate,
    SignalBuilder,
    change_signals,
)
from models.rca_start import configured_model
from pipeline.changes import ChangeIndex
from pipeline.config import RootCauseConfig
from pipeline.feedback import Feedback
from pipeline.incidents import Incident
from pipeline.records import Change
from pipeline.tickets import Ticket
from pipeline.times import format_time
from pipeline.topology import Topology

_CONTEXT_CANDIDATES = 12  # candidates kept per incident for feedback


class RankingMemory(NamedTuple):
    title: str
    start: float
    tokens: frozenset[str]
    candidates: list[tuple[str, str, dict[str, float]]]  # (entity, kind, signals)
    changes: list[tuple[str, str, dict[str, float]]]  # (change id, entity it touched, signals)


def _values(signals: dict[str, float], names: tuple[str, ...]) -> tuple[float, ...]:
    """The signals in `names` order, 0 for the absent ones (a list, then a tuple: faster
    than a generator for twenty names)."""
    get = signals.get
    return tuple([get(k, 0.0) for k in names])


class NamePrior(Protocol):
    def predict_one(self, name: str) -> float: ...


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class RootCauseRanker:
    """Ranks an incident's candidates; `enrich` is the pipeline's hook, `learn_one` its feedback."""

    def __init__(
        self,
        cfg: RootCauseConfig,
        topology: Topology,
        changes: ChangeIndex,
        model: RootCauseModel | None = None,
        symptoms: NamePrior | None = None,
    ) -> None:
        self.cfg = cfg
        self.topology = topology
        self.changes = changes
        self.model = model if model is not None else configured_model(cfg)
        self.model.set_learning(cfg.feedback_learning_rate, cfg.feedback_prior_strength)
        self.symptoms = symptoms
        self.mentions = MentionIndex(topology)
        self.builder = SignalBuilder(topology, cfg.explain_hops, self._likeness, self.mentions)
        self.evidence = EvidenceWriter(topology, cfg.explain_hops, self._likeness)
        self.history = IncidentHistory(cfg.history_capacity, cfg.history_min_similarity)
        self._contexts: OrderedDict[str, tuple[Any, ...]] = OrderedDict()
        self.feedback_seen = 0

    def _likeness(self, name: str) -> float:
        return self.symptoms.predict_one(name) if self.symptoms is not None else 0.5

    # ---- ranking --------------------------------------------------------------------------
    def attach_alert_states(self, states: Mapping[str, Any]) -> None:
        """The dedup stage's alert states by fingerprint: where the latest summaries are (for
        which services an alert names)."""
        self.mentions.attach(states)

    def enrich(self, inc: Incident) -> None:
        entities, changes = self.rank(inc)
        shown = [*entities, *changes]
        shown.sort(
            key=lambda c: (-c["score"], c["kind"] == "change", c["kind"] != "service", c["entity"])
        )
        inc.root_cause = self._changes_after_their_entity(shown)
        floor = self.cfg.suspect_min_score
        inc.suspected_changes = [
            {
                "change": c["entity"],
                "entity": c["on"],
                "score": c["score"],
                "evidence": c["evidence"],
            }
            for c in changes
            if c["score"] >= floor
        ]

    def _changes_after_their_entity(self, shown: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`shown` (best score first) with each change moved up, if it is lower, to right after
        the entity it is on: a recent change on a likely root is the likeliest way that root
        broke, while the change scorer rates each change alone, so a weak one on the first
        suspect could trail services that are mere bystanders. Changes keep their order among
        themselves (one moved up takes the stronger ones with it); scores are unchanged."""
        entities = [c for c in shown if c["kind"] != "change"]
        changes = [c for c in shown if c["kind"] == "change"]
        position: dict[str, int] = {}
        for i, cand in enumerate(entities):
            names = [cand["entity"]]
            if cand["kind"] == "resource":  # a lone replica shown for its service
                names.append(self.topology.service_of(cand["entity"]) or cand["entity"])
            for name in names:
                position.setdefault(name, i)
        # the entity each change must follow at the latest: its own, or a later change's
        due = [len(entities)] * len(changes)
        latest = len(entities)
        for j in range(len(changes) - 1, -1, -1):
            latest = min(latest, position.get(changes[j]["on"], len(entities)))
            due[j] = latest
        rank = {id(c): n for n, c in enumerate(shown)}
        out: list[dict[str, Any]] = []
        j = 0
        for i, cand in enumerate(entities):
            while j < len(changes) and rank[id(changes[j])] < rank[id(cand)]:
                out.append(changes[j])
                j += 1
            out.append(cand)
            while j < len(changes) and due[j] <= i:
                out.append(changes[j])
                j += 1
        out.extend(changes[j:])
        return out

    def rank(self, inc: Incident) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The shown entity candidates and change candidates of `inc`, each best first."""
        tokens = tokens_of(inc) if len(self.history) else frozenset()
        past = self.history.roots(tokens) if tokens else {}
        pointed = self.builder.pointed(inc)
        quiet = self.builder.quiet_services(inc, pointed)
        quiet += [root for root in sorted(past) if root in self.topology and root not in quiet]
        recent = self._recent_changes(inc, quiet)
        cands = self.builder.candidates(inc, recent, quiet, pointed)
        entity_model = self.model.entity
        for cand in cands:
            hit = self._history_hit(cand, past)
            cand.signals["history"] = self._history_signal(hit[0]) if hit else 0.0
            cand.score = entity_model.predict_one(cand.signals)
        cands.sort(key=lambda c: (-c.score, c.kind != "service", c.entity))
        top = cands[: self.cfg.max_candidates]
        change_cands = self._change_candidates(inc, top, recent)
        self._remember(inc, tokens or tokens_of(inc), cands, change_cands)
        entities = [self._entity_dict(inc, c, recent, past) for c in top]
        shown_changes = [
            {
                "entity": cc.change.id,
                "kind": "change",
                "score": round(cc.score, 4),
                "evidence": change_evidence(cc.change, cc.on.entity, cc.on.onset),
                "on": cc.on.entity,
                "signals": rounded(cc.signals),
            }
            for cc in change_cands[: self.cfg.max_changes]
        ]
        return entities, shown_changes

    def _entity_dict(
        self,
        inc: Incident,
        cand: EntityCandidate,
        recent: dict[str, list[Change]],
        past: dict[str, tuple[float, PastCase, int]],
    ) -> dict[str, Any]:
        entity, kind = cand.entity, cand.kind
        evidence = self.evidence.write(
            inc, cand, recent.get(entity, []), self._history_hit(cand, past)
        )
        replica = self._lone_replica(inc, cand)
        if replica is not None:
            known = len(self.topology.service_resources.get(entity, ()))
            evidence = f"only {replica} of {known} replicas of {entity} alerts; {evidence}"
            entity, kind = replica, "resource"
        return {
            "entity": entity,
            "kind": kind,
            "score": round(cand.score, 4),
            "evidence": evidence,
            "signals": rounded(cand.signals),
        }

    def _lone_replica(self, inc: Incident, cand: EntityCandidate) -> str | None:
        """The one alerting replica of a multi-replica service, named instead of the service."""
        if cand.kind != "service" or cand.signals.get("silent"):
            return None
        alerting = {m.resource for m in inc.service_members.get(cand.entity, ()) if m.resource}
        known = self.topology.service_resources.get(cand.entity, set())
        if len(alerting) != 1 or len(known) < 2:
            return None
        return next(iter(alerting))

    def _history_signal(self, similarity: float) -> float:
        """0 at the least similarity that counts, 1 for an identical past incident: weak
        resemblances say little (most past incidents share a gateway and a latency alert)."""
        floor = self.cfg.history_min_similarity
        return max(similarity - floor, 0.0) / (1.0 - floor) if floor < 1.0 else 0.0

    def _history_hit(
        self, cand: EntityCandidate, past: dict[str, tuple[float, PastCase, int]]
    ) -> tuple[float, PastCase, int] | None:
        if not past:  # no similar past incident (the common case): nothing to look up
            return None
        hit = past.get(cand.entity)
        if cand.kind == "service":
            # Sorted: a set's order follows the hash seed, and a tie keeps the first.
            for resource in sorted(self.topology.service_resources.get(cand.entity, ())):
                other = past.get(resource)
                if other is not None and (hit is None or other[0] > hit[0]):
                    hit = other
        return hit

    def _change_candidates(
        self, inc: Incident, top: list[EntityCandidate], recent: dict[str, list[Change]]
    ) -> list[ChangeCandidate]:
        best: dict[str, ChangeCandidate] = {}
        model = self.model.change
        for cand in top:
            on_it = recent.get(cand.entity, [])
            before = [c for c in on_it if c.time <= cand.escalation]
            latest = before[-1].id if before else None
            for change in on_it:
                signals = change_signals(change, cand, len(on_it), change.id == latest)
                cc = ChangeCandidate(change, cand, signals, model.predict_one(signals))
                if change.id not in best or best[change.id].score < cc.score:
                    best[change.id] = cc
        return sorted(best.values(), key=lambda c: (-c.score, c.change.id))

    def _recent_changes(self, inc: Incident, quiet: Iterable[str]) -> dict[str, list[Change]]:
        entities = [*inc.services, *inc.resources, *inc.nodes, *quiet]
        start = inc.start - self.cfg.change_lookback_s
        end = inc.last_onset + self.cfg.change_after_s
        out: dict[str, list[Change]] = {}
        wanted = set(entities)
        for change in self.changes.near(entities, start, end):
            for entity in self.changes.entities(change):
                if entity in wanted:
                    out.setdefault(entity, []).append(change)
        return out

    # ---- feedback -------------------------------------------------------------------------
    def _remember(
        self,
        inc: Incident,
        tokens: frozenset[str],
        cands: list[EntityCandidate],
        change_cands: list[ChangeCandidate],
    ) -> None:
        """Keep what this ranking saw, so feedback on the incident can teach from it. Kept as
        tuples of numbers: thousands of incidents cost the garbage collector nothing."""
        self._contexts[inc.id] = (
            inc.title,
            inc.start,
            tuple(sorted(tokens)),
            tuple(
                (c.entity, c.kind, _values(c.signals, ENTITY_SIGNALS))
                for c in cands[:_CONTEXT_CANDIDATES]
            ),
            tuple(
                (c.change.id, c.on.entity, _values(c.signals, CHANGE_SIGNALS))
                for c in change_cands[:_CONTEXT_CANDIDATES]
            ),
        )
        self._contexts.move_to_end(inc.id)
        while len(self._contexts) > self.cfg.feedback_memory:
            self._contexts.popitem(last=False)

    def last_ranking(self, incident_id: str) -> RankingMemory | None:
        """The incident's latest ranking, if still remembered: candidates and changes best
        first, each (entity, kind or touched entity, signals)."""
        kept = self._contexts.get(incident_id)
        if kept is None:
            return None
        title, start, tokens, cands, changes = kept
        return RankingMemory(
            title,
            start,
            frozenset(tokens),
            [(e, k, dict(zip(ENTITY_SIGNALS, v, strict=True))) for e, k, v in cands],
            [(c, on, dict(zip(CHANGE_SIGNALS, v, strict=True))) for c, on, v in changes],
        )

    def context_of(self, incident_id: str) -> dict[str, Any] | None:
        """The JSON context of the incident's latest ranking, if still remembered."""
        memory = self.last_ranking(incident_id)
        if memory is None:
            return None
        return {
            "title": memory.title,
            "started_at": format_time(memory.start),
            "tokens": sorted(memory.tokens),
            "candidates": [
                {"entity": e, "kind": k, "signals": rounded(sig)} for e, k, sig in memory.candidates
            ],
            "changes": [
                {"entity": c, "on": on, "signals": rounded(sig)} for c, on, sig in memory.changes
            ],
        }

    def learn_one(self, fb: Feedback) -> Feedback:
        """Learn from one confirmation or correction; returns the record to persist (with the
        context of the ranking it corrects, when this ranker still remembers it)."""
        if fb.context is None:
            fb.context = self.context_of(fb.incident)
        self.feedback_seen += 1
        if fb.context is not None:
            teach(fb, fb.context, self.model, self.history, self.topology.service_of)
        return fb

    def replay(self, records: Iterable[Feedback]) -> int:
        """Rebuild the learned state from a feedback store: offline weights, then each record
        in order. The same store always gives the same state."""
        self.model.entity.reset()
        self.model.change.reset()
        self.history.clear()
        self.feedback_seen = 0
        for fb in records:
            self.learn_one(fb)
        return self.feedback_seen

    def remember_ticket(self, ticket: Ticket) -> bool:
        """A resolved ticket on a configuration item becomes a past case for that item."""
        if not ticket.cmdb_ci or ticket.is_open:
            return False
        ci = ticket.cmdb_ci
        kind = (
            "node"
            if self.topology.is_node(ci)
            else ("resource" if self.topology.service_of(ci) else "service")
        )
        self.history.add(
            PastCase(
                key=ticket.number,
                tokens=ticket_tokens(ci),
                root=ci,
                kind=kind,
                title=ticket.category or "",
                resolution=ticket.closed_code or "",
                source="ticket",
            )
        )
        return True
