"""Evidence a person can check, written for the candidates that are shown.

Every clause states a fact of the incident (who alerted when, who depends on whom, which
change came when, which past incident looked alike), never a model weight, so a problem
manager can verify it against the alerts, the topology and the change calendar.
"""

from __future__ import annotations

from collections.abc import Callable

from mypy_extensions import mypyc_attr

from models.rca_history import PastCase
from models.rca_signals import EntityCandidate
from pipeline.incidents import Incident
from pipeline.records import SEVERITIES, Change
from pipeline.times import format_time
from pipeline.topology import Topology


def ago(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 0):.0f} s"
    return f"{seconds / 60:.0f} min"


def when(before: float) -> str:
    return f"{ago(before)} before onset" if before >= 0 else f"{ago(-before)} after onset"


def _names(items: list[str], limit: int = 3) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def change_evidence(change: Change, entity: str, onset: float) -> str:
    text = f"{change.type} {change.id} on {entity} {when(onset - change.time)}"
    return text + (f" ({change.summary})" if change.summary else "")


def history_evidence(case: PastCase, similarity: float, count: int) -> str:
    what = "ticket" if case.source == "ticket" else "incident"
    text = f"a similar past {what} {case.key} ({similarity:.0%} alike"
    if case.title:
        text += f", {case.title!r}"
    text += f") had root {case.root}"
    if case.resolution:
        text += f", resolved: {case.resolution}"
    if count > 1:
        text += f"; {count - 1} more similar with the same root"
    return text


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class EvidenceWriter:
    def __init__(self, topology: Topology, hops: int, likeness: Callable[[str], float]) -> None:
        self.topology = topology
        self.hops = hops
        self.likeness = likeness

    def write(
        self,
        inc: Incident,
        cand: EntityCandidate,
        changes: list[Change],
        history: tuple[float, PastCase, int] | None,
    ) -> str:
        if cand.kind == "node":
            parts = self._node(inc, cand)
        elif cand.signals.get("silent"):
            parts = self._quiet(inc, cand)
        else:
            parts = self._service(inc, cand)
        if cand.named_by:
            parts.append(f"alerts of {_names(cand.named_by)} name it")
        for c in changes[-1:]:
            parts.append(change_evidence(c, cand.entity, cand.onset))
        if history is not None:
            parts.append(history_evidence(history[1], history[0], history[2]))
        return "; ".join(parts)

    def _service(self, inc: Incident, cand: EntityCandidate) -> list[str]:
        entity = cand.entity
        onset = inc.services[entity]
        others = [s for s in inc.services if s != entity]
        down = self.topology.downstream(entity, self.hops)
        alerting_deps = sorted(s for s in others if s in down)
        members = inc.service_members[entity]
        worst = max(members, key=lambda m: (m.severity, -m.onset))
        parts = []
        if onset == inc.start:
            parts.append(f"{entity} alerted first ({format_time(onset)})")
        else:
            parts.append(f"{entity} alerted {ago(onset - inc.start)} after the first alert")
        if others:
            parts.append(
                f"{len(cand.explained)} of the {len(others)} other alerting services depend on it"
            )
        if alerting_deps:
            parts.append(f"its dependencies {_names(alerting_deps)} alert too")
        elif self.topology.downstream(entity, 1):
            parts.append("none of its dependencies alert")
        parts.append(f"worst alert {SEVERITIES[worst.severity]} ({worst.name})")
        names = sorted({m.name for m in members})
        causal = min(names, key=lambda n: (self.likeness(n), n))
        share = 1.0 - self.likeness(causal)
        if share >= 0.6:
            parts.append(
                f"{causal} usually starts problems ({share:.0%} of the time nothing "
                "below it alerts)"
            )
        return parts

    def _quiet(self, inc: Incident, cand: EntityCandidate) -> list[str]:
        callers = sorted(s for s in self.topology.callers.get(cand.entity, ()) if s in inc.services)
        parts = [f"{cand.entity} raises no alert itself"]
        if callers:
            parts.append(
                f"it is called by alerting {_names(callers)}, whose other dependencies are quiet"
            )
        others = len(inc.services)
        if others:
            parts.append(f"{len(cand.explained)} of the {others} alerting services depend on it")
        return parts

    def _node(self, inc: Incident, cand: EntityCandidate) -> list[str]:
        node = cand.entity
        on_node = inc.node_members[node]
        services = sorted({m.service for m in on_node if m.service})
        parts = [f"{len(services)} alerting services run on {node} ({_names(services, 4)})"]
        itself = [m for m in on_node if m.resource == node]
        if itself:
            parts.append(f"{node} itself alerts {itself[0].name}")
        hosted = self.topology.node_resources.get(node, set())
        alerting = {m.resource for m in on_node if m.resource in hosted}
        if hosted:
            parts.append(f"{len(alerting)} of the {len(hosted)} resources on it alert")
        return parts
