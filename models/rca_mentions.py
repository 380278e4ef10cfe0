"""Which other services an alert names: "timeouts calling payments-db", "circuit breaker to
auth open", "slow calls to ts-route-service".

A caller's symptom often says what it is waiting for, even when that dependency raises no
alert of its own (a silent root). For a candidate, the ranker asks how many of the incident's
alerting services have an alert whose latest summary names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mypy_extensions import mypyc_attr

from pipeline.incidents import Member
from pipeline.mentions import NOTHING as _NOTHING
from pipeline.mentions import named_entities
from pipeline.topology import Topology


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
        found = named_entities(summary, member.service, member.resource, self.topology)
        if len(self._cache) >= self.capacity:
            self._cache.clear()
        self._cache[member.fingerprint] = (summary, found)
        return found
