"""What the core hands to its sinks. Stages record effects here; the runner drains them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mypy_extensions import mypyc_attr

from pipeline.incidents import Incident


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class Suppressed:
    """An alert event that ended in no incident, and why (silenced, inhibited, uncorrelated)."""

    alert_id: str
    reason: str
    time: float
    candidate: str | None = None  # the held candidate incident it was grouped into, if any


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class Outputs:
    # Incidents changed since the last drain, by id, in the order they first changed.
    changed: dict[str, Incident] = field(default_factory=dict)
    # Incidents that will never change again (evicted or merged away): sinks may let go.
    final: list[Incident] = field(default_factory=list)
    suppressed: list[Suppressed] = field(default_factory=list)
    predictions: list[dict[str, Any]] = field(default_factory=list)

    def touch(self, incident: Incident) -> None:
        self.changed.setdefault(incident.id, incident)

    def suppress(self, alert_id: str, reason: str, t: float, candidate: str | None = None) -> None:
        self.suppressed.append(Suppressed(alert_id, reason, t, candidate))
