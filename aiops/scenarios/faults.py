"""A fault's alerts: root alerts, what a node fault does to what it hosts, precursor warnings,
and the symptoms its cascade raises on the callers.

Root alerts are named after what the root is (a database exhausts connections, a queue's
consumers lag, a pod crash-loops) and carry the fault's severity; the first of them fires
exactly at the onset. Symptoms fire on a random subset of each hit caller's replicas, and
recover a little after the root, later the further up they are.
"""

from __future__ import annotations

import random

from aiops.scenarios import catalog
from aiops.scenarios.cascade import Origin, spread
from aiops.scenarios.lifecycle import Expander
from aiops.scenarios.profiles import Params
from aiops.scenarios.schedule import MINUTE, Fault
from aiops.scenarios.series import Series, SeriesMaker
from aiops.scenarios.topology import Topology

SECOND = 1000
_FRONT = ("edge", "web")
_SEVERITY_BY_DEPTH = {
    1: (("warning", 0.2), ("minor", 0.3), ("major", 0.45), ("critical", 0.05)),
    2: (("warning", 0.35), ("minor", 0.35), ("major", 0.28), ("critical", 0.02)),
}


class FaultBuilder:
    def __init__(
        self,
        topo: Topology,
        params: Params,
        rng: random.Random,
        maker: SeriesMaker,
        expander: Expander,
        t0: int,
    ) -> None:
        self.topo = topo
        self.params = params
        self.rng = rng
        self.maker = maker
        self.expander = expander
        self.t0 = t0
        self.alerts = 0  # series emitted for the fault being built
        self.root_starts: list[int] = []

    def _emit(self, s: Series, root: bool = False) -> None:
        if self.expander.expand(s):
            self.alerts += 1
            if root:
                self.root_starts.append(s.start)

    def _jitter(self) -> int:
        return self.rng.randint(0, int(self.params.resolve_jitter * SECOND))

    def build(self, fault: Fault) -> None:
        """Decide the fault's cascade, outage and precursors, and emit all its alerts.

        Leaves `fault.alerts` at the number of series emitted (0: the fault left no trace).
        """
        self.alerts, self.root_starts = 0, []
        node = fault.kind == "node"
        critical = fault.severity == "critical"
        origins = self._node_roots(fault) if node else [self._origin(fault)]
        hits = spread(self.topo, self.params, self.rng, origins, critical, fault.end)
        # An unmonitored root, told of only by its callers' symptoms (so it needs callers).
        silent = not node and self.rng.random() < self.params.silent_root_share and bool(hits)
        if not node and not silent:
            self._service_roots(fault)
        if critical and not silent and self.rng.random() < self.params.precursor_share:
            self._precursors(fault)
        fault.services = [o.service for o in origins] + [h.service for h in hits]
        # Customers see it when a frontend is reached, or a frontend itself is fully down.
        front = [h.service for h in hits] + [o.service for o in origins if o.strength >= 1.0]
        fault.outage = critical and any(self.topo.services[s].tier in _FRONT for s in front)
        for hit in hits:
            self._symptoms(fault, hit.service, hit.time, hit.depth, hit.via)
        if self.root_starts:  # the onset is the first root alert (later only if it was taken)
            fault.start = min(self.root_starts)
        fault.alerts = self.alerts

    def _root_series(
        self, fault: Fault, names: tuple[str, ...], resource: str, start: int, severity: str
    ) -> str | None:
        """One root alert on `resource`, trying the names in order until one is free."""
        end = fault.end + self._jitter()
        for name in names:
            s = self.maker.on_resource(fault, name, resource, severity, start, end)
            if s is not None:
                self._emit(s, root=True)
                return name
        return None

    def _origin(self, fault: Fault) -> Origin:
        svc = self.topo.services[fault.root_service or ""]
        # One replica of several down: the others still answer most calls.
        partial = fault.root_resource is not None and len(svc.replicas) > 1
        return Origin(svc.name, fault.start, 0.55 if partial else 1.0)

    def _service_roots(self, fault: Fault) -> None:
        rng = self.rng
        svc = self.topo.services[fault.root_service or ""]
        names = list(catalog.ROOTS[svc.kind])
        rng.shuffle(names)
        first = True
        for res in [fault.root_resource] if fault.root_resource else svc.replicas:
            start = fault.start if first else fault.start + rng.randint(0, 45 * SECOND)
            got = self._root_series(fault, tuple(names), res, start, fault.severity)
            first = first and got is None
            if got is not None and rng.random() < 0.3:  # a second face of the same problem
                other = tuple(n for n in names if n != got)
                later = fault.start + rng.randint(30 * SECOND, 240 * SECOND)
                self._root_series(fault, other, res, later, "major")

    def _node_roots(self, fault: Fault) -> list[Origin]:
        rng, node = self.rng, fault.root
        names = list(catalog.ROOTS["node"])
        rng.shuffle(names)
        name = names[0]
        alerted = False
        if rng.random() < self.params.node_alert_share:
            for candidate in names:
                down = candidate in ("NodeNotReady", "KubeletDown")
                severity = "critical" if down else fault.severity
                s = self.maker.on_node(
                    fault, candidate, node, severity, fault.start, fault.end + self._jitter()
                )
                if s is not None:
                    self._emit(s, root=True)
                    name, alerted = candidate, True
                    break
        effects = catalog.NODE_EFFECTS[name]
        first_at: dict[str, int] = {}
        for i, res in enumerate(self.topo.hosted[node]):
            if i == 0 and not alerted:
                start = fault.start  # the first symptom marks the onset
            else:
                start = fault.start + rng.randint(5 * SECOND, 90 * SECOND)
            severity = (
                "critical" if fault.severity == "critical" and rng.random() < 0.5 else "major"
            )
            effect = rng.choice(effects)
            other = tuple(e for e in effects if e != effect)
            if self._root_series(fault, (effect, *other), res, start, severity):
                svc = self.topo.resources[res].service
                first_at[svc] = min(first_at.get(svc, start), start)
        origins = []
        for svc_name, start in first_at.items():
            replicas = self.topo.services[svc_name].replicas
            share = sum(self.topo.resources[r].node == node for r in replicas) / len(replicas)
            origins.append(Origin(svc_name, start, 0.3 + 0.7 * share))
        origins.sort(key=lambda o: (o.time, self.topo.services[o.service].rank))
        return origins

    def _precursors(self, fault: Fault) -> None:
        """Warnings on the root before the onset, repeating and rising towards it."""
        rng, p = self.rng, self.params
        lead = int(rng.uniform(*p.precursor_lead) * MINUTE)
        begin = max(fault.start - lead, self.t0 + MINUTE)
        lead = fault.start - begin
        if lead < 4 * MINUTE:
            return
        names = list(catalog.PRECURSORS[fault.component])
        rng.shuffle(names)
        names = names[: 2 if rng.random() < 0.35 else 1]
        if fault.kind == "service":
            svc = self.topo.services[fault.root]
            entities = rng.sample(svc.replicas, rng.randint(1, len(svc.replicas)))
        else:
            entities = [fault.root]
        end = fault.end + self._jitter()
        for j, name in enumerate(names):
            for k, entity in enumerate(entities):
                start = begin if j == k == 0 else begin + rng.randint(0, lead // 2)
                if fault.kind == "node":
                    s = self.maker.on_node(fault, name, entity, "warning", start, end)
                else:
                    s = self.maker.on_resource(fault, name, entity, "warning", start, end)
                if s is None:
                    if j == k == 0:
                        return  # the first warning must open the precursor phase
                    continue
                s.refire = int(rng.uniform(*p.refire_interval) * SECOND)
                s.escalate_at = fault.start - int(lead * rng.uniform(0.1, 0.4))
                s.escalate_to = "major" if rng.random() < 0.3 else "minor"
                self._emit(s)
        fault.predictable = True
        fault.precursor_start = begin

    def _symptom_severity(self, fault: Fault, tier: str, depth: int) -> str:
        if fault.outage and tier in _FRONT:
            return "critical" if self.rng.random() < 0.6 else "major"
        table = _SEVERITY_BY_DEPTH[min(depth, 2)]
        return self.rng.choices([s for s, _ in table], weights=[w for _, w in table])[0]

    def _symptoms(self, fault: Fault, service: str, when: int, depth: int, via: str) -> None:
        rng = self.rng
        svc = self.topo.services[service]
        choices = catalog.SYMPTOMS.get(svc.kind)
        if not choices:
            return
        names = rng.sample(choices, 2 if rng.random() < 0.4 else 1)
        replicas = [r for r in svc.replicas if rng.random() < 0.75] or [rng.choice(svc.replicas)]
        hop_hi = int(self.params.hop_delay[1] * SECOND)
        recover = fault.end + depth * rng.randint(0, hop_hi // 2)
        for res in replicas:
            for name in names:
                start = when + rng.randint(0, 30 * SECOND)
                end = max(recover + self._jitter(), start + MINUTE)
                severity = self._symptom_severity(fault, svc.tier, depth)
                s = self.maker.on_resource(fault, name, res, severity, start, end, dep=via)
                if s is not None:
                    self._emit(s)
        # Burn-rate alerts look back over a window, so they fire minutes late, or not at all.
        start = when + rng.randint(60 * SECOND, 300 * SECOND)
        if svc.tier in ("edge", "web", "api") and rng.random() < 0.4 and start < recover:
            severity = self._symptom_severity(fault, svc.tier, depth)
            name = catalog.SERVICE_SYMPTOMS[0]
            end = recover + self._jitter()
            s = self.maker.on_service(fault, name, service, severity, start, end)
            if s is not None:
                self._emit(s)
