from pipeline.incidents import Incident, Member
from tests.helpers import T0, alert, change, pipeline, run


def cascade():
    return [
        alert("db", 0, "DBConnectionsExhausted", "payments-db", severity="critical"),
        alert("pay", 40, "HighLatency", "payments", "payments-1"),
        alert("pay2", 45, "HighLatency", "payments", "payments-2"),
        alert("co", 90, "UpstreamTimeouts", "checkout", "checkout-1"),
    ]


def only(incs):
    (inc,) = incs.values()
    return inc


def test_ranked_candidates_have_scores_in_range_and_checkable_evidence():
    inc = only(run(pipeline(), [change("CHG42", -480, "payments-db"), *cascade()]))
    rc = inc["root_cause"]
    assert [c["entity"] for c in rc[:2]] == ["payments-db", "CHG42"]
    assert all(0.0 <= c["score"] <= 1.0 for c in rc)
    assert [c["score"] for c in rc] == sorted((c["score"] for c in rc), reverse=True)
    assert "alerted first" in rc[0]["evidence"]
    assert "2 of the 2 other alerting services depend on it" in rc[0]["evidence"]
    assert rc[1]["kind"] == "change" and "8 min before onset" in rc[1]["evidence"]


def test_an_unrelated_change_ranks_below_the_one_on_the_root():
    inc = only(
        run(
            pipeline(),
            [
                change("CHG1", -300, "checkout"),
                change("CHG2", -600, "payments-db"),
                change("CHG3", -60, "mail"),  # not involved at all
                *cascade(),
            ],
        )
    )
    entities = [c["entity"] for c in inc["root_cause"]]
    assert "CHG3" not in entities
    assert entities.index("CHG2") <= 2
    assert "CHG1" not in entities or entities.index("CHG2") < entities.index("CHG1")


def test_a_change_delivered_after_the_alerts_still_reaches_the_ranking():
    p = pipeline()
    run(p, cascade())
    inc = only(run(p, [change("CHG9", -120, "payments-db")]))
    assert "CHG9" in [c["entity"] for c in inc["root_cause"][:3]]


def test_a_node_that_alerts_itself_outranks_the_services_on_it():
    inc = only(
        run(
            pipeline(),
            [
                alert("m", 0, "PodCrashLooping", "mail", "mail-1"),
                alert("n", 5, "NodeNotReady", resource="node-1", severity="critical"),
                alert("p", 10, "PodCrashLooping", "payments", "payments-1"),
            ],
        )
    )
    assert inc["root_cause"][0]["entity"] == "node-1"
    assert "itself alerts NodeNotReady" in inc["root_cause"][0]["evidence"]


def test_a_lone_failing_replica_is_named():
    inc = only(
        run(
            pipeline(),
            [
                alert("p1", 0, "OOMKilled", "payments", "payments-2", severity="critical"),
                alert("co", 30, "HighErrorRate", "checkout", "checkout-1"),
            ],
        )
    )
    first = inc["root_cause"][0]
    assert (first["entity"], first["kind"]) == ("payments-2", "resource")
    assert "only payments-2 of 2 replicas of payments alerts" in first["evidence"]
    # The replica stands for its service: the service is not listed again.
    assert "payments" not in [c["entity"] for c in inc["root_cause"]]


def test_priority_follows_impact_and_urgency():
    # web is high-criticality and critical severity: P1.
    inc = only(run(pipeline(), [alert("w", 0, "SLOBurnRate", "web", severity="critical")]))
    assert (inc["impact"], inc["urgency"], inc["priority"]) == (1, 1, "P1")
    # one low-criticality service, major: impact 3, urgency 2 -> P4.
    inc = only(run(pipeline(), [alert("m", 0, "QueueBacklog", "mail", severity="major")]))
    assert (inc["impact"], inc["urgency"], inc["priority"]) == (3, 2, "P4")
    # listed as critical in config: impact 1.
    p = pipeline(incidents={"critical_services": ["mail"]})
    inc = only(run(p, [alert("m", 0, "QueueBacklog", "mail", severity="major")]))
    assert inc["priority"] == "P2"


