"""Root-cause scoring of `aiops evaluate`: the pipeline's lists and the simple baselines on
the same incident."""

from aiops.evaluation.rootcause import baseline_rankings, rca_scores
from tests.helpers import SHOP, topology


def _facts():
    # payments-db fails first; payments and checkout follow; checkout is the loudest.
    return {
        "db": (10.0, "payments-db", None),
        "pay": (40.0, "payments", "payments-1"),
        "co1": (90.0, "checkout", "checkout-1"),
        "co2": (95.0, "checkout", "checkout-2"),
        "co3": (99.0, "checkout", "checkout-1"),
        "node": (120.0, None, "node-3"),
    }


def test_baselines_order_the_incidents_entities_each_their_own_way():
    ranked = baseline_rankings(_facts().values(), topology(SHOP))
    names = {m: [c["entity"] for c in order] for m, order in ranked.items()}
    assert names["earliest_alert"] == ["payments-db", "payments", "checkout", "node-3"]
    assert names["most_alerts"][0] == "checkout"
    # The walk follows dependencies down from the alerting callers to what they all need.
    assert names["random_walk"][0] == "payments-db"
    assert {"kind": "node", "entity": "node-3"} in ranked["earliest_alert"]


def test_rca_scores_count_baseline_hits_on_the_same_incident():
    facts = _facts()
    incidents = {"inc-1": {"alert_ids": list(facts), "root_cause": [
        {"kind": "service", "entity": "checkout"}, {"kind": "service", "entity": "payments-db"},
    ]}}  # fmt: skip
    fault = {"id": "f1", "kind": "service", "root": "payments-db", "root_service": "payments-db"}
    truth = dict.fromkeys(facts, "f1")
    scores = rca_scores(
        [fault], truth, dict.fromkeys(facts, "inc-1"), incidents, topology(SHOP), alerts=facts
    )
    assert (scores["ac@1"], scores["ac@3"]) == (0.0, 1.0)
    base = scores["baselines"]
    assert base["earliest_alert"]["ac@1"] == 1.0 and base["most_alerts"]["ac@1"] == 0.0
    assert "baselines" not in rca_scores(
        [fault], truth, dict.fromkeys(facts, "inc-1"), incidents, topology(SHOP)
    )
