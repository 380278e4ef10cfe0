"""Metric series from CSV files in the NAB layout (CONTRACT.md §1.5): a header naming
`timestamp` and `value` columns, then one point per row.

Timestamps without a zone are UTC (the NAB convention). Every row that cannot be used (wrong
number of fields, unreadable timestamp, a value that is not a finite number) becomes a dead
letter with its reason; nothing is dropped silently. Rows are points in file order, which is
the order they arrived in: a repeated timestamp (real series have them, e.g. NAB's around a
daylight-saving change) is kept as a point of its own.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from connectors.files import DeadLetter, InputError, iter_lines
from pipeline.records import MetricSample, RecordError, metric_value
from pipeline.times import TimeError, parse_time_assume_utc


def _fields(text: str) -> list[str]:
    return next(csv.reader((text,)))


def read_series_csv(
    path: Path,
    *,
    metric: str | None = None,
    service: str | None = None,
    resource: str | None = None,
) -> Iterator[MetricSample | DeadLetter]:
    """Samples of one series file in file order, bad rows as dead letters.

    `metric` defaults to the file's stem; `service` / `resource` label the series when it is
    fed to the rest of the pipeline. Raises `InputError` when the file cannot be read or has
    no usable header.
    """
    name = str(path)
    metric = metric or path.stem
    lines = iter_lines(path)
    header_line = next(lines, None)
    if header_line is None:
        raise InputError(f"{path} is empty (a 'timestamp,value' header is expected)")
    header = [column.strip().lstrip("\ufeff").lower() for column in _fields(header_line[1])]
    if "timestamp" not in header or "value" not in header:
        raise InputError(f"{path}: the header must name 'timestamp' and 'value' columns")
    t_col, v_col = header.index("timestamp"), header.index("value")
    needed = max(t_col, v_col) + 1
    for lineno, text in lines:
        row = _fields(text)
        if len(row) < needed:
            yield DeadLetter(name, lineno, f"expected {len(header)} fields, got {len(row)}", text)
            continue
        try:
            time = parse_time_assume_utc(row[t_col])
            value = metric_value(row[v_col].strip())
        except (TimeError, RecordError) as exc:
            yield DeadLetter(name, lineno, str(exc), text)
            continue
        yield MetricSample(
            time=time, metric=metric, value=value, service=service, resource=resource
        )


@dataclass(slots=True)
class Series:
    """A whole series in memory: parallel lists of times and values, and the rows left out."""

    name: str
    times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.times)


def load_series(path: Path, name: str | None = None) -> Series:
    """Read a series file whole (for offline scoring and evaluation)."""
    series = Series(name or str(path))
    for item in read_series_csv(path):
        if isinstance(item, DeadLetter):
            series.dead_letters.append(item)
        else:
            series.times.append(item.time)
            series.values.append(item.value)
    return series
