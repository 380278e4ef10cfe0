"""Late correction (pipeline/rehome.py): a close call moves to the incident it recovers with."""

import pickle

from pipeline.incidents import Member
from tests.helpers import T0, alert, groups, pipeline, run


def _storm() -> list:
    """Two databases fail together; checkout calls both (through payments and inventory), so
    its alert `x` is a close call, and it joins the payments incident (the closer onset)."""
    return [
        alert("da", 0, "DBDown", "payments-db", severity="critical"),
        alert("db", 5, "DBDown", "inventory-db", severity="critical"),
        alert("inv", 30, "HighErrorRate", "inventory", severity="major"),
        alert("pay", 40, "HighLatency", "payments", severity="major"),
        alert("x", 60, "UpstreamTimeouts", "checkout", "checkout-1", severity="major"),
        alert("web", 90, "SLOBurnRate", "web", severity="critical"),
    ]


def _resolved(t: float, *alerts: tuple[str, str, str | None, str | None]) -> list:
    return [alert(i, t, name, svc, res, status="resolved") for i, name, svc, res in alerts]


INV = [("db-r", "DBDown", "inventory-db", None), ("inv-r", "HighErrorRate", "inventory", None)]
PAY = [("da-r", "DBDown", "payments-db", None), ("pay-r", "HighLatency", "payments", None)]
X = ("x-r", "UpstreamTimeouts", "checkout", "checkout-1")
WEB = ("web-r", "SLOBurnRate", "web", None)


def test_a_close_call_moves_with_what_joined_through_it_to_the_incident_it_recovers_with():
    p = pipeline()
    first = run(p, _storm())
    assert groups(first) == [{"da", "pay", "web", "x"}, {"db", "inv"}]
    # x and web recover with the inventory problem, five minutes before payments does.
    later = run(
        p,
        _resolved(600, *INV, X)
        + _resolved(610, WEB)
        + _resolved(900, *PAY)
        + [alert("mail", 1000, "DiskUsageHigh", "mail", severity="warning")],
    )
    assert p.correlator.rehome.moves == 2
    assert groups(later) == [
        {"da", "da-r", "pay", "pay-r"},
        {"db", "db-r", "inv", "inv-r", "web", "web-r", "x", "x-r"},
    ]
    assert set(later) == set(first)  # both incidents keep their ids, emitted again
    moved = next(i for i in later.values() if "x" in i["alert_ids"])
    assert moved["services"] == ["inventory-db", "inventory", "checkout", "web"]
    assert moved["root_cause"][0]["entity"] == "inventory-db"


def test_a_follower_that_recovers_with_its_incident_stays():
    p = pipeline()
    run(p, _storm())
    later = run(p, _resolved(600, *INV, X) + _resolved(900, *PAY, WEB) + [])
    later = run(p, [alert("mail", 1000, "DiskUsageHigh", "mail", severity="warning")]) | later
    assert p.correlator.rehome.moves == 1
    assert groups(later) == [
        {"da", "da-r", "pay", "pay-r", "web", "web-r"},
        {"db", "db-r", "inv", "inv-r", "x", "x-r"},
    ]


def test_a_close_call_that_recovers_with_its_own_incident_stays():
    p = pipeline()
    run(p, _storm())
    later = run(p, _resolved(600, *INV) + _resolved(900, *PAY, X, WEB))
    later = run(p, [alert("mail", 1100, "DiskUsageHigh", "mail", severity="warning")]) | later
    assert p.correlator.rehome.moves == 0
    assert groups(later) == [
        {"da", "da-r", "pay", "pay-r", "web", "web-r", "x", "x-r"},
        {"db", "db-r", "inv", "inv-r"},
    ]


def test_without_late_correction_the_first_call_stands():
    p = pipeline(correlation={"rehome": False})
    run(p, _storm())
    later = run(p, _resolved(600, *INV, X) + _resolved(610, WEB) + _resolved(900, *PAY))
    later = run(p, [alert("mail", 1000, "DiskUsageHigh", "mail", severity="warning")]) | later
    assert groups(later) == [
        {"da", "da-r", "pay", "pay-r", "web", "web-r", "x", "x-r"},
        {"db", "db-r", "inv", "inv-r"},
    ]


