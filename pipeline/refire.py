"""When an alert that fires again after it resolved is a new problem.

Most re-fires are flaps: the check comes back within a minute or two and the alert reopens
its member in the incident it was in. Three rules place it afresh instead, weighed against
the live incidents like a new alert (see `config/default.yaml` for the settings):

- `refire_apart_s` (off by default): so long after it resolved that it is declared a new
  problem, kept out of its old incident too (where it would overwrite the first episode's
  member and onset);
- `refire_gap_s` / `window_s`: minutes of quiet while the old incident is still live for its
  other alerts (a check quiet that long that fails again beside a live problem is, in dense
  outages, often another problem hitting it), or longer than `window_s` after any;
- `refire_recovered_gap_s`: once the old incident has mostly recovered, one minute of quiet:
  its problem has ended.
"""

from __future__ import annotations

from pipeline.config import CorrelationConfig
from pipeline.incidents import OPEN, PENDING, Incident

REJOIN, AFRESH, APART = 0, 1, 2  # the verdicts of `refire_verdict`


def refire_verdict(cfg: CorrelationConfig, inc: Incident, gap: float) -> int:
    """Whether an alert of `inc` firing again `gap` s after it resolved rejoins its member
    (REJOIN), is placed afresh (AFRESH), or afresh but never back into `inc` (APART)."""
    apart = cfg.refire_apart_s
    if apart is not None and gap > apart:
        return APART
    if gap > cfg.refire_gap_s and (gap > cfg.window_s or inc.status in (OPEN, PENDING)):
        return AFRESH
    after = cfg.refire_recovered_gap_s
    if (
        after > 0
        and gap > after
        and inc.status == OPEN
        and len(inc.members) >= cfg.rehome_split_min
        and inc.firing <= cfg.refire_recovered_share * len(inc.members)
    ):
        return AFRESH
    return REJOIN
