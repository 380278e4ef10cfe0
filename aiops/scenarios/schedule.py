"""When faults start, how long they last, and what is at fault.

Onsets form a Poisson process over the scenario (uniform times, sorted); with a storm share,
that share of them falls into one window of a few minutes instead. Faults may overlap freely,
but two running faults never share a root. A "related" fault picks its root among the other
dependencies of a running fault's callers, so the two cascades meet in the same upstream
services.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from aiops.scenarios.profiles import Params
from aiops.scenarios.topology import Topology

MINUTE = 60_000
# How likely each tier is to hold a fault's root (data stores fail most often).
_ROOT_TIERS = {"data": 0.35, "domain": 0.3, "platform": 0.15, "api": 0.1, "web": 0.05, "edge": 0.05}


@dataclass(slots=True)
class Fault:
    id: str
    kind: str  # service | resource | node
    root: str
    root_service: str | None
    root_resource: str | None
    component: str  # what the root is: db, cache, queue, app, api, ..., node
    start: int  # onset, epoch ms
    end: int
    severity: str
    outage: bool = False
    cause_change: object | None = None  # the Change that caused it (its id is set later)
    predictable: bool = False
    precursor_start: int | None = None
    services: list[str] = field(default_factory=list)
    alerts: int = 0  # series it raised; a fault that raised none is left out


@dataclass(slots=True)
class Window:
    start: int
    end: int


def onset_window(t0: int, t1: int) -> Window:
    """Where onsets may fall: late enough for precursors and causing changes, and not so late
    that the fault has no time to show."""
    span = t1 - t0
    return Window(t0 + min(25 * MINUTE, span * 15 // 100), t1 - min(5 * MINUTE, span // 10))


def _onsets(params: Params, rng: random.Random, win: Window) -> tuple[list[int], Window | None]:
    n = params.faults
    n_storm = round(n * params.storm_share)
    times = [rng.randint(win.start, win.end) for _ in range(n - n_storm)]
    storm = None
    if n_storm:
        length = int(params.storm_minutes * MINUTE)
        begin = rng.randint(win.start, max(win.start, win.end - length))
        storm = Window(begin, begin + length)
        times += [rng.randint(begin, begin + length) for _ in range(n_storm)]
    return sorted(times), storm


class _RootPicker:
    def __init__(self, topo: Topology, rng: random.Random) -> None:
        self.topo = topo
        self.rng = rng
        self.by_tier: dict[str, list[str]] = {}
        for svc in topo.services.values():
            self.by_tier.setdefault(svc.tier, []).append(svc.name)

    def service(self, busy: set[str]) -> str:
        tiers = [t for t in _ROOT_TIERS if any(s not in busy for s in self.by_tier.get(t, ()))]
        if not tiers:
            return self.rng.choice(list(self.topo.services))
        tier = self.rng.choices(tiers, weights=[_ROOT_TIERS[t] for t in tiers])[0]
        return self.rng.choice([s for s in self.by_tier[tier] if s not in busy])

    def related(self, active: list[Fault], busy: set[str]) -> str | None:
        """A service sharing a caller with the root of a running fault, if there is one."""
        candidates: list[str] = []
        for fault in active:
            for origin in fault.services[:1]:
                for caller in self.topo.callers.get(origin, ()):
                    for dep in self.topo.services[caller].depends_on:
                        if dep not in busy and dep not in candidates:
                            candidates.append(dep)
        return self.rng.choice(candidates) if candidates else None

    def node(self, busy: set[str]) -> str:
        hosting = [n for n in self.topo.nodes if self.topo.hosted[n]]
        nodes = [n for n in hosting if n not in busy] or hosting
        weights = [1 + len(self.topo.hosted[n]) for n in nodes]
        return self.rng.choices(nodes, weights=weights)[0]


def schedule_faults(
    topo: Topology, params: Params, rng: random.Random, t0: int, t1: int
) -> tuple[list[Fault], Window | None]:
    """The faults in onset order (ids F0001, …) and the storm window, if any."""
    onsets, storm = _onsets(params, rng, onset_window(t0, t1))
    picker = _RootPicker(topo, rng)
    lo, hi = params.fault_minutes
    faults: list[Fault] = []
    for i, onset in enumerate(onsets):
        # Durations are log-uniform: many short faults, a few long ones.
        minutes = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        end = onset + int(minutes * MINUTE)
        severity = "critical" if rng.random() < params.critical_share else "major"
        kind = rng.choices(("service", "resource", "node"), weights=params.kind_mix)[0]
        active = [f for f in faults if f.end > onset]
        busy = {f.root for f in active} | {f.root_service for f in active if f.root_service}
        fid = f"F{i + 1:04d}"
        if kind == "node":
            node = picker.node(busy)
            fault = Fault(fid, kind, node, None, None, "node", onset, end, severity)
        else:
            root = None
            if active and rng.random() < params.related_share:
                root = picker.related(active, busy)
            root = root or picker.service(busy)
            svc = topo.services[root]
            resource = rng.choice(svc.replicas) if kind == "resource" else None
            fault = Fault(
                fid, kind, resource or root, root, resource, svc.kind, onset, end, severity
            )
            fault.services = [root]
        faults.append(fault)
    return faults, storm
