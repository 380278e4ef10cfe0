"""Correlation decisions through the whole pipeline (assignment happens on arrival)."""

from dataclasses import fields

from tests.helpers import alert, groups, pipeline, run


def test_a_cascade_upstream_becomes_one_incident():
    p = pipeline()
    incs = run(
        p,
        [
            alert("db", 0, "DBConnectionsExhausted", "payments-db", severity="critical"),
            alert("pay", 45, "HighLatency", "payments", "payments-1"),
            alert("co", 110, "UpstreamTimeouts", "checkout", "checkout-1"),
            alert("web", 200, "SLOBurnRate", "web", severity="critical"),
        ],
    )
    assert groups(incs) == [{"db", "pay", "co", "web"}]
    (inc,) = incs.values()
    assert inc["root_cause"][0]["entity"] == "payments-db"
    assert inc["title"].startswith("payments-db: DBConnectionsExhausted")
    assert inc["services"][0] == "payments-db"


def test_concurrent_unrelated_faults_stay_apart():
    p = pipeline()
    incs = run(
        p,
        [
            alert("db", 0, "DBDown", "payments-db", severity="critical"),
            alert("rep", 10, "ReportsDBDown", "reports-db", severity="critical"),
            alert("pay", 40, "HighLatency", "payments", "payments-1"),
            alert("rep2", 50, "HighErrorRate", "reports", "reports-1"),
        ],
    )
    assert groups(incs) == [{"db", "pay"}, {"rep", "rep2"}]


def test_a_lone_low_severity_alert_opens_nothing_and_is_reported_suppressed():
    p = pipeline()
    p.process(alert("w", 0, "DiskUsageHigh", "mail", severity="warning"))
    drained = p.finish()
    assert drained.incidents == []
    assert [(s.alert_id, s.reason.split(":")[0]) for s in drained.suppressed] == [("w", "held")]


def test_three_correlated_minor_alerts_open_an_incident():
    p = pipeline()
    incs = run(
        p,
        [
            alert("m1", 0, "SlowQueries", "payments-db", severity="minor"),
            alert("m2", 30, "HighLatency", "payments", severity="minor"),
        ],
    )
    assert incs == {}  # two held alerts: not yet an incident
    incs = run(p, [alert("m3", 60, "HighLatency", "checkout", severity="minor")])
    assert groups(incs) == [{"m1", "m2", "m3"}]


def test_a_warning_does_not_make_a_major_alert_upstream_its_symptom():
    # Noise is mostly warnings; a warning on a dependency explains little of a real failure.
    p = pipeline()
    incs = run(
        p,
        [
            alert("w", 0, "PodRestarted", "payments-db", severity="warning"),
            alert("m", 30, "HighErrorRate", "payments", "payments-1", severity="major"),
        ],
    )
    assert groups(incs) == [{"m"}]


def test_an_alert_outside_the_onset_window_starts_a_new_incident():
    p = pipeline(correlation={"window_s": 300})
    incs = run(
        p,
        [
            alert("a", 0, "DBDown", "payments-db", severity="critical"),
            alert("b", 1000, "HighLatency", "payments", severity="major"),
        ],
    )
    assert groups(incs) == [{"a"}, {"b"}]


def test_a_long_incident_does_not_absorb_later_faults_nearby():
    # payments-db keeps firing for an hour; an hour later checkout breaks on its own.
    p = pipeline()
    incs = run(
        p,
        [
            alert("a", 0, "DBDown", "payments-db", severity="critical"),
            alert("b", 60, "HighLatency", "payments"),
            alert(
                "a2", 1800, "DBDown", "payments-db", severity="critical"
            ),  # re-sent: still firing
            alert("c", 3600, "HighErrorRate", "checkout", "checkout-1"),
        ],
    )
    assert groups(incs) == [{"a", "b", "a2"}, {"c"}]


def test_a_symptom_must_not_start_before_its_cause():
    # checkout calls payments, but checkout's alert started 5 minutes before payments': it
    # cannot be payments' symptom, and payments, starting later, is not checkout's root.
    p = pipeline()
    incs = run(
        p,
        [
            alert("co", 0, "HighErrorRate", "checkout", "checkout-1"),
            alert("pay", 300, "HighLatency", "payments", "payments-2"),
        ],
    )
    assert groups(incs) == [{"co"}, {"pay"}]


