"""Outage forewarning: delayed labels, warning rules, and its place in the pipeline."""

from pipeline.changes import ChangeIndex
from pipeline.config import load_config
from pipeline.dedup import Deduplicator
from pipeline.forewarn import OutagePredictor
from pipeline.outputs import Outputs
from tests.helpers import SHOP, T0, alert, topology


class Recording:
    """A risk model that always answers `risk` and remembers what it learned."""

    def __init__(self, risk: float = 0.9, threshold: float = 0.5) -> None:
        self.risk, self.threshold = risk, threshold
        self.learned: list[tuple[dict, bool]] = []

    def predict_one(self, x):
        return self.risk

    def learn_one(self, x, y):
        self.learned.append((x, y))


def stage(model=None, **overrides):
    cfg = load_config(overrides={"prediction": overrides} if overrides else None)
    topo = topology(SHOP)
    model = model or Recording()
    pred = OutagePredictor(cfg.prediction, model, topo, ChangeIndex(topo, 86400))
    return pred, model, Deduplicator(cfg.dedup), Outputs()


def feed(pred, dedup, out, *alerts):
    for a in alerts:
        fp = dedup.fingerprint(a)
        _, state = dedup.process(a, fp)
        pred.observe(a, out, state)


def escalating(prefix, t0, service="payments-db", resource="payments-db-1"):
    """A warning that repeats and then worsens, as signs before an outage do."""
    return [
        alert(f"{prefix}1", t0, "ConnectionPoolSaturation", service, resource, "warning"),
        alert(f"{prefix}2", t0 + 120, "ConnectionPoolSaturation", service, resource, "warning"),
        alert(f"{prefix}3", t0 + 240, "ConnectionPoolSaturation", service, resource, "minor"),
    ]


def test_an_escalating_sign_warns_once_with_a_reason():
    pred, _, dedup, out = stage()
    feed(pred, dedup, out, *escalating("w", 0))
    feed(
        pred,
        dedup,
        out,
        alert("w4", 360, "ConnectionPoolSaturation", "payments-db", "payments-db-1", "major"),
    )
    assert len(out.predictions) == 1  # re-armed only after rearm_s
    p = out.predictions[0]
    assert p["service"] == "payments-db" and p["horizon_s"] == 1800 and 0 <= p["risk"] <= 1
    assert "ConnectionPoolSaturation" in p["reason"]


def test_a_first_warning_alone_does_not_warn():
    pred, model, dedup, out = stage()
    feed(pred, dedup, out, alert("w", 0, "DiskUsageHigh", "mail", "mail-1", "warning"))
    assert out.predictions == [] and model.learned == []


def test_a_warning_that_persists_is_weighed_though_it_neither_worsens_nor_spreads():
    pred, _, dedup, out = stage(persist_s=300)
    name, svc, res = "MemoryGrowth", "payments-db", "payments-db-1"
    feed(pred, dedup, out, *(alert(f"m{i}", i * 120, name, svc, res, "warning") for i in range(3)))
    assert out.predictions == []  # re-sent, but for 240 s only
    feed(pred, dedup, out, alert("m3", 360, name, svc, res, "warning"))
    assert [p["service"] for p in out.predictions] == ["payments-db"]
    assert "MemoryGrowth" in out.predictions[0]["reason"]
    # The model weighs which warning it is, not only how many.
    assert pred.features("payments-db", T0 + 360)["sign:MemoryGrowth"] == 1.0


def test_no_warning_while_a_critical_alert_already_fires_there():
    pred, _, dedup, out = stage()
    feed(pred, dedup, out, alert("c", 0, "DBDown", "payments-db", severity="critical"))
    feed(pred, dedup, out, *escalating("w", 10))
    assert out.predictions == []


def test_labels_arrive_late_positive_before_an_outage_negative_after_the_horizon():
    pred, model, dedup, out = stage(horizon_s=1800)
    feed(pred, dedup, out, *escalating("a", 0))  # payments-db: an outage follows
    feed(pred, dedup, out, *escalating("b", 0, "search", "search-1"))  # search: nothing
    assert model.learned == []  # nothing is known yet
    feed(pred, dedup, out, alert("c", 900, "DBDown", "payments-db", severity="critical"))
    assert [y for _, y in model.learned] == [True]
    feed(pred, dedup, out, alert("tick", 2400, "Tick", "mail", severity="info"))
    assert [y for _, y in model.learned] == [True, False]


def test_a_critical_alert_that_is_a_symptom_is_no_label():
    # payments calls payments-db: a critical on payments while payments-db fails is a symptom.
    pred, model, dedup, out = stage()
    feed(pred, dedup, out, *escalating("w", 0, "payments", "payments-1"))
    feed(pred, dedup, out, alert("d", 300, "DBDown", "payments-db", severity="critical"))
    feed(pred, dedup, out, alert("s", 320, "HighErrorRate", "payments", severity="critical"))
    assert [y for _, y in model.learned] == []


