"""Layered service graph: services, their dependencies, replicas and node placement.

Tiers, callers first: edge → web (frontends, BFFs) → api → domain → platform (auth, config,
…) → data (databases, caches, queues). Every service gets a rank in that order and an edge
always goes from a lower rank to a higher one, so the graph is acyclic whatever the draws.
Most edges go one tier down; some skip tiers (a BFF reading a cache), and platform services
gather many callers by preferential attachment, as shared dependencies do.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from aiops.scenarios import names
from aiops.scenarios.profiles import Params

TIERS = ("edge", "web", "api", "domain", "platform", "data")
TIER_KIND = {"edge": "gateway", "web": "frontend", "api": "api", "domain": "app"}
STORE_KINDS = ("db", "cache", "queue")
# Monitoring sources per component kind, with weights.
SOURCES: dict[str, tuple[tuple[str, int], ...]] = {
    "gateway": (("prometheus", 5), ("datadog", 3), ("newrelic", 1)),
    "frontend": (("datadog", 4), ("prometheus", 4), ("newrelic", 2)),
    "api": (("prometheus", 6), ("datadog", 3), ("newrelic", 1)),
    "app": (("prometheus", 6), ("datadog", 3), ("zabbix", 1)),
    "platform": (("prometheus", 7), ("datadog", 2), ("zabbix", 1)),
    "db": (("cloudwatch", 5), ("datadog", 3), ("prometheus", 2)),
    "cache": (("prometheus", 4), ("cloudwatch", 4), ("datadog", 2)),
    "queue": (("prometheus", 5), ("datadog", 3), ("cloudwatch", 2)),
    "node": (("prometheus", 5), ("nagios", 3), ("cloudwatch", 2)),
    "data-node": (("cloudwatch", 5), ("datadog", 3), ("nagios", 2)),
}
_HIGH_PLATFORM = frozenset({"auth", "config", "session", "secrets", "service-discovery"})


@dataclass(slots=True)
class Service:
    name: str
    tier: str
    kind: str  # gateway | frontend | api | app | platform | db | cache | queue
    rank: int
    team: str = ""
    criticality: str = "medium"
    source: str = "prometheus"
    depends_on: list[str] = field(default_factory=list)
    replicas: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Resource:
    name: str
    service: str
    node: str


@dataclass(slots=True)
class Node:
    name: str
    zone: str
    cluster: str
    source: str
    dedicated: bool


@dataclass(slots=True)
class Topology:
    services: dict[str, Service]
    resources: dict[str, Resource]
    nodes: dict[str, Node]
    callers: dict[str, list[str]] = field(default_factory=dict)
    hosted: dict[str, list[str]] = field(default_factory=dict)

    def index(self) -> None:
        """Fill the reverse indexes: callers of each service, resources on each node."""
        self.callers = {name: [] for name in self.services}
        for svc in self.services.values():
            for dep in svc.depends_on:
                self.callers[dep].append(svc.name)
        self.hosted = {name: [] for name in self.nodes}
        for res in self.resources.values():
            self.hosted[res.node].append(res.name)

    def to_document(self) -> dict[str, Any]:
        """The CONTRACT §1.3 document, with `tier` and `criticality` per service."""
        return {
            "services": {
                s.name: {
                    "depends_on": list(s.depends_on),
                    "tier": s.tier,
                    "criticality": s.criticality,
                }
                for s in self.services.values()
            },
            "resources": {
                r.name: {"service": r.service, "node": r.node} for r in self.resources.values()
            },
        }


def tier_counts(total: int) -> dict[str, int]:
    """How many services each tier gets for a topology of `total` services (>= 8)."""
    counts = {
        "edge": min(max(1, round(total * 0.04)), 6),
        "web": max(1, round(total * 0.07)),
        "api": max(1, round(total * 0.12)),
        "platform": max(1, round(total * 0.1)),
        "data": max(2, round(total * 0.32)),
    }
    counts["domain"] = total - sum(counts.values())
    while counts["domain"] < 2:
        counts["data"] -= 1
        counts["domain"] += 1
    return counts


class _Builder:
    def __init__(self, params: Params, rng: random.Random) -> None:
        self.params = params
        self.rng = rng
        self.services: dict[str, Service] = {}
        self.tiers: dict[str, list[str]] = {tier: [] for tier in TIERS}
        self.owner: dict[str, str] = {}  # data store → owning service
        self.callers: dict[str, int] = {}

    def add(self, name: str, tier: str, kind: str) -> None:
        self.services[name] = Service(name, tier, kind, rank=0)
        self.tiers[tier].append(name)
        self.callers[name] = 0

    def link(self, caller: str, dep: str) -> None:
        a, b = self.services[caller], self.services[dep]
        if a.rank < b.rank and dep not in a.depends_on:
            a.depends_on.append(dep)
            self.callers[dep] += 1

    def popular(self, candidates: list[str]) -> str:
        """A shared dependency: well-known names first, the already popular more likely."""
        weights = [(1.0 + self.callers[c]) / (1 + i) ** 0.5 for i, c in enumerate(candidates)]
        return self.rng.choices(candidates, weights=weights)[0]

    def some(self, candidates: list[str], lo: int, hi: int) -> list[str]:
        k = min(len(candidates), self.rng.randint(lo, hi))
        return self.rng.sample(candidates, k)

    def name_services(self) -> None:
        counts = tier_counts(self.params.services)
        taken: set[str] = set()
        domains = names.pick_names(self.rng, names.DOMAIN, counts["domain"], taken)
        platforms = names.pick_names(self.rng, names.PLATFORM, counts["platform"], taken)
        apis = self._api_names(domains, counts["api"], taken)
        for name in names.pick_names(self.rng, names.EDGE, counts["edge"], taken):
            self.add(name, "edge", "gateway")
        for name in names.pick_names(self.rng, names.WEB, counts["web"], taken):
            self.add(name, "web", "frontend")
        for name in apis:
            self.add(name, "api", "api")
        for name in domains:
            self.add(name, "domain", "app")
        for name in platforms:
            self.add(name, "platform", "platform")
        self._add_stores(counts["data"], domains + platforms, taken)
        for rank, svc in enumerate(self.services.values()):
            svc.rank = rank

    def _api_names(self, domains: list[str], k: int, taken: set[str]) -> list[str]:
        pool = [f"{d}-api" for d in domains] + ["public-api", "internal-api", "graphql-api"]
        pool += [f"{d}-{q}-api" for q in names.QUALIFIERS for d in domains]
        picked = [n for n in pool if n not in taken][:k]
        taken.update(picked)
        return picked

    def _add_stores(self, k: int, owners: list[str], taken: set[str]) -> None:
        has_store: set[str] = set()
        for i in range(k):
            owner = owners[i % len(owners)]
            if owner in has_store:
                kind = self.rng.choices(STORE_KINDS, weights=(4, 4, 3))[0]
            else:
                kind = self.rng.choices(STORE_KINDS, weights=(13, 4, 3))[0]
            has_store.add(owner)
            suffixes = names.STORE_SUFFIXES[kind]
            candidates = [f"{owner}-{s}" for s in suffixes]
            candidates += [f"{owner}-{q}-{s}" for q in names.QUALIFIERS for s in suffixes]
            name = next(c for c in candidates if c not in taken)
            taken.add(name)
            self.add(name, "data", kind)
            self.owner[name] = owner

    def wire(self) -> None:
        rng, t = self.rng, self.tiers
        platforms = t["platform"]
        stores_of: dict[str, list[str]] = {}
        for store, owner in self.owner.items():
            stores_of.setdefault(owner, []).append(store)
        caches = [s for s in t["data"] if self.services[s].kind == "cache"]
        shared = [s for s in t["data"] if self.services[s].kind in ("queue", "cache")]
        for edge in t["edge"]:
            for dep in self.some(t["web"], 1, 3):
                self.link(edge, dep)
            if rng.random() < 0.4:
                self.link(edge, self.popular(platforms))
        for web in t["web"]:
            for dep in self.some(t["api"], 1, 4):
                self.link(web, dep)
            if rng.random() < 0.3:
                self.link(web, rng.choice(t["domain"]))
            if rng.random() < 0.6:
                self.link(web, self.popular(platforms))
            if caches and rng.random() < 0.15:
                self.link(web, rng.choice(caches))
        for api in t["api"]:
            own = [d for d in t["domain"] if api.startswith(d + "-")]
            for dep in own[:1] + self.some(t["domain"], 0 if own else 1, 2):
                self.link(api, dep)
            if rng.random() < 0.5:
                self.link(api, self.popular(platforms))
        for i, dom in enumerate(t["domain"]):
            for store in stores_of.get(dom, []):
                self.link(dom, store)
            later = t["domain"][i + 1 :]
            for dep in self.some(later, 0, 2):
                self.link(dom, dep)
            for p_link in (0.8, 0.3):
                if rng.random() < p_link:
                    self.link(dom, self.popular(platforms))
            if shared and rng.random() < 0.25:
                self.link(dom, rng.choice(shared))
        for i, plat in enumerate(platforms):
            for store in stores_of.get(plat, []):
                self.link(plat, store)
            if i + 1 < len(platforms) and rng.random() < 0.3:
                self.link(plat, rng.choice(platforms[i + 1 :]))
        self._adopt_orphans()
        for svc in self.services.values():
            svc.depends_on.sort(key=lambda d: self.services[d].rank)

    def _adopt_orphans(self) -> None:
        """Give every service below the edge at least one caller."""
        above = {
            "web": ("edge",),
            "api": ("web",),
            "domain": ("api", "domain"),
            "platform": ("domain", "api"),
            "data": ("domain", "platform"),
        }
        for svc in self.services.values():
            if svc.tier == "edge" or self.callers[svc.name]:
                continue
            pool = [
                c
                for tier in above[svc.tier]
                for c in self.tiers[tier]
                if self.services[c].rank < svc.rank
            ]
            if not pool:
                pool = [c for c, s in self.services.items() if s.rank < svc.rank]
            self.link(self.rng.choice(pool), svc.name)

    def describe(self) -> None:
        for svc in self.services.values():
            base = names.base_name(svc.name)
            if svc.name in self.owner:  # a store matters as much as the service owning it
                owner = self.services[self.owner[svc.name]]
                svc.team = owner.team if owner.tier != "platform" else "data-platform"
                svc.criticality = owner.criticality
            elif svc.tier in ("edge", "web"):
                svc.team, svc.criticality = svc.tier, "high"
            elif svc.tier == "platform":
                svc.team = "platform"
                svc.criticality = "high" if base in _HIGH_PLATFORM else "medium"
            else:
                svc.team = base
                if base in names.CRITICAL_DOMAINS:
                    svc.criticality = "high"
                else:
                    svc.criticality = "medium" if self.rng.random() < 0.7 else "low"
            sources = SOURCES[svc.kind]
            svc.source = self.rng.choices([s for s, _ in sources], [w for _, w in sources])[0]


def _replica_range(params: Params, kind: str) -> tuple[int, int]:
    lo, hi = params.replicas
    if kind == "gateway":
        lo = min(max(lo, 2), hi)
    elif kind in STORE_KINDS:
        hi = max(lo, min(hi, 3))
    return lo, hi


_K8S_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what Kubernetes uses for generated names


def _replica_names(svc: Service, n: int, params: Params, rng: random.Random) -> list[str]:
    """`checkout-1, checkout-2`; or in k8s style, pods of one ReplicaSet
    (`checkout-7d9fb4c5d8-x2k4q`) and StatefulSet ordinals from 0 for data stores."""
    if params.resource_names == "ordinal":
        return [f"{svc.name}-{i}" for i in range(1, n + 1)]
    if svc.kind in STORE_KINDS:
        return [f"{svc.name}-{i}" for i in range(n)]
    template = "".join(rng.choices(_K8S_ALPHABET, k=rng.choice((9, 10))))
    names: list[str] = []
    while len(names) < n:
        name = f"{svc.name}-{template}-{''.join(rng.choices(_K8S_ALPHABET, k=5))}"
        if name not in names:
            names.append(name)
    return names


def _place(topo: Topology, params: Params, rng: random.Random) -> None:
    """Create replicas and put them on nodes: a shared pool, plus own nodes for some stores."""
    dedicated: list[tuple[str, str]] = []
    shared: list[tuple[str, str]] = []
    for svc in topo.services.values():
        own = svc.kind in STORE_KINDS and rng.random() < params.data_node_share
        names = _replica_names(svc, rng.randint(*_replica_range(params, svc.kind)), params, rng)
        for res in names:
            svc.replicas.append(res)
            (dedicated if own else shared).append((svc.name, res))
    pool = params.nodes or max(2, math.ceil(len(shared) / 5))
    total = pool + len(dedicated)
    width = max(2, len(str(total)))
    clusters = 1 if total < 40 else 2
    regions = ("euw1", "use1")
    for i in range(total):
        cluster = regions[i * clusters // total]
        kind = "node" if i < pool else "data-node"
        srcs = SOURCES[kind]
        node = Node(
            name=f"node-{i + 1:0{width}d}",
            zone=f"{cluster}-{'abc'[i % 3]}",
            cluster=f"{params.env}-{cluster}",
            source=rng.choices([s for s, _ in srcs], [w for _, w in srcs])[0],
            dedicated=i >= pool,
        )
        topo.nodes[node.name] = node
    node_names = list(topo.nodes)
    load = dict.fromkeys(node_names[:pool], 0)
    for svc_name, res in shared:
        used = {
            topo.resources[r].node for r in topo.services[svc_name].replicas if r in topo.resources
        }
        free = [n for n in load if n not in used] or list(load)
        node = rng.choices(free, weights=[1.0 / (1 + load[n]) ** 2 for n in free])[0]
        load[node] += 1
        topo.resources[res] = Resource(res, svc_name, node)
    for (svc_name, res), node in zip(dedicated, node_names[pool:], strict=True):
        topo.resources[res] = Resource(res, svc_name, node)
    # List resources service by service, as a person would write the file.
    topo.resources = {r: topo.resources[r] for s in topo.services.values() for r in s.replicas}


def build_topology(params: Params, rng: random.Random) -> Topology:
    """A random layered topology of `params.services` services."""
    builder = _Builder(params, rng)
    builder.name_services()
    builder.wire()
    builder.describe()
    topo = Topology(services=builder.services, resources={}, nodes={})
    _place(topo, params, rng)
    topo.index()
    return topo
