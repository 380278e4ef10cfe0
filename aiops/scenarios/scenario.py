"""Put a scenario together: topology, faults, noise, changes, delivery.

Each concern draws from its own random stream, seeded from the seed and the concern's name, so
changing one knob (say the noise rate) leaves the topology and the faults as they were.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from tqdm import tqdm

from aiops.scenarios.changes import Change, make_changes
from aiops.scenarios.delivery import deliver
from aiops.scenarios.faults import FaultBuilder
from aiops.scenarios.lifecycle import Event, Expander
from aiops.scenarios.noise import NoiseSource, make_noise
from aiops.scenarios.profiles import Params, scaled, validate
from aiops.scenarios.schedule import Fault, schedule_faults
from aiops.scenarios.series import SeriesMaker
from aiops.scenarios.topology import Topology, build_topology
from pipeline.times import parse_time

# Faults beyond which building them shows a progress bar (when asked for).
_PROGRESS_FAULTS = 100


@dataclass(slots=True)
class Scenario:
    profile: str
    seed: int
    params: Params
    start: int  # epoch ms
    end: int
    topology: Topology
    faults: list[Fault]
    noise: list[NoiseSource]
    changes: list[Change]
    events: list[Event]  # in delivery order


def generate(
    params: Params, seed: int, profile: str = "custom", progress: bool = False
) -> Scenario:
    """One scenario for exactly these parameters (`target_alerts` is not looked at)."""
    validate(params)

    def rng(stream: str) -> random.Random:
        return random.Random(f"{seed}/{stream}")

    t0 = round(parse_time(params.start) * 1000)
    t1 = t0 + round(params.hours * 3_600_000)
    topo = build_topology(params, rng("topology"))
    faults, storm = schedule_faults(topo, params, rng("schedule"), t0, t1)
    maker = SeriesMaker(topo, params, rng("series"))
    expander = Expander(rng("lifecycle"), t0, t1)
    builder = FaultBuilder(topo, params, rng("faults"), maker, expander, t0)
    show = progress and len(faults) >= _PROGRESS_FAULTS
    for fault in tqdm(faults, desc="faults", unit="fault", disable=not show, leave=False):
        builder.build(fault)
    faults = [f for f in faults if f.alerts]  # all its alerts were already firing elsewhere
    for i, fault in enumerate(faults, start=1):
        fault.id = f"F{i:04d}"
    noise = make_noise(topo, params, rng("noise"), maker, expander, t0, t1, storm)
    changes = make_changes(topo, params, rng("changes"), faults, t0, t1)
    events = deliver(expander.events, params, rng("delivery"))
    return Scenario(profile, seed, params, t0, t1, topo, faults, noise, changes, events)


def generate_for_target(
    params: Params, seed: int, profile: str = "custom", progress: bool = False
) -> Scenario:
    """Like `generate`, but with `target_alerts` set, rescale hours and faults until the
    alert count is within 5 % of it (a few tries; the count is close to linear in both)."""
    scenario = generate(params, seed, profile, progress)
    target = params.target_alerts
    for _ in range(4):
        if not target:
            break
        ratio = target / max(1, len(scenario.events))
        if abs(ratio - 1.0) <= 0.05:
            break
        params = scaled(params, ratio)
        scenario = generate(params, seed, profile, progress)
    return scenario