def test_a_snapshot_keeps_what_was_known_when_it_was_taken():
    pred, model, dedup, out = stage()
    feed(pred, dedup, out, *escalating("w", 0))
    # A second sign arrives after the snapshot, before the outage that labels it.
    feed(pred, dedup, out, alert("x", 400, "SlowQueries", "payments-db", "payments-db-2"))
    feed(pred, dedup, out, alert("c", 900, "DBDown", "payments-db", severity="critical"))
    (features, label), *_ = model.learned
    assert label is True and features["names"] == 0.2  # one name when it was taken


def test_replay_writes_predictions_with_the_shipped_model(tmp_path):
    from aiops.replay import replay
    from aiops.scenarios import generate, profile_params, write_scenario
    from connectors.files import load_topology

    scenario = tmp_path / "s"
    write_scenario(generate(profile_params("default"), 7, "default"), scenario)
    summary = replay(
        scenario / "alerts.jsonl",
        tmp_path / "out",
        load_config(),
        load_topology(scenario / "topology.yaml"),
        changes=scenario / "changes.jsonl",
        progress=False,
    )
    lines = (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()
    assert summary["predictions"] == len(lines)


def test_nothing_is_learned_from_what_an_entity_shows_while_it_is_down():
    pred, model, dedup, out = stage()
    feed(pred, dedup, out, alert("c", 0, "DBDown", "payments-db", severity="critical"))
    feed(pred, dedup, out, *escalating("w", 10))
    feed(pred, dedup, out, alert("tick", 2400, "Tick", "mail", severity="info"))
    assert model.learned == [] and pred.pending.get("payments-db") is None


def test_a_snapshot_older_than_the_horizon_when_an_outage_starts_is_a_negative():
    pred, model, dedup, out = stage(horizon_s=1800)
    feed(pred, dedup, out, *escalating("w", 0))  # snapshot at 240
    feed(pred, dedup, out, alert("tick", 2000, "Tick", "mail", severity="info"))  # expiry
    assert model.learned == []  # 240 was still within the horizon at 2000
    # The outage starts at 2100, more than the horizon after the snapshot, before the next
    # expiry: the snapshot's horizon passed without an outage, so it is a negative (it
    # used to be dropped unlearned).
    feed(pred, dedup, out, alert("c", 2100, "DBDown", "payments-db", severity="critical"))
    assert [y for _, y in model.learned] == [False]
    assert pred.negatives["payments-db"]


def test_a_warning_that_came_and_went_before_is_recurring_a_flap_is_not():
    pred, _, dedup, out = stage()
    svc, res = "mail", "mail-1"
    feed(pred, dedup, out, alert("a1", 0, "DiskUsageHigh", svc, res, "warning"))
    feed(pred, dedup, out, alert("a2", 60, "DiskUsageHigh", svc, res, "warning", "resolved"))
    feed(pred, dedup, out, alert("a3", 120, "DiskUsageHigh", svc, res, "warning"))  # a flap
    assert pred.features(svc, T0 + 130)["recurring"] == 0.0
    feed(pred, dedup, out, alert("a4", 180, "DiskUsageHigh", svc, res, "warning", "resolved"))
    feed(pred, dedup, out, alert("a5", 1500, "DiskUsageHigh", svc, res, "warning"))  # back
    assert pred.features(svc, T0 + 1510)["recurring"] == 1.0


def test_a_sign_that_outlasts_cleared_warnings_of_its_kind_scores_higher():
    pred, _, dedup, out = stage()
    name = "ThreadPoolSaturation"
    feed(pred, dedup, out, alert("s", 0, name, "search", "search-1", "warning"))
    assert pred.features("search", T0 + 600)["outlasted"] == 0.5  # nothing known yet
    # Four warnings of the same kind elsewhere came and went within two minutes.
    for i, svc in enumerate(("mail", "cart", "catalog", "checkout")):
        feed(pred, dedup, out, alert(f"n{i}", 10 * i, name, svc, f"{svc}-1", "warning"))
        feed(
            pred,
            dedup,
            out,
            alert(f"r{i}", 10 * i + 120, name, svc, f"{svc}-1", "warning", "resolved"),
        )
    outlasted = pred.features("search", T0 + 600)["outlasted"]
    assert outlasted == 1 - 1 / 6  # longer than all four: (0 + 1) / (4 + 2) left
    assert pred.features("search", T0 + 600)["outlasted_any"] == outlasted
    assert pred.features("search", T0 + 60)["outlasted"] == 1 - 5 / 6  # shorter than all


def test_a_warning_that_clears_during_an_outage_is_not_background():
    pred, _, dedup, out = stage()
    feed(
        pred, dedup, out, alert("w", 0, "DiskUsageHigh", "payments-db", "payments-db-1", "warning")
    )
    feed(pred, dedup, out, alert("c", 60, "DBDown", "payments-db", severity="critical"))
    feed(
        pred,
        dedup,
        out,
        alert("r", 120, "DiskUsageHigh", "payments-db", "payments-db-1", "warning", "resolved"),
    )
    assert pred.background.by_name == {} and not pred.background.all
