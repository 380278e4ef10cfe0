"""Cutting by recovery while an incident still fires (pipeline/recovery_split.py), and the
merge by explanation into a smaller root incident (pipeline/explained_merge.py)."""

import pickle

from pipeline.incidents import Member
from pipeline.recovery_split import recovery_groups, spread_gap
from tests.helpers import T0, alert, groups, pipeline, run
from tests.test_rehome import _apart_on_arrival

# The per-alert split is off: only the cut by recovery time can tell the problems apart.
NO_ALERT_SPLIT = {"rehome_split_gap_s": 0}


def _outage_and_oom() -> list:
    """A payments-db outage (three alerts on the database, payments' latency) and, a minute
    in, a payments replica running out of memory with its callers' symptoms: one incident."""
    return [
        alert("da", 0, "DBDown", "payments-db", severity="critical"),
        alert("dq", 5, "SlowQueries", "payments-db", severity="major"),
        alert("dl", 10, "DBConnectionsExhausted", "payments-db", severity="major"),
        alert("pay", 30, "HighLatency", "payments", severity="major"),
        alert("oom", 60, "OOMKilled", "payments", "payments-1", severity="critical"),
        alert("co", 90, "UpstreamTimeouts", "checkout", "checkout-1", severity="major"),
        alert("web", 120, "SLOBurnRate", "web", severity="critical"),
    ]


def _recover(t: float, *ids: str) -> list:
    by_id = {a.id: a for a in _outage_and_oom()}
    return [
        alert(f"{i}-r", t, by_id[i].name, by_id[i].service, by_id[i].resource, status="resolved")
        for i in ids
    ]


def _tick(t: float) -> list:
    return [alert(f"m{t:g}", t, "DiskUsageHigh", "mail", severity="warning")]


def test_what_recovered_apart_splits_off_while_the_rest_still_fires():
    p = pipeline(correlation=NO_ALERT_SPLIT)
    first = run(p, _outage_and_oom())
    assert groups(first) == [{"co", "da", "dl", "dq", "oom", "pay", "web"}]
    # The OOM and its cascade recover at 600 s; the outage goes on.
    before = run(p, _recover(600, "oom", "co", "web") + _tick(700))
    assert groups(before) == [
        {"co", "co-r", "da", "dl", "dq", "oom", "oom-r", "pay", "web", "web-r"}
    ]  # 100 s on: under recovery_split_gap_s, something may still recover with them
    later = before | run(p, _tick(850))
    assert p.correlator.rehome.recovering_splits == 1
    assert groups(later) == [
        {"co", "co-r", "oom", "oom-r", "web", "web-r"},
        {"da", "dl", "dq", "pay"},
    ]
    (old,) = first
    assert later[old]["status"] == "open" and "oom" not in later[old]["alert_ids"]
    new = next(i for i in later.values() if "oom" in i["alert_ids"])
    assert new["status"] == "open" and new["root_cause"][0]["entity"] == "payments-1"
    # It resolves on its own, resolve_quiet_s after its last recovery; the outage stays open.
    last = later | run(p, _tick(1000))
    assert last[new["id"]]["status"] == "resolved" and last[old]["status"] == "open"


def test_without_it_the_incident_waits_for_its_resolution():
    p = pipeline(correlation={**NO_ALERT_SPLIT, "recovery_split_early": False})
    run(p, _outage_and_oom())
    later = run(p, _recover(600, "oom", "co", "web") + _tick(900))
    assert len(groups(later)) == 1


def test_a_majority_recovering_while_its_root_still_fires_stays():
    # Four of seven alerts recover (callers failing over, say) while the database is down.
    p = pipeline(correlation=NO_ALERT_SPLIT)
    run(p, _outage_and_oom())
    later = run(p, _recover(600, "pay", "oom", "co", "web") + _tick(900))
    assert p.correlator.rehome.recovering_splits == 0
    assert len(groups(later)) == 1


def test_a_snapshot_taken_before_the_split_continues_the_same():
    p = pipeline(correlation=NO_ALERT_SPLIT)
    run(p, _outage_and_oom() + _recover(600, "oom", "co", "web") + _tick(700))
    restored = pickle.loads(pickle.dumps(p))
    a, b = run(p, _tick(900), finish=True), run(restored, _tick(900), finish=True)
    assert a == b
    assert restored.correlator.rehome.recovering_splits == 1


def _member(fp: str, service: str, onset: float, recovered: float, via: str | None) -> Member:
    m = Member(fp, "HighLatency", service, None, None, 3, T0 + onset, False, T0 + recovered)
    m.via = via
    return m


def test_recovery_groups_cut_where_recoveries_lie_more_than_the_gap_apart():
    ms = [_member(str(i), "web", 0, t, None) for i, t in enumerate([0, 100, 250, 600, 610])]
    assert [[m.fingerprint for m in g] for g in recovery_groups(ms, 180)] == [
        ["0", "1", "2"],
        ["3", "4"],
    ]


def test_the_gap_widens_to_the_longest_link_lag_between_services():
    p = pipeline()
    inc = p.correlator.store.create("a", T0)
    for m in (
        _member("db", "payments-db", 0, 900, None),
        _member("pay", "payments", 250, 1000, "db"),  # 250 s after the member it joined through
        _member("pay2", "payments", 400, 1000, "pay"),  # the same service: not a spread
    ):
        inc.add_member(m, m.fingerprint, m.onset)
    assert spread_gap(inc, 180, 1.0) == 250
    assert spread_gap(inc, 180, 0.0) == 180
    assert spread_gap(inc, 300, 1.0) == 300


