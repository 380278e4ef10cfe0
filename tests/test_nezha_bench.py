"""`aiops rca-bench` on a tiny synthetic day in the Nezha layout, and on the real day if present."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from aiops.cli import main
from aiops.rca.nezha_bench import (
    ALERT_GAP_S,
    GAP_S,
    METHODS,
    SYMPTOM_PRIOR,
    WINDOW_AFTER_S,
    bench_config,
    root_alerted,
    run_bench,
    seed_symptom_prior,
    stream,
    window_alerts,
)
from aiops.rca.nezha_data import Fault, NezhaDay, load_day, log_template, pod_service
from aiops.rca.nezha_merge import merged_candidates
from models.symptoms import SymptomModel
from pipeline.anomaly_alerts import AnomalyAlerter
from pipeline.config import load_config
from pipeline.records import MetricSample
from pipeline.topology import Topology
from tests.nezha_day import PODS, write_day

ROOT = Path(__file__).resolve().parent.parent
REAL_ARCHIVE = ROOT.parent / "shared/datasets/nezha-trainticket/2023-01-29.tar.gz"


def test_pod_names_and_log_templates():
    assert pod_service("ts-basic-service-5dc8d4f9fd-46997") == "ts-basic-service"
    assert pod_service("ts-ui-dashboard-5477b965f-2chkr") == "ts-ui-dashboard"
    assert pod_service("standalone") == "standalone"
    a = log_template("16:42:22.418 ERROR f.Impl#302 TraceID: ab SpanID: cd [get][id: 17]")
    b = log_template("16:43:01.001 ERROR f.Impl#302 TraceID: ef SpanID: 01 [get][id: 99]")
    assert a == b and "ERROR" in a and "17" not in a


def test_the_day_becomes_a_call_graph_and_per_pod_series(tmp_path):
    day = NezhaDay.open(write_day(tmp_path))
    data = load_day(day)
    topo = data.topology
    assert topo.callees["ts-ui-service"] == {"ts-order-service"}
    assert topo.callees["ts-order-service"] == {"ts-db-service"}
    assert topo.node_of(PODS["ts-db-service"]) == "10.0.0.2"
    metrics = {s.metric.split(":")[0] for s in data.samples}
    assert {"cpu", "calls_to", "self_time_p90", "log_errors", "log_missing", "node_cpu"} <= metrics
    assert data.stats["skipped_rows"] == 2  # one broken row per log file
    assert [s.time for s in data.samples] == sorted(s.time for s in data.samples)


def test_streaming_does_not_need_the_fault_list(tmp_path):
    day = NezhaDay.open(write_day(tmp_path, with_faults=False))
    streamed, _, stats = stream(day, load_config(), progress=False)
    assert stats["alerts"] > 0 and streamed.incidents
    with pytest.raises(FileNotFoundError, match="fault_list"):
        day.faults()


def test_rca_bench_names_the_root_of_a_synthetic_fault(tmp_path, capsys):
    day = write_day(tmp_path)
    out = tmp_path / "out"
    assert main(["rca-bench", "--nezha", str(day), "--out", str(out), "--no-progress"]) == 0
    (row,) = [json.loads(line) for line in (out / "rca_results.jsonl").read_text().splitlines()]
    assert row["inject_time"] == "2023-01-29 09:41:05"
    assert row["ranked"][0] == "ts-db-service"
    assert set(row["baselines"]) == set(METHODS) - {"pipeline"}
    report = capsys.readouterr().out
    assert "AC@1" in report and "earliest_alert" in report and "random_walk" in report
    summary = json.loads((out / "summary.json").read_text())
    assert summary["accuracy"]["pipeline"]["ac@1"] == 1.0
    assert row["root_alerted"] is True and summary["faults_root_alerted"] == 1
    assert summary["pipeline_where_root_alerted"]["ac@1"] == 1.0
    assert "root service alerted in the window for 1 of 1 faults" in report


def test_rca_bench_refuses_what_is_not_a_day(tmp_path, capsys):
    assert main(["rca-bench", "--nezha", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "not a Nezha day" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_rca_bench_on_the_real_day(tmp_path):
    """Format and completeness on the shared day (accuracy is measured by the command)."""
    day_dir = Path(os.environ.get("AIOPS_NEZHA_DAY", ROOT / ".cache/nezha/2023-01-29"))
    if not day_dir.is_dir():
        if not REAL_ARCHIVE.is_file():
            pytest.skip(f"Nezha day absent: {day_dir} and {REAL_ARCHIVE}")
        with tarfile.open(REAL_ARCHIVE) as archive:
            archive.extractall(tmp_path, filter="data")
        day_dir = tmp_path / "2023-01-29"
    summary = run_bench(day_dir, tmp_path / "out", load_config(), progress=False)
    rows = [
        json.loads(line)
        for line in (tmp_path / "out/rca_results.jsonl").read_text().split("\n")
        if line
    ]
    faults = json.loads(next(day_dir.glob("*fault_list.json")).read_text())
    assert len(rows) == sum(len(v) for v in faults.values()) == summary["faults"]
    assert all(r["ranked"] for r in rows if r["incidents"])
    assert summary["stats"]["dependencies"] > 20  # the call graph came out of the spans


def test_root_alerted_needs_an_alert_of_the_root_service_inside_the_window():
    """A miss of detection (nothing fired on the root after the injection) is told apart
    from a miss of ranking; the root's alerts outside the window (also one stamped before
    the injection: it saw only data from before the fault) and its callers' inside it do
    not count."""
    fault = Fault(
        "2023-01-29 09:00:00", 1000.0, "ts-a-service-5dc8d4f9fd-46997", "ts-a-service", "return"
    )

    def inc(*members: tuple[str, float]) -> tuple[SimpleNamespace, int]:
        ms = {str(i): SimpleNamespace(service=s, onset=t) for i, (s, t) in enumerate(members)}
        return SimpleNamespace(members=ms), len(ms)

    callers = inc(("ts-b-service", 1010.0), ("ts-a-service", 1000.0 + WINDOW_AFTER_S + 1))
    assert not root_alerted(fault, [callers])
    assert not root_alerted(fault, [])
    assert not root_alerted(fault, [callers, inc(("ts-a-service", 990.0))])
    assert not root_alerted(fault, [callers, inc(("ts-a-service", 1000.0))])
    assert root_alerted(fault, [callers, inc(("ts-a-service", 1060.0))])


def test_a_fault_s_incidents_are_those_with_alerts_stamped_after_its_injection():
    """Alerts stamped at or before the injection cover only what happened before it: their
    incident is not one of the fault's, however close in time."""
    fault = Fault(
        "2023-01-29 09:00:00", 1000.0, "ts-a-service-5dc8d4f9fd-46997", "ts-a-service", "return"
    )

    def inc(name: str, *onsets: float) -> SimpleNamespace:
        ms = {str(i): SimpleNamespace(service="s", onset=t) for i, t in enumerate(onsets)}
        return SimpleNamespace(id=name, start=min(onsets), members=ms)

    before, after = inc("before", 960.0, 990.0, 1000.0), inc("after", 1030.0, 1300.0)
    found = window_alerts(fault, [before, after, inc("late", 1000.0 + WINDOW_AFTER_S + 1)])
    assert [(i.id, n) for i, n in found] == [("after", 2)]


