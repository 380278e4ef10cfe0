"""What the forewarning stage (pipeline/forewarn.py) weighs: the features of one snapshot of
an entity, from its signs, how long background warnings last, how cause-like the signs'
names are, recent changes, what fires below it, where it sits in the topology, and how
often its signs led to nothing lately. The risk model scores them and learns from them."""

from __future__ import annotations

import math

from pipeline.changes import ChangeIndex
from pipeline.config import PredictionConfig
from pipeline.forewarn_signs import Background, Sign, band
from pipeline.links import NamePrior
from pipeline.topology import Topology


def snapshot_features(
    cfg: PredictionConfig,
    entity: str,
    t: float,
    signs: dict[str, Sign],
    background: Background,
    symptoms: NamePrior | None,
    changes: ChangeIndex,
    topology: Topology,
    false_starts: int,
    below_alerting: bool,
) -> dict[str, float]:
    """The features of `entity` at `t`: `signs` are its signs (fingerprint -> sign),
    `false_starts` how many of its snapshots came to nothing within `history_s`,
    `below_alerting` whether something it depends on alerts."""
    # Hot (every snapshot): the signs are walked once, in the order `OutagePredictor._fresh`
    # gives them; every value is the same arithmetic on the same numbers in the same order
    # as the plain comprehensions would do, and keys go in the same order.
    horizon = t - cfg.window_s
    onset_floor = horizon - 3600
    fresh_n = resends = max_severity = 0
    escalated = anomaly = False
    # Names in the order their signs come (a dict, not a set: a set of strings iterates in
    # an order that follows the hash seed, and `cause_like` sums over it).
    names: dict[str, None] = {}
    firing: list[Sign] = []
    for s in signs.values():
        # `OutagePredictor._fresh`: not chronic, firing or seen within the window, started recently.
        if s.chronic or not (s.firing or s.last >= horizon) or s.onset < onset_floor:
            continue
        fresh_n += 1
        names[s.name] = None
        if s.severity > max_severity:
            max_severity = s.severity
        if s.escalations:
            escalated = True
        resends += s.resends
        if s.anomaly:
            anomaly = True
        if s.firing:
            firing.append(s)
    oldest = firing[0].onset if firing else t  # min(..., default=t)
    recurring = escalated_firing = 0
    for s in firing:
        if s.onset < oldest:
            oldest = s.onset
        recurring += s.recurring
        if s.escalations:
            escalated_firing = 1
    age = (t - oldest) / 60
    f: dict[str, float] = {
        "signs": min(fresh_n, 10) / 10,
        "names": min(len(names), 5) / 5,
        "firing": min(len(firing), 5) / 5,
        "chronic_only": 1.0 if signs and not fresh_n else 0.0,
        "max_severity": max_severity / 4,
        "escalated": 1.0 if escalated else 0.0,
        "resends": min(resends, 20) / 20,
        "anomaly": 1.0 if anomaly else 0.0,
        # Signs that have come and gone before: recurring background.
        "recurring": recurring / len(firing) if firing else 0.0,
        # How long the signs have lasted, in bands: signs before an outage last minutes
        # to tens of minutes; a warning that has fired for hours is background.
        f"age_{band(age)}": 1.0,
        # What this entity's signs led to lately (learned from the delayed labels).
        "entity_false_starts": min(false_starts, 10) / 10,
    }
    if symptoms is not None and names:
        f["cause_like"] = sum(1 - symptoms.predict_one(n) for n in names) / len(names)
    # Has a sign outlasted what background warnings of its kind (and of any kind) last?
    if firing:
        # The share outlasted never falls as the age grows: the oldest sign (of each
        # name) gives the maximum.
        eldest: dict[str, float] = {}
        for s in firing:
            if s.onset < eldest.get(s.name, math.inf):
                eldest[s.name] = s.onset
        outlasted = background.outlasted
        f["outlasted"] = max(outlasted(n, t - onset) for n, onset in eldest.items())
        f["outlasted_any"] = outlasted(None, t - oldest)
        # The shape a forewarning usually has: a fresh (not chronic) sign that keeps
        # firing and being re-sent for a while, or that got worse.
        sustained = [s for s in firing if t - s.onset >= 480 and s.resends >= 2]
        if sustained:
            f["sustained"] = 1.0
            f["sustained_cause_like"] = f.get("cause_like", 0.5)
            f["sustained_names"] = min(len({s.name for s in sustained}), 3) / 3
        if escalated_firing:
            f["escalated_firing"] = 1.0
        # Which warnings fire: some kinds (memory growth, lag growing) mostly come before
        # an outage, others (a slow backup, a throttled CPU) mostly come and go. One
        # weight per alert name, learned offline and from the delayed labels like any
        # other.
        # Keys in the order the names first fire (`eldest`'s), not a set's: the risk model
        # sums weight times value over the features in key order.
        for name in eldest:
            f[f"sign:{name}"] = 1.0
        # The same warning on several replicas at once: one cause, not one noisy host.
        by_name: dict[str, set[str]] = {}
        for s in firing:
            by_name.setdefault(s.name, set()).add(s.resource)
        spread = max(len(r) for r in by_name.values())
        if spread >= 2:
            f["replicas_agree"] = min(spread, 4) / 4
    change = changes.near([entity], t - cfg.change_lookback_s, t)
    if change:
        f["recent_change"] = math.exp(-(t - change[-1].time) / cfg.change_lookback_s)
    if below_alerting:
        f["below_alerting"] = 1.0
    # Where the entity sits: what many others depend on, or nothing we know of.
    topo = topology
    if topo.is_node(entity):
        f["node"] = 1.0
    elif entity in topo:
        f["callers"] = math.log1p(len(topo.callers.get(entity, ()))) / 3
        if not topo.callees.get(entity):
            f["leaf"] = 1.0
    else:
        f["unknown_entity"] = 1.0
    hour = (t % 86400) / 86400 * 2 * math.pi
    f["hour_sin"], f["hour_cos"] = math.sin(hour), math.cos(hour)
    return f
