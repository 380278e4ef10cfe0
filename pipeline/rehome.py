"""Late correction: an alert placed on a close call moves if it recovers with another problem.

The correlator decides each alert when it arrives, and the alerts after it link through it,
so one wrong call drags a cascade along. In alert storms and dense outages many such calls
are close: the alert's service depends on several things alerting for different problems at
once, and the evidence at arrival cannot tell them apart (a second look a few minutes later
with the same evidence picked the right incident no more often than the first).

What does tell them apart is how they end: the alerts of one problem recover together. So an
alert that joined an incident while another candidate scored within `rehome_ambiguity` of
it is watched. `rehome_delay_s` after it resolves (time for the alerts recovering with it to
say so), it is weighed again against the live incidents, and against its own as if it and
the alerts that joined through it (its followers: members whose best link was to it, or to
one of them) had never joined. If another incident it still links to (the link model accepts
it) holds an alert that recovered within `rehome_gap_s` of it, `rehome_ratio` times closer
than any alert left in its own, it moves there, with those followers that also recovered
closer to that incident than to their own. Both incidents are emitted again: the one they
left no longer lists their alert ids, so no alert is in two incidents' latest versions.

A split is the same look for any alert that joined an incident (close call or not): a new
problem starting on a service already alerting for another one joins it, with its whole
cascade behind it. When nothing left in its incident recovered within `rehome_split_gap_s`
of it, and at least `rehome_split_min - 1` of its followers recovered with it, they become an
incident of their own, named after the alert's first event like any new incident. That is
judged once `rehome_split_gap_s` has passed since it resolved (before, alerts still to
recover could fall within the gap); if its incident has resolved by then, the split at
resolution (`recovery_split_gap_s`, over all its alerts) has decided instead.

The cuts by recovery time, at resolution and while an incident still fires, live in
pipeline/recovery_split.py (through `split_off` here); both split gaps widen with how slowly
the problem spread (`spread_gap` there).

Bounds: one look per alert, only within `rehome_track_s` of its placement, only resolves
already seen. Checks run by (due time, placement order), so the same input gives the same
incidents and ids.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable
from typing import TYPE_CHECKING

from mypy_extensions import mypyc_attr

from pipeline.config import CorrelationConfig
from pipeline.incidents import OPEN, PENDING, RESOLVED, Incident, Member
from pipeline.recovery_split import spread_gap

if TYPE_CHECKING:
    from pipeline.correlator import Correlator

_LIVE = (OPEN, PENDING)


def recoveries(inc: Incident) -> tuple[list[float], float]:
    """The recovery times of an incident's members, sorted, and their (lower) median."""
    times = sorted(m.status_time for m in inc.members.values())
    return times, times[(len(times) - 1) // 2]


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Rehomer:
    """Watched close calls, their pending second looks, and the alert events of the members
    that could move (watched ones and their followers)."""

    def __init__(self, cfg: CorrelationConfig) -> None:
        self.enabled = cfg.rehome
        self.ambiguity = cfg.rehome_ambiguity
        self.delay_s = cfg.rehome_delay_s
        self.track_s = cfg.rehome_track_s
        self.gap_s = cfg.rehome_gap_s
        self.ratio = cfg.rehome_ratio
        self.split_gap_s = cfg.rehome_split_gap_s
        self.split_min = cfg.rehome_split_min
        self.recovery_split_gap_s = cfg.recovery_split_gap_s
        self.recovery_split_min = cfg.recovery_split_min
        self.lag_factor = cfg.split_lag_factor
        # Open incidents with a recovered alert, for the split while they still fire
        # (pipeline.recovery_split), by id.
        self.early = cfg.rehome and cfg.recovery_split_early and cfg.recovery_split_gap_s > 0
        # Each with when to look again unless (version, firing count) changes first.
        self.recovering: dict[str, tuple[Incident, float, tuple[int, int]]] = {}
        self.recovering_splits = 0
        self.recovery_splits = 0  # incidents split off at resolution
        self.recovery_merge_gap_s = cfg.recovery_merge_gap_s
        self.recovery_merges = 0  # incidents merged at resolution
        self.placed = 0  # placement counter (Member.placed)
        self.moves = 0  # alerts moved
        self.watched: dict[str, tuple[int, bool]] = {}  # fingerprint -> (placed, close call)
        # Alert event ids of the members that could move: what moves with them.
        self.events: dict[str, list[str]] = {}
        # The same for a member left in its incident when its alert fired again and was
        # placed afresh (by its `placed` number): that episode can still split off.
        self.past: dict[int, list[str]] = {}
        self._past_recent: deque[tuple[float, int]] = deque()
        self._recent: deque[tuple[float, str]] = deque()  # (clock at placement, fingerprint)
        # heap of (due time, placed, fingerprint, close call)
        self._due: list[tuple[float, int, str, bool]] = []
        self.next_due = float("inf")  # the earliest due time: the engine asks it per event

    def placed_one(
        self, member: Member, alert_id: str, now: float, close_call: bool, joined: bool
    ) -> None:
        """Number a new member; watch it if it joined on a close call, and record its events
        if it could move (watched, or joined through a member that could)."""
        self.placed += 1
        member.placed = self.placed
        if not self.enabled:
            return
        fp = member.fingerprint
        if close_call or (joined and self.split_gap_s > 0):
            self.watched[fp] = (member.placed, close_call)
        elif not (joined and self.recovery_split_gap_s) and (
            member.via is None or member.via not in self.events
        ):
            # Not recorded: forget what an earlier episode of this alert left, so that only
            # this episode's events could ever move with it.
            self.events.pop(fp, None)
            self.watched.pop(fp, None)
            return
        self.events[fp] = [alert_id]
        self._recent.append((now, fp))

    def retire(self, member: Member, now: float) -> None:
        """The member's alert fired again and is about to be placed afresh: keep its
        recorded events apart, so a split at resolution can still move this episode."""
        events = self.events.pop(member.fingerprint, None)
        if events is not None:
            self.past[member.placed] = events
            self._past_recent.append((now, member.placed))

    def _events_of(
        self, corr: Correlator, inc: Incident, member: Member, present: set[str] | None = None
    ) -> list[str] | None:
        """The recorded events of `inc`'s member, if it can move: only those `inc` still
        holds (`present`: its alert ids, when the caller asks for several members). After
        merges two members of one alert can meet in one incident, and an episode's events
        (the current one's too) must never move out of another."""
        if corr.store.by_fp.get(member.fingerprint) is inc:
            recorded = self.events.get(member.fingerprint)
        else:
            recorded = self.past.get(member.placed)
        if recorded is None:
            return None
        if present is None:
            present = set(inc.alert_ids)
        return [a for a in recorded if a in present] or None

    def recovered(self, inc: Incident) -> None:
        """One of `inc`'s alerts recovered: weigh a split while the rest still fires."""
        if self.early:
            self.recovering[inc.id] = (inc, 0.0, (-1, -1))

    def resolved(self, fp: str, t: float) -> None:
        """A watched member resolved at `t`: look again once its peers had time to recover."""
        watch = self.watched.pop(fp, None)
        if watch is not None:
            heapq.heappush(self._due, (t + self.delay_s, watch[0], fp, watch[1]))
            self.next_due = self._due[0][0]

    def forget(self, now: float) -> None:
        """Stop watching and recording members placed longer than track_s ago."""
        horizon = now - self.track_s
        recent = self._recent
        while recent and recent[0][0] < horizon:
            fp = recent.popleft()[1]
            self.events.pop(fp, None)
            self.watched.pop(fp, None)
        past = self._past_recent
        while past and past[0][0] < horizon:
            self.past.pop(past.popleft()[1], None)

    def run(self, corr: Correlator, now: float) -> list[Incident]:
        """Run the second looks due at `now`; return the incidents that changed."""
        changed: list[Incident] = []
        queue = self._due
        while queue and queue[0][0] <= now:
            _, placed, fp, close = heapq.heappop(queue)
            changed.extend(self.check(corr, fp, placed, close, now))
        self.next_due = queue[0][0] if queue else float("inf")
        return changed

    def check(
        self, corr: Correlator, fp: str, placed: int, close: bool, now: float
    ) -> list[Incident]:
        home = corr.store.by_fp.get(fp)
        if home is None or home.status not in _LIVE or fp not in self.events:
            return []
        member = home.members.get(fp)
        if member is None or member.placed != placed or member.firing:
            return []  # placed afresh since, or firing again
        moving = self._followers(corr, home, member)
        if len(moving) == len(home.members):
            return []
        left = [m for m in home.members.values() if m.fingerprint not in moving]
        home_gap = self._recovery_gap(left, member, now)
        to = self._destination(corr, home, moving, member, now) if close else None
        if (
            to is not None
            and self._recovery_gap(to.members.values(), member, now) * self.ratio < home_gap
        ):
            peers = list(to.members.values())
        elif self.split_gap_s and home_gap >= (
            gap := spread_gap(home, self.split_gap_s, self.lag_factor)
        ):
            if now < member.status_time + gap:
                # Alerts may yet recover within the gap: judge it once the gap has passed.
                heapq.heappush(self._due, (member.status_time + gap, placed, fp, False))
                return []
            to, peers = None, [member]  # a split: a new incident, the member its first peer
        else:
            return []
        # A follower goes along only if it, too, recovered closer to the alerts there (and
        # its events are still recorded).
        events: dict[str, list[str]] = {}
        present = set(home.alert_ids)
        for f in moving:
            m = home.members[f]
            e = self._events_of(corr, home, m, present)
            if e is not None and (
                f == fp
                or (
                    not m.firing
                    and self._recovery_gap(peers, m, now) < self._recovery_gap(left, m, now)
                )
            ):
                events[f] = e
        if len(events) == len(home.members) or (to is None and len(events) < self.split_min):
            return []
        if to is None:
            to = corr.store.create(events[fp][0], member.onset)
        self._move(corr, home, to, events, now)
        return [home, to]

    def _destination(
        self, corr: Correlator, home: Incident, moving: set[str], member: Member, now: float
    ) -> Incident | None:
        """The other live incident the member still links to (weighed against its own as if
        it and its followers had never joined) holding the alert that recovered closest to
        it, within gap_s; None if there is none."""
        shadow = home.without(moving)
        common = corr.same_check.background(member)
        candidates = [shadow if inc is home else inc for inc in corr._candidates(member, common)]
        recorder, corr.recorder = corr.recorder, None
        try:
            weighed = corr._weigh(member, candidates, common)
        finally:
            corr.recorder = recorder
        best: Incident | None = None
        best_key = (self.gap_s, 0)
        for inc, _, _, _, ok in weighed:
            if ok and inc is not shadow:
                key = (self._recovery_gap(inc.members.values(), member, now), inc.seq)
                if key[0] <= best_key[0] and (best is None or key < best_key):
                    best, best_key = inc, key
        return best

    def split_off(
        self, corr: Correlator, inc: Incident, group: list[Member], now: float
    ) -> Incident | None:
        """Move the members of `group` that can move (their events are recorded, an earlier
        episode of an alert placed afresh since too) out of `inc` into a new incident, named
        after the first placed of them; None when fewer than `recovery_split_min` can."""
        present = set(inc.alert_ids)  # afresh: an earlier group's move took some
        events = {
            m.fingerprint: e
            for m in group
            if (e := self._events_of(corr, inc, m, present)) is not None
        }
        if len(events) < self.recovery_split_min:
            return None
        lead = min((inc.members[f] for f in events), key=lambda m: m.placed)
        to = corr.store.create(events[lead.fingerprint][0], lead.onset)
        self._move(corr, inc, to, events, now)
        return to

    def merge_recovered(self, corr: Correlator, inc: Incident) -> Incident | None:
        """An incident whose alerts have all recovered, about to resolve: merge it with the
        live incidents (resolved, or with every alert recovered) whose alerts recovered with
        its own (their median resolves within `recovery_merge_gap_s`, and at least half of
        each incident's alerts within that gap of the other's median) and that it touches
        in the topology (a shared service or node, or a direct dependency). Returns the
        incident that holds them (the oldest), or None when nothing merged."""
        gap = self.recovery_merge_gap_s
        if not gap or not self.enabled or len(inc.members) < 2:
            return None
        mine, median = recoveries(inc)
        near: set[str] = set(inc.nodes)
        topo = corr.topology
        for svc in inc.services:
            near.add(svc)
            near.update(topo.downstream(svc, 1))
            near.update(topo.upstream(svc, 1))
        together: list[Incident] = []
        for other in sorted(corr.store.live.values(), key=lambda i: i.seq):
            if (
                other is inc
                or other.status not in (OPEN, RESOLVED)
                or other.firing
                or len(other.members) < 2
                or (near.isdisjoint(other.services) and near.isdisjoint(other.nodes))
            ):
                continue
            theirs, their_median = recoveries(other)
            if abs(their_median - median) > gap:
                continue
            if sum(abs(t - their_median) <= gap for t in mine) * 2 >= len(mine) and sum(
                abs(t - median) <= gap for t in theirs
            ) * 2 >= len(theirs):
                together.append(other)
        if not together:
            return None
        return self.merge_resolving(corr, [inc, *together])

    def merge_resolving(self, corr: Correlator, incidents: list[Incident]) -> Incident:
        """Merge incidents at resolution (the first about to resolve) into the oldest; a
        resolved survivor takes the last resolve of what it now holds."""
        survivor = corr._merge(incidents)
        self.recovery_merges += len(incidents) - 1
        if survivor.status == RESOLVED:
            survivor.resolved_at = survivor.last_resolve
            survivor.changed()
        return survivor

    @staticmethod
    def _recovery_gap(members: Iterable[Member], member: Member, now: float) -> float:
        """Seconds between the member's resolve and the closest resolve (seen by `now`) of
        another of `members`; infinite when none has resolved."""
        t = member.status_time
        gaps = [
            abs(m.status_time - t)
            for m in members
            if not m.firing and m is not member and m.status_time <= now
        ]
        return min(gaps, default=float("inf"))

    def _followers(self, corr: Correlator, home: Incident, member: Member) -> set[str]:
        """The member and those that joined after it linking through it, directly or not.
        A member whose alert fired again later and was placed afresh elsewhere comes along
        only with its earlier episode's events recorded (see `retire`)."""
        moving = {member.fingerprint}
        by_fp = corr.store.by_fp
        for m in sorted(home.members.values(), key=lambda m: m.placed):
            if (
                m.placed > member.placed
                and m.via in moving
                and (by_fp.get(m.fingerprint) is home or m.placed in self.past)
            ):
                moving.add(m.fingerprint)
        return moving

    def _move(
        self,
        corr: Correlator,
        home: Incident,
        to: Incident,
        events: dict[str, list[str]],
        now: float,
    ) -> None:
        """Move members (the fingerprints of `events`) with those recorded events from `home`
        to `to`."""
        store = corr.store
        members = sorted((home.members[f] for f in events), key=lambda m: m.placed)
        owners = {m.fingerprint: store.by_fp.get(m.fingerprint) for m in members}
        ids = [a for m in members for a in events[m.fingerprint]]
        store.unindex(home)
        home.drop(set(events), set(ids))
        by_fp = store.by_fp
        for m in home.members.values():
            owner = by_fp.get(m.fingerprint)  # set: it fired again and was placed elsewhere
            store.index(home, m)
            if owner is not None:
                by_fp[m.fingerprint] = owner
        for m in members:
            episode = events[m.fingerprint]
            to.add_member(m, episode[0], now)
            to.alert_ids.extend(episode[1:])
            store.index(to, m)
            owner = owners[m.fingerprint]
            if owner is not None and owner is not home:
                store.by_fp[m.fingerprint] = owner  # an earlier episode: the alert is there now
        to.stale_rca = True
        self.moves += len(members)
        corr._maybe_open(to, now)
        for inc in (home, to):
            if inc.status != PENDING:
                corr.out.touch(inc)
