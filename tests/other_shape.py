"""Scenarios of another shape than `aiops generate` makes, to check the pipeline does not lean
on its own generator's quirks.

Written apart from `aiops/scenarios/` on purpose, with none of its catalogue: a layered
service graph with no nodes and no `resources` section in the topology, alerts that name a
host the topology does not know (or only the service), generic alert names (`ServiceDown` at
the root, `ErrorRate` / `LatencyHigh` / ... on callers), a fault spreading up each caller
edge with probability 0.75 and a uniform per-hop delay, re-fires every minute or so until a
resolve, noise from its own names on random services (most resolved, some never), and
delivery jitter.
"""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

ROOT_NAMES = ("ServiceDown", "ErrorBudgetBurn", "Saturation", "DatabaseErrors", "QueueBacklog")
SYMPTOM_NAMES = ("ErrorRate", "LatencyHigh", "Availability", "DependencyFailures", "TimeoutRate")
NOISE_NAMES = ("DiskSpaceLow", "CertExpiringSoon", "HighMemory", "PodRestart", "GCPressure")
T0 = 1767603600.0  # 2026-01-05T09:00:00Z


@dataclass(frozen=True)
class Shape:
    services: int = 25
    hours: float = 6.0
    faults: int = 12
    noise_per_hour: int = 40
    hop_s: tuple[float, float] = (5.0, 60.0)
    refire_s: float = 60.0
    jitter_s: float = 15.0
    with_host: bool = True


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_other_shape(out: Path, seed: int, shape: Shape = Shape()) -> dict[str, dict]:
    """Write alerts.jsonl and topology.yaml into `out`; return the truth:
    `{"alerts": {id: fault id or noise id}, "roots": {fault id: root service}}`."""
    rng = random.Random(seed)
    width = max(2, shape.services // 5)
    layers = [[f"svc{depth}{i:02d}" for i in range(width)] for depth in range(5)]
    deps: dict[str, list[str]] = {s: [] for layer in layers for s in layer}
    for upper, lower in itertools.pairwise(layers):
        for s in upper:
            deps[s] = rng.sample(lower, k=rng.randint(1, min(3, len(lower))))
    callers = {s: [c for c in deps if s in deps[c]] for s in deps}
    events: list[tuple[float, dict]] = []
    truth: dict[str, str] = {}
    roots: dict[str, str] = {}

    def emit(t: float, name: str, svc: str, sev: str, group: str, host: str, status: str) -> None:
        alert_id = f"o-{seed}-{len(truth) + 1:06d}"
        alert = {
            "id": alert_id,
            "time": _iso(t),
            "status": status,
            "name": name,
            "severity": sev,
            "service": svc,
            "summary": f"{name} on {svc}",
            "source": "other-shape",
            "labels": {"env": "prod"},
        }
        if shape.with_host:
            alert["resource"] = host
        truth[alert_id] = group
        events.append((t + rng.uniform(0, shape.jitter_s), alert))

    span = shape.hours * 3600
    below_top = [s for layer in layers[1:] for s in layer]
    for k in range(shape.faults):
        fault = f"F{k:03d}"
        start = T0 + rng.uniform(0.05, 0.9) * span
        end = start + rng.uniform(600, 2400)
        root = rng.choice(below_top)
        roots[fault] = root
        hit = {root: start}
        frontier = [root]
        while frontier:
            s = frontier.pop()
            for caller in callers[s]:
                if caller not in hit and rng.random() < 0.75:
                    hit[caller] = hit[s] + rng.uniform(*shape.hop_s)
                    frontier.append(caller)
        for svc, onset in hit.items():
            pool = ROOT_NAMES if svc == root else SYMPTOM_NAMES
            for name in rng.sample(pool, k=rng.randint(1, 3)):
                host = f"{svc}-host{rng.randint(1, 3)}"
                sev = "critical" if svc == root else rng.choice(["major", "minor", "warning"])
                t, stop = onset + rng.uniform(0, 20), end + rng.uniform(0, 120)
                while t < stop:
                    emit(t, name, svc, sev, fault, host, "firing")
                    t += shape.refire_s * rng.uniform(0.8, 1.2)
                emit(stop, name, svc, sev, fault, host, "resolved")
    services = list(deps)
    for k in range(int(shape.noise_per_hour * shape.hours)):
        t, svc, name = T0 + rng.uniform(0, span), rng.choice(services), rng.choice(NOISE_NAMES)
        host = f"{svc}-host{rng.randint(1, 3)}"
        sev = rng.choice(["warning", "minor", "info"])
        emit(t, name, svc, sev, f"N{k:04d}", host, "firing")
        if rng.random() < 0.7:
            emit(t + rng.uniform(60, 900), name, svc, "warning", f"N{k:04d}", host, "resolved")
    out.mkdir(parents=True, exist_ok=True)
    events.sort(key=lambda e: e[0])  # delivered in order of arrival, not of event time
    with (out / "alerts.jsonl").open("w") as fh:
        for _, alert in events:
            fh.write(json.dumps(alert) + "\n")
    topology = {"services": {s: {"depends_on": d} for s, d in deps.items()}}
    (out / "topology.yaml").write_text(yaml.safe_dump(topology))
    return {"alerts": truth, "roots": roots}
