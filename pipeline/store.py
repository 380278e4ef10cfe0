"""The live incidents and the indexes the correlator searches them by.

Live means pending, open, or resolved but still inside its reopen window. Everything else has
been emitted as final and is gone from memory.
"""

from __future__ import annotations

from mypy_extensions import mypyc_attr

from pipeline.incidents import Incident, Member, incident_id


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class IncidentStore:
    def __init__(self) -> None:
        self.live: dict[str, Incident] = {}
        self.by_fp: dict[str, Incident] = {}
        self.by_service: dict[str, set[Incident]] = {}
        self.by_node: dict[str, set[Incident]] = {}
        self.by_resource: dict[str, set[Incident]] = {}
        self.by_name: dict[str, set[Incident]] = {}
        # Events of alerts that have no incident yet (e.g. a resolve delivered before its
        # firing): fingerprint -> [(alert id, event time)], attached when the alert is placed.
        self.orphans: dict[str, list[tuple[str, float]]] = {}
        self._seq = 0

    def create(self, first_alert_id: str, start: float) -> Incident:
        self._seq += 1
        inc = Incident(id=incident_id(first_alert_id), seq=self._seq, start=start)
        inc.last_onset = start
        self.live[inc.id] = inc
        return inc

    def index(self, inc: Incident, member: Member) -> None:
        self.by_fp[member.fingerprint] = inc
        if member.service:
            self.by_service.setdefault(member.service, set()).add(inc)
        if member.node:
            self.by_node.setdefault(member.node, set()).add(inc)
        if member.resource:
            self.by_resource.setdefault(member.resource, set()).add(inc)
        self.by_name.setdefault(member.name, set()).add(inc)

    def unindex(self, inc: Incident) -> None:
        for member in inc.members.values():
            if self.by_fp.get(member.fingerprint) is inc:
                del self.by_fp[member.fingerprint]
            for key, table in (
                (member.service, self.by_service),
                (member.node, self.by_node),
                (member.resource, self.by_resource),
                (member.name, self.by_name),
            ):
                if key is None:
                    continue
                bucket = table.get(key)
                if bucket is not None:
                    bucket.discard(inc)
                    if not bucket:
                        del table[key]

    def remove(self, inc: Incident) -> None:
        self.unindex(inc)
        self.live.pop(inc.id, None)

    def size(self) -> dict[str, int]:
        """State held, for memory accounting."""
        return {
            "live_incidents": len(self.live),
            "indexed_alerts": len(self.by_fp),
            "orphan_alerts": len(self.orphans),
        }
