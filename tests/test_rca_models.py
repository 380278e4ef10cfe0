"""The small learners and helpers behind the root-cause ranker."""

from __future__ import annotations

import pytest

from models.rca_history import IncidentHistory, PastCase, incident_tokens
from models.rca_mentions import MentionIndex
from models.rca_model import LogisticScorer, RootCauseModel
from models.rca_walk import random_walk
from tests.helpers import SHOP, topology


def test_walkers_end_up_at_the_dependency_everything_leads_to():
    # web -> checkout -> payments -> payments-db; search -> auth: db is what web's walkers reach.
    anomaly = {"web": 0.5, "checkout": 0.5, "payments": 0.6, "payments-db": 1.0, "mail": 0.9}
    forward = {"web": ["checkout"], "checkout": ["payments"], "payments": ["payments-db"]}
    visits = random_walk(anomaly, forward)
    assert visits["payments-db"] == 1.0
    assert visits["payments-db"] > visits["payments"] > visits["web"]
    # An unconnected entity keeps only the walkers that restart there.
    assert visits["mail"] < visits["payments-db"]
    assert all(0.0 <= v <= 1.0 for v in visits.values())


def test_a_walk_over_one_entity_or_none():
    assert random_walk({}, {}) == {}
    assert random_walk({"a": 0.3}, {}) == {"a": 1.0}


def test_learn_one_moves_the_score_towards_the_label_and_reset_restores_the_prior():
    scorer = LogisticScorer({"explains": 1.0, "onset": 0.5}, bias=-1.0, learning_rate=0.5)
    x = {"explains": 1.0, "onset": 1.0}
    before = scorer.predict_one(x)
    for _ in range(5):
        scorer.learn_one(x, False)
    assert scorer.predict_one(x) < before
    scorer.reset()
    assert scorer.predict_one(x) == pytest.approx(before)
    assert scorer.updates_ == 0


def test_the_prior_pull_keeps_many_corrections_from_running_away():
    free = LogisticScorer({"a": 1.0}, learning_rate=0.5, prior_strength=0.0)
    anchored = LogisticScorer({"a": 1.0}, learning_rate=0.5, prior_strength=0.2)
    for _ in range(200):
        free.learn_one({"a": 1.0}, False)
        anchored.learn_one({"a": 1.0}, False)
    assert anchored.weights["a"] > free.weights["a"]


def test_model_json_round_trip_and_bad_documents(tmp_path):
    model = RootCauseModel(LogisticScorer({"explains": 2.0}, -1.0), LogisticScorer({}, -3.0))
    path = tmp_path / "m.json"
    model.save(path)
    loaded = RootCauseModel.load(path)
    assert loaded.entity.weights == {"explains": 2.0} and loaded.change.bias == -3.0
    with pytest.raises(ValueError, match="kind"):
        RootCauseModel.from_dict({"kind": "other"})
    with pytest.raises(ValueError, match="weights"):
        RootCauseModel.from_dict(
            {"kind": "root-cause-logistic", "entity": {"weights": {"a": "x"}}, "change": {}}
        )


def test_history_weighs_a_shared_rare_token_over_shared_common_ones():
    history = IncidentHistory(min_similarity=0.1)
    common = incident_tokens(["web", "checkout"], [], ["HighLatency"])
    rare = frozenset({"svc:payments-db", "name:DBDeadlocks"})
    history.add(PastCase("inc-db", rare, "payments-db", "service"))
    history.add(PastCase("inc-web", common | {"svc:search"}, "search", "service"))
    for i in range(5):  # web, checkout and HighLatency are in every other case
        history.add(PastCase(f"noise-{i}", common | {f"svc:x{i}"}, f"x{i}", "service"))
    roots = history.roots(common | {"name:DBDeadlocks"})
    best = max(roots, key=lambda r: roots[r][0])
    assert best == "payments-db"
    assert roots["payments-db"][1].key == "inc-db"


def test_history_forgets_beyond_its_capacity():
    history = IncidentHistory(capacity=2, min_similarity=0.0)
    for i in range(3):
        history.add(PastCase(f"inc-{i}", frozenset({"svc:a", f"svc:{i}"}), "a", "service"))
    assert len(history) == 2
    assert {c.key for _, c in history.similar(frozenset({"svc:a"}))} == {"inc-1", "inc-2"}


def test_mentions_name_known_services_but_not_the_alerts_own():
    from types import SimpleNamespace

    from pipeline.incidents import Member

    index = MentionIndex(topology(SHOP))
    member = Member("fp1", "UpstreamTimeouts", "checkout", "checkout-1", None, 3, 0.0, True, 0.0)
    assert index.named_by(member) == frozenset()  # no alert states attached yet
    summary = "120 timeouts/min calling payments from checkout-1 (checkout, unknown-thing)"
    states = {"fp1": SimpleNamespace(summary=summary)}
    index.attach(states)
    assert index.named_by(member) == {"payments"}
    states["fp1"] = SimpleNamespace(summary="now waiting for auth and node-1")
    assert index.named_by(member) == {"auth", "node-1"}  # the latest summary counts
