"""`aiops forecast`, `aiops backtest` and `aiops capacity` end to end on a small export."""

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aiops.cli import main

HEADER = "number,incident_state,sys_mod_count,opened_at,sys_updated_at,priority,category"
PRIORITIES = ["1 - Critical", "2 - High", "3 - Moderate", "3 - Moderate", "4 - Low"]
START = pd.Timestamp("2024-02-05")  # a Monday
DAYS = 42
WEEKDAY_RATE = [60, 50, 50, 45, 45, 6, 4]


def sn_time(t: pd.Timestamp) -> str:
    return f"{t.day}/{t.month}/{t.year} {t.hour:02d}:{t.minute:02d}"


def write_export(path: Path, bad_rows: bool = True) -> Path:
    """Six weeks of tickets in office hours, two update rows each, plus a few bad rows."""
    rng = np.random.default_rng(7)
    lines = [HEADER]
    number = 0
    for day in range(DAYS):
        date = START + pd.Timedelta(days=day)
        for _ in range(rng.poisson(WEEKDAY_RATE[date.day_of_week])):
            number += 1
            opened = date + pd.Timedelta(minutes=int(rng.integers(7 * 60, 19 * 60)))
            prio = PRIORITIES[number % len(PRIORITIES)]
            cat = f"Category {number % 3}"
            for mod, state in enumerate(("New", "Resolved")):
                updated = opened + pd.Timedelta(minutes=30 * mod + 5)
                lines.append(
                    f"INC{number:05d},{state},{mod},{sn_time(opened)},{sn_time(updated)},"
                    f"{prio},{cat}"
                )
    if bad_rows:
        lines += ["INC99999,New,0,31/2/2024 10:00,1/3/2024 10:00,4 - Low,Category 1", "x,y"]
    text = "\n".join(lines) + "\n"
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_export(tmp_path_factory.mktemp("export") / "tickets.csv.gz")


def run(*argv: str) -> int:
    return main(list(argv))


def test_daily_forecast_file_shape_and_plot(export: Path, tmp_path: Path) -> None:
    out = tmp_path / "fc.csv"
    code = run("forecast", "--tickets", str(export), "--freq", "D", "--horizon", "10",
               "--out", str(out), "--no-progress")  # fmt: skip
    assert code == 0
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["timestamp", "series", "yhat", "yhat_lower", "yhat_upper"]
    assert len(frame) == 10
    assert set(frame["series"]) == {"total"}
    times = pd.to_datetime(frame["timestamp"])
    last_day = START + pd.Timedelta(days=DAYS - 1)
    assert times.iloc[0] == (last_day + pd.Timedelta(days=1)).tz_localize("UTC")
    assert (times.diff().dropna() == pd.Timedelta(days=1)).all()
    assert frame["timestamp"].str.endswith("Z").all()
    assert ((frame["yhat_lower"] <= frame["yhat"]) & (frame["yhat"] <= frame["yhat_upper"])).all()
    # weekdays forecast far above weekends, as in the data
    weekday = frame.loc[times.dt.day_of_week < 5, "yhat"].mean()
    assert weekday > 4 * frame.loc[times.dt.day_of_week >= 5, "yhat"].mean()
    assert (tmp_path / "fc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fc.csv", "fc.png"]


def test_hourly_forecast_by_priority(export: Path, tmp_path: Path) -> None:
    out = tmp_path / "fc.csv"
    code = run("forecast", "--tickets", str(export), "--freq", "H", "--horizon", "30",
               "--by", "priority", "--model", "online", "--out", str(out), "--no-plot",
               "--no-progress")  # fmt: skip
    assert code == 0
    frame = pd.read_csv(out)
    assert set(frame["series"]) == set(PRIORITIES)
    assert frame.groupby("series").size().eq(30).all()
    assert not (tmp_path / "fc.png").exists()


def test_dead_letters_are_written_and_counted(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    letters = tmp_path / "dead.jsonl"
    code = run("forecast", "--tickets", str(export), "--freq", "D", "--horizon", "2",
               "--out", str(tmp_path / "f.csv"), "--no-plot", "--dead-letters", str(letters),
               "--no-progress")  # fmt: skip
    assert code == 0
    rows = [json.loads(line) for line in letters.read_text().splitlines()]
    assert len(rows) == 2
    assert "opened_at" in rows[0]["error"] and "columns" in rows[1]["error"]
    assert "2 of" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["--tickets", "missing.csv", "--freq", "D", "--horizon", "3"],
        ["--tickets", "EXPORT", "--freq", "W", "--horizon", "3"],
        ["--tickets", "EXPORT", "--freq", "D", "--horizon", "0"],
        ["--tickets", "EXPORT", "--freq", "D", "--horizon", "3", "--by", "caller"],
        ["--tickets", "EXPORT", "--freq", "D", "--horizon", "3", "--holidays", "XX"],
        ["--tickets", "NOT_CSV", "--freq", "D", "--horizon", "3"],
    ],
)
def test_bad_usage_exits_2_with_one_line_and_no_output(
    argv: list[str], export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    not_csv = tmp_path / "notes.csv"
    not_csv.write_text("hello,world\n1,2\n")
    argv = [str(export) if a == "EXPORT" else str(not_csv) if a == "NOT_CSV" else a for a in argv]
    out = tmp_path / "fc.csv"
    assert run("forecast", *argv, "--out", str(out), "--no-progress") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:")
    assert not out.exists()


def test_failure_while_writing_leaves_nothing_behind(
    export: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aiops.forecasting.plots as plots

    def broken(*_args: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(plots, "plot_forecasts", broken)
    out = tmp_path / "fc.csv"
    with pytest.raises(RuntimeError):
        run("forecast", "--tickets", str(export), "--freq", "D", "--horizon", "3",
            "--out", str(out), "--no-progress")  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_backtest_prints_every_model_per_origin(
    export: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run("backtest", "--tickets", str(export), "--freq", "D", "--origins", "2",
               "--no-autoets", "--no-progress")  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out.splitlines()
    for model in ("calendar", "online", "snaive"):
        rows = [line.split() for line in out if line.split()[:1] == [model]]
        assert len(rows) == 3  # two origins and the mean
        assert rows[-1][1] == "mean"
        mase, smape, cover = map(float, rows[-1][2:5])
        assert mase > 0 and 0 <= smape <= 200 and 0 <= cover <= 1
    chosen = next(line for line in out if "chosen:" in line).split()[-1]
    assert chosen in ("calendar", "online", "snaive")


def test_unwritable_output_fails_before_any_work(
    export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "absent" / "fc.csv"
    code = run("forecast", "--tickets", str(export), "--freq", "D", "--horizon", "3",
               "--out", str(out), "--no-progress")  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "no directory" in err and "periods" not in err  # nothing was loaded