def test_a_snapshot_taken_while_an_alert_is_watched_continues_the_same():
    p = pipeline()
    run(p, _storm() + _resolved(600, *INV, X))
    restored = pickle.loads(pickle.dumps(p))
    rest = _resolved(610, WEB) + _resolved(900, *PAY) + [alert("m", 1000, "Disk", "mail")]
    a, b = run(p, rest, finish=True), run(restored, rest, finish=True)
    assert a == b
    assert restored.correlator.rehome.moves == 2


def _beside() -> list:
    """A payments replica runs out of memory a minute into a database outage payments
    already suffers from: it joins that incident, and its cascade follows through it."""
    return [
        alert("da", 0, "DBDown", "payments-db", severity="critical"),
        alert("pay", 30, "HighLatency", "payments", severity="major"),
        alert("oom", 60, "OOMKilled", "payments", "payments-1", severity="critical"),
        alert("co", 90, "UpstreamTimeouts", "checkout", "checkout-1", severity="major"),
        alert("web", 120, "SLOBurnRate", "web", severity="critical"),
    ]


OOM = [
    ("oom-r", "OOMKilled", "payments", "payments-1"),
    ("co-r", "UpstreamTimeouts", "checkout", "checkout-1"),
    ("web-r", "SLOBurnRate", "web", None),
]


def _recover_apart() -> list:
    """The first problem recovers at 300 s; the OOM and its cascade at 1500 s, far apart.
    The clock then moves past the split's look, rehome_split_gap_s after the OOM recovered."""
    return (
        _resolved(300, *PAY)
        + _resolved(1500, *OOM)
        + [alert("m", 1900, "DiskUsageHigh", "mail", severity="warning")]
    )


def test_a_new_problem_that_recovers_apart_with_its_cascade_becomes_its_own_incident():
    p = pipeline()
    first = run(p, _beside())
    assert groups(first) == [{"co", "da", "oom", "pay", "web"}]
    later = run(p, _recover_apart())
    assert p.correlator.rehome.moves == 3
    assert groups(later) == [
        {"co", "co-r", "oom", "oom-r", "web", "web-r"},
        {"da", "da-r", "pay", "pay-r"},
    ]
    (old,) = first
    assert old in later  # the first incident keeps its id
    new = next(i for i in later.values() if "oom" in i["alert_ids"])
    assert new["id"] not in first and new["root_cause"][0]["entity"] == "payments-1"


def test_no_split_without_enough_of_a_cascade_recovering_with_it():
    p = pipeline(correlation={"rehome_split_min": 4})
    run(p, _beside())
    later = run(p, _recover_apart())
    assert p.correlator.rehome.moves == 0
    assert groups(later) == [
        {"co", "co-r", "da", "da-r", "oom", "oom-r", "pay", "pay-r", "web", "web-r"}
    ]


def _two_problems() -> list:
    """_beside with one more payments alert of the database outage (payments-2 errors)."""
    first = _beside()
    err = alert("err", 40, "HighErrorRate", "payments", "payments-2", severity="major")
    return [*first[:2], err, *first[2:]]


ERR = ("err-r", "HighErrorRate", "payments", "payments-2")


def _resolved_at_last(second_at: float, **correlation: float) -> dict[str, dict]:
    """The outage recovers at 300 s, the OOM and its cascade at `second_at`; the per-alert
    split is off: only what recovers together as the incident resolves tells them apart."""
    p = pipeline(correlation={"rehome_split_gap_s": 0, **correlation})
    run(p, _two_problems())
    return run(
        p,
        _resolved(300, *PAY, ERR)
        + _resolved(second_at, *OOM)
        + [alert("m", second_at + 600, "DiskUsageHigh", "mail", severity="warning")],
    )


