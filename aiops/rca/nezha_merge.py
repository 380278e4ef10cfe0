"""How `aiops rca-bench` (aiops/rca/nezha_bench.py) turns a fault's incidents into one answer
by service: the services each root-cause candidate stands for (a replica its service, a node
that alerts itself the incident's services on it), merged over the incidents by score times
the incident's share of the fault's alerts."""

from __future__ import annotations

from typing import Any

from pipeline.incidents import Incident
from pipeline.topology import Topology


def _services_of(candidate: dict[str, Any], inc: Incident, topology: Topology) -> list[str]:
    """The services a candidate stands for: itself, a replica's service, or for a node that
    alerts itself the incident's services running on it (the benchmark is scored by
    service). A node that only hosts several alerting services stands for none: by service,
    it says nothing beyond those services' own candidacies, and at the node's score it would
    put whichever of them comes first ahead of the others' own ranking."""
    kind, entity = candidate["kind"], str(candidate["entity"])
    if kind == "service":
        return [entity]
    if kind == "resource":
        service = topology.service_of(entity)
        return [service] if service else []
    if kind == "node":
        if not candidate.get("signals", {}).get("node_itself"):
            return []
        on_node = inc.node_members.get(entity, ())
        services = {m.service for m in on_node if m.service}
        # The ranker's own order among them (their scores as candidates), then onset, name.
        score = {str(c["entity"]): c["score"] for c in inc.root_cause if c["kind"] == "service"}
        return sorted(services, key=lambda s: (-score.get(s, 0.0), inc.services[s], s))
    return []


def merged_candidates(found: list[tuple[Incident, int]], topology: Topology) -> list[str]:
    """The services the incidents' candidates stand for, best first by the sum over the
    incidents of each candidate's score times its incident's share of the alerts around the
    injection (see `aiops.rca.nezha_bench.rankings`).

    The sum, not the best of them: the incidents are alternative places the fault may be
    (weighed by their share), and within each a candidate's score is how likely it is the
    root there, so a service's chance is the total over the places it could be the root
    from (the law of total probability). When the correlator splits one problem, the root
    named in two of the pieces adds up, where the best piece alone could trail a noise
    incident's own lone service. Ties: the first order a node stands for it, then name."""
    total = sum(n for _, n in found) or 1
    score: dict[str, float] = {}
    first: dict[str, int] = {}
    for inc, n in found:
        for c in inc.root_cause:
            for order, service in enumerate(_services_of(c, inc, topology)):
                score[service] = score.get(service, 0.0) + c["score"] * n / total
                first[service] = min(first.get(service, order), order)
    return sorted(score, key=lambda s: (-score[s], first[s], s))
