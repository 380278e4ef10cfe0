"""Files in and out: JSONL readers that turn bad lines into dead letters, a merge of several
record streams in event-time order, and output files that appear whole or not at all.
"""

from __future__ import annotations

import gzip
import heapq
import math
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import orjson
import yaml
from mypy_extensions import mypyc_attr

from connectors.formats import canonical_alert, parse_alert_payload
from pipeline.feedback import Feedback, feedback_from_dict
from pipeline.records import (
    Alert,
    Change,
    MetricSample,
    RecordError,
    change_from_dict,
    metric_from_dict,
)
from pipeline.topology import Topology, TopologyError

RAW_LIMIT = 64 * 1024  # keep dead letters readable: a huge raw line is cut here


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class DeadLetter:
    """An input that could not be used, with where it came from and why."""

    file: str
    line: int
    error: str
    raw: str
    index: int | None = None  # position inside a multi-alert payload

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.file,
            "line": self.line,
            "error": self.error,
            "raw": self.raw[:RAW_LIMIT],
        }
        if self.index is not None:
            out["index"] = self.index
        return out


class InputError(Exception):
    """An input file that cannot be read at all (missing, unreadable, not UTF-8 text)."""


def _open_text(path: Path) -> IO[str]:
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rt", encoding="utf-8")
        return path.open(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


Progress = Callable[[int], object]
R = TypeVar("R")


def iter_lines(path: Path, progress: Progress | None = None) -> Iterator[tuple[int, str]]:
    """(line number, text) of every non-blank line; blank lines hold no record.
    `progress` is called with each line's length in characters."""
    with _open_text(path) as handle:
        try:
            for lineno, text in enumerate(handle, start=1):
                if progress is not None:
                    progress(len(text))
                if not text.isspace():  # as `text.strip()`, without copying the line
                    yield lineno, text.rstrip("\n")
        except UnicodeDecodeError as exc:
            raise InputError(f"{path} is not UTF-8 text: {exc.reason}") from None
        except (OSError, EOFError) as exc:
            raise InputError(f"cannot read {path}: {exc}") from None


def read_alerts(
    path: Path, received_at: float | None = None, progress: Progress | None = None
) -> Iterator[Alert | DeadLetter]:
    """Alerts of a JSONL file in any supported format, bad lines as dead letters."""
    name = str(path)
    loads = orjson.loads
    for lineno, text in iter_lines(path, progress):
        try:
            obj = loads(text)
            alert = canonical_alert(obj)
            if alert is None:
                parsed = parse_alert_payload(obj, received_at=received_at)
        except orjson.JSONDecodeError as exc:
            yield DeadLetter(name, lineno, f"invalid JSON: {exc}", text)
            continue
        except RecordError as exc:
            yield DeadLetter(name, lineno, str(exc), text)
            continue
        if alert is not None:
            yield alert
            continue
        yield from parsed.alerts
        for index, reason in parsed.errors:
            yield DeadLetter(name, lineno, reason, text, index)


def _read_records(
    path: Path, parse: Callable[[Any], R], progress: Progress | None = None
) -> Iterator[R | DeadLetter]:
    """`parse` of each JSONL line, bad lines as dead letters with the reason."""
    name = str(path)
    for lineno, text in iter_lines(path, progress):
        try:
            yield parse(orjson.loads(text))
        except orjson.JSONDecodeError as exc:
            yield DeadLetter(name, lineno, f"invalid JSON: {exc}", text)
        except RecordError as exc:
            yield DeadLetter(name, lineno, str(exc), text)


def read_changes(path: Path, progress: Progress | None = None) -> Iterator[Change | DeadLetter]:
    """Change records of a JSONL file, bad lines as dead letters."""
    return _read_records(path, change_from_dict, progress)


def read_metrics(
    path: Path, progress: Progress | None = None
) -> Iterator[MetricSample | DeadLetter]:
    """Metric samples of a JSONL file (the `aiops.metrics` topic shape), bad lines as dead
    letters."""
    return _read_records(path, metric_from_dict, progress)


def read_feedback(path: Path) -> Iterator[Feedback | DeadLetter]:
    """Root-cause feedback records of a store (pipeline/feedback.py), bad lines as dead
    letters. A record without `at` is dated 0 rather than now: a store replays the same."""
    return _read_records(path, lambda doc: feedback_from_dict(doc, now=0.0))


def read_incidents(path: Path) -> list[dict[str, Any]]:
    """Incidents written by a replay: an incidents.jsonl file, or a directory holding one."""
    if path.is_dir():
        path = path / "incidents.jsonl"
    out = []
    for lineno, text in iter_lines(path):
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{path} line {lineno}: invalid JSON: {exc}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
            raise InputError(f"{path} line {lineno}: not an incident (no id)")
        out.append(doc)
    return out


Record = Alert | Change | MetricSample | DeadLetter
# merge_streams takes any records with an optional `time` (R: the Kafka ordering test merges
# its own dead letters); compiled, a narrower annotation would be enforced at run time.


def merge_time(record: object) -> float:
    """Where a record sorts when streams are merged: its event time; records without one
    (dead letters, undated events) sort first, so they go as soon as they are a head."""
    t = getattr(record, "time", None)
    return float("-inf") if t is None else t


def merge_streams(*streams: Iterable[R]) -> Iterator[R]:
    """Interleave streams by event time while keeping each stream's own order.

    The head with the earliest time goes next (ties: the earlier stream); dead letters and
    undated events go as soon as they are the head of their stream. A stream that is itself
    out of order (late deliveries) therefore stays in file order.
    """
    heap: list[tuple[float, int, int, R, Iterator[R]]] = []
    counter = 0

    def push(order: int, it: Iterator[R]) -> None:
        nonlocal counter
        for record in it:
            counter += 1
            heapq.heappush(heap, (merge_time(record), order, counter, record, it))
            return

    for order, stream in enumerate(streams):
        push(order, iter(stream))
    replace, pop = heapq.heapreplace, heapq.heappop
    no_time = -math.inf  # merge_time of a record without a time
    while heap:
        _, order, _, record, it = heap[0]
        yield record
        # The earliest head of the other streams (a child of the root). The next records of
        # this stream that sort before it go out at once, without a heap operation (nearly
        # every record when one stream is much larger); the first that does not takes the
        # head's place. (time, stream, counter) orders every entry, so this is the order of
        # popping and pushing each record.
        size = len(heap)
        if size == 1:
            bound_time, bound_order = math.inf, len(streams)
        else:
            other = heap[1] if size == 2 or heap[1] < heap[2] else heap[2]
            bound_time, bound_order = other[0], other[1]
        for nxt in it:
            t = getattr(nxt, "time", None)  # merge_time, inlined
            if t is None:
                t = no_time
            if t < bound_time or (t == bound_time and order < bound_order):
                yield nxt
                continue
            counter += 1
            replace(heap, (t, order, counter, nxt, it))
            break
        else:
            pop(heap)


def read_yaml(path: Path) -> Any:
    """A YAML file's document; InputError naming the file when it cannot be read or parsed."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path} is not valid YAML: {exc}") from None


def load_topology(path: Path | None) -> Topology:
    """Topology YAML (CONTRACT.md §1.3); no path means an empty graph."""
    if path is None:
        return Topology()
    doc = read_yaml(path)
    try:
        return Topology.from_dict(doc)
    except TopologyError as exc:
        raise InputError(f"{path}: {exc}") from None


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class OutputFiles:
    """Output files written under temporary names and renamed into place together on success,
    so a failed run never leaves a half-written file behind."""

    def __init__(self, out_dir: Path, names: Iterable[str]) -> None:
        self.out_dir = out_dir
        self.names = list(names)
        self._handles: dict[str, IO[bytes]] = {}

    def __enter__(self) -> OutputFiles:
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            for name in self.names:
                self._handles[name] = (self.out_dir / f".{name}.tmp").open("wb")
        except OSError as exc:
            self._discard()
            raise InputError(f"cannot write to {self.out_dir}: {exc.strerror or exc}") from None
        return self

    def write_json(self, name: str, obj: Any) -> None:
        self._handles[name].write(orjson.dumps(obj) + b"\n")

    def write_many(self, name: str, objs: Iterable[Any]) -> None:
        """Each object as a line, in one write (the same bytes as write_json of each)."""
        dumps = orjson.dumps
        data = b"".join([dumps(obj) + b"\n" for obj in objs])
        if data:
            self._handles[name].write(data)

    def write_whole(self, name: str, obj: Any) -> None:
        self._handles[name].write(orjson.dumps(obj, option=orjson.OPT_INDENT_2) + b"\n")

    def _discard(self) -> None:
        for name, handle in self._handles.items():
            handle.close()
            (self.out_dir / f".{name}.tmp").unlink(missing_ok=True)
        self._handles.clear()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self._discard()
            return
        for handle in self._handles.values():
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
        for name in self._handles:
            os.replace(self.out_dir / f".{name}.tmp", self.out_dir / name)
        self._handles.clear()


def append_jsonl(path: Path, row: Any) -> None:
    """Append one record as a line and flush it to disk: a store that is only ever appended
    to (the feedback store) keeps every complete line even if a later write fails."""
    line = orjson.dumps(row) + b"\n"
    try:
        with path.open("ab") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise InputError(f"cannot append to {path}: {exc.strerror or exc}") from None


def write_jsonl_atomic(
    path: Path, rows: Iterable[Any], default: Callable[[Any], Any] | None = None
) -> int:
    """Write rows as JSONL to `path` via a temporary file; returns the row count."""
    tmp = path.with_name(f".{path.name}.tmp")
    count = 0
    try:
        with tmp.open("wb") as handle:
            for row in rows:
                handle.write(orjson.dumps(row, default=default) + b"\n")
                count += 1
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return count
