"""One day of the Nezha Train-Ticket data (FSE 2023), read into the pipeline's terms.

Layout of a day directory `DAY/`: `metric/<pod>_metric.csv` (one row a minute per pod),
`trace/HH_MM_trace.csv` (spans), `log/HH_MM_log.csv` (container logs) and
`DAY-fault_list.json` (the ground truth, read only by the evaluation). A pod is
`<service>-<hash>-<hash>`. Times: metric `TimeStamp` (epoch seconds) and span/log
`...UnixNano` are UTC; `inject_time` read as UTC matches them (`inject_timestamp` is 8 h off).

What becomes of it:
- the service call graph, from spans whose parent ran in another service (`depends_on`), and
  where each pod runs (the `Node` of its log lines): a `Topology`;
- per-pod series, one sample a minute: the metric columns, and from the spans and logs of
  that minute the pod's calls to each other service (p90 duration), the time its spans spent
  in itself (p90 of duration minus children), its error, warning and never-seen-before
  log lines, and the surprise of the log templates it usually writes going missing
  (`log_missing`, `aiops.rca.event_mix`). Trace and log files overlap (a span or line in
  two files counts once); a malformed row is skipped and counted.
"""

from __future__ import annotations

import csv
import math
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from aiops.rca.event_mix import EventMix
from pipeline.records import MetricSample
from pipeline.times import parse_time_assume_utc
from pipeline.topology import Topology

_POD = re.compile(r"^(?P<service>.+?)-[0-9a-z]{6,10}-[0-9a-z]{5}$")
_LEVEL = re.compile(r"^\S+\s+(ERROR|WARN|INFO|DEBUG|TRACE)\b")
_MASK = (
    (re.compile(r"TraceID: \w+ SpanID: \w+"), ""),
    (re.compile(r"\[[^\[\]:=]*[:=][^\[\]]*\]"), "[*]"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f-]{27,}"), "<id>"),
    (re.compile(r"\d+"), "<n>"),
)
# Metric columns taken (the rest are constant or duplicated), by short name.
METRIC_COLUMNS = {
    "CpuUsage(m)": "cpu",
    "MemoryUsage(Mi)": "memory",
    "NetworkReceiveBytes": "net_in",
    "NetworkTransmitBytes": "net_out",
    "PodClientLatencyP90(s)": "client_latency_p90",
    "PodServerLatencyP90(s)": "server_latency_p90",
    "PodClientLatencyP99(s)": "client_latency_p99",
    "PodServerLatencyP99(s)": "server_latency_p99",
    "PodWorkload(Ops)": "workload",
}
NODE_COLUMNS = {"NodeCpuUsageRate(%)": "node_cpu", "NodeMemoryUsageRate(%)": "node_memory"}
# Series made from spans and log lines (files kept only around events): they come in bursts.
# Volumes (spans served, log lines) follow the load generator, not faults: not series here.
BURST_SERIES = frozenset(
    {"calls_to", "self_time_p90", "log_errors", "log_warnings", "log_new_templates"}
)
COUNT_SERIES = frozenset({"log_errors", "log_warnings", "log_new_templates"})
# Surprises (how unlikely a pod's missing log templates are): judged against the pod's own
# history across bursts, since some pods' template mix always wanders more than others'.
SURPRISE_SERIES = frozenset({"log_missing"})
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def pod_service(pod: str) -> str:
    """`ts-basic-service-5dc8d4f9fd-46997` -> `ts-basic-service`."""
    match = _POD.match(pod)
    return match.group("service") if match else pod


def log_template(text: str) -> str:
    """A log line with its variable parts masked (ids, numbers, bracketed values)."""
    text = text[:400].split(" ", 1)[-1]  # without the line's own clock
    for pattern, repl in _MASK:
        text = pattern.sub(repl, text)
    return text[:160].strip()


@dataclass(slots=True)
class Fault:
    inject_time: str  # as in the fault list ("2023-01-29 08:43:04", UTC)
    time: float
    pod: str
    service: str
    kind: str


