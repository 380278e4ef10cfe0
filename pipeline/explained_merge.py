"""Late correction at resolution, the merge by explanation: a fragment of a problem joins the
older incident that explains it.

In alert storms and on wide topologies one problem often ends up in several incidents: its
symptoms on callers arrive while other problems' incidents are closer in time, or they
split off at resolution from an incident they had wrongly joined. The recovery merge
(`Rehomer.merge_recovered`) joins such fragments only when they recovered within
`recovery_merge_gap_s` and half of each within that gap of the other; within one problem,
recoveries spread over a minute or two, so it misses many. This merge is wider in time but
narrower in what it accepts: every service of the fragment depends (within `max_hops`) on a
service of the other incident, that incident started first (and holds two alerts or more:
a root incident is often smaller than its cascade's fragments, a node's few alerts against
the many of the services on it), and their median recoveries lie within
`recovery_explain_gap_s`, or the fragment's lies within `recovery_merge_gap_s` of the
median recovery of that incident's alerts on the fragment's own resources (a root's own
alerts placed apart: they clear with the root's alerts there, while the cascade in that
incident clears minutes later). A fragment so explained is a cascade (or a piece of the
root) of the other's problem that ended with it. Of several, the closest recovery wins.

The merge is judged when the fragment is about to resolve, and needs the other incident's
alerts all recovered by then. When the other still had one firing (or held another
problem's alerts, split off only at its own resolution), the fragment resolved alone; so an
incident about to resolve also takes the fragments it explains that resolved before it
(`explained_fragments`), by the same tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.incidents import OPEN, RESOLVED, Incident
from pipeline.rehome import recoveries

if TYPE_CHECKING:
    from pipeline.correlator import Correlator


def _explains(corr: Correlator, cause: Incident, part: Incident) -> bool:
    """Every service of `part` is one of `cause`'s or depends on one within max_hops."""
    if not part.services:
        return False
    topo, hops, theirs = corr.topology, corr.cfg.max_hops, cause.services
    return all(
        svc in theirs or any(dep in theirs for dep in topo.downstream(svc, hops))
        for svc in part.services
    )


def _entities(inc: Incident) -> set[str | None]:
    """The resources of `inc`'s alerts (the service for an alert without one)."""
    return {m.resource or m.service for m in inc.members.values()}


def _same_entities_apart(other: Incident, mine: set[str | None], median: float) -> float:
    """How far a fragment's median recovery lies from the median recovery of `other`'s alerts
    on the fragment's entities `mine` (infinite when it holds none): an entity's
    alerts clear together when its problem is fixed, while the callers of a cascade clear
    minutes later, so a root's own alerts placed apart from its incident are judged against
    the root's alerts there. By resource, not service: two replicas of a service on two
    failing nodes clear with their own nodes."""
    times = sorted(
        m.status_time for m in other.members.values() if (m.resource or m.service) in mine
    )
    return abs(times[(len(times) - 1) // 2] - median) if times else float("inf")


def merge_explained(
    corr: Correlator, part: Incident, avoid: Incident | None = None
) -> Incident | None:
    """Merge `part`, whose alerts have all recovered and which is about to resolve, into the
    live incident that explains it (see the module docstring); never into `avoid` (the
    incident it was just split from). Returns the incident that holds both (the older), or
    None when nothing merged."""
    gap = corr.cfg.recovery_explain_gap_s
    if not gap or not corr.rehome.enabled or not part.members:
        return None
    median = recoveries(part)[1]
    together = corr.rehome.recovery_merge_gap_s
    mine: set[str | None] | None = None  # the fragment's entities, once needed
    best: Incident | None = None
    best_gap = gap
    for other in sorted(corr.store.live.values(), key=lambda i: i.seq):
        if (
            other is part
            or other is avoid
            or other.status not in (OPEN, RESOLVED)
            or other.firing
            or len(other.members) < 2
            or other.start > part.start
        ):
            continue
        apart = abs(recoveries(other)[1] - median)
        if apart > best_gap and together:
            if mine is None:
                mine = _entities(part)
            same = _same_entities_apart(other, mine, median)
            if same <= together:
                apart = same
        if apart <= best_gap and _explains(corr, other, part):
            best, best_gap = other, apart
    if best is None:
        return None
    return corr.rehome.merge_resolving(corr, [part, best])


def explained_fragments(corr: Correlator, cause: Incident) -> list[Incident]:
    """The other direction, for `cause` about to resolve: live incidents that started after
    it, whose alerts have all recovered, that it explains and whose median recovery lies
    within `recovery_explain_gap_s` of its own. Fragments of its problem that went quiet
    first: when they were about to resolve, `cause` still had alerts firing (or held another
    problem's alerts, split off only now), so `merge_explained` could not take them."""
    gap = corr.cfg.recovery_explain_gap_s
    if not gap or not corr.rehome.enabled or not cause.members or cause.firing:
        return []
    median = recoveries(cause)[1]
    found = []
    for other in sorted(corr.store.live.values(), key=lambda i: i.seq):
        if (
            other is cause
            or other.status not in (OPEN, RESOLVED)
            or other.firing
            or not other.members
            or other.start < cause.start
        ):
            continue
        if abs(recoveries(other)[1] - median) <= gap and _explains(corr, cause, other):
            found.append(other)
    return found
