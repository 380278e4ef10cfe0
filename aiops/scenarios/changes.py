"""Change records: the ones that cause faults, unrelated ones, and decoys near faults.

A causing change lands on the fault's root (the service, the one replica, or the node) a few
minutes before the onset. Unrelated changes arrive as a Poisson process on random services,
replicas and nodes. Decoys are unrelated changes placed close to a fault's onset, often on a
service the fault reaches, so that "the last change before the incident" is not always right.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from aiops.scenarios.profiles import Params
from aiops.scenarios.schedule import MINUTE, Fault
from aiops.scenarios.topology import Topology

_TYPES: dict[str, tuple[tuple[str, float], ...]] = {
    "app": (
        ("deploy", 0.55),
        ("config", 0.2),
        ("feature-flag", 0.15),
        ("scale", 0.05),
        ("rollback", 0.05),
    ),
    "db": (("db-migration", 0.5), ("config", 0.35), ("infra", 0.15)),
    "cache": (("config", 0.6), ("infra", 0.4)),
    "queue": (("config", 0.5), ("infra", 0.3), ("deploy", 0.2)),
    "node": (("infra", 1.0),),
}
_CONFIG_KEYS = {
    "db": ("max_connections", "statement_timeout", "work_mem", "shared_buffers"),
    "cache": ("maxmemory-policy", "maxmemory", "default-ttl"),
    "queue": ("retention.ms", "num.partitions", "max.poll.records"),
    "app": ("pool.size", "timeout.ms", "retries", "heap.max"),
}
_FLAGS = ("new-checkout-flow", "async-payments", "search-v2", "smart-retries", "bulk-pricing")
_TABLES = ("orders", "payments", "items", "accounts", "events", "sessions")
_NODE_WORK = (
    "kernel patch 6.1.{n}",
    "container runtime upgrade to 1.7.{n}",
    "instance type change",
    "OS security updates batch {n}",
    "disk resize",
)


@dataclass(slots=True)
class Change:
    id: str
    time: int  # epoch ms, whole seconds
    service: str | None
    resource: str | None
    type: str
    summary: str
    fault: Fault | None = None


class _ChangeMaker:
    def __init__(self, topo: Topology, rng: random.Random) -> None:
        self.topo = topo
        self.rng = rng
        self.versions: dict[str, list[int]] = {}

    def _family(self, service: str | None) -> str:
        if service is None:
            return "node"
        kind = self.topo.services[service].kind
        return kind if kind in _TYPES else "app"

    def make(self, time: int, service: str | None, resource: str | None) -> Change:
        rng = self.rng
        family = self._family(service)
        kinds = _TYPES[family]
        kind = rng.choices([k for k, _ in kinds], weights=[w for _, w in kinds])[0]
        target = service or resource or ""
        if kind in ("deploy", "rollback"):
            v = self.versions.setdefault(target, [rng.randint(1, 4), rng.randint(0, 30), 0])
            if kind == "deploy":
                v[1], v[2] = (v[1] + 1, 0) if rng.random() < 0.3 else (v[1], v[2] + 1)
            summary = f"{target} {'v' if kind == 'deploy' else 'rollback to v'}{v[0]}.{v[1]}.{v[2]}"
        elif kind == "config":
            key = rng.choice(_CONFIG_KEYS.get(family, _CONFIG_KEYS["app"]))
            a = rng.choice((8, 16, 30, 50, 100, 200))
            summary = f"config push to {target}: {key} {a} -> {a * rng.choice((2, 4)) // 3}"
        elif kind == "feature-flag":
            a = rng.choice((0, 5, 10, 25, 50))
            summary = f"flag {rng.choice(_FLAGS)} on {target}: {a}% -> {min(100, a * 2 + 10)}%"
        elif kind == "db-migration":
            verb = rng.choice(("add_index", "add_column", "backfill", "drop_column"))
            summary = f"{target} migration {rng.randint(40, 400):04d}_{verb}_{rng.choice(_TABLES)}"
        elif kind == "scale":
            n = rng.randint(2, 6)
            summary = f"scale {target} from {n} to {n + rng.choice((-1, 1, 2))} replicas"
        elif family == "node":
            summary = f"{rng.choice(_NODE_WORK).format(n=rng.randint(10, 99))} on {target}"
        else:
            summary = f"{rng.choice(('maintenance', 'failover test', 'storage upgrade'))} {target}"
        time -= time % 1000
        return Change("", time, service, resource, kind, summary)

    def random_target(self) -> tuple[str | None, str | None]:
        rng, topo = self.rng, self.topo
        roll = rng.random()
        if roll < 0.1:
            return None, rng.choice(list(topo.nodes))
        svc = topo.services[rng.choice(list(topo.services))]
        if roll < 0.22:
            return svc.name, rng.choice(svc.replicas)
        return svc.name, None


def make_changes(
    topo: Topology, params: Params, rng: random.Random, faults: list[Fault], t0: int, t1: int
) -> list[Change]:
    """All changes in time order, numbered CHG0001, …; causing ones linked to their fault."""
    maker = _ChangeMaker(topo, rng)
    changes: list[Change] = []
    for fault in faults:
        if rng.random() < params.change_fault_share:
            lead = int(rng.uniform(*params.change_lead) * MINUTE)
            when = max(t0, fault.start - lead)
            if fault.start - when >= 30_000:
                if fault.kind == "node":
                    change = maker.make(when, None, fault.root)
                else:
                    change = maker.make(when, fault.root_service, fault.root_resource)
                change.fault = fault
                fault.cause_change = change
                changes.append(change)
        if rng.random() < params.decoy_share:
            when = max(t0, fault.start + rng.randint(-25 * MINUTE, 5 * MINUTE))
            upstream = fault.services[1:]
            if upstream and rng.random() < 0.5:
                service, resource = rng.choice(upstream), None
            else:
                service, resource = maker.random_target()
            if fault.root in (service, resource) or service == fault.root_service:
                continue
            changes.append(maker.make(when, service, resource))
    if params.changes_per_hour > 0:
        gap = 3_600_000 / params.changes_per_hour
        t = t0 + rng.expovariate(1.0 / gap)
        while t < t1:
            changes.append(maker.make(int(t), *maker.random_target()))
            t += rng.expovariate(1.0 / gap)
    changes.sort(key=lambda c: c.time)
    for i, change in enumerate(changes, start=1):
        change.id = f"CHG{i:04d}"
    return changes