@dataclass(slots=True)
class NezhaDay:
    root: Path
    skipped_rows: int = 0
    nodes: dict[str, str] = field(default_factory=dict)  # pod -> node

    @classmethod
    def open(cls, root: Path) -> NezhaDay:
        for sub in ("metric", "trace", "log"):
            if not (root / sub).is_dir():
                raise FileNotFoundError(f"{root} has no {sub}/ directory (not a Nezha day)")
        return cls(root)

    def fault_list_path(self) -> Path:
        found = sorted(self.root.glob("*fault_list.json"))
        if not found:
            raise FileNotFoundError(f"{self.root} has no *fault_list.json")
        return found[0]

    def faults(self) -> list[Fault]:
        """The day's injected faults, in time order (ground truth: evaluation only)."""
        doc = orjson.loads(self.fault_list_path().read_bytes())
        out = []
        for entries in doc.values():
            for f in entries:
                t = parse_time_assume_utc(f["inject_time"])
                pod = f["inject_pod"]
                out.append(Fault(f["inject_time"], t, pod, pod_service(pod), f["inject_type"]))
        return sorted(out, key=lambda f: f.time)

    # ---- raw rows -------------------------------------------------------------------------
    def _rows(self, pattern: str, width: int) -> Iterator[list[str]]:
        for path in sorted((self.root / pattern.split("/")[0]).glob(pattern.split("/")[1])):
            with path.open(encoding="utf-8", errors="replace", newline="") as handle:
                reader = csv.reader(handle)
                next(reader, None)
                for row in reader:
                    if len(row) != width:
                        self.skipped_rows += 1
                        continue
                    yield row

    def spans(self) -> Iterator[tuple[str, str, str, float, float]]:
        """(span id, parent id, pod, start epoch s, duration s), each span once."""
        seen: set[str] = set()
        for row in self._rows("trace/*_trace.csv", 8):
            span = row[1]
            if span in seen:
                continue
            seen.add(span)
            try:
                start = int(row[5]) / 1e9
                duration = (int(row[6]) - int(row[5])) / 1e9
            except ValueError:
                self.skipped_rows += 1
                continue
            yield span, row[2], row[3], start, duration

    def log_lines(self) -> Iterator[tuple[float, str, str, str]]:
        """(epoch s, pod, node, message), each line once."""
        seen: set[tuple[str, str, int]] = set()
        for row in self._rows("log/*_log.csv", 8):
            try:
                ns = int(row[1])
                message = orjson.loads(row[7]).get("log", "")
            except (ValueError, orjson.JSONDecodeError, AttributeError):
                self.skipped_rows += 1
                continue
            key = (row[3], row[1], hash(message))
            if key in seen:
                continue
            seen.add(key)
            self.nodes.setdefault(row[3], row[2])
            yield ns / 1e9, row[3], row[2], message

    def metric_rows(self) -> Iterator[tuple[str, dict[str, str]]]:
        for path in sorted((self.root / "metric").glob("*_metric.csv")):
            with path.open(encoding="utf-8", newline="") as handle:
                for row in csv.DictReader(handle):
                    pod = row.get("PodName") or ""
                    if pod:
                        yield pod, row


def _float(text: str | None) -> float | None:
    if text is None or text.strip() == "":
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


@dataclass(slots=True)
class DayData:
    """Everything the benchmark feeds the pipeline, in time order."""

    topology: Topology
    samples: list[MetricSample]
    pods: dict[str, str]  # pod -> service
    stats: dict[str, Any]


