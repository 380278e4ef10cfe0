"""Scenario parameters and the named profiles that preset them.

Every knob of the generator is a field of `Params`; the `generate` command turns each field
into an option (`hop_delay` → `--hop-delay MIN MAX`), so a new knob is one new field here.
Times in `*_minutes` fields are minutes, `hop_delay`/`refire_interval`/`max_delay`/
`resolve_jitter` are seconds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from pipeline.times import TimeError, parse_time


def _knob(default: Any, help: str, metavar: str | tuple[str, ...] | None = None) -> Any:
    return field(default=default, metadata={"help": help, "metavar": metavar})


@dataclass(frozen=True, slots=True)
class Params:
    """Everything a scenario depends on, besides the seed."""

    # Size and time window.
    services: int = _knob(30, "number of services in the topology (8 or more)")
    hours: float = _knob(6.0, "length of the scenario in hours", "H")
    start: str = _knob("2026-01-05T08:00:00Z", "scenario start, ISO 8601 with a zone", "ISO")
    env: str = _knob("prod", "value of the env label", "NAME")
    nodes: int = _knob(0, "nodes in the shared pool (0: about one per five replicas)")
    replicas: tuple[int, int] = _knob((1, 5), "replicas per service, MIN MAX")
    resource_names: str = _knob(
        "ordinal", "replica names: ordinal (checkout-2) or k8s (checkout-7d9f8-x2k4q)", "STYLE"
    )
    data_node_share: float = _knob(0.5, "share of data stores on nodes of their own")
    # Faults.
    faults: int = _knob(15, "number of faults")
    fault_minutes: tuple[float, float] = _knob((5.0, 60.0), "fault duration, MIN MAX minutes")
    kind_mix: tuple[float, float, float] = _knob(
        (0.45, 0.35, 0.2),
        "weights of service, resource and node faults",
        ("SERVICE", "RESOURCE", "NODE"),
    )
    critical_share: float = _knob(0.5, "share of faults of critical (not major) severity")
    related_share: float = _knob(
        0.15, "share of faults whose root shares callers with a fault already running"
    )
    storm_share: float = _knob(0.0, "share of faults starting inside one storm window")
    storm_minutes: float = _knob(10.0, "length of the storm window in minutes", "MIN")
    silent_root_share: float = _knob(
        0.08, "share of service and resource faults whose root raises no alert at all"
    )
    node_alert_share: float = _knob(0.85, "share of node faults that alert on the node itself")
    # Cascades.
    hop_delay: tuple[float, float] = _knob((15.0, 180.0), "delay per cascade hop, MIN MAX s")
    max_depth: int = _knob(4, "maximum cascade depth in hops")
    propagation: float = _knob(0.8, "probability that a fault spreads to a direct caller")
    propagation_decay: float = _knob(0.7, "factor on that probability for each further hop")
    # Alert life cycle.
    refire_interval: tuple[float, float] = _knob(
        (60.0, 300.0), "re-send interval of a firing alert, MIN MAX s"
    )
    refire_share: float = _knob(0.85, "share of alerts re-sent while firing")
    flap_share: float = _knob(0.08, "share of alerts that flap (resolve and fire again)")
    escalate_share: float = _knob(0.1, "share of alerts whose severity rises while firing")
    resolve_jitter: float = _knob(90.0, "maximum delay of a resolve after the fault ends, s", "S")
    no_resolves: bool = _knob(False, "no source sends resolves")
    no_resolve_sources: tuple[str, ...] = _knob(
        (), "comma-separated sources that never send resolves (e.g. nagios)", "LIST"
    )
    # Precursors and changes.
    precursor_share: float = _knob(0.5, "share of critical faults preceded by warnings")
    precursor_lead: tuple[float, float] = _knob(
        (5.0, 40.0), "precursor lead before onset, MIN MAX minutes"
    )
    change_fault_share: float = _knob(0.4, "share of faults caused by a change")
    change_lead: tuple[float, float] = _knob(
        (1.0, 20.0), "lead of a causing change before onset, MIN MAX minutes"
    )
    changes_per_hour: float = _knob(3.0, "rate of changes unrelated to faults", "RATE")
    decoy_share: float = _knob(0.3, "share of faults with an unrelated change close by")
    # Noise.
    noise_per_hour: float = _knob(80.0, "background noise episodes per hour", "RATE")
    noise_sources: int = _knob(0, "distinct noise sources (0: about 0.8 per service)")
    unlisted_share: float = _knob(
        0.05, "share of noise sources on hosts and services missing from the topology"
    )
    noise_burst: int = _knob(0, "extra noise episodes around the storm window")
    # Delivery.
    max_delay: float = _knob(45.0, "maximum delivery delay of an event, s", "S")
    delay_tail_share: float = _knob(0.05, "share of events delivered late (5 s to the maximum)")
    # Scaling.
    target_alerts: int = _knob(0, "scale hours and faults to about this many alerts (0: off)")

    def to_dict(self) -> dict[str, Any]:
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


PROFILE_NOTES: dict[str, str] = {
    "default": "about 30 services, 6 hours, 15 faults, moderate noise: a few thousand alerts",
    "small": "10 services, 1.5 hours, 5 faults: a few hundred alerts, for unit tests",
    "dense": "14 services, 3 hours, 28 faults overlapping, many sharing callers",
    "wide": "120 services, 6 hours, 18 faults under heavy noise; nagios sends no resolves",
    "storm": "40 services, 16 faults, 80% of them within 8 minutes, plus a burst of noise",
    "large": "200 services, 48 hours, 180 faults: over 100k alerts, for benchmarks",
}
PROFILES: dict[str, dict[str, Any]] = {
    "default": {},
    "small": {
        "services": 10,
        "hours": 1.5,
        "faults": 5,
        "noise_per_hour": 60.0,
        "noise_sources": 14,
        "fault_minutes": (10.0, 30.0),
        "refire_interval": (120.0, 420.0),
        "changes_per_hour": 4.0,
        "precursor_lead": (5.0, 20.0),
    },
    "dense": {
        "services": 14,
        "hours": 3.0,
        "faults": 28,
        "fault_minutes": (10.0, 50.0),
        "related_share": 0.4,
        "noise_per_hour": 30.0,
        "max_depth": 5,
    },
    "wide": {
        "services": 120,
        "hours": 6.0,
        "faults": 18,
        "noise_per_hour": 320.0,
        "noise_sources": 160,
        "changes_per_hour": 8.0,
        "no_resolve_sources": ("nagios",),
    },
    "storm": {
        "services": 40,
        "hours": 3.0,
        "faults": 16,
        "storm_share": 0.8,
        "storm_minutes": 8.0,
        "noise_burst": 150,
        "noise_per_hour": 60.0,
        "related_share": 0.3,
    },
    "large": {
        "services": 200,
        "hours": 48.0,
        "faults": 180,
        "noise_per_hour": 400.0,
        "noise_sources": 260,
        "changes_per_hour": 10.0,
    },
}


def profile_params(profile: str, **overrides: Any) -> Params:
    """The profile's parameters with `overrides` (field name → value) applied."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r} (one of {', '.join(PROFILES)})")
    return Params(**{**PROFILES[profile], **overrides})


