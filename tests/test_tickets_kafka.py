"""The ticket topics against the real broker: `aiops.tickets` in, `aiops.forecasts` out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from aiops.cli import main
from tests.kafka_helpers import KafkaBroker, kafka_broker, unique_topic_name  # noqa: F401
from tests.test_forecast_cli import write_export

pytestmark = pytest.mark.slow


def test_forecast_from_the_tickets_topic_equals_the_file_and_goes_to_the_forecasts_topic(
    kafka_broker: KafkaBroker,  # noqa: F811
    tmp_path: Path,
) -> None:
    export = write_export(tmp_path / "tickets.csv", bad_rows=False)
    with export.open(newline="") as f:
        rows = list(csv.DictReader(f))
    tickets = kafka_broker.create_topic(unique_topic_name("tickets"))
    forecasts = unique_topic_name("forecasts")
    # One message per update row, as a service desk would stream them; one unusable message.
    messages = [(r["number"].encode(), json.dumps(r).encode()) for r in rows]
    kafka_broker.produce(tickets, [*messages, (b"x", b'{"number": "INC1"}')])
    common = ["forecast", "--freq", "D", "--horizon", "7", "--no-plot", "--no-progress"]
    assert main([*common, "--tickets", str(export), "--out", str(tmp_path / "file.csv")]) == 0
    code = main(
        [*common, "--bootstrap-servers", kafka_broker.bootstrap_servers,
         "--tickets-topic", tickets, "--forecasts-topic", forecasts,
         "--dead-letters", str(tmp_path / "dead.jsonl"), "--out", str(tmp_path / "topic.csv")]
    )  # fmt: skip
    assert code == 0
    from_file = (tmp_path / "file.csv").read_text()
    assert (tmp_path / "topic.csv").read_text() == from_file
    (letter,) = [json.loads(x) for x in (tmp_path / "dead.jsonl").read_text().splitlines()]
    assert letter["line"] == len(rows) and "opened_at" in letter["error"]
    published = [json.loads(r.value) for r in kafka_broker.read_all(forecasts)]
    with (tmp_path / "file.csv").open(newline="") as f:
        expected = list(csv.DictReader(f))
    assert len(published) == len(expected) == 7
    assert [(p["timestamp"], p["series"]) for p in published] == [
        (e["timestamp"], e["series"]) for e in expected
    ]
    assert [p["yhat"] for p in published] == [float(e["yhat"]) for e in expected]
    kafka_broker.delete_topics([tickets, forecasts])


def test_forecast_refuses_both_sources_or_neither(tmp_path: Path, capsys) -> None:
    base = ["forecast", "--freq", "D", "--horizon", "7", "--out", str(tmp_path / "f.csv")]
    assert main(base) == 2
    assert "give --tickets FILE or --bootstrap-servers" in capsys.readouterr().err
    both = [*base, "--tickets", "t.csv", "--bootstrap-servers", "127.0.0.1:1"]
    assert main(both) == 2