def test_an_incident_resolving_splits_off_what_recovered_apart():
    later = _resolved_at_last(1500, recovery_split_gap_s=180)
    assert groups(later) == [
        {"co", "co-r", "oom", "oom-r", "web", "web-r"},
        {"da", "da-r", "err", "err-r", "pay", "pay-r"},
    ]
    assert {i["status"] for i in later.values()} == {"resolved"}
    new = next(i for i in later.values() if "oom" in i["alert_ids"])
    assert new["root_cause"][0]["entity"] == "payments-1"
    # Open since the incident it left was, but not before its own first alert (the OOM, 60 s).
    assert new["opened_at"] == "2026-01-05T10:01:00Z"
    # Without it the incident resolves whole.
    assert len(groups(_resolved_at_last(1500, recovery_split_gap_s=0))) == 1


def test_an_earlier_episode_splits_off_with_its_problem_after_the_alert_fired_again():
    # checkout-1 recovers with the OOM at 1500 s and fires again 260 s later, while the
    # incident is still live in its quiet period: the re-fire is placed afresh. The split as
    # the incident resolves still takes the first episode's events along with the OOM.
    p = pipeline(correlation={"rehome_split_gap_s": 0, "recovery_split_gap_s": 180})
    run(p, _two_problems())
    co2 = alert("co2", 1760, "UpstreamTimeouts", "checkout", "checkout-1", severity="major")
    later = run(
        p,
        _resolved(300, *PAY, ERR)
        + _resolved(1500, *OOM)
        + [co2, alert("m", 2500, "DiskUsageHigh", "mail", severity="warning")],
    )
    apart = next(g for g in groups(later) if "oom" in g)
    assert apart == {"co", "co-r", "oom", "oom-r", "web", "web-r"}
    assert {"da", "da-r", "err", "err-r", "pay", "pay-r"} in groups(later)
    assert all("co2" not in g for g in groups(later) if "co" in g)
    ids = [a for i in later.values() for a in i["alert_ids"]]
    assert len(ids) == len(set(ids))  # no alert in two incidents


def _one_alert_recovers_late(**correlation: float) -> list[set[str]]:
    """Everything recovers at 300 s but web's SLO burn, which recovers at 1500 s."""
    p = pipeline(correlation={"rehome_split_gap_s": 0, **correlation})
    run(p, _two_problems())
    later = run(
        p,
        _resolved(300, *PAY, ERR, *OOM[:2])
        + _resolved(1500, OOM[2])
        + [alert("m", 2100, "DiskUsageHigh", "mail", severity="warning")],
    )
    return groups(later)


def test_a_single_alert_that_recovered_apart_splits_off_as_the_incident_resolves():
    rest = {"da", "da-r", "pay", "pay-r", "err", "err-r", "oom", "oom-r", "co", "co-r"}
    assert _one_alert_recovers_late() == [rest, {"web", "web-r"}]
    # With three alerts required on the moving side (the per-alert split's rule) it stays.
    assert _one_alert_recovers_late(recovery_split_min=3) == [rest | {"web", "web-r"}]


def test_alerts_recovering_close_together_stay_one_incident():
    # The two problems recover 150 s apart: under the gap, one incident.
    assert len(groups(_resolved_at_last(450, recovery_split_gap_s=180))) == 1


def test_no_recovery_split_from_a_stray_first_alert():
    # Two alerts of the first problem only (under rehome_split_min): nothing is split off.
    p = pipeline(correlation={"rehome_split_gap_s": 0, "recovery_split_gap_s": 180})
    run(p, _beside())
    later = run(
        p, [*_recover_apart(), alert("m2", 2000, "DiskUsageHigh", "mail", severity="warning")]
    )
    assert len(groups(later)) == 1