def test_a_root_incident_smaller_than_the_fragment_it_explains_takes_it():
    # A database outage (two alerts) and its callers' symptoms (three), apart on arrival,
    # recovering 70 s apart (beyond recovery_merge_gap_s, within recovery_explain_gap_s).
    merged = _apart_on_arrival(70, third=True, recovery_merge_gap_s=30, recovery_explain_gap_s=90)
    assert merged == [{"da", "da-r", "dq", "dq-r", "pay", "pay-r", "pe", "pe-r", "pt", "pt-r"}]
    apart = _apart_on_arrival(70, third=True, recovery_merge_gap_s=30, recovery_explain_gap_s=0)
    assert len(apart) == 2


def _root_piece_apart(replica: str, **correlation: float) -> list[set[str]]:
    """A database outage on payments-db-1 with its callers' symptoms, and two more alerts on
    the database (on `replica`) starting too late to link (beyond window_s): two incidents
    on arrival. The database's alerts all recover at 1500-1510 s, the callers' at 1640-1660
    s, so the outage's median recovery lies 135 s from the piece's."""
    p = pipeline(correlation=correlation)
    run(
        p,
        [
            alert("da", 0, "DBDown", "payments-db", "payments-db-1", severity="critical"),
            alert("pay", 30, "HighLatency", "payments", severity="major"),
            alert("co", 60, "UpstreamTimeouts", "checkout", severity="major"),
            alert("web", 90, "SLOBurnRate", "web", severity="critical"),
            alert("dq", 700, "SlowQueries", "payments-db", replica, severity="major"),
            alert("dl", 710, "DBConnectionsExhausted", "payments-db", replica, severity="major"),
        ],
    )
    recovered = [
        alert("da-r", 1500, "DBDown", "payments-db", "payments-db-1", status="resolved"),
        alert("dq-r", 1505, "SlowQueries", "payments-db", replica, status="resolved"),
        alert("dl-r", 1510, "DBConnectionsExhausted", "payments-db", replica, status="resolved"),
        alert("pay-r", 1640, "HighLatency", "payments", status="resolved"),
        alert("co-r", 1650, "UpstreamTimeouts", "checkout", status="resolved"),
        alert("web-r", 1660, "SLOBurnRate", "web", status="resolved"),
    ]
    tick = alert("m", 2400, "DiskUsageHigh", "mail", severity="warning")
    return groups(run(p, [*recovered, tick]))


def test_a_piece_of_the_root_joins_by_the_recovery_of_the_same_resource():
    """Beyond recovery_explain_gap_s from the outage's median recovery, but within
    recovery_merge_gap_s of its alerts on the same replica: the root's own alerts clear
    together, its callers' minutes later."""
    gaps = {"recovery_merge_gap_s": 30, "recovery_explain_gap_s": 90}
    merged = _root_piece_apart("payments-db-1", **gaps)
    assert merged == [
        {"co", "co-r", "da", "da-r", "dl", "dl-r", "dq", "dq-r", "pay", "pay-r", "web", "web-r"}
    ]
    # Another replica's alerts are not judged by this one's recovery; nor with the rule off.
    assert len(_root_piece_apart("payments-db-2", **gaps)) == 2
    assert len(_root_piece_apart("payments-db-1", recovery_merge_gap_s=0)) == 2


def _fragment_resolves_first(**correlation: float) -> list[set[str]]:
    """A database outage and its callers' symptoms, apart on arrival (beyond window_s). The
    symptoms recover at 1550-1560 s and their incident resolves while the database still
    has an alert firing (until 1900 s); the outage's median recovery (1510 s) lies 40 s from
    theirs."""
    p = pipeline(correlation={"recovery_split_gap_s": 0, **correlation})
    run(
        p,
        [
            alert("da", 0, "DBDown", "payments-db", severity="critical"),
            alert("dq", 10, "SlowQueries", "payments-db", severity="major"),
            alert("dl", 20, "DBConnectionsExhausted", "payments-db", severity="major"),
            alert("pay", 700, "HighLatency", "payments", "payments-1", severity="major"),
            alert("pe", 710, "HighErrorRate", "payments", "payments-2", severity="major"),
        ],
    )
    recovered = [
        alert("da-r", 1500, "DBDown", "payments-db", status="resolved"),
        alert("dq-r", 1510, "SlowQueries", "payments-db", status="resolved"),
        alert("pay-r", 1550, "HighLatency", "payments", "payments-1", status="resolved"),
        alert("pe-r", 1560, "HighErrorRate", "payments", "payments-2", status="resolved"),
        alert("dl-r", 1900, "DBConnectionsExhausted", "payments-db", status="resolved"),
    ]
    early = run(p, [*recovered, alert("m", 1880, "DiskUsageHigh", "mail", severity="warning")])
    assert any(i["status"] == "resolved" and "pay" in i["alert_ids"] for i in early.values())
    tick = alert("m2", 2600, "DiskUsageHigh", "mail", severity="warning")
    return groups(early | run(p, [tick]))


def test_an_incident_takes_the_fragments_it_explains_that_resolved_before_it():
    gaps = {"recovery_merge_gap_s": 30, "recovery_explain_gap_s": 90}
    assert _fragment_resolves_first(**gaps) == [
        {"da", "da-r", "dl", "dl-r", "dq", "dq-r", "pay", "pay-r", "pe", "pe-r"}
    ]
    # With the explanation merge off they stay two incidents.
    assert len(_fragment_resolves_first(recovery_merge_gap_s=30, recovery_explain_gap_s=0)) == 2
