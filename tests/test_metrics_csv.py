"""Metric series CSV files (NAB layout): every bad row becomes a dead letter with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.files import DeadLetter, InputError
from connectors.metrics import load_series, read_series_csv
from pipeline.records import MetricSample

GOOD = "timestamp,value\n2013-07-04 00:00:00,69.88\n2013-07-04 01:00:00,71.2\n"


def write(tmp_path: Path, text: str, name: str = "series.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_rows_become_samples_named_after_the_file(tmp_path: Path) -> None:
    items = list(read_series_csv(write(tmp_path, GOOD, "disk_used.csv"), resource="db-1"))
    assert items == [
        MetricSample(time=1372896000.0, metric="disk_used", value=69.88, resource="db-1"),
        MetricSample(time=1372899600.0, metric="disk_used", value=71.2, resource="db-1"),
    ]


def test_bad_rows_are_dead_letters_with_line_and_reason(tmp_path: Path) -> None:
    text = (
        "timestamp,value\n"
        "2013-07-04 00:00:00,1.5\n"
        "2013-07-04 00:05:00\n"  # line 3: a field short
        "not a time,2.0\n"  # line 4
        "2013-07-04 00:15:00,abc\n"  # line 5
        "2013-07-04 00:20:00,nan\n"  # line 6
        "\n"  # blank: no record, no dead letter
        "2013-07-04 00:25:00,3.5\n"
    )
    items = list(read_series_csv(write(tmp_path, text)))
    letters = [i for i in items if isinstance(i, DeadLetter)]
    samples = [i for i in items if isinstance(i, MetricSample)]
    assert [s.value for s in samples] == [1.5, 3.5]
    assert [(d.line, d.raw) for d in letters] == [
        (3, "2013-07-04 00:05:00"),
        (4, "not a time,2.0"),
        (5, "2013-07-04 00:15:00,abc"),
        (6, "2013-07-04 00:20:00,nan"),
    ]
    reasons = [d.error for d in letters]
    assert "expected 2 fields, got 1" in reasons[0]
    assert "unreadable time" in reasons[1]
    assert "not a number" in reasons[2]
    assert "finite" in reasons[3]


def test_repeated_timestamps_are_kept_in_file_order(tmp_path: Path) -> None:
    # Real series repeat timestamps (NAB's daylight-saving hour): each row is a point.
    text = "timestamp,value\n2014-03-09 03:00:00,1\n2014-03-09 03:00:00,2\n2014-03-09 02:00:00,3\n"
    series = load_series(write(tmp_path, text))
    assert series.values == [1.0, 2.0, 3.0]
    assert series.dead_letters == []


def test_column_order_and_extra_columns_follow_the_header(tmp_path: Path) -> None:
    text = "value,label,timestamp\n4.0,0,2013-07-04 00:00:00\n"
    series = load_series(write(tmp_path, text))
    assert (series.times, series.values) == ([1372896000.0], [4.0])


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "is empty"),
        ("\n\n", "is empty"),
        ("time,val\n2013-07-04 00:00:00,1\n", "must name 'timestamp' and 'value'"),
    ],
)
def test_unusable_header_is_an_input_error(tmp_path: Path, text: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        load_series(write(tmp_path, text))


def test_missing_and_binary_files_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        load_series(tmp_path / "absent.csv")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"timestamp,value\n\xff\xfe\x00,1\n")
    with pytest.raises(InputError, match="not UTF-8"):
        load_series(binary)
