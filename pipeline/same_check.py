"""Grouping by content: the same check failing on many entities at once.

An expired certificate, a DNS outage or clock skew makes one alert name fire on many hosts
within a minute, with no dependency edge between them. Incidents made only of that name,
started within `content_window_s`, join when the check now fails on more than
`content_min_services` entities. A check that already failed on that many entities in the
`content_baseline_s` before the burst is background (disks fill everywhere), not one cause.
"""

from __future__ import annotations

from collections import deque

from mypy_extensions import mypyc_attr

from pipeline.config import CorrelationConfig
from pipeline.incidents import Incident, Member


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class SameCheck:
    """Recent first firings per alert name, and the two questions the correlator asks."""

    def __init__(self, cfg: CorrelationConfig) -> None:
        self.cfg = cfg
        # alert name -> recent first firings (onset, entity) of alerts that are not chronic
        self._starts: dict[str, deque[tuple[float, str]]] = {}

    def record(self, m: Member) -> None:
        """Note a new, non-chronic alert's first firing."""
        if not m.chronic:
            entity = m.service or m.resource or m.node or ""
            self._starts.setdefault(m.name, deque()).append((m.onset, entity))

    def background(self, m: Member) -> bool:
        """Did this check already fail on several entities in the hour before the burst?
        Then it is background, not one cause hitting many hosts (chronic alerts never are)."""
        if m.chronic:
            return False
        c = self.cfg
        starts = self._starts.get(m.name)
        if not starts:
            return False
        while starts and starts[0][0] < m.onset - c.content_baseline_s:
            starts.popleft()
        limit, enough = m.onset - c.content_window_s, c.content_min_services
        before: set[str] = set()
        for t, e in starts:
            if t < limit:
                before.add(e)
                if len(before) > enough:  # the answer is known: stop counting
                    return True
        return False

    def burst(self, m: Member, candidates: list[Incident], background: bool) -> set[Incident]:
        """Incidents made only of alert `m.name` that started within the content window, when
        with `m` that check now fails on more than content_min_services entities."""
        c = self.cfg
        if m.chronic or background:
            return set()
        pure = [
            inc
            for inc in candidates
            if len(inc.names) == 1
            and m.name in inc.names
            and abs(m.onset - inc.last_onset) <= c.content_window_s
        ]
        if not pure:
            return set()
        entities = {m.service or m.resource or m.node}.union(*(inc.names[m.name] for inc in pure))
        entities.discard(None)
        return set(pure) if len(entities) > c.content_min_services else set()