def test_candidates_of_several_incidents_weigh_by_their_share_of_the_alerts():
    """A lone alert's incident names its own service with a high score; the incident holding
    most of the alerts around the fault still comes first unless its best is much weaker."""
    lone = SimpleNamespace(root_cause=[{"kind": "service", "entity": "noise", "score": 0.5}])
    main_inc = SimpleNamespace(
        root_cause=[
            {"kind": "service", "entity": "root", "score": 0.3},
            {"kind": "service", "entity": "caller", "score": 0.05},
        ]
    )
    topo = Topology()
    assert merged_candidates([(main_inc, 6), (lone, 1)], topo) == ["root", "noise", "caller"]
    assert merged_candidates([(main_inc, 1), (lone, 1)], topo)[0] == "noise"


def test_a_root_named_by_two_pieces_of_a_split_problem_adds_up():
    """The incidents are alternative places the fault may be: a service's chance is the sum
    over them of its score times the incident's share. A root the correlator's split left in
    two incidents outranks a noise incident's own service that beats each piece alone."""
    piece = lambda score: SimpleNamespace(  # noqa: E731
        root_cause=[
            {"kind": "service", "entity": "root", "score": score},
            {"kind": "service", "entity": "caller", "score": 0.1},
        ]
    )
    noise = SimpleNamespace(root_cause=[{"kind": "service", "entity": "noise", "score": 0.4}])
    topo = Topology()
    found = [(noise, 4), (piece(0.3), 3), (piece(0.25), 3)]
    assert merged_candidates(found, topo) == ["root", "noise", "caller"]
    # one piece alone: 0.3 * 3/7 against the noise's 0.4 * 4/7
    assert merged_candidates(found[:2], topo) == ["noise", "root", "caller"]


def _node_incident(node_itself: float) -> SimpleNamespace:
    on_node = [SimpleNamespace(service=s) for s in ("early", "root")]
    return SimpleNamespace(
        root_cause=[
            {"kind": "node", "entity": "n1", "score": 0.4, "signals": {"node_itself": node_itself}},
            {"kind": "service", "entity": "other", "score": 0.35},
            {"kind": "service", "entity": "root", "score": 0.3},
            {"kind": "service", "entity": "early", "score": 0.1},
        ],
        node_members={"n1": on_node},
        services={"early": 0.0, "root": 60.0, "other": 30.0},
    )


