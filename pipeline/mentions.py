"""Which other services and nodes an alert's text names: "timeouts calling payments-db",
"circuit breaker to auth open", "calls to ts-route-service stopped reporting".

A caller's symptom often says which dependency it is waiting for. The correlator reads it
when an alert arrives (a caller of two failing services links to both by topology; the one
it names is the one it suffers from), the root-cause ranker when it weighs a candidate.
"""

from __future__ import annotations

import re

from pipeline.topology import Topology

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*[A-Za-z0-9]")
NOTHING: frozenset[str] = frozenset()


def named_entities(
    text: str, service: str | None, resource: str | None, topology: Topology
) -> frozenset[str]:
    """The topology's services and nodes that `text` names, other than the alert's own
    service and resource; a named resource counts as its service."""
    if not text:
        return NOTHING
    own = service or topology.service_of(resource)
    found = set()
    for token in _TOKEN.findall(text):
        if token in (own, resource):
            continue
        if token in topology.callees or token in topology.node_resources:
            found.add(token)
        else:
            other = topology.resource_service.get(token)
            if other and other != own:
                found.add(other)
    return frozenset(found) if found else NOTHING
