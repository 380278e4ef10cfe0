"""Held warnings that recovered with the outage they announced join its incident
(pipeline/announced_merge.py) instead of being reported as suppressed."""

from typing import Any

from pipeline.engine import Pipeline
from tests.helpers import alert, pipeline

# The warnings start 15 minutes before the outage: beyond precursor_window_s and window_s,
# so on arrival nothing links the crash to them.
APART_ON_ARRIVAL = {"precursor_window_s": 600}


def _warned_outage(warning_recovers_at: float, *, flapping: bool = False) -> list:
    """Connection-pool warnings on payments-1 (re-sent every 5 minutes, or flapping), then
    the pod crash-loops at 900 s and recovers at 1500 s."""
    if flapping:  # four firing episodes in four minutes: a repeat offender (chronic)
        warnings = []
        for k in range(4):
            warnings.append(
                alert(
                    f"w{k}",
                    60 * k,
                    "ConnectionPoolSaturation",
                    "payments",
                    "payments-1",
                    severity="warning",
                )
            )
            warnings.append(
                alert(
                    f"w{k}-r",
                    60 * k + 30,
                    "ConnectionPoolSaturation",
                    "payments",
                    "payments-1",
                    severity="warning",
                    status="resolved",
                )
            )
        warnings.append(
            alert(
                "w4", 300, "ConnectionPoolSaturation", "payments", "payments-1", severity="warning"
            )
        )
    else:
        warnings = [
            alert(
                f"w{t}", t, "ConnectionPoolSaturation", "payments", "payments-1", severity="warning"
            )
            for t in (0, 300, 600)
        ]
    return [
        *warnings,
        alert("crash", 900, "PodCrashLooping", "payments", "payments-1", severity="critical"),
        alert(
            "crash-r",
            1500,
            "PodCrashLooping",
            "payments",
            "payments-1",
            severity="critical",
            status="resolved",
        ),
        alert(
            "w-r",
            warning_recovers_at,
            "ConnectionPoolSaturation",
            "payments",
            "payments-1",
            severity="warning",
            status="resolved",
        ),
    ]


def _replay(p: Pipeline, records: list, end: float) -> tuple[dict[str, dict], set[str]]:
    """Process records and a far-away tick at `end`, then finish: (incidents by id, ids of
    the suppressed alert events)."""
    tick = alert("tick", end, "DiskUsageHigh", "mail", "mail-1", severity="warning")
    records = sorted([*records, tick], key=lambda a: a.time)
    incidents: dict[str, dict] = {}
    suppressed: set[str] = set()
    for r in records:
        p.process(r)
    for drained in (p.drain(), p.finish()):
        incidents.update({i.id: i.to_dict() for i in drained.incidents})
        suppressed.update(s.alert_id for s in drained.suppressed)
    return incidents, suppressed


def _only(incidents: dict[str, dict]) -> dict[str, Any]:
    (inc,) = [i for i in incidents.values() if i["alert_ids"]]
    return inc


def test_warnings_that_recovered_with_the_outage_join_its_incident():
    p = pipeline(correlation=APART_ON_ARRIVAL)
    incidents, suppressed = _replay(p, _warned_outage(1530), end=3000)
    inc = _only(incidents)
    assert set(inc["alert_ids"]) == {"w0", "w300", "w600", "crash", "crash-r", "w-r"}
    assert inc["status"] == "resolved"
    assert suppressed == {"tick"}


def test_the_incident_keeps_its_id_and_time_of_opening():
    p = pipeline(correlation=APART_ON_ARRIVAL)
    records = _warned_outage(1530)
    for r in records[:4]:  # the warnings and the crash: the crash opens the incident
        p.process(r)
    (opened,) = [i.to_dict() for i in p.drain().incidents]
    assert opened["alert_ids"] == ["crash"]
    incidents, _ = _replay(p, records[4:], end=3000)
    joined = incidents[opened["id"]]
    assert {"w0", "w300", "w600", "crash"} <= set(joined["alert_ids"])
    assert joined["merged_from"] == []  # the held group was never emitted
    assert joined["opened_at"] == opened["opened_at"]
    # It began when the first warning did: they were its first signs.
    assert joined["started_at"] == "2026-01-05T10:00:00Z"
    assert opened["started_at"] == "2026-01-05T10:15:00Z"


def test_warnings_that_recovered_on_their_own_clock_stay_suppressed():
    p = pipeline(correlation=APART_ON_ARRIVAL)
    incidents, suppressed = _replay(p, _warned_outage(1900), end=3000)  # 400 s apart
    assert _only(incidents)["alert_ids"] == ["crash", "crash-r"]
    assert {"w0", "w300", "w600", "w-r"} <= suppressed


def test_a_chronic_warning_announces_nothing():
    p = pipeline(correlation=APART_ON_ARRIVAL)
    incidents, suppressed = _replay(p, _warned_outage(1530, flapping=True), end=3000)
    assert _only(incidents)["alert_ids"] == ["crash", "crash-r"]
    assert {"w0", "w4", "w-r"} <= suppressed


def test_the_end_of_input_joins_what_already_recovered():
    # The input ends 60 s after the recoveries, before resolve_quiet_s has passed.
    p = pipeline(correlation=APART_ON_ARRIVAL)
    incidents, suppressed = _replay(p, _warned_outage(1530), end=1590)
    assert {"w0", "w600", "crash"} <= set(_only(incidents)["alert_ids"])
    assert suppressed == {"tick"}


def test_announce_gap_zero_turns_it_off():
    p = pipeline(correlation={**APART_ON_ARRIVAL, "announce_gap_s": 0})
    incidents, suppressed = _replay(p, _warned_outage(1530), end=3000)
    assert _only(incidents)["alert_ids"] == ["crash", "crash-r"]
    assert {"w0", "w300", "w600", "w-r"} <= suppressed
