"""`aiops capacity` end to end on a small export."""

from pathlib import Path

import pandas as pd
import pytest

from tests.test_forecast_cli import run, write_export


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_export(tmp_path_factory.mktemp("export") / "tickets.csv")


def test_capacity_plan(export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "plan.csv"
    code = run("capacity", "--tickets", str(export), "--freq", "H", "--horizon", "24",
               "--sla", "80/30", "--effort", "1=60,default=20", "--out", str(out),
               "--no-progress")  # fmt: skip
    assert code == 0
    plan = pd.read_csv(out)
    assert len(plan) == 24
    assert {"timestamp", "tickets", "agents", "agents_upper", "staff", "service_level"} <= set(
        plan.columns
    )
    assert (plan["agents_upper"] >= plan["agents"]).all()
    assert (plan["staff"] >= plan["agents"]).all()
    assert (plan.loc[plan["agents"] > 0, "service_level"] >= 0.8).all()
    assert (tmp_path / "plan.png").exists()
    assert "shift start" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra", [["--freq", "D"], ["--freq", "H", "--sla", "soon"], ["--freq", "H", "--effort", "x"]]
)
def test_capacity_bad_usage(export: Path, tmp_path: Path, extra: list[str]) -> None:
    out = tmp_path / "plan.csv"
    code = run("capacity", "--tickets", str(export), "--horizon", "5", "--out", str(out),
               *extra, "--no-progress")  # fmt: skip
    assert code == 2
    assert not out.exists()
