"""Write a scenario: alerts.jsonl, changes.jsonl, topology.yaml and truth.json.

Each file is written to a hidden temporary name in the output directory and renamed over the
final name once complete, so a reader never sees a half-written file. Alert ids are numbered
in delivery order (`a-000001` is the first event received).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import yaml
from tqdm import tqdm

from aiops.scenarios.scenario import Scenario

# Scenarios with at least this many alerts show a progress bar while writing (when asked for).
_PROGRESS_ALERTS = 50_000
_CHUNK = 4096


class _IsoClock:
    """ISO 8601 UTC for epoch ms, with the whole-second part cached (events cluster)."""

    def __init__(self) -> None:
        self.second = -1
        self.text = ""

    def __call__(self, ms: int) -> str:
        sec, frac = divmod(ms, 1000)
        if sec != self.second:
            self.second = sec
            self.text = datetime.fromtimestamp(sec, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self.text}.{frac:03d}Z" if frac else f"{self.text}Z"


def iso(ms: int | None) -> str | None:
    return None if ms is None else _IsoClock()(ms)


def atomic_write(path: Path, chunks: Iterable[bytes]) -> None:
    """Write `chunks` to `path` through a temporary file and a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; these files are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _alert_lines(scn: Scenario, ids: list[str], bar: tqdm) -> Iterator[bytes]:
    clock = _IsoClock()
    dumps = orjson.dumps
    buf: list[bytes] = []
    for aid, e in zip(ids, scn.events, strict=True):
        s = e.series
        rec: dict[str, Any] = {
            "id": aid,
            "time": clock(e.time),
            "status": e.status,
            "name": s.atype.name,
            "severity": e.severity,
        }
        if s.service:
            rec["service"] = s.service
        if s.resource:
            rec["resource"] = s.resource
        rec["summary"] = e.summary
        rec["source"] = s.source
        rec["labels"] = s.labels
        buf.append(dumps(rec))
        if len(buf) >= _CHUNK:
            bar.update(len(buf))
            yield b"\n".join(buf) + b"\n"
            buf = []
    if buf:
        bar.update(len(buf))
        yield b"\n".join(buf) + b"\n"


def _change_lines(scn: Scenario) -> Iterator[bytes]:
    for c in scn.changes:
        rec: dict[str, Any] = {"id": c.id, "time": iso(c.time)}
        if c.service:
            rec["service"] = c.service
        if c.resource:
            rec["resource"] = c.resource
        rec |= {"type": c.type, "summary": c.summary}
        yield orjson.dumps(rec) + b"\n"


def truth(scn: Scenario, ids: list[str]) -> dict[str, Any]:
    """The ground truth document.

    - `scenario`: profile, seed, every parameter used (after `--target-alerts` scaling), the
      window (`start`, `end`) and counts of alerts, changes, services and faults.
    - `alerts`: every alert id → the fault (`F0001`) or noise source (`N0001`) behind it;
      precursor warnings belong to their fault.
    - `faults`: `kind` service | resource | node; `root` the entity at fault (service,
      replica or node name); `root_service` (null for a node) and `root_resource` (only for
      a one-replica fault); `start` the onset, `end` when the root recovers (it may lie past
      the scenario's end: the fault is still on when the stream stops); `outage` when a
      critical fault reached a frontend; `cause_change` or null; `predictable` with
      `precursor_start` when warnings came first; `services` the root service (for a node,
      the services it hosts) then every service the cascade reached, in order.
    - `noise`: the sources that raised something: `id`, `service` (null on a node),
      `resource` (null for a service-level alert), `name`.
    - `changes`: every change id → the fault it caused, or null.
    """
    faults = []
    for f in scn.faults:
        faults.append(
            {
                "id": f.id,
                "kind": f.kind,
                "root": f.root,
                "root_service": f.root_service,
                "root_resource": f.root_resource,
                "start": iso(f.start),
                "end": iso(f.end),
                "severity": f.severity,
                "outage": f.outage,
                "cause_change": getattr(f.cause_change, "id", None),
                "predictable": f.predictable,
                "precursor_start": iso(f.precursor_start),
                "services": list(f.services),
            }
        )
    return {
        "scenario": {
            "profile": scn.profile,
            "seed": scn.seed,
            "params": scn.params.to_dict(),
            "start": iso(scn.start),
            "end": iso(scn.end),
            "alerts": len(scn.events),
            "changes": len(scn.changes),
            "services": len(scn.topology.services),
            "faults": len(scn.faults),
        },
        "alerts": {aid: e.series.group.id for aid, e in zip(ids, scn.events, strict=True)},
        "faults": faults,
        "noise": [
            {"id": n.id, "service": n.service, "resource": n.resource, "name": n.name}
            for n in scn.noise
        ],
        "changes": {c.id: (c.fault.id if c.fault else None) for c in scn.changes},
    }


def write_scenario(scn: Scenario, out: Path, progress: bool = False) -> None:
    """Write the four files into `out` (created if missing)."""
    out.mkdir(parents=True, exist_ok=True)
    width = max(6, len(str(len(scn.events))))
    ids = [f"a-{i:0{width}d}" for i in range(1, len(scn.events) + 1)]
    show = progress and len(ids) >= _PROGRESS_ALERTS
    with tqdm(total=len(ids), desc="alerts", unit="alert", disable=not show, leave=False) as bar:
        atomic_write(out / "alerts.jsonl", _alert_lines(scn, ids, bar))
    atomic_write(out / "changes.jsonl", _change_lines(scn))
    doc = yaml.safe_dump(
        scn.topology.to_document(), sort_keys=False, default_flow_style=None, width=120
    )
    atomic_write(out / "topology.yaml", [doc.encode()])
    atomic_write(out / "truth.json", [orjson.dumps(truth(scn, ids), option=orjson.OPT_INDENT_2)])
