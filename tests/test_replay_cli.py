"""`aiops replay` end to end on small files: outputs, dead letters, exit codes."""

import json
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiops.cli import main
from connectors.files import DeadLetter, merge_streams
from tests.format_samples import am_alert, am_payload, cloudevent, pd_trigger
from tests.helpers import alert, change

TOPOLOGY = """
services:
  checkout: {depends_on: [payments]}
  payments: {depends_on: [payments-db]}
  payments-db: {}
"""


def canonical(i, t, name, service, severity="major", **extra):
    return {"id": i, "time": t, "name": name, "service": service, "severity": severity, **extra}


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    lines = [
        json.dumps(canonical("a1", "2026-01-05T10:00:00Z", "DBDown", "payments-db", "critical")),
        "{not json",
        json.dumps({"id": "a2", "time": "2026-01-05T10:00:30Z", "service": "payments"}),
        json.dumps(canonical("a3", "yesterday", "X", "payments")),
        "",
        json.dumps(canonical("a4", 1767607260, "HighLatency", "payments")),
        json.dumps(
            canonical("a5", "2026-01-05T10:01:30Z", "HighLatency", "checkout", status="paused")
        ),
        json.dumps(
            am_payload(
                am_alert(service="checkout", instance="checkout-1", severity="critical"),
                am_alert(severity="warning"),
            )
        ),
    ]
    (tmp_path / "alerts.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "changes.jsonl").write_text(
        json.dumps(
            {
                "id": "CHG1",
                "time": "2026-01-05T09:55:00Z",
                "service": "payments-db",
                "type": "deploy",
            }
        )
        + "\n"
        + json.dumps({"id": "CHG2"})
        + "\n"
    )
    (tmp_path / "topology.yaml").write_text(TOPOLOGY)
    return tmp_path


def replay(d: Path, *extra: str) -> int:
    return main(
        [
            "replay",
            "--alerts",
            str(d / "alerts.jsonl"),
            "--changes",
            str(d / "changes.jsonl"),
            "--topology",
            str(d / "topology.yaml"),
            "--out",
            str(d / "out"),
            "--no-progress",
            *extra,
        ]
    )


def read(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_text().splitlines()]


def test_replay_writes_every_output_and_accounts_for_every_line(inputs: Path, capsys):
    assert replay(inputs) == 0
    out = inputs / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "dead_letter.jsonl",
        "incidents.jsonl",
        "predictions.jsonl",
        "summary.json",
        "suppressed.jsonl",
    ]
    dead = read(out / "dead_letter.jsonl")
    reasons = {(d["file"].rsplit("/", 1)[-1], d["line"]): d["error"] for d in dead}
    assert reasons[("alerts.jsonl", 2)].startswith("invalid JSON")
    assert "'name'" in reasons[("alerts.jsonl", 3)]
    assert "unreadable time" in reasons[("alerts.jsonl", 4)]
    assert "status 'paused'" in reasons[("alerts.jsonl", 7)]
    assert "alerts[1]" in reasons[("alerts.jsonl", 8)]  # AM alert without service/resource
    assert "missing required field 'time'" in reasons[("changes.jsonl", 2)]
    assert all(d["raw"] for d in dead)
    incidents = read(out / "incidents.jsonl")
    assert len(incidents) == 1
    (inc,) = incidents
    assert inc["services"] == ["payments-db", "checkout", "payments"]  # by onset
    assert inc["alert_ids"][:2] == ["a1", "a4"] and len(inc["alert_ids"]) == 3
    assert [c["entity"] for c in inc["root_cause"][:2]] == ["payments-db", "CHG1"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["alerts_in"] == 3 and summary["changes_in"] == 1
    assert summary["dead_letters"] == 6 and summary["incidents"] == 1
    assert summary["events_in"] == 10  # 9 non-blank lines; the AM line holds two alerts
    assert "1 incidents" in capsys.readouterr().out


def test_same_input_gives_byte_identical_incidents(inputs: Path):
    assert replay(inputs) == 0
    first = (inputs / "out" / "incidents.jsonl").read_bytes()
    assert replay(inputs) == 0
    assert (inputs / "out" / "incidents.jsonl").read_bytes() == first


def test_native_formats_replay_like_canonical(tmp_path: Path):
    lines = [
        pd_trigger(timestamp="2026-01-05T10:00:00Z"),
        cloudevent(canonical("c1", "2026-01-05T10:00:20Z", "HighLatency", "payments")),
    ]
    (tmp_path / "alerts.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert (
        main(
            [
                "replay",
                "--alerts",
                str(tmp_path / "alerts.jsonl"),
                "--out",
                str(tmp_path / "out"),
                "--no-progress",
            ]
        )
        == 0
    )
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["alerts_in"] == 2 and summary["dead_letters"] == 0
    assert set(summary["by_source"]) >= {"pagerduty"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay", "--out", "x"], "required: --alerts"),
        (["replay", "--alerts", "/nonexistent.jsonl", "--out", "x"], "no such file"),
        (["nonsense"], "invalid choice"),
    ],
)
def test_bad_usage_exits_2_with_one_line(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_bad_config_or_topology_exit_2(inputs: Path, capsys):
    (inputs / "bad.yaml").write_text("correlation: {window_s: -1}\n")
    assert replay(inputs, "--config", str(inputs / "bad.yaml")) == 2
    assert "window_s" in capsys.readouterr().err
    (inputs / "topology.yaml").write_text("services: [a, b]\n")
    assert replay(inputs) == 2
    assert "services" in capsys.readouterr().err
    assert not (inputs / "out").exists() or not any((inputs / "out").iterdir())


def test_a_failing_run_leaves_no_half_written_files(inputs: Path, monkeypatch):
    from pipeline.engine import Pipeline

    def boom(self, record):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Pipeline, "process", boom)
    with pytest.raises(RuntimeError):
        replay(inputs)
    assert list((inputs / "out").iterdir()) == []