def test_title_names_the_likely_origin_and_the_spread():
    inc = only(run(pipeline(), cascade()))
    assert inc["title"] == "payments-db: DBConnectionsExhausted (+2 services affected)"


def test_a_silent_origin_is_titled_as_silent_with_the_alert_it_caused():
    """The first candidate raises no alert: the title must not pin a symptom's name on it."""
    inc = Incident(id="inc-1", seq=1, start=T0)
    for i, (name, service, severity) in enumerate(
        [("UpstreamTimeouts", "payments", 4), ("UpstreamTimeouts", "search", 3)]
    ):
        member = Member(
            fingerprint=f"fp{i}",
            name=name,
            service=service,
            resource=f"{service}-1",
            node=None,
            severity=severity,
            onset=T0 + i,
            firing=True,
            status_time=T0 + i,
        )
        inc.add_member(member, f"a{i}", T0 + i)
    inc.root_cause = [{"entity": "auth", "kind": "service"}]
    inc.update_title()
    assert inc.title == "auth (silent): UpstreamTimeouts on payments (2 services affected)"
    inc.root_cause = [{"entity": "search", "kind": "service"}]  # an alerting origin
    inc.update_title()
    assert inc.title == "search: UpstreamTimeouts (+1 service affected)"


def test_a_quiet_dependency_that_symptoms_name_is_a_candidate():
    # payments-db raises nothing, but payments' alert says what it waits for.
    a = alert("pay", 0, "UpstreamTimeouts", "payments", "payments-1", severity="critical")
    a.summary = "320 timeouts/min calling payments-db from payments-1"
    c = alert("co", 30, "HighLatency", "checkout", "checkout-1")
    inc = only(run(pipeline(), [a, c]))
    (entry,) = [x for x in inc["root_cause"] if x["entity"] == "payments-db"]
    assert entry["signals"]["silent"] == 1.0 and entry["signals"]["named"] > 0
    assert "payments-db raises no alert itself" in entry["evidence"]
    assert "alerts of payments name it" in entry["evidence"]
    # Without the mention it is a weaker guess (or none at all).
    b = alert("pay", 0, "UpstreamTimeouts", "payments", "payments-1", severity="critical")
    plain = only(run(pipeline(), [b, alert("co", 30, "HighLatency", "checkout", "checkout-1")]))
    others = [x["score"] for x in plain["root_cause"] if x["entity"] == "payments-db"]
    assert not others or others[0] < entry["score"]


def test_signals_are_in_range_and_the_list_is_capped():
    records = [
        change("CHG1", -300, "payments-db"),
        change("CHG2", -200, "payments-db"),
        change("CHG3", -100, "payments-db"),
        change("CHG4", -50, "payments-db"),
        *cascade(),
    ]
    inc = only(run(pipeline(), records))
    entities = [c for c in inc["root_cause"] if c["kind"] != "change"]
    changes = [c for c in inc["root_cause"] if c["kind"] == "change"]
    assert len(entities) <= 5 and len(changes) <= 3
    for c in inc["root_cause"]:
        assert all(0.0 <= v <= 1.0 for v in c["signals"].values()), c
    assert inc["alert_names"] == sorted(
        {"DBConnectionsExhausted", "HighLatency", "UpstreamTimeouts"}
    )


def test_a_missing_model_file_is_a_config_error(tmp_path):
    import pytest

    from pipeline.config import ConfigError

    with pytest.raises(ConfigError, match="root-cause model"):
        pipeline(root_cause={"model": str(tmp_path / "nope.json")})