def _apart_on_arrival(
    recover_gap: float, third: bool = False, **correlation: float
) -> list[set[str]]:
    """A database outage, and its callers' symptoms (two, or three with `third`) starting
    too late to link to it (beyond window_s): two incidents on arrival. Both recover,
    `recover_gap` seconds apart."""
    p = pipeline(correlation=correlation)
    symptoms = [
        alert("pay", 700, "HighLatency", "payments", "payments-1", severity="major"),
        alert("pe", 710, "HighErrorRate", "payments", "payments-2", severity="major"),
    ]
    if third:
        symptoms.append(alert("pt", 720, "UpstreamTimeouts", "payments", "payments-1"))
    run(
        p,
        [
            alert("da", 0, "DBDown", "payments-db", severity="critical"),
            alert("dq", 10, "SlowQueries", "payments-db", severity="major"),
            *symptoms,
        ],
    )
    t = 1500 + recover_gap
    recovered = [
        alert("da-r", 1500, "DBDown", "payments-db", status="resolved"),
        alert("dq-r", 1510, "SlowQueries", "payments-db", status="resolved"),
        alert("pay-r", t, "HighLatency", "payments", "payments-1", status="resolved"),
        alert("pe-r", t + 10, "HighErrorRate", "payments", "payments-2", status="resolved"),
    ]
    if third:
        recovered.append(
            alert("pt-r", t + 10, "UpstreamTimeouts", "payments", "payments-1", status="resolved")
        )
    tick = alert("m", t + 600, "DiskUsageHigh", "mail", severity="warning")
    return groups(run(p, [*recovered, tick]))


def test_incidents_that_recover_together_and_touch_in_the_topology_merge():
    assert _apart_on_arrival(20, recovery_merge_gap_s=60, recovery_explain_gap_s=0) == [
        {"da", "da-r", "dq", "dq-r", "pay", "pay-r", "pe", "pe-r"}
    ]
    # Without it, or when they recover minutes apart, they stay two incidents.
    assert len(_apart_on_arrival(20, recovery_merge_gap_s=0, recovery_explain_gap_s=0)) == 2
    assert len(_apart_on_arrival(400, recovery_merge_gap_s=60, recovery_explain_gap_s=0)) == 2


def test_a_fragment_explained_by_an_older_incident_merges_into_it_as_both_recover():
    # payments depends on payments-db: its symptoms, placed apart on arrival, recover 70 s
    # after the database (beyond recovery_merge_gap_s, within recovery_explain_gap_s).
    both = {"da", "da-r", "dq", "dq-r", "pay", "pay-r", "pe", "pe-r"}
    assert _apart_on_arrival(70, recovery_merge_gap_s=30, recovery_explain_gap_s=90) == [both]
    assert len(_apart_on_arrival(70, recovery_merge_gap_s=30, recovery_explain_gap_s=0)) == 2
    assert len(_apart_on_arrival(200, recovery_merge_gap_s=30, recovery_explain_gap_s=90)) == 2


def test_an_incident_that_explains_nothing_of_a_fragment_does_not_take_it():
    # mail depends on nothing of payments-db's: recovering together is no reason to merge.
    p = pipeline(correlation={"recovery_merge_gap_s": 0, "recovery_explain_gap_s": 600})
    run(
        p,
        [
            alert("da", 0, "DBDown", "payments-db", severity="critical"),
            alert("dq", 10, "SlowQueries", "payments-db", severity="major"),
            alert("m1", 700, "QueueBacklog", "mail", "mail-1", severity="major"),
            alert("m2", 710, "HighErrorRate", "mail", "mail-2", severity="major"),
        ],
    )
    out = run(
        p,
        [
            alert("da-r", 1500, "DBDown", "payments-db", status="resolved"),
            alert("dq-r", 1510, "SlowQueries", "payments-db", status="resolved"),
            alert("m1-r", 1520, "QueueBacklog", "mail", "mail-1", status="resolved"),
            alert("m2-r", 1530, "HighErrorRate", "mail", "mail-2", status="resolved"),
            alert("w", 2200, "DiskUsageHigh", "web", severity="warning"),
        ],
    )
    assert len(groups(out)) == 2


