"""`aiops anomalies` (CONTRACT.md §2.2) and `aiops nab`: outputs and errors."""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

import pytest

import aiops.commands.anomalies as anomalies_command
from aiops.cli import main
from connectors.metrics import load_series
from models.anomaly import SeriesAnomalyDetector


def write_series(path: Path, values: list[float], start_hour: int = 0) -> Path:
    lines = ["timestamp,value"]
    for i, v in enumerate(values):
        minutes = start_hour * 60 + 5 * i
        day, rest = divmod(minutes, 24 * 60)
        lines.append(f"2014-03-{1 + day:02d} {rest // 60:02d}:{rest % 60:02d}:00,{v}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def noisy(n: int, seed: int, spike_at: int | None = None) -> list[float]:
    rng = random.Random(seed)
    values = [round(rng.gauss(20.0, 1.0), 3) for _ in range(n)]
    if spike_at is not None:
        values[spike_at] = 60.0
    return values


def test_anomalies_writes_the_contract_columns(tmp_path: Path, capsys) -> None:
    series = write_series(tmp_path / "s.csv", noisy(400, seed=1, spike_at=300))
    out = tmp_path / "scores.csv"
    assert main(["anomalies", "--input", str(series), "--out", str(out)]) == 0
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["timestamp", "value", "anomaly_score"]
    assert len(rows) == 401
    assert rows[1][0] == "2014-03-01T00:00:00Z"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r[0]) for r in rows[1:])
    scores = [float(r[2]) for r in rows[1:]]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores.index(max(scores)) == 300
    assert "400 points scored, 0 dead letters" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_anomalies_scores_are_the_online_detector_scores(tmp_path: Path) -> None:
    series = write_series(tmp_path / "s.csv", noisy(300, seed=2, spike_at=250))
    out = tmp_path / "scores.csv"
    main(["anomalies", "--input", str(series), "--out", str(out)])
    written = [float(r["anomaly_score"]) for r in csv.DictReader(out.open())]
    loaded = load_series(series)
    detector = SeriesAnomalyDetector()
    expected = [
        detector.score_and_learn(y, t) for t, y in zip(loaded.times, loaded.values, strict=True)
    ]
    assert written == pytest.approx(expected, abs=1e-6)