def validate(params: Params) -> None:
    """Raise ValueError with a one-line reason for parameters that make no scenario."""
    if params.services < 8:
        raise ValueError("--services must be at least 8")
    if params.hours <= 0 or params.hours > 24 * 90:
        raise ValueError("--hours must be in (0, 2160]")
    try:
        parse_time(params.start)
    except TimeError as exc:
        raise ValueError(f"--start: {exc}") from None
    if params.faults < 0 or params.nodes < 0 or params.noise_sources < 0:
        raise ValueError("--faults, --nodes and --noise-sources must not be negative")
    if params.noise_burst < 0 or params.target_alerts < 0:
        raise ValueError("--noise-burst and --target-alerts must not be negative")
    if params.max_depth < 0:
        raise ValueError("--max-depth must not be negative")
    for name in ("noise_per_hour", "changes_per_hour", "resolve_jitter", "storm_minutes"):
        if getattr(params, name) < 0:
            raise ValueError(f"--{name.replace('_', '-')} must not be negative")
    shares = [f.name for f in dataclasses.fields(params) if f.name.endswith("_share")]
    for name in [*shares, "propagation", "propagation_decay"]:
        if not 0.0 <= getattr(params, name) <= 1.0:
            raise ValueError(f"--{name.replace('_', '-')} must be between 0 and 1")
    ranges = "replicas fault_minutes hop_delay refire_interval precursor_lead change_lead"
    for name in ranges.split():
        lo, hi = getattr(params, name)
        if lo > hi or lo < 0:
            raise ValueError(f"--{name.replace('_', '-')} needs 0 <= MIN <= MAX")
    if params.replicas[0] < 1 or params.replicas[1] > 5:
        raise ValueError("--replicas must lie within 1..5")
    if params.fault_minutes[0] < 1 or params.refire_interval[0] < 10:
        raise ValueError("--fault-minutes MIN must be >= 1 and --refire-interval MIN >= 10")
    if len(params.kind_mix) != 3 or min(params.kind_mix) < 0 or sum(params.kind_mix) <= 0:
        raise ValueError("--kind-mix needs three non-negative weights, not all zero")
    if params.resource_names not in ("ordinal", "k8s"):
        raise ValueError("--resource-names must be ordinal or k8s")
    if not 1.0 <= params.max_delay <= 600.0:
        raise ValueError("--max-delay must be between 1 and 600 seconds")


def scaled(params: Params, ratio: float) -> Params:
    """Params for about `ratio` times as many alerts: longer (or shorter), with more faults."""
    hours = max(0.25, params.hours * ratio)
    factor = hours / params.hours
    return dataclasses.replace(
        params,
        hours=round(hours, 4),
        faults=max(1, round(params.faults * factor)),
        noise_burst=round(params.noise_burst * factor),
    )