def test_an_earlier_episode_moves_only_events_its_incident_still_holds():
    # After merges two members of one alert can meet in one incident; the older one's
    # recorded episode may then list events another incident holds: they must stay there.
    p = pipeline()
    corr, store = p.correlator, p.store
    home, other = store.create("a1", T0), store.create("b1", T0)
    old = Member("fp", "HighLatency", "payments", "payments-1", None, 3, T0, False, T0 + 60)
    old.placed = 7
    home.add_member(old, "a1", T0)
    store.by_fp["fp"] = other  # the alert fired again and was placed there
    corr.rehome.past[7] = ["a1", "b1"]
    assert corr.rehome._events_of(corr, home, old) == ["a1"]
    corr.rehome.past[7] = ["b1"]
    assert corr.rehome._events_of(corr, home, old) is None


def test_the_current_episode_moves_only_events_its_incident_still_holds():
    # The same for the alert's current member: merges at resolution can leave its recorded
    # events listing one another incident holds (dense-206 of the training seeds put 3
    # alerts in two incidents that way before the guard).
    p = pipeline()
    corr, store = p.correlator, p.store
    home = store.create("a1", T0)
    member = Member("fp", "HighLatency", "payments", "payments-1", None, 3, T0, False, T0 + 60)
    home.add_member(member, "a1", T0)
    store.by_fp["fp"] = home
    corr.rehome.events["fp"] = ["a1", "b1"]
    assert corr.rehome._events_of(corr, home, member) == ["a1"]
    corr.rehome.events["fp"] = ["b1"]
    assert corr.rehome._events_of(corr, home, member) is None


def _slow_cascade(**correlation: float) -> list[set[str]]:
    """A database outage whose symptoms reach checkout 250 s after payments, and web 250 s
    after checkout; they clear the same way, 240 s apart, after the database recovers."""
    p = pipeline(correlation=correlation)
    run(
        p,
        [
            alert("da", 0, "DBDown", "payments-db", severity="critical"),
            alert("dq", 10, "SlowQueries", "payments-db", severity="major"),
            alert("pay", 30, "HighLatency", "payments", severity="major"),
            alert("co", 280, "UpstreamTimeouts", "checkout", severity="major"),
            alert("web", 530, "SLOBurnRate", "web", severity="critical"),
        ],
    )
    root = [("da-r", "DBDown", "payments-db", None), ("dq-r", "SlowQueries", "payments-db", None)]
    later = run(
        p,
        _resolved(1000, *root, ("pay-r", "HighLatency", "payments", None))
        + _resolved(1240, ("co-r", "UpstreamTimeouts", "checkout", None))
        + _resolved(1480, WEB)
        + [alert("m", 2500, "DiskUsageHigh", "mail", severity="warning")],
    )
    return groups(later)


def test_a_slow_cascade_that_clears_as_slowly_as_it_spread_stays_one_incident():
    whole = {"da", "da-r", "dq", "dq-r", "pay", "pay-r", "co", "co-r", "web", "web-r"}
    assert _slow_cascade() == [whole]
    # With fixed gaps, the symptoms recovering 240 s apart (over recovery_split_gap_s) split.
    assert len(_slow_cascade(split_lag_factor=0)) == 3


def test_the_split_of_a_joined_alert_waits_until_its_gap_has_passed():
    # The OOM and its cascade recover at 1500 s, the outage at 1650 s: at the first look
    # (1620 s) nothing else had recovered, but 150 s apart is one problem ending.
    p = pipeline()
    run(p, _beside())
    later = run(
        p,
        _resolved(1500, *OOM)
        + _resolved(1650, *PAY)
        + [alert("m", 2400, "DiskUsageHigh", "mail", severity="warning")],
    )
    assert p.correlator.rehome.moves == 0
    assert groups(later) == [
        {"co", "co-r", "da", "da-r", "oom", "oom-r", "pay", "pay-r", "web", "web-r"}
    ]
