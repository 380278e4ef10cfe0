"""Late correction (pipeline/rehome.py): a close call moves to the incident it recovers with."""

import pickle

from tests.helpers import alert, groups, pipeline, run


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
    """The first problem recovers at 300 s; the OOM and its cascade at 1500 s, far apart."""
    return (
        _resolved(300, *PAY)
        + _resolved(1500, *OOM)
        + [alert("m", 1700, "DiskUsageHigh", "mail", severity="warning")]
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