def test_a_shared_caller_does_not_merge_what_it_does_not_explain():
    # web calls both payments and search: it is a symptom of either, the cause of neither.
    p = pipeline()
    incs = run(
        p,
        [
            alert("pay", 0, "HighLatency", "payments", "payments-1"),
            alert("sea", 10, "HighErrorRate", "search", "search-1"),
            alert("web", 20, "SLOBurnRate", "web", severity="critical"),
        ],
    )
    assert len(groups(incs)) == 2 and any("web" in g for g in groups(incs))


def test_a_later_root_merges_the_incidents_it_explains():
    # payments and search both call auth; their symptoms arrive first and look unrelated,
    # then auth's own alert (which started first) explains both.
    p = pipeline()
    incs = run(
        p,
        [
            alert("pay", 20, "HighLatency", "payments", "payments-1"),
            alert("sea", 30, "HighErrorRate", "search", "search-1"),
            alert("auth", 0, "TokenServiceDown", "auth", severity="critical"),
        ],
    )
    merged = [i for i in incs.values() if i["merged_into"]]
    survivors = [i for i in incs.values() if not i["merged_into"]]
    assert groups(incs) == [{"pay", "sea", "auth"}]
    assert survivors[0]["root_cause"][0]["entity"] == "auth"
    assert len(survivors) == 1 and survivors[0]["merged_from"] == [m["id"] for m in merged]
    assert all(m["alert_ids"] == [] and m["status"] == "resolved" for m in merged)


def test_a_shared_node_links_different_services():
    p = pipeline()
    incs = run(
        p,
        [
            alert("n", 0, "NodeNotReady", resource="node-1", severity="critical"),
            alert("m", 20, "PodCrashLooping", "mail", "mail-1"),
            alert("p", 25, "PodCrashLooping", "payments", "payments-1"),
        ],
    )
    assert groups(incs) == [{"n", "m", "p"}]
    (inc,) = incs.values()
    assert inc["root_cause"][0] == {**inc["root_cause"][0], "entity": "node-1", "kind": "node"}


def test_the_same_check_failing_on_many_services_groups_by_content():
    p = pipeline()
    incs = run(
        p,
        [
            alert("a", 0, "CertificateExpired", "mail", severity="major"),
            alert("b", 5, "CertificateExpired", "reports", severity="major"),
            alert("c", 10, "CertificateExpired", "search-index", severity="major"),
            alert("d", 15, "CertificateExpired", "inventory-db", severity="major"),
        ],
    )
    # mail and reports share nothing: the first two stay apart; the third makes it the same
    # check failing on three services at once, which merges them; the fourth joins.
    assert groups(incs) == [{"a", "b", "c", "d"}]


def test_a_common_alert_name_inside_real_incidents_does_not_chain_them():
    p = pipeline()
    incs = run(
        p,
        [
            alert("db", 0, "DBDown", "payments-db", severity="critical"),
            alert("pay", 20, "HighLatency", "payments"),
            alert("rdb", 30, "DBDown", "reports-db", severity="critical"),
            alert("rep", 40, "HighLatency", "reports"),
            alert("mail", 50, "HighLatency", "mail"),
        ],
    )
    assert groups(incs) == [{"db", "pay"}, {"mail"}, {"rdb", "rep"}]


def test_duplicates_and_resolves_fold_into_the_incident_of_their_alert():
    p = pipeline()
    incs = run(
        p,
        [
            alert("a1", 0, "DBDown", "payments-db", severity="critical"),
            alert("a2", 60, "DBDown", "payments-db", severity="critical"),
            alert("a3", 120, "DBDown", "payments-db", severity="critical", status="resolved"),
        ],
    )
    (inc,) = incs.values()
    assert inc["alert_ids"] == ["a1", "a2", "a3"] and inc["alerts"] == 1


def test_a_resolve_delivered_before_its_firing_lands_in_the_same_incident():
    p = pipeline()
    incs = run(
        p,
        [
            alert("r", 300, "DBDown", "payments-db", severity="critical", status="resolved"),
            alert("f", 0, "DBDown", "payments-db", severity="critical"),
        ],
    )
    (inc,) = incs.values()
    assert sorted(inc["alert_ids"]) == ["f", "r"] and inc["firing"] == 0


