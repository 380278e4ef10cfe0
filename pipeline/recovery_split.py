"""Cutting an incident by recovery time, and doing it while the rest of it still fires.

The alerts of one problem recover together: when it is fixed, its symptoms clear within a
minute or two of each other, while unrelated problems are fixed at unrelated times. So an
incident's alerts, sorted by recovery, are cut where consecutive recoveries lie more than a
gap apart (`recovery_groups`); `split_recovered` does it as the incident resolves.

How far apart is "apart" depends on how the problem spread (`spread_gap`): a fault that took
minutes to reach the callers of the callers of its service takes as long to clear from them
(retries drain, breakers close, queues empty), so the gap widens to `split_lag_factor` times
the longest onset lag between a member and the member of another service it joined through.

In alert storms a short problem that joined a long one would wait for the long one to end
before it is cut off, an hour later or never within a replay. `split_recovering` makes the
same cut as soon as it is known: a group that recovered with no other alert of the incident
recovering within the gap of it, and the gap has passed since its last recovery (whatever
still fires will recover later still: apart). It splits off when it holds neither the
incident's first alert nor half of its alerts (the incident keeps its problem: when most of
it recovers while a few alerts fire on, e.g. callers failing over while their dependency
stays down, that is one problem ending unevenly), and when the incident keeps at least
`rehome_split_min` alerts on the first alert's side. The part is open, like the incident
it left, and resolves (and may merge at resolution) on its own.
"""

from __future__ import annotations

import itertools
from operator import attrgetter
from typing import TYPE_CHECKING

from pipeline.incidents import OPEN, PENDING, RESOLVED, Incident, Member

if TYPE_CHECKING:
    from pipeline.correlator import Correlator
    from pipeline.rehome import Rehomer

_RECOVERY = attrgetter("status_time", "placed")
_PLACED = attrgetter("placed")
_NEVER = float("inf")


def recovery_groups(members: list[Member], gap: float) -> list[list[Member]]:
    """Members sorted by recovery (`status_time`), cut where consecutive recoveries lie more
    than `gap` apart."""
    groups: list[list[Member]] = [[members[0]]]
    for prev, m in itertools.pairwise(members):
        if m.status_time - prev.status_time > gap:
            groups.append([])
        groups[-1].append(m)
    return groups


def spread_gap(inc: Incident, gap: float, factor: float) -> float:
    """`gap`, widened to `factor` times the longest onset lag between a member and the
    member of another service it joined through (`Member.via`)."""
    if not factor:
        return gap
    members = inc.members
    longest = 0.0
    for m in members.values():
        if m.via is None or m.service is None:
            continue
        y = members.get(m.via)
        if y is not None and y.service is not None and y.service != m.service:
            lag = abs(m.onset - y.onset)
            if lag > longest:
                longest = lag
    return max(gap, factor * longest)


def split_recovered(rehome: Rehomer, corr: Correlator, inc: Incident, now: float) -> list[Incident]:
    """An incident whose alerts have all recovered, about to resolve: cut its members by
    recovery time where consecutive resolves lie more than `recovery_split_gap_s` (widened
    by the spread) apart, and give each group that recovered apart from the one holding the
    incident's first member (itself at least `rehome_split_min` members) an incident of its
    own, when it has at least `recovery_split_min` members that can move. Returns the new
    incidents (resolved, like `inc` is about to be)."""
    gap = rehome.recovery_split_gap_s
    if not gap or not rehome.enabled:
        return []
    members = sorted(inc.members.values(), key=_RECOVERY)
    if len(members) <= rehome.split_min:
        return []
    groups = recovery_groups(members, spread_gap(inc, gap, rehome.lag_factor))
    if len(groups) < 2:
        return []
    first = min(members, key=_PLACED)
    home = next(g for g in groups if first in g)
    if len(home) < rehome.split_min:
        return []  # a stray alert opened it (noise, a precursor): no problem to split from
    parts: list[Incident] = []
    for group in groups:
        if group is home:
            continue
        to = rehome.split_off(corr, inc, group, now)
        if to is None:
            continue
        # It was open as part of `inc` (since its own first alert), and resolves with it.
        opened = inc.opened_at if inc.opened_at is not None else to.start
        to.status, to.resolved_at = RESOLVED, to.last_resolve
        to.opened_at = max(opened, to.start)
        parts.append(to)
    rehome.recovery_splits += len(parts)
    return parts


def split_recovering(
    rehome: Rehomer, corr: Correlator, inc: Incident, now: float
) -> tuple[list[Incident], float]:
    """Split off what recovered apart from `inc` (open) while other alerts of it still fire.
    Returns the new incidents, and when the answer could next change if no alert of `inc`
    changes meanwhile (a group's gap passing)."""
    members = list(inc.members.values())
    recovered = sorted((m for m in members if not m.firing), key=_RECOVERY)
    if not recovered or len(members) <= rehome.split_min:
        return [], _NEVER
    gap = spread_gap(inc, rehome.recovery_split_gap_s, rehome.lag_factor)
    groups = recovery_groups(recovered, gap)
    due = groups[-1][-1].status_time + gap  # only the last group can still be growing
    if due <= now:
        due = _NEVER
    first = min(members, key=_PLACED)
    home: list[Member] | None = None
    if first.firing:
        kept = inc.firing
    else:
        home = next(g for g in groups if first in g)
        kept = len(home)
    if kept < rehome.split_min:
        return [], due
    parts: list[Incident] = []
    for group in groups:
        if group is home or group[-1].status_time > now - gap or len(group) * 2 >= len(members):
            continue
        to = rehome.split_off(corr, inc, group, now)
        if to is None:
            continue
        if to.status == PENDING:  # it was open as part of `inc`, since its own first alert
            opened = inc.opened_at if inc.opened_at is not None else to.start
            to.status, to.opened_at = OPEN, max(opened, to.start)
            to.changed()
            corr.out.touch(to)
        parts.append(to)
    rehome.recovering_splits += len(parts)
    return parts, due
