"""Root-cause feedback: the record, learning from it online, replaying a store, the command."""

from __future__ import annotations

import json

import pytest

from aiops.cli import main
from connectors.files import DeadLetter, read_feedback
from models.rootcause import RootCauseRanker
from pipeline.feedback import Feedback, feedback_from_dict
from pipeline.records import RecordError
from tests.helpers import alert, pipeline, run


def symptoms(prefix: str, t0: float, replica: int = 1):
    """payments and checkout alert; what they wait for (payments-db) stays quiet."""
    return [
        alert(f"{prefix}-p", t0, "HighLatency", "payments", f"payments-{replica}", "critical"),
        alert(f"{prefix}-c", t0 + 40, "UpstreamTimeouts", "checkout", f"checkout-{replica}"),
    ]


def ranker_of(p) -> RootCauseRanker:
    return next(e for e in p.enrichers if isinstance(e, RootCauseRanker))


def rank_of(entity: str, inc: dict) -> int | None:
    entities = [c["entity"] for c in inc["root_cause"] if c["kind"] != "change"]
    return entities.index(entity) if entity in entities else None


# ---- the record ---------------------------------------------------------------------------
def test_feedback_record_defaults_and_round_trip():
    fb = feedback_from_dict({"incident": "inc-1", "root": "payments-db"}, now=100.0)
    assert (fb.kind, fb.by, fb.at, fb.context) == ("service", "unknown", 100.0, None)
    again = feedback_from_dict(fb.to_dict())
    assert again == fb


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({"root": "x"}, "no 'incident'"),
        ({"incident": "inc-1"}, "no 'root'"),
        ({"incident": "inc-1", "root": "x", "kind": "team"}, "kind 'team'"),
        ({"incident": "inc-1", "root": "x", "at": "yesterday"}, "'at'"),
        ({"incident": "inc-1", "root": "x", "context": []}, "'context'"),
        ([], "JSON object"),
    ],
)
def test_bad_feedback_records_say_why(doc, reason):
    with pytest.raises(RecordError, match=reason):
        feedback_from_dict(doc)


# ---- learning -----------------------------------------------------------------------------
def test_a_correction_teaches_the_next_similar_incident():
    later = symptoms("b", 7200, replica=2)
    # Without feedback, the quiet database is listed low, if at all.
    fresh = pipeline()
    run(fresh, symptoms("a", 0))
    (untaught,) = [i for i in run(fresh, later).values() if "b-p" in i["alert_ids"]]
    before = rank_of("payments-db", untaught)

    p = pipeline()
    (first,) = run(p, symptoms("a", 0)).values()
    record = p.feedback(Feedback(first["id"], "payments-db", "service", "alice", 0.0))
    assert record.context is not None  # completed from the ranker's memory
    assert any(c["entity"] == "payments" for c in record.context["candidates"])
    # The same symptoms on other replicas two hours later: the confirmed root moves up, and
    # the evidence says why.
    (taught,) = [i for i in run(p, later).values() if "b-p" in i["alert_ids"]]
    after = rank_of("payments-db", taught)
    assert after is not None and (before is None or after < before)
    (entry,) = [c for c in taught["root_cause"] if c["entity"] == "payments-db"]
    assert f"similar past incident {first['id']}" in entry["evidence"]
    assert entry["signals"]["history"] > 0


def test_feedback_on_an_incident_nobody_remembers_changes_nothing():
    p = pipeline()
    ranker = ranker_of(p)
    weights = dict(ranker.model.entity.weights)
    record = p.feedback(Feedback("inc-unknown", "payments-db"))
    assert record.context is None
    assert ranker.model.entity.weights == weights
    assert len(ranker.history) == 0
    assert p.counts["feedback"] == 1


def test_replaying_a_store_rebuilds_the_same_state(tmp_path):
    p = pipeline()
    (inc,) = run(p, symptoms("a", 0)).values()
    store = tmp_path / "fb.jsonl"
    record = p.feedback(Feedback(inc["id"], "payments-db", "service", "alice", 5.0, "pool"))
    store.write_text(json.dumps(record.to_dict()) + "\nnot json\n")
    records = [r for r in read_feedback(store) if not isinstance(r, DeadLetter)]
    assert len(records) == 1
    assert [type(r) for r in read_feedback(store)] == [Feedback, DeadLetter]

    learned = ranker_of(p)
    a, b = ranker_of(pipeline()), ranker_of(pipeline())
    a.replay(records)
    b.replay(records)
    assert a.model.entity.weights == b.model.entity.weights == learned.model.entity.weights
    assert a.model.entity.weights != ranker_of(pipeline()).model.entity.weights
    assert len(a.history) == len(b.history) == 1
    a.replay(records)  # replay starts from the offline weights: not learned twice
    assert a.model.entity.weights == b.model.entity.weights


# ---- the command --------------------------------------------------------------------------
def test_feedback_command_appends_a_record_with_the_ranking(tmp_path, capsys):
    out = tmp_path / "replay"
    scenario = tmp_path / "alerts.jsonl"
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
    scenario.write_text("".join(json.dumps(r) + "\n" for r in rows))
    topo = tmp_path / "topology.yaml"
    topo.write_text("services:\n  payments: {depends_on: [payments-db]}\n  payments-db: {}\n")
    assert (
        main(
            [
                "replay",
                "--alerts",
                str(scenario),
                "--topology",
                str(topo),
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    (inc,) = [json.loads(line) for line in (out / "incidents.jsonl").read_text().splitlines()]
    store = tmp_path / "feedback.jsonl"
    args = [
        "feedback",
        "--incident",
        inc["id"],
        "--root",
        "payments-db",
        "--store",
        str(store),
        "--incidents",
        str(out),
        "--by",
        "alice",
        "--note",
        "deadlock fixed",
    ]
    assert main(args) == 0
    assert main([*args[:4], "payments", *args[5:]]) == 0
    lines = [json.loads(line) for line in store.read_text().splitlines()]
    assert [r["root"] for r in lines] == ["payments-db", "payments"]
    assert lines[0]["by"] == "alice" and lines[0]["note"] == "deadlock fixed"
    assert lines[0]["context"]["candidates"][0]["entity"] == "payments-db"
    assert "root confirmed payments-db" in capsys.readouterr().out
    # The store feeds a replay.
    again = tmp_path / "again"
    assert (
        main(
            [
                "replay",
                "--alerts",
                str(scenario),
                "--topology",
                str(topo),
                "--out",
                str(again),
                "--feedback",
                str(store),
                "--no-progress",
            ]
        )
        == 0
    )
    assert json.loads((again / "summary.json").read_text())["feedback_learned"] == 2


def test_feedback_command_refuses_an_unknown_incident(tmp_path, capsys):
    (tmp_path / "incidents.jsonl").write_text(json.dumps({"id": "inc-1", "root_cause": []}) + "\n")
    store = tmp_path / "fb.jsonl"
    code = main(
        [
            "feedback",
            "--incident",
            "inc-2",
            "--root",
            "x",
            "--store",
            str(store),
            "--incidents",
            str(tmp_path),
        ]
    )
    assert code == 2
    assert "inc-2 is not in" in capsys.readouterr().err
    assert not store.exists()
