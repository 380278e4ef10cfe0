"""The forewarning evaluator: which outages count as warned, their leads, false alarms."""

from aiops.evaluation.prediction import prediction_scores, warning_leads
from pipeline.times import format_time
from tests.helpers import T0


def _fault(entity: str, start_min: float, predictable: bool = True, kind: str = "service"):
    fault = {"kind": kind, "root": entity, "start": format_time(T0 + start_min * 60)}
    if kind != "node":
        fault["root_service"] = entity
    if predictable:
        fault["predictable"] = True
    return fault


def _warning(entity: str, at_min: float, horizon_s: float = 1800):
    return {"time": format_time(T0 + at_min * 60), "service": entity, "horizon_s": horizon_s}


def test_the_earliest_warning_within_the_horizon_gives_the_lead():
    faults = [_fault("db", 60), _fault("api", 60), _fault("node-1", 100, kind="node")]
    warnings = [
        _warning("db", 20),  # 40 min ahead: beyond the horizon, a false alarm
        _warning("db", 45),  # 15 min ahead
        _warning("db", 50),
        _warning("node-1", 99),
        _warning("api", 61),  # after the start: neither a lead nor a warning before it
    ]
    leads = {f["root"]: lead for f, lead in warning_leads(faults, warnings)}
    assert leads == {"db": 15 * 60, "api": None, "node-1": 60}
    scores = prediction_scores(faults, warnings, hours=48)
    assert scores["predictable_outages"] == 3
    assert scores["warned"] == 2
    assert scores["median_lead_min"] == 8.0  # of 15 and 1 min
    # The early db warning and the late api warning came to nothing within their horizons.
    assert scores["false_alarms"] == 2
    assert scores["false_alarms_per_day"] == 1.0


def test_faults_without_precursors_are_not_counted_but_still_excuse_warnings():
    faults = [_fault("cache", 30, predictable=False)]
    warnings = [_warning("cache", 10)]
    assert warning_leads(faults, warnings) == []
    scores = prediction_scores(faults, warnings, hours=24)
    assert scores["predictable_outages"] == 0 and scores["warned_share"] is None
    assert scores["false_alarms"] == 0
