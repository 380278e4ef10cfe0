"""Alert series: one alert (a name on one entity) from first firing to resolve.

A series becomes several events (firing, re-fires, flaps, resolve) in `lifecycle.py`. This
module decides what is fixed for the whole series: its source, its labels, its re-send
interval, whether it flaps or escalates, and whether its source sends resolves. It also keeps
two faults (or a fault and the noise) from raising the very same alert at the same time,
which would make the ground truth ambiguous.
"""

from __future__ import annotations

import bisect
import random
import zlib
from dataclasses import dataclass
from typing import Protocol

from aiops.scenarios.catalog import TYPES, AlertType
from aiops.scenarios.profiles import Params
from aiops.scenarios.topology import SOURCES, Topology
from pipeline.records import SEVERITIES, SEVERITY_RANK

# Alerts named after Kubernetes objects carry the node they run on.
_K8S_NAMES = frozenset(
    {"PodCrashLooping", "OOMKilled", "PodNotReady", "PodEvicted", "CPUThrottling", "TargetDown"}
)
_REGIONS = {"euw1": "eu-west-1", "use1": "us-east-1"}


class Group(Protocol):
    """A truth group (fault or noise source); its `id` may be set after the series is made."""

    id: str


@dataclass(slots=True)
class Series:
    group: Group
    atype: AlertType
    severity: str
    service: str | None
    resource: str | None
    source: str
    labels: dict[str, str]
    target: str
    dep: str
    start: int  # epoch ms of the first firing
    end: int  # epoch ms of the resolve; may lie past the scenario's end
    refire: int = 0  # re-send interval in ms, 0 = sent once
    flaps: int = 0
    resolves: bool = True
    escalate_at: int | None = None
    escalate_to: str = ""


def raise_severity(severity: str, steps: int = 1) -> str:
    return SEVERITIES[min(SEVERITY_RANK[severity] + steps, len(SEVERITIES) - 1)]


class SeriesMaker:
    """Makes series on resources, services and nodes; refuses one already firing elsewhere."""

    def __init__(self, topo: Topology, params: Params, rng: random.Random) -> None:
        self.topo = topo
        self.params = params
        self.rng = rng
        self.silent = set(params.no_resolve_sources)
        self.busy: dict[tuple[str, str], list[tuple[int, int]]] = {}

    def _claim(self, entity: str, name: str, start: int, end: int) -> bool:
        """Reserve the alert for [start, end] unless it fires within a minute of that already.

        Claimed spans never overlap, so sorted by start they are sorted by end too, and only
        the two neighbours of the new span need a look.
        """
        margin = 60_000
        spans = self.busy.setdefault((entity, name), [])
        i = bisect.bisect_left(spans, (start, end))
        if i > 0 and spans[i - 1][1] + margin >= start:
            return False
        if i < len(spans) and spans[i][0] <= end + margin:
            return False
        spans.insert(i, (start, end))
        return True

    def _source(self, home: str, kind: str, name: str) -> str:
        """The tool that raises `name` about `home`: its usual one, or now and then another.

        Hashing keeps the choice the same for every series of that alert on that entity.
        """
        if zlib.crc32(f"{home}/{name}".encode()) % 100 >= 15:
            return ""
        choices = SOURCES[kind]
        pick = zlib.crc32(f"{name}/{home}".encode()) % len(choices)
        return choices[pick][0]

    def _series(
        self,
        group: Group,
        name: str,
        severity: str,
        start: int,
        end: int,
        service: str | None,
        resource: str | None,
        source: str,
        labels: dict[str, str],
        target: str,
        dep: str,
    ) -> Series:
        p, rng = self.params, self.rng
        s = Series(
            group, TYPES[name], severity, service, resource, source, labels, target, dep, start, end
        )
        if rng.random() < p.refire_share:
            s.refire = int(rng.uniform(*p.refire_interval) * 1000)
        if rng.random() < p.flap_share:
            s.flaps = rng.randint(2, 5)
        if severity != "critical" and rng.random() < p.escalate_share:
            s.escalate_at = start + int((end - start) * rng.uniform(0.2, 0.8))
            s.escalate_to = raise_severity(severity)
        s.resolves = not p.no_resolves and source not in self.silent
        return s

    def on_resource(
        self,
        group: Group,
        name: str,
        resource: str,
        severity: str,
        start: int,
        end: int,
        dep: str = "",
    ) -> Series | None:
        if not self._claim(resource, name, start, end):
            return None
        res = self.topo.resources[resource]
        svc = self.topo.services[res.service]
        node = self.topo.nodes[res.node]
        source = self._source(svc.name, svc.kind, name) or svc.source
        labels = {"env": self.params.env}
        if source == "prometheus":
            labels |= {
                "cluster": node.cluster,
                "namespace": svc.team,
                "team": svc.team,
                "job": svc.name,
                "instance": resource,
            }
            if name in _K8S_NAMES:
                labels["node"] = node.name
        elif source == "cloudwatch":
            labels |= {
                "region": _REGIONS[node.zone[:4]],
                "zone": node.zone,
                "team": svc.team,
                "instance": resource,
            }
        elif source == "nagios":
            labels |= {"host": node.name, "team": svc.team, "check": name.lower()}
        else:
            labels |= {
                "cluster": node.cluster,
                "zone": node.zone,
                "team": svc.team,
                "host": node.name,
                "instance": resource,
            }
        return self._series(
            group, name, severity, start, end, svc.name, resource, source, labels, resource, dep
        )

    def on_service(
        self,
        group: Group,
        name: str,
        service: str,
        severity: str,
        start: int,
        end: int,
        dep: str = "",
    ) -> Series | None:
        if not self._claim(service, name, start, end):
            return None
        svc = self.topo.services[service]
        labels = {"env": self.params.env, "team": svc.team, "slo": f"{service}-availability"}
        return self._series(
            group, name, severity, start, end, service, None, svc.source, labels, service, dep
        )

    def on_node(
        self, group: Group, name: str, node_name: str, severity: str, start: int, end: int
    ) -> Series | None:
        """A node alert: `resource` is the node, there is no `service`, `team` is infra."""
        if not self._claim(node_name, name, start, end):
            return None
        node = self.topo.nodes[node_name]
        source = self._source(node_name, "node", name) or node.source
        labels = {
            "env": self.params.env,
            "cluster": node.cluster,
            "zone": node.zone,
            "team": "infra",
            "node": node_name,
        }
        if source == "prometheus":
            labels |= {"job": "node-exporter", "instance": f"{node_name}:9100"}
        else:
            labels["host"] = node_name
        return self._series(
            group, name, severity, start, end, None, node_name, source, labels, node_name, ""
        )

    def on_unlisted(
        self, group: Group, name: str, service: str, host: str, severity: str, start: int, end: int
    ) -> Series | None:
        """An alert about a host of a service the topology does not know."""
        if not self._claim(host, name, start, end):
            return None
        source = ("nagios", "zabbix")[zlib.crc32(service.encode()) % 2]
        labels = {"env": self.params.env, "team": "it-ops", "host": host}
        return self._series(
            group, name, severity, start, end, service, host, source, labels, host, ""
        )
