"""Background noise: alerts that belong to no fault.

A noise source is one alert on one entity (a resource, a service or a node), such as a disk
filling slowly or a health check that flaps. Sources differ in how chatty they are (log-normal
weights), so a few of them raise most of the noise, as in real alert streams. Episodes arrive
as a Poisson process at `noise_per_hour`, plus a burst around the storm window if there is
one; each episode is one series (it may re-fire, flap, or never resolve). Episodes begin up
to 90 minutes before the scenario, so some alerts are already firing when the stream starts:
their first events are re-sends or resolves. A share of sources sit on hosts and services the
topology does not list (a CI runner, a VPN gateway), as monitoring covers more than the
service catalogue.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass

from aiops.scenarios import catalog
from aiops.scenarios.lifecycle import Expander
from aiops.scenarios.profiles import Params
from aiops.scenarios.schedule import MINUTE, Window
from aiops.scenarios.series import Series, SeriesMaker
from aiops.scenarios.topology import Topology

_SEVERITY = (("warning", 0.45), ("minor", 0.3), ("info", 0.17), ("major", 0.08))
_UNLISTED = (
    "ci-runner",
    "vpn-gateway",
    "corp-ldap",
    "backup-agent",
    "log-shipper",
    "bastion",
    "mail-relay",
    "build-cache",
)
_LOOKBACK = 90 * MINUTE


@dataclass(slots=True)
class NoiseSource:
    id: str  # set once the source has raised an alert
    where: str  # resource | service | node | unlisted
    entity: str
    service: str | None
    resource: str | None
    name: str
    severity: str
    weight: float
    flappy: bool
    used: bool = False


def _sources(topo: Topology, params: Params, rng: random.Random) -> list[NoiseSource]:
    count = params.noise_sources or max(6, round(params.services * 0.8))
    resources = list(topo.resources)
    nodes = [n for n in topo.nodes if topo.hosted[n]] or list(topo.nodes)
    services = list(topo.services)
    out: list[NoiseSource] = []
    listed = 1.0 - params.unlisted_share
    weights = (0.65 * listed, 0.2 * listed, 0.15 * listed, params.unlisted_share)
    for _ in range(count):
        where = rng.choices(("resource", "node", "service", "unlisted"), weights=weights)[0]
        if where == "unlisted":
            service = rng.choice(_UNLISTED)
            entity = resource = f"{service}-{rng.randint(1, 3)}"
            name = rng.choice(catalog.NOISE["app"] + catalog.NOISE["node"])
        elif where == "resource":
            entity = rng.choice(resources)
            service = topo.resources[entity].service
            name = rng.choice(catalog.NOISE[topo.services[service].kind])
            resource: str | None = entity
        elif where == "node":
            entity = rng.choice(nodes)
            service, resource = None, entity
            name = rng.choice(catalog.NOISE["node"])
        else:
            entity = service = rng.choice(services)
            resource = None
            name = rng.choice(catalog.NOISE["service"])
        severity = rng.choices([s for s, _ in _SEVERITY], weights=[w for _, w in _SEVERITY])[0]
        if name == "CertificateExpiringSoon":
            severity = "info"
        flappy = name == "HealthCheckFlapping" or rng.random() < 0.1
        weight = rng.lognormvariate(0.0, 1.2)
        if severity == "major":  # loud noise gets fixed; the chronic kind is the quiet kind
            weight = min(weight, 0.4)
        out.append(
            NoiseSource("", where, entity, service, resource, name, severity, weight, flappy)
        )
    return out


def _episode_times(
    params: Params, rng: random.Random, t0: int, t1: int, storm: Window | None
) -> list[int]:
    times: list[int] = []
    if params.noise_per_hour > 0:
        mean_gap = 3_600_000 / params.noise_per_hour
        t = t0 - _LOOKBACK + rng.expovariate(1.0 / mean_gap)
        while t < t1:
            times.append(int(t))
            t += rng.expovariate(1.0 / mean_gap)
    if storm is not None and params.noise_burst:
        hi = min(t1, storm.end + (storm.end - storm.start) // 2)
        times += [rng.randint(storm.start, max(storm.start, hi)) for _ in range(params.noise_burst)]
    return sorted(times)


def _episode(src: NoiseSource, rng: random.Random, maker: SeriesMaker, start: int) -> Series | None:
    if src.name in catalog.STICKY_NOISE:
        minutes = rng.uniform(60, 600)
    else:  # median six minutes, a long tail of slow ones
        minutes = min(240.0, max(1.0, rng.lognormvariate(math.log(6), 1.0)))
    end = start + int(minutes * MINUTE)
    if src.where == "node":
        return maker.on_node(src, src.name, src.entity, src.severity, start, end)
    if src.where == "unlisted":
        return maker.on_unlisted(
            src, src.name, src.service or "", src.entity, src.severity, start, end
        )
    if src.where == "service":
        return maker.on_service(src, src.name, src.entity, src.severity, start, end)
    return maker.on_resource(src, src.name, src.entity, src.severity, start, end)


def make_noise(
    topo: Topology,
    params: Params,
    rng: random.Random,
    maker: SeriesMaker,
    expander: Expander,
    t0: int,
    t1: int,
    storm: Window | None,
) -> list[NoiseSource]:
    """Emit the noise; return the sources that raised something, numbered N0001, …"""
    sources = _sources(topo, params, rng)
    cum_weights = list(itertools.accumulate(s.weight for s in sources))
    used: list[NoiseSource] = []
    for start in _episode_times(params, rng, t0, t1, storm):
        for _ in range(3):  # if the drawn alert is already firing, draw another source
            src = rng.choices(sources, cum_weights=cum_weights)[0]
            s = _episode(src, rng, maker, start)
            if s is not None:
                break
        else:
            continue
        if s.escalate_to == "critical":
            s.escalate_at = None  # noise never pages as critical
        if src.flappy:
            s.flaps = max(s.flaps, rng.randint(2, 6))
        if src.name in catalog.STICKY_NOISE:
            s.resolves = False
            if s.refire:  # reminders, not pages: renotified every half hour or so
                s.refire = max(s.refire, rng.randint(30, 60) * MINUTE)
        elif rng.random() < 0.08:
            s.resolves = False
        if expander.expand(s) and not src.used:
            src.used = True
            used.append(src)
    for i, src in enumerate(used, start=1):
        src.id = f"N{i:04d}"
    return used