def test_determinism_same_input_same_incidents_and_ids():
    events = [
        alert("db", 0, "DBDown", "payments-db", severity="critical"),
        alert("pay", 45, "HighLatency", "payments", "payments-1"),
        alert("x", 50, "HighErrorRate", "reports", severity="critical"),
        alert("co", 110, "UpstreamTimeouts", "checkout", "checkout-1"),
    ]
    first = run(pipeline(), events)
    second = run(
        pipeline(), [a.__class__(**{f.name: getattr(a, f.name) for f in fields(a)}) for a in events]
    )
    assert first == second


def test_incident_ids_are_the_sha1_of_the_first_alert_whatever_came_before():
    import hashlib

    from pipeline.incidents import incident_id

    first = incident_id("a-000123")
    incident_id("a-000124")  # an earlier id must not leak into the next
    assert incident_id("a-000123") == first
    assert first == "inc-" + hashlib.sha1(b"a-000123").hexdigest()[:12]


def _refire_beside_a_live_incident(**correlation: float) -> list[set[str]]:
    """HighLatency on payments joins the payments-db outage, recovers, and fails again while
    the database still alerts (too long after its onset to link to it again)."""
    p = pipeline(correlation=correlation or None)
    return groups(
        run(
            p,
            [
                alert("db", 0, "DBDown", "payments-db", severity="critical"),
                alert("pay", 30, "HighLatency", "payments", "payments-1"),
                alert("pay-r", 700, "HighLatency", "payments", "payments-1", status="resolved"),
                alert("pay-2", 1000, "HighLatency", "payments", "payments-1"),
                alert("pay-3", 1060, "HighLatency", "payments", "payments-1"),
            ],
        )
    )


def test_an_alert_failing_again_minutes_after_it_recovered_is_placed_afresh():
    # 300 s of quiet is no flap: the second episode is weighed as a new alert.
    assert _refire_beside_a_live_incident(refire_gap_s=240) == [
        {"db", "pay", "pay-r"},
        {"pay-2", "pay-3"},
    ]
    # Without it (a gap up to window_s reopens the member), it stays with the old problem.
    assert _refire_beside_a_live_incident(refire_gap_s=600) == [
        {"db", "pay", "pay-r", "pay-2", "pay-3"}
    ]


def test_a_flap_stays_with_its_incident():
    p = pipeline(correlation={"refire_gap_s": 240})
    incs = run(
        p,
        [
            alert("db", 0, "DBDown", "payments-db", severity="critical"),
            alert("pay", 30, "HighLatency", "payments", "payments-1"),
            alert("pay-r", 700, "HighLatency", "payments", "payments-1", status="resolved"),
            alert("pay-2", 760, "HighLatency", "payments", "payments-1"),
        ],
    )
    assert groups(incs) == [{"db", "pay", "pay-r", "pay-2"}]


def _refire_after_recovery(after: float, **correlation: float) -> list[set[str]]:
    """A payments-db outage and its two symptoms all recover at 600 s; HighLatency on
    payments-1 fires again `after` s later, while the incident is still open (its quiet
    period before it resolves)."""
    p = pipeline(correlation=correlation) if correlation else pipeline()
    return groups(
        run(
            p,
            [
                alert("db", 0, "DBDown", "payments-db", severity="critical"),
                alert("pay", 30, "HighLatency", "payments", "payments-1"),
                alert("co", 60, "UpstreamTimeouts", "checkout", "checkout-1"),
                alert("db-r", 600, "DBDown", "payments-db", status="resolved"),
                alert("pay-r", 600, "HighLatency", "payments", "payments-1", status="resolved"),
                alert("co-r", 600, "UpstreamTimeouts", "checkout", "checkout-1", status="resolved"),
                alert("pay-2", 600 + after, "HighLatency", "payments", "payments-1"),
            ],
        )
    )


def test_a_refire_after_its_problem_recovered_is_placed_afresh():
    # Every alert of the incident had recovered: 90 s later the latency is a new problem.
    old = {"db", "db-r", "pay", "pay-r", "co", "co-r"}
    assert _refire_after_recovery(90) == [old, {"pay-2"}]
    # Without the rule it would reopen its member (90 s is under refire_gap_s) ...
    assert _refire_after_recovery(90, refire_recovered_gap_s=0) == [old | {"pay-2"}]
    # ... as a flap does, back within refire_recovered_gap_s.
    assert _refire_after_recovery(30) == [old | {"pay-2"}]
