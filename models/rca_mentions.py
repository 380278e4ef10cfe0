"""Which other services an alert names: "timeouts calling payments-db", "circuit breaker to
auth open", "slow calls to ts-route-service".

A caller's symptom often says what it is waiting for, even when that dependency raises no
alert of its own (a silent root). The ranker watches every alert (as a pipeline observer),
keeps the latest summary per (entity, alert name), and asks, for a candidate, how many of
the incident's alerting services name it. A re-sent alert says the same thing, so an
(entity, alert name) is taken again only after `recheck_s`.
"""

from __future__ import annotations

import re

from pipeline.records import Alert
from pipeline.topology import Topology

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*[A-Za-z0-9]")
_NOTHING: frozenset[str] = frozenset()


class MentionIndex:
    def __init__(
        self, topology: Topology, capacity: int = 50_000, recheck_s: float = 600.0
    ) -> None:
        self.topology = topology
        self.capacity = capacity
        self.recheck_s = recheck_s
        # (entity, alert name) -> (event time, summary, service): the text is read only when
        # an incident holding that alert is ranked, most alerts never are.
        self._latest: dict[tuple[str, str], tuple[float, str, str | None]] = {}
        self._read_cache: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}

    def observe(self, alert: Alert) -> None:
        if alert.status != "firing" or not alert.summary or alert.time is None:
            return
        key = (alert.resource or alert.service or "", alert.name)
        known = self._latest.get(key)
        if known is not None:
            if alert.time - known[0] < self.recheck_s:
                return
            del self._latest[key]  # re-inserted below: dicts keep insertion order
        self._latest[key] = (alert.time, alert.summary, alert.service)
        if len(self._latest) > self.capacity:
            for old in list(self._latest)[: self.capacity // 10]:
                del self._latest[old]
                self._read_cache.pop(old, None)

    def named_by(self, entity: str | None, name: str) -> frozenset[str]:
        key = (entity or "", name)
        known = self._latest.get(key)
        if known is None:
            return _NOTHING
        cached = self._read_cache.get(key)
        if cached is not None and cached[0] == known[0]:
            return cached[1]
        found = self._read(known[1], known[2], key[0])
        self._read_cache[key] = (known[0], found)
        return found

    def _read(self, summary: str, service: str | None, entity: str) -> frozenset[str]:
        topo = self.topology
        own = service or topo.service_of(entity)
        found = set()
        for token in _TOKEN.findall(summary):
            if token in (own, entity):
                continue
            if token in topo.callees or token in topo.node_resources:
                found.add(token)
            else:
                other = topo.resource_service.get(token)
                if other and other != own:
                    found.add(other)
        return frozenset(found) if found else _NOTHING

    def __len__(self) -> int:
        return len(self._latest)
