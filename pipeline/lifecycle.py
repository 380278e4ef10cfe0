"""Time-driven incident transitions, checked as event time advances.

open -> resolved: every alert resolved and none fired for `resolve_quiet_s`.
resolved -> final: the reopen window passed; the incident is emitted one last time and
forgotten. pending -> suppressed: held alerts that never met the opening rule are reported as
suppressed once quiet, or once the cluster is `pending_ttl_s` old. Orphan events (a resolve
for an alert in no incident) that no firing claimed within the correlation window are
suppressed too.
"""

from __future__ import annotations

from collections.abc import Callable

from mypy_extensions import mypyc_attr

from pipeline.config import CorrelationConfig, IncidentConfig
from pipeline.incidents import OPEN, PENDING, RESOLVED, Incident
from pipeline.outputs import Outputs
from pipeline.records import SEVERITIES
from pipeline.store import IncidentStore

_ORPHAN_REASON = "resolve or acknowledge of an alert in no incident"


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class Lifecycle:
    def __init__(
        self, icfg: IncidentConfig, ccfg: CorrelationConfig, store: IncidentStore, out: Outputs
    ) -> None:
        self.icfg = icfg
        self.orphan_ttl = ccfg.window_s
        self.store = store
        self.out = out
        self.resolved = 0
        self.expired_pending = 0
        # Called with an open incident whose alerts all recovered, just before it resolves
        # (the engine's late correction by recovery time).
        self.before_resolve: Callable[[Incident, float], None] | None = None
        # Called with a held incident whose alerts all recovered, before it is reported as
        # suppressed; True when it joined another incident instead (the announced merge).
        self.before_expire: Callable[[Incident, float], bool] | None = None
        self._pending_reason = (
            f"held: below {icfg.open_min_severity} and fewer than {icfg.open_min_alerts} "
            "correlated alerts"
        )

    def sweep(self, now: float) -> None:
        cfg = self.icfg
        # Runs every sweep over every live incident: settings read once, cheap tests first.
        quiet_s, pending_ttl = cfg.resolve_quiet_s, cfg.pending_ttl_s
        forget_after = cfg.reopen_window_s + cfg.resolve_quiet_s
        for inc in list(self.store.live.values()):
            status = inc.status
            quiet = inc.firing == 0 and now - inc.last_resolve >= quiet_s
            if status == PENDING:
                if quiet or now - inc.start >= pending_ttl:
                    self._expire_or_join(inc, now)
                continue
            if status == OPEN and quiet:
                if self.before_resolve is not None:
                    self.before_resolve(inc, now)
                    if inc.status != OPEN:
                        continue  # merged into another incident
                inc.status = status = RESOLVED
                inc.resolved_at = inc.last_resolve
                inc.changed()
                self.resolved += 1
                self.out.touch(inc)
            if status == RESOLVED:
                assert inc.resolved_at is not None
                if now - inc.resolved_at >= forget_after:
                    self.store.remove(inc)
                    self.out.final.append(inc)
        self._expire_orphans(now)

    def _expire_or_join(self, inc: Incident, now: float) -> None:
        """Report a held incident as suppressed, unless its alerts all recovered and it
        joins the incident it announced."""
        hook = self.before_expire
        if inc.firing == 0 and hook is not None and hook(inc, now):
            return
        self._expire_pending(inc, now)

    def _expire_pending(self, inc: Incident, now: float) -> None:
        self.store.remove(inc)
        self.expired_pending += 1
        top = SEVERITIES[inc.severity]
        reason = f"{self._pending_reason} (highest {top})"
        for alert_id in inc.alert_ids:
            self.out.suppress(alert_id, reason, now, inc.id)

    def _expire_orphans(self, now: float, everything: bool = False) -> None:
        orphans = self.store.orphans
        done = [
            fp
            for fp, events in orphans.items()
            if everything or now - events[-1][1] >= self.orphan_ttl
        ]
        for fp in done:
            for alert_id, _ in orphans.pop(fp):
                self.out.suppress(alert_id, _ORPHAN_REASON, now)

    def flush_pending(self, now: float) -> None:
        """End of input: report what is still held as suppressed (a replay's last word)."""
        for inc in list(self.store.live.values()):
            if inc.status == PENDING:
                self._expire_or_join(inc, now)
        self._expire_orphans(now, everything=True)
