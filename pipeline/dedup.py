"""Dedup: give every alert event a stable identity and say what it means for that alert.

Identity is the fingerprint (upstream one verbatim, else Alertmanager's algorithm over the
identifying labels). For each event the stage answers one `Outcome`: a new alert, a full or
partial duplicate of a firing one, a resolve, a re-fire after a resolve, a late event that
must not move the state back, or a redelivery of an event id already seen. State per
fingerprint expires, so memory follows what is open, not the history.
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Final

from mypy_extensions import mypyc_attr

from pipeline.config import DedupConfig
from pipeline.fingerprint import alert_fingerprint
from pipeline.records import Alert


class Outcome:
    """What one event means for its alert. Plain string constants: the hot path compares
    and hashes them on every event, which Enum members make slow."""

    NEW: Final = "new"  # first firing of this fingerprint (or first since its state expired)
    REFIRE: Final = "refire"  # firing again after it had resolved
    DUPLICATE: Final = "duplicate"  # still firing, same content (a full duplicate)
    UPDATE: Final = "update"  # still firing, changed severity or summary (a partial duplicate)
    RESOLVE: Final = "resolve"  # firing -> resolved
    RESOLVE_AGAIN: Final = "resolve_again"  # a resolve of an alert already resolved
    UNSEEN_RESOLVE: Final = "unseen_resolve"  # a resolve (or ack) of an alert never seen firing
    ACK: Final = "ack"  # acknowledged by a person: folded, no state change
    LATE: Final = "late"  # older than the alert's last status change: folded, no state change
    REDELIVERED: Final = "redelivered"  # this exact event id was already processed: dropped


# Counted among "duplicates folded".
FOLDED = frozenset({Outcome.DUPLICATE, Outcome.UPDATE, Outcome.REFIRE, Outcome.LATE, Outcome.ACK})


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class AlertState:
    fingerprint: str
    name: str
    service: str | None
    resource: str | None
    firing: bool
    severity: str
    summary: str
    onset: float  # start of the current firing episode
    status_time: float  # time of the last status change
    last_time: float  # latest event time seen
    seen_firing: bool
    transitions: deque[float] = field(default_factory=deque)
    flapping: bool = False
    chronic: bool = False  # fired chronic_episodes times within chronic_window_s


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Deduplicator:
    """Stage 1 of correlation: identity and per-alert state."""

    def __init__(self, cfg: DedupConfig) -> None:
        self.cfg = cfg
        self._ignore = frozenset(cfg.ignore_labels)
        self.states: dict[str, AlertState] = {}
        # Start times of each alert's recent firing episodes (outlives the alert's state).
        self.episodes: dict[str, deque[float]] = {}
        # (episode start, fingerprint) of every episode counted, oldest first: the sweep
        # finds the histories to forget from here instead of scanning all of them. An entry
        # whose history has a later start since is skipped when it comes up.
        self._episode_heap: list[tuple[float, str]] = []
        self._seen_ids: dict[str, float] = {}  # insertion-ordered: oldest first
        self.counts: Counter[str] = Counter()
        self.by_source: dict[str, Counter[str]] = {}

    def fingerprint(self, alert: Alert) -> str:
        if alert.fingerprint:
            return alert.fingerprint
        return alert_fingerprint(
            alert.name, alert.service, alert.resource, alert.labels, self._ignore
        )

    def process(self, alert: Alert, fp: str) -> tuple[str, AlertState | None]:
        """Classify one event (its `time` must be set) and update the alert's state."""
        outcome, state = self._classify(alert, fp)
        self.counts[outcome] += 1
        per_source = self.by_source.get(alert.source)
        if per_source is None:
            per_source = self.by_source[alert.source] = Counter()
        per_source["events"] += 1
        if outcome in FOLDED:
            per_source["duplicates"] += 1
        return outcome, state

    def _classify(self, alert: Alert, fp: str) -> tuple[str, AlertState | None]:
        if alert.id in self._seen_ids:
            return Outcome.REDELIVERED, self.states.get(fp)
        t = alert.time
        assert t is not None
        self._seen_ids[alert.id] = t
        state = self.states.get(fp)
        if state is None:
            state = AlertState(
                fingerprint=fp,
                name=alert.name,
                service=alert.service,
                resource=alert.resource,
                firing=alert.status == "firing",
                severity=alert.severity,
                summary=alert.summary,
                onset=t,
                status_time=t,
                last_time=t,
                seen_firing=alert.status == "firing",
            )
            self.states[fp] = state
            if state.firing:
                self._episode(state, t)
                return Outcome.NEW, state
            return Outcome.UNSEEN_RESOLVE, state
        if t > state.last_time:
            state.last_time = t
        status = alert.status
        if status == "firing":
            return self._firing(alert, state, t), state
        if status == "acknowledged":
            return (Outcome.ACK if state.seen_firing else Outcome.UNSEEN_RESOLVE), state
        return self._resolved(state, t), state

    def _firing(self, alert: Alert, state: AlertState, t: float) -> str:
        if state.firing and state.seen_firing:  # a re-send of a firing alert: most events
            if t < state.onset:
                state.onset = t
            if alert.severity != state.severity or alert.summary != state.summary:
                state.severity, state.summary = alert.severity, alert.summary
                return Outcome.UPDATE
            return Outcome.DUPLICATE
        if not state.seen_firing:
            # Its resolve was delivered first. A firing from before that resolve is the late
            # start of the episode it ended; one from after it fires again (the episode the
            # resolve ended was never delivered): it is firing now.
            state.seen_firing = True
            state.onset = t
            if t > state.status_time:
                state.firing = True
                state.status_time = t
            state.name, state.service, state.resource = alert.name, alert.service, alert.resource
            state.severity, state.summary = alert.severity, alert.summary
            self._episode(state, t)
            return Outcome.NEW
        if t < state.status_time:
            return Outcome.LATE
        state.firing = True
        state.onset = t
        state.severity, state.summary = alert.severity, alert.summary
        self._transition(state, t)
        self._episode(state, t)
        return Outcome.REFIRE

    def _resolved(self, state: AlertState, t: float) -> str:
        if not state.seen_firing:
            return Outcome.UNSEEN_RESOLVE
        if not state.firing:
            return Outcome.RESOLVE_AGAIN
        if t < state.status_time:
            return Outcome.LATE
        state.firing = False
        self._transition(state, t)
        return Outcome.RESOLVE

    def _episode(self, state: AlertState, t: float) -> None:
        """Count a firing episode: an alert that keeps coming back is chronic."""
        starts = self.episodes.get(state.fingerprint)
        if starts is None:
            starts = self.episodes[state.fingerprint] = deque()
        starts.append(t)
        heapq.heappush(self._episode_heap, (t, state.fingerprint))
        horizon = t - self.cfg.chronic_window_s
        while starts and starts[0] < horizon:
            starts.popleft()
        state.chronic = len(starts) >= self.cfg.chronic_episodes

    def _transition(self, state: AlertState, t: float) -> None:
        state.status_time = t
        window = self.cfg.flap_window_s
        state.transitions.append(t)
        while state.transitions and state.transitions[0] < t - window:
            state.transitions.popleft()
        state.flapping = len(state.transitions) >= self.cfg.flap_threshold

    def remembered_ids(self) -> int:
        return len(self._seen_ids)

    def sweep(self, now: float) -> list[AlertState]:
        """Expire old state; return firing alerts that timed out (now treated as resolved)."""
        timed_out: list[AlertState] = []
        expired: list[str] = []
        cfg = self.cfg
        flap_window, timeout, ttl = cfg.flap_window_s, cfg.alert_timeout_s, cfg.resolved_ttl_s
        for fp, state in self.states.items():
            if state.flapping and now - state.transitions[-1] >= flap_window:
                state.flapping = False
            if state.firing:
                if now - state.last_time >= timeout:
                    state.firing = False
                    state.status_time = state.last_time + timeout
                    timed_out.append(state)
                    self.counts["timed_out"] += 1
            elif now - state.last_time >= ttl:
                expired.append(fp)
        for fp in expired:
            del self.states[fp]
        # Forget the histories whose latest start is older than the chronic window.
        old = now - self.cfg.chronic_window_s
        heap, episodes = self._episode_heap, self.episodes
        while heap and heap[0][0] < old:
            _, fp = heapq.heappop(heap)
            starts = episodes.get(fp)
            if starts is not None and starts[-1] < old:
                del episodes[fp]
        horizon = now - self.cfg.redelivery_window_s
        seen = self._seen_ids
        # Ids arrive roughly in time order; stop at the first one still inside the window.
        stale = []
        for alert_id, t in seen.items():
            if t >= horizon:
                break
            stale.append(alert_id)
        for alert_id in stale:
            del seen[alert_id]
        return timed_out
