"""Which other services an alert names: "timeouts calling payments-db", "circuit breaker to
auth open", "slow calls to ts-route-service".

A caller's symptom often says what it is waiting for, even when that dependency raises no
alert of its own (a silent root). For a candidate, the ranker asks how many of the incident's
alerting services have an alert whose latest summary names it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mypy_extensions import mypyc_attr

from pipeline.incidents import Member
from pipeline.topology import Topology

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*[A-Za-z0-9]")
_NOTHING: frozenset[str] = frozenset()


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class MentionIndex:
    """Reads, per alert (fingerprint), the services and nodes its latest summary names.

    The summaries are the dedup stage's alert states (`attach`): nothing is copied per event,
    and a summary is only read when an incident holding that alert is ranked."""

    def __init__(self, topology: Topology, capacity: int = 50_000) -> None:
        self.topology = topology
        self.capacity = capacity
        self.states: Mapping[str, Any] | None = None  # fingerprint -> state with .summary
        self._cache: dict[str, tuple[str, frozenset[str]]] = {}  # fp -> (summary, named)

    def attach(self, states: Mapping[str, Any]) -> None:
        self.states = states

    def named_by(self, member: Member) -> frozenset[str]:
        states = self.states
        state = states.get(member.fingerprint) if states is not None else None
        summary = getattr(state, "summary", "") if state is not None else ""
        if not summary:
            return _NOTHING
        cached = self._cache.get(member.fingerprint)
        if cached is not None and cached[0] == summary:
            return cached[1]
        found = self._read(summary, member.service, member.resource)
        if len(self._cache) >= self.capacity:
            self._cache.clear()
        self._cache[member.fingerprint] = (summary, found)
        return found

    def _read(self, summary: str, service: str | None, resource: str | None) -> frozenset[str]:
        topo = self.topology
        own = service or topo.service_of(resource)
        found = set()
        for token in _TOKEN.findall(summary):
            if token in (own, resource):
                continue
            if token in topo.callees or token in topo.node_resources:
                found.add(token)
            else:
                other = topo.resource_service.get(token)
                if other and other != own:
                    found.add(other)
        return frozenset(found) if found else _NOTHING