def test_a_node_stands_for_its_services_in_the_rankers_order():
    """Scored by service, a node candidate that alerts itself becomes the services on it, those
    the ranker scored higher first (not those that alerted first); one that only hosts
    several alerting services adds nothing to their own candidacies."""
    topo = Topology()
    assert merged_candidates([(_node_incident(1.0), 1)], topo) == ["root", "early", "other"]
    assert merged_candidates([(_node_incident(0.0), 1)], topo) == ["other", "root", "early"]


def test_burst_alerts_end_at_a_gap_of_gap_s_and_refires_then_are_new_problems():
    """Minute-stamped samples GAP_S apart: the series was silent for the gap, its alert ends
    (as of its last sample) instead of resolving on the next burst's first sample."""
    alerter = AnomalyAlerter(clear_after=1, max_gap_s=ALERT_GAP_S)
    sample = lambda t: MetricSample(t, "log_errors", 5.0, "svc", "svc-1")  # noqa: E731
    assert alerter.observe(sample(0.0), 1.0)[0].status == "firing"
    (ended,) = alerter.observe(sample(GAP_S), 0.0)
    assert ended.status == "resolved" and ended.time == 0.0
    config = load_config()
    assert config.correlation.refire_apart_s is None
    assert bench_config(config).correlation.refire_apart_s == GAP_S
    correlation = config.correlation.model_copy(update={"refire_apart_s": 900.0})
    mine = config.model_copy(update={"correlation": correlation})
    assert bench_config(mine).correlation.refire_apart_s == 900.0  # a config's own is kept


def test_the_symptom_prior_starts_callers_latency_as_symptom_and_own_errors_as_cause():
    model = SymptomModel()
    for _ in range(20):  # what the stream alone taught: the root's errors look like symptoms
        model.learn_one("log_errorsAnomaly", True)
        model.learn_one("calls_toAnomaly", False)
    assert model.predict_one("log_errorsAnomaly") > model.predict_one("calls_toAnomaly")
    seed_symptom_prior(model, weight=200.0)
    assert model.predict_one("log_errorsAnomaly") < 0.3 < 0.7 < model.predict_one("calls_toAnomaly")
    assert model.predict_one("workloadAnomaly") == SymptomModel().predict_one("workloadAnomaly")
    model.learn_one("log_errorsAnomaly", True)  # the stream still moves it
    assert model.predict_one("log_errorsAnomaly") > SYMPTOM_PRIOR["log_errorsAnomaly"] - 0.1


def test_the_bench_pipeline_starts_from_the_symptom_prior(tmp_path):
    streamed, _, _ = stream(NezhaDay.open(write_day(tmp_path)), load_config(), progress=False)
    symptoms = streamed.ranker.symptoms
    assert symptoms is not None
    assert symptoms.predict_one("calls_toAnomaly") > 0.7
    assert symptoms.predict_one("log_missingAnomaly") < 0.3


def test_feedback_mode_answers_each_fault_before_teaching_its_root(tmp_path, capsys, monkeypatch):
    """`--feedback`: every fault answered once per pass at its window's end; in the taught
    pass the verdict reaches the ranker only after the answer is recorded, so the first
    fault (nothing confirmed before it) gets the same answer in both passes."""
    from aiops.rca import nezha_feedback

    taught: list[str] = []
    learn = nezha_feedback.Pipeline.feedback

    def spy(self, record):
        taught.append(record.root)
        return learn(self, record)

    monkeypatch.setattr(nezha_feedback.Pipeline, "feedback", spy)
    day = write_day(tmp_path)
    out = tmp_path / "out"
    args = ["rca-bench", "--nezha", str(day), "--out", str(out), "--feedback", "--no-progress"]
    assert main(args) == 0
    rows = [json.loads(line) for line in (out / "rca_feedback.jsonl").read_text().splitlines()]
    without, with_ = ([r for r in rows if r["run"] == run] for run in ("without", "with"))
    assert len(without) == len(with_) == 1
    assert with_[0]["ranked"] == without[0]["ranked"] and with_[0]["ranked"][0] == "ts-db-service"
    assert with_[0]["verdict_given"] and not without[0]["verdict_given"]
    assert taught == ["ts-db-service"]  # one verdict, in the taught pass only
    summary = json.loads((out / "summary.json").read_text())
    assert summary["feedback"]["with"]["all"]["ac@1"] == 1.0
    assert summary["feedback"]["faults_with_repeated_root"] == 0
    assert "with feedback" in capsys.readouterr().out


def test_without_feedback_the_bench_writes_no_feedback_file(tmp_path):
    day = write_day(tmp_path)
    summary = run_bench(day, tmp_path / "out", load_config(), progress=False)
    assert "feedback" not in summary and not (tmp_path / "out/rca_feedback.jsonl").exists()