def test_a_resolved_ticket_on_a_service_becomes_history():
    from models.rootcause import RootCauseRanker
    from pipeline.tickets import Ticket

    p = pipeline()
    ranker = next(e for e in p.enrichers if isinstance(e, RootCauseRanker))
    open_ticket = Ticket("INC1", 0.0, cmdb_ci="payments-db")
    done = Ticket(
        "INC2",
        0.0,
        cmdb_ci="payments-db",
        category="database",
        closed_code="Solved (Permanently)",
        resolved_at=100.0,
    )
    assert not ranker.remember_ticket(open_ticket)
    assert ranker.remember_ticket(done)
    inc = only(run(p, cascade()))
    (db,) = [c for c in inc["root_cause"] if c["entity"] == "payments-db"]
    assert "ticket INC2" in db["evidence"] and "Solved (Permanently)" in db["evidence"]


def test_train_rca_learns_weights_that_rank_roots_above_their_symptoms(tmp_path):
    """`aiops train-rca` end to end on one small scenario per profile: a loadable model
    whose entity scorer puts an alerting service that explains the others above one that
    explains nothing."""
    from aiops.cli import main
    from models.rca_model import RootCauseModel

    out = tmp_path / "model.json"
    assert main(["train-rca", "--per-profile", "1", "--out", str(out)]) == 0
    model = RootCauseModel.load(out)
    weights = model.entity.weights
    assert set(weights) and any(w != 0.0 for w in weights.values())
    root = dict.fromkeys(weights, 0.0) | dict.fromkeys(
        ("explains", "explains_direct", "no_alerting_deps", "first", "order", "walk"), 1.0
    )
    symptom = dict.fromkeys(weights, 0.0) | {"symptom_share": 1.0, "onset": 0.2}
    assert model.entity.predict_one(root) > model.entity.predict_one(symptom)


def test_a_held_back_ranking_catches_up_after_its_holdoff_and_at_the_end():
    """After its eager rankings an incident is ranked at most once per holdoff; what was held
    back is ranked when the holdoff ends (a sweep) or the input ends, and then says what
    ranking on every change says."""
    records = [change("CHG42", -480, "payments-db"), *cascade()]
    later = alert("mail", 900, "QueueBacklog", "mail", severity="minor")  # moves the clock
    eager = pipeline(root_cause={"eager_rankings": 1, "rerank_holdoff_s": 0})
    held = pipeline(root_cause={"eager_rankings": 1, "rerank_holdoff_s": 300})
    want = only(run(eager, records))
    first = only(run(held, records))
    assert first["id"] == want["id"] and first["root_cause"] != want["root_cause"]
    (inc,) = held.store.live.values()
    assert inc.rankings == 1 and inc.stale_rca
    caught_up = run(held, [later])[want["id"]]  # the sweep after the holdoff ranks it
    assert caught_up["root_cause"] == want["root_cause"] and caught_up["title"] == want["title"]
    assert caught_up["version"] > first["version"] and inc.rankings == 2
    again = pipeline(root_cause={"eager_rankings": 1, "rerank_holdoff_s": 300})
    at_end = only(run(again, records, finish=True))
    assert at_end["root_cause"] == want["root_cause"]


def test_a_weak_change_on_the_root_comes_right_after_it():
    # an old config push scores low on its own, below a bystander, but it is on the root
    inc = only(run(pipeline(), [change("CHG1", -7000, "payments-db", type="config"), *cascade()]))
    rc = inc["root_cause"]
    assert [c["entity"] for c in rc[:2]] == ["payments-db", "CHG1"]
    assert rc[1]["score"] < rc[2]["score"]  # moved ahead of a stronger one, its score not raised


def test_a_change_moved_up_keeps_the_stronger_changes_ahead_of_it():
    records = [
        change("CHG1", -7000, "payments-db", type="config"),
        change("CHG2", -60, "checkout"),
        *cascade(),
    ]
    rc = only(run(pipeline(), records))["root_cause"]
    assert [c["entity"] for c in rc[:3]] == ["payments-db", "CHG2", "CHG1"]
    assert [c["score"] for c in rc if c["kind"] == "change"] == sorted(
        (c["score"] for c in rc if c["kind"] == "change"), reverse=True
    )
