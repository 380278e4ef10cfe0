"""Incident lifecycle: open, update, resolve after a quiet period, reopen, final, and memory
that follows open state rather than history."""

import math

from tests.helpers import T0, alert, change, pipeline, run


def db(i, t, status="firing", severity="critical"):
    return alert(i, t, "DBDown", "payments-db", severity=severity, status=status)


def test_resolves_after_all_alerts_resolve_and_a_quiet_period():
    p = pipeline(incidents={"resolve_quiet_s": 300}, engine={"sweep_interval_s": 15})
    incs = run(
        p, [db("a", 0), db("b", 100, "resolved"), alert("x", 350, "Tick", "mail", severity="info")]
    )
    (inc,) = incs.values()
    assert inc["status"] == "open"  # 250 s of quiet so far
    incs = run(p, [alert("y", 401, "Tick", "mail", severity="info")])
    (inc,) = incs.values()
    assert inc["status"] == "resolved" and inc["resolved_at"] == "2026-01-05T10:01:40Z"


def test_a_refire_inside_the_reopen_window_reopens_the_same_incident():
    p = pipeline(incidents={"resolve_quiet_s": 60, "reopen_window_s": 600})
    first = run(
        p, [db("a", 0), db("b", 30, "resolved"), alert("t", 200, "Tick", "mail", severity="info")]
    )
    (inc_id,) = first
    assert first[inc_id]["status"] == "resolved"
    again = run(p, [db("c", 400)])
    assert list(again) == [inc_id]
    assert again[inc_id]["status"] == "open" and again[inc_id]["reopen_count"] == 1
    assert again[inc_id]["version"] > first[inc_id]["version"]


def test_after_the_reopen_window_the_incident_is_final_and_a_new_one_starts():
    p = pipeline(incidents={"resolve_quiet_s": 60, "reopen_window_s": 600})
    for r in [
        db("a", 0),
        db("b", 30, "resolved"),
        alert("t", 2000, "Tick", "mail", severity="info"),
    ]:
        p.process(r)
    drained = p.drain()
    assert [i.status for i in drained.final] == ["resolved"]
    final_id = drained.final[0].id
    incs = run(p, [db("c", 2100)])
    assert list(incs) != [final_id] and len(incs) == 1


def test_pending_alerts_expire_as_suppressed_and_free_their_state():
    p = pipeline(incidents={"resolve_quiet_s": 60, "pending_ttl_s": 600})
    p.process(alert("w1", 0, "DiskUsageHigh", "mail", severity="warning"))
    p.process(alert("w2", 30, "DiskUsageHigh", "mail", severity="warning", status="resolved"))
    p.process(alert("t", 200, "Tick", "reports", severity="info"))
    drained = p.drain()
    assert sorted(s.alert_id for s in drained.suppressed) == ["w1", "w2"]
    assert "w1" not in {a for i in p.store.live.values() for a in i.alert_ids}


def test_memory_follows_open_state_not_history():
    """Hundreds of faults come and go; what the pipeline holds stays bounded."""
    p = pipeline(
        incidents={"resolve_quiet_s": 60, "reopen_window_s": 300},
        correlation={"max_age_s": 7200},
    )
    sizes = []
    for k in range(300):
        t0 = k * 1000
        for r in [
            alert(f"db{k}", t0, "DBDown", "payments-db", severity="critical"),
            alert(f"pay{k}", t0 + 30, "HighLatency", "payments", f"payments-{k % 2 + 1}"),
            alert(f"w{k}", t0 + 40, f"Noise{k}", "mail", severity="warning"),
            alert(f"dbr{k}", t0 + 200, "DBDown", "payments-db", status="resolved"),
            alert(
                f"payr{k}",
                t0 + 210,
                "HighLatency",
                "payments",
                f"payments-{k % 2 + 1}",
                status="resolved",
            ),
            change(f"CHG{k}", t0 - 100, "payments-db"),
        ]:
            p.process(r)
        p.drain()
        sizes.append(sum(p.state_size().values()))
    # Changes are kept 24 h (86 faults here), so state fills during the first 100 faults and
    # then plateaus: 200 more faults add nothing.
    assert max(sizes[100:]) <= max(sizes[:100])
    assert max(sizes[200:]) <= max(sizes[100:200])
    # The last fault plus the held mail warnings (they never resolve) of the last
    # pending_ttl_s, one per fault every 1000 s.
    held = math.ceil(p.config.incidents.pending_ttl_s / 1000)
    assert p.state_size()["live_incidents"] <= 2 + held


def _refire_after_400s(**correlation):
    """payments-db is down at 0 and back at 30 while it stays slow; at 400 it is down again.
    Returns each live incident's (alert name, onset) pairs, seconds from T0."""
    p = pipeline(incidents={"resolve_quiet_s": 600}, correlation=correlation)
    run(p, [db("a", 0), alert("l", 20, "DBSlow", "payments-db"), db("b", 30, "resolved")])
    run(p, [db("c", 400)])
    return sorted(
        sorted((m.name, m.onset - T0) for m in inc.members.values())
        for inc in p.store.live.values()
    )


def test_a_refire_within_the_refire_gap_folds_into_its_incident():
    # 370 s after it resolved, inside refire_gap_s and window_s: the old member fires again,
    # and the incident keeps its first onset.
    assert _refire_after_400s(refire_gap_s=600) == [[("DBDown", 0.0), ("DBSlow", 20.0)]]


def test_a_refire_beyond_the_refire_gap_is_placed_afresh_by_default():
    # Beyond refire_gap_s (240) beside its live incident it is placed like a new alert: here
    # it still belongs with the slow database, but as a new episode with its own onset.
    assert _refire_after_400s() == [[("DBDown", 400.0), ("DBSlow", 20.0)]]


def test_a_refire_further_apart_than_refire_apart_s_is_a_new_problem():
    # It would correlate with the old incident (same service, still slow), but joining it
    # would replace the first episode's member: it opens an incident of its own.
    assert _refire_after_400s(refire_apart_s=300) == [
        [("DBDown", 0.0), ("DBSlow", 20.0)],
        [("DBDown", 400.0)],
    ]
