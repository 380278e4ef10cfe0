"""The service dependency graph and where resources run (CONTRACT.md §1.3).

`A depends_on B` means A calls B, so a fault in B surfaces as symptoms in A: symptoms travel
*upstream*, against the edges. Distances are cached per service because the correlator asks
the same few questions for every alert.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mypy_extensions import mypyc_attr

CRITICALITIES = ("high", "medium", "low")


class TopologyError(ValueError):
    """A topology document that cannot be used."""


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class Topology:
    callees: dict[str, set[str]] = field(default_factory=dict)  # service -> what it calls
    callers: dict[str, set[str]] = field(default_factory=dict)  # service -> who calls it
    criticality: dict[str, str] = field(default_factory=dict)
    resource_service: dict[str, str] = field(default_factory=dict)
    resource_node: dict[str, str] = field(default_factory=dict)
    node_resources: dict[str, set[str]] = field(default_factory=dict)
    service_resources: dict[str, set[str]] = field(default_factory=dict)
    _down: dict[tuple[str, int], dict[str, int]] = field(default_factory=dict)
    _up: dict[tuple[str, int], dict[str, int]] = field(default_factory=dict)

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_dict(cls, doc: Any) -> Topology:
        """Build from the parsed YAML document; raises TopologyError with the reason."""
        if doc is None:
            return cls()
        if not isinstance(doc, Mapping):
            raise TopologyError("topology must be a mapping with 'services' (and 'resources')")
        topo = cls()
        services = doc.get("services") or {}
        if not isinstance(services, Mapping):
            raise TopologyError("'services' must be a mapping of service name to its attributes")
        for name, attrs in services.items():
            attrs = attrs or {}
            if not isinstance(attrs, Mapping):
                raise TopologyError(f"service {name!r}: attributes must be a mapping")
            deps = attrs.get("depends_on") or []
            if isinstance(deps, str) or not isinstance(deps, Iterable):
                raise TopologyError(f"service {name!r}: depends_on must be a list")
            topo.add_service(str(name), [str(d) for d in deps])
            crit = attrs.get("criticality")
            if crit is not None:
                if crit not in CRITICALITIES:
                    raise TopologyError(
                        f"service {name!r}: criticality {crit!r} is not one of high, medium, low"
                    )
                topo.criticality[str(name)] = crit
        resources = doc.get("resources") or {}
        if not isinstance(resources, Mapping):
            raise TopologyError("'resources' must be a mapping of resource name to attributes")
        for name, attrs in resources.items():
            if not isinstance(attrs, Mapping):
                raise TopologyError(f"resource {name!r}: attributes must be a mapping")
            service, node = attrs.get("service"), attrs.get("node")
            topo.add_resource(str(name), str(service) if service else None, node and str(node))
        return topo

    def add_service(self, name: str, depends_on: Iterable[str] = ()) -> None:
        self.callees.setdefault(name, set())
        self.callers.setdefault(name, set())
        for dep in depends_on:
            if dep == name:
                continue
            self.callees[name].add(dep)
            self.callees.setdefault(dep, set())
            self.callers.setdefault(dep, set()).add(name)
        self._down.clear()
        self._up.clear()

    def add_resource(self, name: str, service: str | None, node: str | None) -> None:
        if service:
            self.resource_service[name] = service
            self.service_resources.setdefault(service, set()).add(name)
            if service not in self.callees:
                self.add_service(service)
        if node:
            self.resource_node[name] = node
            self.node_resources.setdefault(node, set()).add(name)

    # ---- questions ----------------------------------------------------------------------
    def __contains__(self, service: object) -> bool:
        return service in self.callees

    def service_of(self, resource: str | None) -> str | None:
        return self.resource_service.get(resource) if resource else None

    def node_of(self, resource: str | None) -> str | None:
        return self.resource_node.get(resource) if resource else None

    def is_node(self, name: str | None) -> bool:
        return name is not None and name in self.node_resources

    def is_entry(self, service: str) -> bool:
        """A service nobody calls: what users hit first."""
        return service in self.callers and not self.callers[service]

    def downstream(self, service: str, max_hops: int) -> dict[str, int]:
        """Services `service` depends on (transitively), with their hop counts."""
        cached = self._down.get((service, max_hops))  # hot: asked for nearly every alert
        if cached is None:
            cached = self._bfs(service, self.callees, self._down, max_hops)
        return cached

    def upstream(self, service: str, max_hops: int) -> dict[str, int]:
        """Services that depend on `service` (transitively): where its faults show up."""
        cached = self._up.get((service, max_hops))
        if cached is None:
            cached = self._bfs(service, self.callers, self._up, max_hops)
        return cached

    @staticmethod
    def _bfs(
        start: str,
        edges: dict[str, set[str]],
        cache: dict[tuple[str, int], dict[str, int]],
        max_hops: int,
    ) -> dict[str, int]:
        cached = cache.get((start, max_hops))
        if cached is not None:
            return cached
        dist: dict[str, int] = {}
        queue = deque([(start, 0)])
        seen = {start}
        while queue:
            node, depth = queue.popleft()
            if depth == max_hops:
                continue
            # Sorted: the neighbours are a set, whose order follows the string hash seed,
            # and the answer's order decides ties downstream (which member a link goes
            # through, the order of link features summed by the link model). Once per
            # (service, hops): the answer is cached.
            for nxt in sorted(edges.get(node, ())):
                if nxt not in seen:
                    seen.add(nxt)
                    dist[nxt] = depth + 1
                    queue.append((nxt, depth + 1))
        cache[(start, max_hops)] = dist
        return dist
