"""Late correction for held warnings: precursors join the outage they announced.

Warnings below the opening severity are held (pipeline/lifecycle.py): alone they open
nothing, and once they have all recovered they are reported as suppressed. But some of them
were the first signs of an outage: a connection pool saturating on a pod for twenty minutes
before the pod crash-loops. When the outage arrives it is placed on its own evidence, and
the link model rarely ties it to warnings that started long before (the gap is far beyond
`window_s`, and in a busy system the warnings look like symptoms of whatever else alerts
below them). So an incident opens for the outage while its warnings stay held, and are
dropped as noise: the person on call never sees that the pod had been warning for twenty
minutes, and the evaluation counts every re-send of those warnings as a missed pair.

How they end tells them apart from unrelated warnings on the same pod: a precursor ends
with the outage it announced. So a held incident whose alerts have all recovered, before
it is reported as suppressed, joins the live incident (open, or resolved and still
remembered) that

- holds an alert on one of the held incident's entities (its resources, or services for
  alerts without one) more severe than every held alert, started after the first of them
  (something worse followed the warnings there), and
- whose recovered alerts on those entities have their median recovery within
  `announce_gap_s` of the held incident's median recovery.

Of several, the closest recovery wins. A held incident with a chronic alert (a repeat
offender, see dedup) announces nothing: a warning that flaps all day would otherwise end,
some day, within a minute of an outage on its pod. The incident keeps its id and is emitted
again with the warnings' alerts; the held incident was never emitted, so nothing else
changes for consumers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.incidents import OPEN, RESOLVED, Incident
from pipeline.rehome import recoveries

if TYPE_CHECKING:
    from pipeline.correlator import Correlator


def announced_by(corr: Correlator, held: Incident) -> Incident | None:
    """The live incident `held` (a held incident whose alerts all recovered) announced, if
    any (see the module docstring)."""
    gap = corr.cfg.announce_gap_s
    if not gap or not held.members or held.firing:
        return None
    if any(m.chronic for m in held.members.values()):
        return None  # a repeat offender announces nothing
    median = recoveries(held)[1]
    mine = {m.resource or m.service for m in held.members.values()}
    worst = held.severity
    # Only incidents with an alert on one of those entities can qualify: ask the indexes
    # rather than walk every live incident (this runs for every held group that expires).
    store = corr.store
    near: set[Incident] = set()
    for entity in mine:
        if entity is not None:
            near.update(store.by_resource.get(entity, ()))
            near.update(store.by_service.get(entity, ()))
    best: Incident | None = None
    best_gap = gap
    for other in sorted(near, key=lambda i: i.seq):
        if other is held or other.status not in (OPEN, RESOLVED) or other.severity <= worst:
            continue
        there = [m for m in other.members.values() if (m.resource or m.service) in mine]
        if not any(m.severity > worst and m.onset >= held.start for m in there):
            continue  # nothing worse started there after the warnings
        times = sorted(m.status_time for m in there if not m.firing)
        if not times:
            continue
        apart = abs(times[(len(times) - 1) // 2] - median)
        if apart <= best_gap:
            best, best_gap = other, apart
    return best
