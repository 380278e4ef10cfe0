"""Bad usage of the Kafka commands ends with exit 2 and one line, before any connection."""

from __future__ import annotations

import pytest

from aiops.cli import main


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["run", "--partitions", "0"], "--partitions must be at least 1"),
        (["run", "--checkpoint-interval-s", "0"], "--checkpoint-interval-s must be positive"),
        (["run", "--metrics-port", "70000"], "--metrics-port must be 0..65535"),
        (["run", "--topology", "/nonexistent.yaml"], "no such file"),
        (["run", "--config", "/nonexistent.yaml"], "cannot read config"),
        (["webhook", "--max-body-bytes", "0"], "must be positive"),
        (["webhook", "--token-file", "/nonexistent"], "--token-file /nonexistent"),
        (["produce"], "give --alerts, --changes, --metrics or several"),
        (["produce", "--alerts", "/nonexistent.jsonl"], "--alerts /nonexistent.jsonl"),
        (["bench-kafka", "--rate", "0"], "--rate"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    argv: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and reason in err and err.count("\n") == 1, err