def test_merge_streams_orders_by_time_but_keeps_each_file_order():
    late = alert("late", 5, "X", "s")
    alerts = [alert("a", 10, "X", "s"), late, alert("b", 30, "X", "s")]
    changes = [change("c1", 0, "s"), change("c2", 20, "s")]
    dead = DeadLetter("f", 1, "bad", "raw")
    order = [getattr(r, "id", "dead") for r in merge_streams(alerts, [dead, *changes])]
    assert order == ["dead", "c1", "a", "late", "c2", "b"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(st.none(), st.integers(0, 12)), max_size=12), min_size=1, max_size=4
    )
)
def test_merge_streams_picks_the_earliest_head_each_time(times):
    """Against the plain definition: the head with the least (time, stream) goes next, a
    record without a time counting as earliest."""
    streams = [
        [
            DeadLetter("f", i, "bad", "raw") if t is None else alert(f"s{k}-{i}", t, "X", "s")
            for i, t in enumerate(ts)
        ]
        for k, ts in enumerate(times)
    ]
    expected = []
    heads = [0] * len(streams)

    def key(k):
        record = streams[k][heads[k]]
        return (float("-inf") if isinstance(record, DeadLetter) else record.time, k)

    while any(heads[k] < len(s) for k, s in enumerate(streams)):
        k = min((k for k, s in enumerate(streams) if heads[k] < len(s)), key=key)
        expected.append(streams[k][heads[k]])
        heads[k] += 1
    got = list(merge_streams(*streams))
    assert [id(r) for r in got] == [id(r) for r in expected]


def test_metric_anomalies_enter_as_alerts_and_are_accounted_for(tmp_path: Path):
    import random

    rng = random.Random(3)
    t0 = 1767600000
    samples = []
    for i in range(400):
        value = 50 + rng.gauss(0, 2) + (400 if i >= 350 else 0)  # a level shift at the end
        samples.append(
            {
                "time": t0 + 60 * i,
                "service": "payments-db",
                "resource": "payments-db-1",
                "metric": "latency_ms",
                "value": value,
            }
        )
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(s) for s in samples) + "\n")
    shift = t0 + 60 * 352
    alerts = [canonical("p1", shift, "HighLatency", "payments", "major")]
    (tmp_path / "alerts.jsonl").write_text("\n".join(json.dumps(a) for a in alerts) + "\n")
    (tmp_path / "topology.yaml").write_text(TOPOLOGY)
    assert (
        main(
            [
                "replay",
                "--alerts",
                str(tmp_path / "alerts.jsonl"),
                "--metrics",
                str(tmp_path / "metrics.jsonl"),
                "--topology",
                str(tmp_path / "topology.yaml"),
                "--out",
                str(tmp_path / "out"),
                "--no-progress",
            ]
        )
        == 0
    )
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["metric_samples_in"] == 400 and summary["anomaly_alerts"] >= 1
    incidents = read(tmp_path / "out" / "incidents.jsonl")
    suppressed = read(tmp_path / "out" / "suppressed.jsonl")
    placed = {a for inc in incidents for a in inc["alert_ids"]} | {
        s["alert_id"] for s in suppressed
    }
    assert summary["alerts_in"] == len(placed) == 1 + summary["anomaly_alerts"]
    # The database's anomaly and its caller's latency alert are one incident.
    assert any(
        {"p1"} < set(inc["alert_ids"]) and "payments-db" in inc["services"] for inc in incidents
    )


def test_the_replay_heap_settings_are_given_back_even_after_a_failure():
    import gc

    from aiops.replay import _frozen_heap
    from pipeline.engine import YOUNG_GC_THRESHOLD

    before = gc.get_threshold()
    with pytest.raises(RuntimeError), _frozen_heap():
        assert gc.get_threshold() == (YOUNG_GC_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > 0
        raise RuntimeError("the run fails")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
