"""For a change, the incidents it likely caused: the incident field and the command."""

from __future__ import annotations

import json

from aiops.cli import main
from aiops.rca.change_impact import incidents_of_change
from tests.helpers import alert, change, pipeline, run


def cascade(t0: float = 0.0):
    return [
        alert("db", t0, "DBConnectionsExhausted", "payments-db", severity="critical"),
        alert("pay", t0 + 40, "HighLatency", "payments", "payments-1"),
        alert("co", t0 + 90, "UpstreamTimeouts", "checkout", "checkout-1"),
    ]


def test_a_recent_change_on_the_root_is_a_suspected_change_of_its_incident():
    (inc,) = run(pipeline(), [change("CHG42", -240, "payments-db"), *cascade()]).values()
    (suspect,) = inc["suspected_changes"]
    assert (suspect["change"], suspect["entity"]) == ("CHG42", "payments-db")
    assert 0.0 < suspect["score"] <= 1.0
    assert "4 min before onset" in suspect["evidence"]


def test_an_old_change_elsewhere_is_not_suspected():
    records = [change("CHG7", -7000, "mail"), change("CHG8", -6500, "reports"), *cascade()]
    (inc,) = run(pipeline(), records).values()
    assert inc["suspected_changes"] == []


def _incident(id_, score, rank_entity=None, **extra):
    root = [{"entity": "x", "kind": "service", "score": 0.9, "evidence": ""}]
    if rank_entity:
        root.append(
            {
                "entity": rank_entity,
                "kind": "change",
                "score": score,
                "on": "x",
                "evidence": f"deploy {rank_entity}",
            }
        )
    return {
        "id": id_,
        "title": id_,
        "started_at": f"2026-01-05T10:0{id_[-1]}:00Z",
        "root_cause": root,
        "suspected_changes": [],
        **extra,
    }


def test_incidents_of_change_ranks_by_score_and_filters():
    incidents = [
        _incident("inc-1", 0.2, "CHG1"),
        _incident("inc-2", 0.8, "CHG1"),
        _incident("inc-3", 0.5, "CHG2"),
        _incident(
            "inc-4",
            0.0,
            suspected_changes=[
                {"change": "CHG1", "entity": "x", "score": 0.6, "evidence": "config CHG1"}
            ],
        ),
    ]
    rows = incidents_of_change("CHG1", incidents)
    assert [r["incident"] for r in rows] == ["inc-2", "inc-4", "inc-1"]
    assert rows[0]["rank"] == 2 and rows[1]["rank"] is None
    assert [r["incident"] for r in incidents_of_change("CHG1", incidents, 0.5)] == [
        "inc-2",
        "inc-4",
    ]
    assert incidents_of_change("CHG9", incidents) == []


def test_change_impact_command_over_a_replay(tmp_path, capsys):
    alerts = tmp_path / "alerts.jsonl"
    changes = tmp_path / "changes.jsonl"
    rows = [
        {
            "id": "a1",
            "time": "2026-01-05T10:00:00Z",
            "name": "DBDeadlocks",
            "severity": "critical",
            "service": "payments-db",
        },
        {
            "id": "a2",
            "time": "2026-01-05T10:00:40Z",
            "name": "HighLatency",
            "severity": "major",
            "service": "payments",
        },
    ]
    alerts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    changes.write_text(
        json.dumps(
            {
                "id": "CHG0042",
                "time": "2026-01-05T09:55:00Z",
                "service": "payments-db",
                "type": "config",
            }
        )
        + "\n"
    )
    topo = tmp_path / "topology.yaml"
    topo.write_text("services:\n  payments: {depends_on: [payments-db]}\n  payments-db: {}\n")
    out = tmp_path / "out"
    assert (
        main(
            [
                "replay",
                "--alerts",
                str(alerts),
                "--changes",
                str(changes),
                "--topology",
                str(topo),
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["change-impact", "--change", "CHG0042", "--incidents", str(out)]) == 0
    text = capsys.readouterr().out
    assert "CHG0042: 1 incident(s) it likely caused" in text
    assert "5 min before onset" in text
    assert main(["change-impact", "--change", "CHG0042", "--incidents", str(out), "--json"]) == 0
    (row,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert row["on"] == "payments-db" and row["rank"] is not None
    assert main(["change-impact", "--change", "CHG0042", "--incidents", str(tmp_path / "no")]) == 2
    assert "cannot read" in capsys.readouterr().err
