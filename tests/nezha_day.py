"""A tiny synthetic day in the Nezha Train-Ticket layout, for the rca-bench tests.

Three services, ts-ui-service -> ts-order-service -> ts-db-service, one pod each, two hours of
metrics; spans and logs only in two bursts (minutes 30-33 and 60-63), like the real data.
At minute 60 plus a few seconds ts-db-service gets CPU contention: its CPU jumps, its spans
slow down tenfold (so do its callers'), it logs errors.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from aiops.rca.nezha_data import METRIC_COLUMNS, NODE_COLUMNS

T0 = 1674981660  # 2023-01-29T08:41:00Z
PODS = {
    "ts-ui-service": "ts-ui-service-5477b965f-2chkr",
    "ts-order-service": "ts-order-service-5b67c48447-mv5hb",
    "ts-db-service": "ts-db-service-7f8d7d756d-k7b9j",
}
NODES = {"ts-ui-service": "10.0.0.1", "ts-order-service": "10.0.0.2", "ts-db-service": "10.0.0.2"}
FAULT_MINUTE = 60
BURSTS = (30, 60)


def _faulty(service: str, minute: int) -> bool:
    return service == "ts-db-service" and FAULT_MINUTE <= minute < FAULT_MINUTE + 4


def write_day(root: Path, with_faults: bool = True) -> Path:
    rng = random.Random(7)
    day = root / "2023-01-29"
    for sub in ("metric", "trace", "log"):
        (day / sub).mkdir(parents=True)
    header = ["Time", "TimeStamp", "PodName", *METRIC_COLUMNS, *NODE_COLUMNS]
    for service, pod in PODS.items():
        with (day / "metric" / f"{pod}_metric.csv").open("w", newline="") as handle:
            w = csv.writer(handle)
            w.writerow(header)
            for minute in range(120):
                t = T0 + minute * 60 + 9
                busy = _faulty(service, minute - 1)  # the row after the injection shows it
                values = [
                    500.0 if busy else 5 + rng.random(),  # cpu
                    400 + rng.random(),  # memory
                    3000 + 300 * rng.random(),  # net in
                    9000 + 900 * rng.random(),  # net out
                    0.03 + 0.005 * rng.random(),  # client p90
                    (0.5 if busy else 0.02) + 0.003 * rng.random(),  # server p90
                    0.05 + 0.005 * rng.random(),
                    (0.9 if busy else 0.03) + 0.003 * rng.random(),
                    0.5 + 0.1 * rng.random(),  # workload
                    10 + rng.random(),  # node cpu
                    40 + rng.random(),  # node memory
                ]
                w.writerow([f"t{minute}", t, pod, *values])
    for start in BURSTS:
        _burst(day, start, rng)
    if with_faults:
        fault = {
            "inject_time": "2023-01-29 09:41:05",  # minute 60 + 5 s, UTC
            "inject_timestamp": str(T0 + FAULT_MINUTE * 60 + 5 - 8 * 3600),
            "inject_pod": PODS["ts-db-service"],
            "inject_type": "cpu_contention",
        }
        (day / "2023-01-29-fault_list.json").write_text(json.dumps({"09": [fault]}))
    return day


def _burst(day: Path, start: int, rng: random.Random) -> None:
    name = f"{8 + (41 + start) // 60:02d}_{(41 + start) % 60:02d}"
    spans, logs = [], []
    for minute in range(start - 1, start + 3):
        for k in range(30):
            t = T0 + minute * 60 + 2 * k + rng.random()
            slow = (
                10.0 if _faulty("ts-db-service", minute) and t >= T0 + FAULT_MINUTE * 60 + 5 else 1
            )
            trace = f"{minute:03d}{k:03d}"
            db = 0.01 * slow
            chain = [
                ("ts-ui-service", db + 0.02),
                ("ts-order-service", db + 0.01),
                ("ts-db-service", db),
            ]
            parent = "root"
            for depth, (service, duration) in enumerate(chain):
                span = f"{trace}{depth}"
                ns = int(t * 1e9)
                spans.append(
                    [
                        trace,
                        span,
                        parent,
                        PODS[service],
                        f"op{depth}",
                        ns,
                        ns + int(duration * 1e9),
                        int(duration * 1e6),
                    ]
                )
                parent = span
                level = (
                    "ERROR" if service == "ts-db-service" and slow > 1 and k % 3 == 0 else "INFO"
                )
                message = json.dumps(
                    {
                        "log": f"10:00:00.000 {level}  x.Impl#1 TraceID: {trace} "
                        f"SpanID: {span} [query][done in {k} ms]\n"
                    }
                )
                logs.append(
                    [f"ts{ns}", ns, NODES[service], PODS[service], "server", trace, span, message]
                )
    with (day / "trace" / f"{name}_trace.csv").open("w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(
            [
                "TraceID",
                "SpanID",
                "ParentID",
                "PodName",
                "OperationName",
                "StartTimeUnixNano",
                "EndTimeUnixNano",
                "Duration",
            ]
        )
        w.writerows(spans)
    with (day / "log" / f"{name}_log.csv").open("w", newline="") as handle:
        w = csv.writer(handle)
        w.writerow(
            [
                "Timestamp",
                "TimeUnixNano",
                "Node",
                "PodName",
                "Container",
                "TraceID",
                "SpanID",
                "Log",
            ]
        )
        w.writerows(logs)
        handle.write("a,broken,row\n")  # malformed rows are skipped and counted