def test_anomalies_reports_bad_rows_as_dead_letters(tmp_path: Path, capsys) -> None:
    series = tmp_path / "s.csv"
    series.write_text(
        "timestamp,value\n2014-03-01 00:00:00,1\nbad,2\n2014-03-01 00:10:00,oops\n"
        "2014-03-01 00:15:00,4\n"
    )
    out, letters = tmp_path / "scores.csv", tmp_path / "dead.jsonl"
    args = ["anomalies", "--input", str(series), "--out", str(out)]
    assert main(args) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and err[0].startswith(f"dead letter: {series}:3:")
    assert len(out.read_text().splitlines()) == 3
    assert main([*args, "--dead-letter", str(letters)]) == 0
    records = [json.loads(line) for line in letters.read_text().splitlines()]
    assert [(r["line"], r["raw"]) for r in records] == [
        (3, "bad,2"),
        (4, "2014-03-01 00:10:00,oops"),
    ]
    assert all(r["error"] for r in records)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        (b"timestamp,value\n\xff\xfe,1\n", "not UTF-8"),
        (b"when,how much\n2014-03-01 00:00:00,1\n", "must name 'timestamp' and 'value'"),
    ],
)
def test_anomalies_unusable_input_exits_2_without_output(
    tmp_path: Path, capsys, content: bytes | None, message: str
) -> None:
    series = tmp_path / "s.csv"
    if content is not None:
        series.write_bytes(content)
    out = tmp_path / "scores.csv"
    assert main(["anomalies", "--input", str(series), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == (["s.csv"] if content else [])


def test_anomalies_bad_usage_exits_2(tmp_path: Path, capsys) -> None:
    series = write_series(tmp_path / "s.csv", [1.0, 2.0])
    assert main(["anomalies", "--input", str(series)]) == 2
    assert "--out" in capsys.readouterr().err
    missing_dir = tmp_path / "absent" / "scores.csv"
    assert main(["anomalies", "--input", str(series), "--out", str(missing_dir)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_anomalies_failure_midway_leaves_no_file(tmp_path: Path, monkeypatch) -> None:
    class Exploding(SeriesAnomalyDetector):
        calls = 0

        def score_and_learn(self, y: float, t: float) -> float:
            Exploding.calls += 1
            if Exploding.calls > 50:
                raise RuntimeError("boom")
            return super().score_and_learn(y, t)

    monkeypatch.setattr(anomalies_command, "SeriesAnomalyDetector", Exploding)
    series = write_series(tmp_path / "s.csv", noisy(200, seed=3))
    out = tmp_path / "scores.csv"
    out.write_text("previous run\n")
    with pytest.raises(RuntimeError):
        main(["anomalies", "--input", str(series), "--out", str(out)])
    assert out.read_text() == "previous run\n"  # the old file stands, nothing half-written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv", "scores.csv"]


def nab_corpus(root: Path) -> Path:
    """Two files of 600 points: a spike inside a window in one, nothing labelled in the other."""
    (root / "data" / "synthetic").mkdir(parents=True)
    write_series(root / "data" / "synthetic" / "a.csv", noisy(600, seed=4, spike_at=450))
    write_series(root / "data" / "synthetic" / "b.csv", noisy(600, seed=5))
    windows = {
        # points 430..470 of a.csv: 2014-03-02 11:50 .. 15:10 (5-minute steps from midnight)
        "synthetic/a.csv": [["2014-03-02 11:50:00.000000", "2014-03-02 15:10:00.000000"]],
        "synthetic/b.csv": [],
    }
    (root / "combined_windows.json").write_text(json.dumps(windows))
    return root


def test_nab_prints_both_detectors_per_file_and_overall(tmp_path: Path, capsys) -> None:
    data = nab_corpus(tmp_path)
    assert main(["nab", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "2 files, 1,200 points" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("synthetic/")}
    assert set(lines) == {"synthetic/a.csv", "synthetic/b.csv"}
    assert "1/1" in lines["synthetic/a.csv"]
    assert re.search(r"novelty: NAB standard score (\d+\.\d\d)", out)
    assert re.search(r"windowed-gaussian: NAB standard score -?\d+\.\d\d", out)
    assert re.search(r"throughput .*novelty [\d,]+, windowed-gaussian [\d,]+", out)


def test_nab_fixed_threshold_that_never_fires_scores_zero(tmp_path: Path, capsys) -> None:
    data = nab_corpus(tmp_path)
    assert main(["nab", "--data", str(data), "--threshold", "2"]) == 0
    out = capsys.readouterr().out
    assert "novelty: NAB standard score 0.00 (raw -1.00; 0/1 windows found" in out
    assert "threshold fixed" in out


def test_nab_bench_prints_points_per_second(tmp_path: Path, capsys) -> None:
    data = nab_corpus(tmp_path)
    assert main(["nab", "--data", str(data), "--bench", "--repeat", "2"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"novelty: 2,400 points in .* \([\d,]+ points/s on one core", out)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "no such directory"),
        ("bad_json", "not valid JSON"),
        ("missing_file", "cannot read"),
    ],
)
def test_nab_unusable_data_exits_2(tmp_path: Path, capsys, setup: str, message: str) -> None:
    data = tmp_path / "nab"
    if setup != "missing":
        nab_corpus(data)
    if setup == "bad_json":
        (data / "combined_windows.json").write_text("{not json")
    if setup == "missing_file":
        (data / "data" / "synthetic" / "b.csv").unlink()
    assert main(["nab", "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
