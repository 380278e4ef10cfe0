"""What alerts are called and say, by the kind of component they are about.

An alert type has a summary template with `{target}` (the resource, service or node),
`{value}` (a reading drawn between `lo` and `hi`) and, for symptoms, `{dep}` (the dependency
the caller is waiting on).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AlertType:
    name: str
    summary: str
    lo: float = 0.0
    hi: float = 0.0
    digits: int = 0

    def render(self, target: str, value: float, dep: str = "") -> str:
        shown = f"{value:.{self.digits}f}" if self.digits else str(round(value))
        return self.summary.format(target=target, value=shown, dep=dep)


_ALL = [
    # Data store roots.
    AlertType("DBConnectionsExhausted", "{value} of 500 connections in use on {target}", 470, 500),
    AlertType("SlowQueries", "p95 query time {value} ms on {target}", 800, 6000),
    AlertType("ReplicationLag", "replica lag {value} s on {target}", 30, 900),
    AlertType("DBDown", "{target} refuses connections"),
    AlertType("DBDeadlocks", "{value} deadlocks/min on {target}", 5, 80),
    AlertType("CacheEvictionStorm", "{value} evictions/s on {target}", 2000, 40000),
    AlertType("CacheMemoryFull", "memory at {value}% of maxmemory on {target}", 97, 100, 1),
    AlertType("CacheNodeDown", "{target} not answering PING"),
    AlertType("ConsumerLagHigh", "consumer lag {value} messages on {target}", 50000, 2000000),
    AlertType("BrokerUnavailable", "{target} unreachable, {value} partitions offline", 3, 60),
    AlertType("QueueDepthHigh", "{value} messages waiting on {target}", 10000, 500000),
    # Application roots.
    AlertType("PodCrashLooping", "{target} restarted {value} times in 10 min", 3, 12),
    AlertType("OOMKilled", "{target} OOM-killed at its {value} MiB limit", 512, 4096),
    AlertType("HighErrorRate", "5xx rate {value}% on {target}", 5, 60, 1),
    AlertType("ThreadPoolExhausted", "{value} requests queued for a worker on {target}", 200, 5000),
    AlertType("TLSHandshakeErrors", "{value} TLS handshake failures/s on {target}", 20, 900),
    # Node roots and what they do to the resources on the node.
    AlertType("NodeNotReady", "{target} NotReady for {value} s", 60, 600),
    AlertType("NodeDiskPressure", "root volume {value}% full on {target}", 95, 100, 1),
    AlertType("NodeHighCPU", "CPU {value}% on {target}", 95, 100, 1),
    AlertType("NodeMemoryPressure", "{value}% memory available on {target}", 1, 5, 1),
    AlertType("KubeletDown", "kubelet on {target} stopped posting status"),
    AlertType("TargetDown", "{target} scrape target down"),
    AlertType("PodNotReady", "{target} readiness probe failing"),
    AlertType("PodEvicted", "{target} evicted by the kubelet"),
    AlertType("DiskWriteErrors", "{value} write errors/min on {target}", 5, 200),
    AlertType("CPUThrottling", "{value}% of CPU periods throttled on {target}", 40, 95),
    # Symptoms on callers.
    AlertType("HighLatency", "p99 latency {value} s on {target}", 1.2, 12, 1),
    AlertType("UpstreamTimeouts", "{value} timeouts/min calling {dep} from {target}", 20, 2000),
    AlertType("CircuitBreakerOpen", "circuit breaker to {dep} open on {target}"),
    AlertType("RetryStorm", "{value} retries/s to {dep} from {target}", 100, 5000),
    AlertType("ApdexLow", "apdex {value} on {target}", 0.3, 0.7, 2),
    AlertType("SLOBurnRate", "error budget burning {value}x on {target}", 2, 40, 1),
    # Precursors.
    AlertType("DiskUsageHigh", "disk {value}% full on {target}", 80, 92),
    AlertType("ConnectionPoolSaturation", "connection pool {value}% used on {target}", 75, 92),
    AlertType("SlowQueryRateRising", "{value} slow queries/min on {target}", 10, 60),
    AlertType("ReplicationLagGrowing", "replica lag {value} s and growing on {target}", 5, 30),
    AlertType("MemoryGrowth", "memory up {value}% in 30 min on {target}", 10, 40),
    AlertType("EvictionRateRising", "{value} evictions/s on {target}", 100, 900),
    AlertType("ConsumerLagGrowing", "consumer lag {value} and growing on {target}", 2000, 20000),
    AlertType("GCPauseHigh", "GC pauses {value} ms at p99 on {target}", 200, 900),
    AlertType("ThreadPoolSaturation", "worker threads {value}% busy on {target}", 80, 95),
    AlertType("NodeLoadHigh", "load average {value} on {target}", 8, 30, 1),
    AlertType("NodeMemoryGrowth", "memory used {value}% on {target}", 85, 94),
    # Background noise.
    AlertType("PodRestarted", "{target} restarted {value} times in 1 h", 1, 3),
    AlertType("HighMemoryUsage", "memory {value}% of limit on {target}", 80, 92),
    AlertType("LogErrorsSpike", "{value} error log lines/min on {target}", 50, 800),
    AlertType("HealthCheckFlapping", "health check flapping on {target}"),
    AlertType(
        "CertificateExpiringSoon", "TLS certificate of {target} expires in {value} days", 7, 21
    ),
    AlertType("BackupJobSlow", "backup running for {value} min on {target}", 40, 180),
    AlertType("CacheHitRateLow", "hit rate {value}% on {target}", 60, 85),
    AlertType("NodeClockSkew", "clock offset {value} ms on {target}", 50, 500),
    AlertType("NetworkPacketLoss", "{value}% packet loss on {target}", 1, 5, 1),
    AlertType("SystemdUnitFailed", "a systemd unit failed {value} times on {target}", 1, 4),
    AlertType(
        "SyntheticCheckFailed", "synthetic check of {target} failed from {value} probes", 1, 3
    ),
]
TYPES: dict[str, AlertType] = {t.name: t for t in _ALL}

_APP_ROOTS = ("PodCrashLooping", "OOMKilled", "HighErrorRate", "ThreadPoolExhausted")
ROOTS: dict[str, tuple[str, ...]] = {
    "db": ("DBConnectionsExhausted", "SlowQueries", "ReplicationLag", "DBDown", "DBDeadlocks"),
    "cache": ("CacheEvictionStorm", "CacheMemoryFull", "CacheNodeDown"),
    "queue": ("ConsumerLagHigh", "BrokerUnavailable", "QueueDepthHigh"),
    "app": _APP_ROOTS,
    "api": _APP_ROOTS,
    "platform": _APP_ROOTS,
    "frontend": _APP_ROOTS,
    "gateway": (*_APP_ROOTS, "TLSHandshakeErrors"),
    "node": (
        "NodeNotReady",
        "NodeDiskPressure",
        "NodeHighCPU",
        "NodeMemoryPressure",
        "KubeletDown",
    ),
}
# A node fault shows on the resources it hosts as one of these.
NODE_EFFECTS: dict[str, tuple[str, ...]] = {
    "NodeNotReady": ("TargetDown", "PodNotReady"),
    "NodeDiskPressure": ("PodEvicted", "DiskWriteErrors"),
    "NodeHighCPU": ("CPUThrottling", "HighLatency"),
    "NodeMemoryPressure": ("OOMKilled", "PodEvicted"),
    "KubeletDown": ("PodNotReady", "TargetDown"),
}
_CALLER = ("HighLatency", "HighErrorRate", "UpstreamTimeouts", "CircuitBreakerOpen", "RetryStorm")
SYMPTOMS: dict[str, tuple[str, ...]] = {
    "gateway": ("HighLatency", "HighErrorRate", "UpstreamTimeouts"),
    "frontend": ("HighLatency", "HighErrorRate", "UpstreamTimeouts", "ApdexLow"),
    "api": _CALLER,
    "app": _CALLER,
    "platform": _CALLER,
}
# Raised on the service as a whole (no resource).
SERVICE_SYMPTOMS = ("SLOBurnRate",)
_APP_PRECURSORS = (
    "MemoryGrowth",
    "GCPauseHigh",
    "ConnectionPoolSaturation",
    "ThreadPoolSaturation",
)
PRECURSORS: dict[str, tuple[str, ...]] = {
    "db": (
        "DiskUsageHigh",
        "ConnectionPoolSaturation",
        "SlowQueryRateRising",
        "ReplicationLagGrowing",
    ),
    "cache": ("MemoryGrowth", "EvictionRateRising"),
    "queue": ("ConsumerLagGrowing", "DiskUsageHigh"),
    "app": _APP_PRECURSORS,
    "api": _APP_PRECURSORS,
    "platform": _APP_PRECURSORS,
    "frontend": _APP_PRECURSORS,
    "gateway": _APP_PRECURSORS,
    "node": ("DiskUsageHigh", "NodeMemoryGrowth", "NodeLoadHigh"),
}
_APP_NOISE = (
    "DiskUsageHigh",
    "CPUThrottling",
    "PodRestarted",
    "HighMemoryUsage",
    "LogErrorsSpike",
    "HealthCheckFlapping",
    "CertificateExpiringSoon",
    "HighLatency",
)
NOISE: dict[str, tuple[str, ...]] = {
    "db": ("BackupJobSlow", "SlowQueries", "DiskUsageHigh", "ConnectionPoolSaturation"),
    "cache": ("CacheHitRateLow", "HighMemoryUsage", "EvictionRateRising"),
    "queue": ("ConsumerLagHigh", "QueueDepthHigh", "DiskUsageHigh"),
    "app": _APP_NOISE,
    "api": _APP_NOISE,
    "platform": _APP_NOISE,
    "frontend": _APP_NOISE,
    "gateway": (*_APP_NOISE, "TLSHandshakeErrors"),
    "node": (
        "NodeClockSkew",
        "DiskUsageHigh",
        "NetworkPacketLoss",
        "NodeHighCPU",
        "SystemdUnitFailed",
    ),
    "service": ("SLOBurnRate", "SyntheticCheckFailed"),
}
# Noise that never resolves by itself (a reminder, not a condition that clears).
STICKY_NOISE = frozenset({"CertificateExpiringSoon", "BackupJobSlow"})