def load_day(day: NezhaDay) -> DayData:
    """Read a day: topology from spans and log nodes, per-pod samples from all three."""
    pods: dict[str, str] = {}
    samples: list[MetricSample] = []
    # Spans: the call graph; per minute per pod the calls it made to each other service, and
    # the time its spans spent in itself (duration minus children): a slow dependency makes
    # its callers' spans slow, not their own share of the time.
    span_pod: dict[str, str] = {}
    spans: list[tuple[str, str, str, float, float]] = []
    children: dict[str, float] = defaultdict(float)  # span -> its children's total duration
    for span, parent, pod, start, duration in day.spans():
        span_pod[span] = pod
        spans.append((span, parent, pod, start, duration))
        children[parent] += duration
    topology = Topology()
    calls: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    own: dict[tuple[str, int], list[float]] = defaultdict(list)
    for span, parent, pod, start, duration in spans:
        minute = int(start // 60)
        own[(pod, minute)].append(max(duration - children.get(span, 0.0), 0.0))
        caller = span_pod.get(parent)
        if caller is None or pod_service(caller) == pod_service(pod):
            continue
        topology.add_service(pod_service(caller), [pod_service(pod)])
        calls[(caller, pod_service(pod), minute)].append(duration)
    for (caller, callee, minute), durations in calls.items():
        t = (minute + 1) * 60.0
        p90 = _p90(durations)
        samples.append(MetricSample(t, f"calls_to:{callee}", p90, pod_service(caller), caller))
    for (pod, minute), durations in own.items():
        t = (minute + 1) * 60.0
        samples.append(MetricSample(t, "self_time_p90", _p90(durations), pod_service(pod), pod))
    # Logs: per minute per pod, error and warning lines, templates never seen on it before,
    # and how surprisingly a template it used to write is missing (`aiops.rca.event_mix`).
    counts: dict[tuple[str, int], list[int]] = {}
    known: dict[str, set[str]] = defaultdict(set)
    mixes: dict[tuple[str, int], Counter[str]] = defaultdict(Counter)
    n_lines = 0
    for t, pod, _, message in sorted(day.log_lines()):
        n_lines += 1
        key = (pod, int(t // 60))
        c = counts.setdefault(key, [0, 0, 0, 0])
        level = _LEVEL.match(message)
        name = level.group(1) if level else ("ERROR" if "Exception" in message else "")
        c[0] += 1
        c[1] += name == "ERROR"
        c[2] += name == "WARN"
        template = log_template(message)
        mixes[key][template] += 1
        if template not in known[pod]:
            known[pod].add(template)
            c[3] += 1
    for (pod, minute), (_, errors, warns, new) in counts.items():
        t, service = (minute + 1) * 60.0, pod_service(pod)
        for metric, value in (
            ("log_errors", errors),
            ("log_warnings", warns),
            ("log_new_templates", new),
        ):
            samples.append(MetricSample(t, metric, float(value), service, pod))
    mix = EventMix()
    for (pod, minute), templates in sorted(mixes.items(), key=lambda kv: kv[0][1]):
        missing = mix.missing(pod, templates)
        samples.append(
            MetricSample((minute + 1) * 60.0, "log_missing", missing, pod_service(pod), pod)
        )
    # Metrics: pod columns per pod; node columns once per node and minute.
    node_seen: set[tuple[str, int]] = set()
    n_rows = 0
    for pod, row in day.metric_rows():
        t = _float(row.get("TimeStamp"))
        if t is None:
            day.skipped_rows += 1
            continue
        n_rows += 1
        service = pod_service(pod)
        pods[pod] = service
        for column, metric in METRIC_COLUMNS.items():
            value = _float(row.get(column))
            if value is not None:
                samples.append(MetricSample(t, metric, value, service, pod))
        node = day.nodes.get(pod)
        if node is not None and (node, int(t // 60)) not in node_seen:
            node_seen.add((node, int(t // 60)))
            for column, metric in NODE_COLUMNS.items():
                value = _float(row.get(column))
                if value is not None:
                    samples.append(MetricSample(t, metric, value, None, node))
    for pod, service in sorted(pods.items()):
        topology.add_resource(pod, service, day.nodes.get(pod))
    samples.sort(key=lambda s: (s.time, s.resource or "", s.metric))
    stats = {
        "pods": len(pods),
        "services": len(topology.callees),
        "dependencies": sum(len(v) for v in topology.callees.values()),
        "spans": len(spans),
        "log_lines": n_lines,
        "metric_rows": n_rows,
        "samples": len(samples),
        "skipped_rows": day.skipped_rows,
    }
    return DayData(topology, samples, pods, stats)
