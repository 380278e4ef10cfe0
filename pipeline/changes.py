"""Recent change records, indexed by the service, resource and node they touched."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from mypy_extensions import mypyc_attr

from pipeline.records import Change
from pipeline.topology import Topology


def _time_and_id(c: Change) -> tuple[float, str]:
    return (c.time, c.id)


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class ChangeIndex:
    def __init__(self, topology: Topology, retention_s: float) -> None:
        self.topology = topology
        self.retention_s = retention_s
        self._by_entity: dict[str, deque[Change]] = {}
        self._all: deque[Change] = deque()
        self.count = 0

    def entities(self, change: Change) -> list[str]:
        """What a change touched: its service, resource and the resource's node."""
        topo = self.topology
        out: list[str] = []
        service = change.service or topo.service_of(change.resource)
        if service:
            out.append(service)
        if change.resource:
            out.append(change.resource)
            node = topo.node_of(change.resource)
            if node:
                out.append(node)
        return out

    def add(self, change: Change) -> None:
        self.count += 1
        self._all.append(change)
        for entity in self.entities(change):
            self._by_entity.setdefault(entity, deque()).append(change)

    def near(self, entities: Iterable[str], start: float, end: float) -> list[Change]:
        """Changes on any of `entities` with start <= time <= end, oldest first, each once."""
        found: dict[str, Change] = {}
        for entity in entities:
            for change in self._by_entity.get(entity, ()):
                if start <= change.time <= end:
                    found[change.id] = change
        if len(found) < 2:  # mostly none near: no sort, no key function
            return list(found.values())
        return sorted(found.values(), key=_time_and_id)

    def sweep(self, now: float) -> None:
        horizon = now - self.retention_s
        while self._all and self._all[0].time < horizon:
            old = self._all.popleft()
            for entity in self.entities(old):
                bucket = self._by_entity.get(entity)
                if bucket and bucket[0] is old:
                    bucket.popleft()
                elif bucket:
                    bucket.remove(old)
                if bucket is not None and not bucket:
                    del self._by_entity[entity]

    def __len__(self) -> int:
        return len(self._all)
