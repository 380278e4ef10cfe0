"""The learned link model: its file, its scores, and the pipeline using it."""

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from aiops.scenarios import generate, profile_params, write_scenario
from aiops.training.links import (
    collect,
    fit,
    fit_on_top,
    fit_trees,
    randomised_params,
    standard_seeds,
)
from aiops.wiring import CONFIGURED, configured_link_model
from config import default_path
from models.linkmodel import AnyLinkModel, LinkModel, TreeLinkModel, load_link_model
from pipeline.config import ConfigError, load_config
from tests.helpers import alert, groups, pipeline, run


def shipped() -> AnyLinkModel:
    model = configured_link_model(load_config())
    assert model is not None
    return model


def test_the_shipped_model_loads_and_scores_in_range():
    model = shipped()
    assert isinstance(model, LinkModel)
    assert 0 < model.threshold < 1 and len(model.weights) > 20
    assert model.meta["command"].startswith("aiops train-links")
    for features in ({}, {"has_resource": 1.0, "close_resource": 1.0}, {"has_node": 1.0}):
        assert 0.0 <= model.score(features) <= 1.0
    # Evidence of the same resource a moment apart beats no evidence at all.
    assert model.score({"has_resource": 1.0, "close_resource": 1.0, "best_quality": 1.0}) > (
        model.score({})
    )


def test_a_bad_model_file_is_a_config_error(tmp_path: Path):
    bad = tmp_path / "m.json"
    bad.write_text(json.dumps({"kind": "forest", "weights": {}}))
    with pytest.raises(ConfigError, match="logistic-regression or gradient-boosted-trees"):
        configured_link_model(load_config(overrides={"correlation": {"link_model": str(bad)}}))
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read model"):
        configured_link_model(load_config(overrides={"correlation": {"link_model": str(bad)}}))


def test_model_round_trips_through_json(tmp_path: Path):
    model = LinkModel({"a": 1.5, "b": -2.0}, bias=0.25, threshold=0.4, meta={"x": 1})
    path = tmp_path / "m.json"
    model.save(path)
    again = LinkModel.load(path)
    assert again == model
    assert again.score({"a": 1.0}) == pytest.approx(1 / (1 + math.exp(-1.75)))


def test_the_shipped_model_groups_a_cascade_and_keeps_unrelated_faults_apart():
    p = pipeline(link_model=CONFIGURED)
    incs = run(
        p,
        [
            alert("db", 0, "DBConnectionsExhausted", "payments-db", severity="critical"),
            alert("rdb", 5, "DBDown", "reports-db", severity="critical"),
            alert("pay", 40, "HighLatency", "payments", "payments-1"),
            alert("pay2", 45, "HighLatency", "payments", "payments-2"),
            alert("rep", 50, "HighErrorRate", "reports", "reports-1"),
            alert("co", 90, "UpstreamTimeouts", "checkout", "checkout-1"),
        ],
    )
    assert groups(incs) == [{"db", "pay", "pay2", "co"}, {"rdb", "rep"}]


@pytest.fixture(scope="module")
def small_rows(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[dict[str, float], int]]:
    scenario = tmp_path_factory.mktemp("links") / "s"
    write_scenario(generate(profile_params("small"), 1001, "small"), scenario)
    return collect(scenario, load_config(), None)


@pytest.mark.parametrize("fitter", [fit, fit_trees])
def test_training_collects_labelled_links_and_fits(small_rows, fitter):
    rows = small_rows
    labels = {label for _, label in rows}
    assert labels == {0, 1}  # both joins that are right and joins that are wrong occur
    assert all(math.isfinite(v) for features, _ in rows for v in features.values())
    model = fitter(rows, {"trained_on": "test"})
    positives = [model.score(f) for f, y in rows if y]
    negatives = [model.score(f) for f, y in rows if not y]
    assert sum(positives) / len(positives) > sum(negatives) / len(negatives)


def test_exported_trees_score_as_scikit_learn_does_and_round_trip(small_rows, tmp_path: Path):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.feature_extraction import DictVectorizer

    from aiops.training.links import TREE_PARAMS, export_trees

    vec = DictVectorizer(sparse=False)
    x = vec.fit_transform([f for f, _ in small_rows])
    clf = HistGradientBoostingClassifier(**TREE_PARAMS).fit(x, [y for _, y in small_rows])
    model = export_trees(clf, list(vec.get_feature_names_out()), {"trained_on": "test"})
    expected = clf.predict_proba(x)[:, 1]
    # Scored from the sparse dicts the correlator passes (absent features are 0).
    ours = [model.score(f) for f, _ in small_rows]
    assert max(abs(a - b) for a, b in zip(ours, expected, strict=True)) < 1e-9
    assert len({round(v, 6) for v in ours}) > 10  # the trees do separate the rows
    path = tmp_path / "trees.json"
    model.threshold = 0.3
    model.save(path)
    again = load_link_model(path)
    assert isinstance(again, TreeLinkModel) and again.threshold == 0.3
    assert [again.score(f) for f, _ in small_rows] == ours


def test_a_tree_model_that_could_loop_or_point_outside_is_refused(tmp_path: Path):
    def doc(left: list[int]) -> dict:
        return {
            "kind": "gradient-boosted-trees",
            "baseline": 0.0,
            "features": ["a"],
            "roots": [0],
            "nodes": {
                "feature": [0, -1, -1],
                "split": [0.5, 0.0, 0.0],
                "left": left,
                "right": [2, 0, 0],
                "value": [0.0, -1.0, 1.0],
            },
        }

    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc([1, 0, 0])))
    model = load_link_model(path)
    assert model.score({"a": 0.0}) == pytest.approx(1 / (1 + math.exp(1.0)))
    assert model.score({"a": 1.0}) == pytest.approx(1 / (1 + math.exp(-1.0)))
    for left in ([0, 0, 0], [3, 0, 0]):  # a cycle back to the root; a node past the end
        path.write_text(json.dumps(doc(left)))
        with pytest.raises(ValueError, match="points outside its tree"):
            load_link_model(path)


def test_default_config_points_at_the_shipped_model():
    assert (default_path().parent / load_config().correlation.link_model).is_file()


def test_standard_training_seeds_are_apart_from_the_randomised_and_the_evaluation_ones():
    randomised = {seed for _, seed, _, _, _ in randomised_params(20, 100, lambda p, r: {})}
    standard = list(standard_seeds(20, 100))
    assert len(standard) == len(randomised) == 100
    assert not randomised & {seed for _, seed in standard}
    assert min(seed for _, seed in standard) >= 100  # 1-99 evaluate
    assert [seed for profile, seed in standard if profile == "dense"][:2] == [2600, 2601]


def test_a_caller_of_two_failing_services_joins_the_one_its_alert_names():
    # checkout calls payments and inventory; both fail at once. Its timeout alert links to
    # both incidents by topology alike: the dependency its summary names decides.
    def storm(named: str) -> list[set[str]]:
        timeouts = alert("co", 70, "UpstreamTimeouts", "checkout", "checkout-1")
        records = [
            alert("pdb", 0, "DBDown", "payments-db", severity="critical"),
            alert("idb", 2, "DBDown", "inventory-db", severity="critical"),
            alert("pay", 30, "HighErrorRate", "payments"),
            alert("inv", 31, "HighErrorRate", "inventory"),
            replace(timeouts, summary=f"900 timeouts/min calling {named} from checkout-1"),
        ]
        return groups(run(pipeline(link_model=CONFIGURED), records))

    assert storm("inventory") == [{"idb", "inv", "co"}, {"pdb", "pay"}]
    assert storm("payments") == [{"pdb", "pay", "co"}, {"idb", "inv"}]


def test_extending_a_model_fits_only_the_features_it_lacks():
    base = LinkModel({"a": 1.0}, bias=-0.5, threshold=0.4, meta={})
    # "n" is there on most right links and few wrong ones; "a" is noise.
    rows = [({"a": 1.0, "n": 1.0}, 1)] * 40 + [({"a": 1.0}, 1)] * 10
    rows += [({"a": 1.0, "n": 1.0}, 0)] * 5 + [({"a": 1.0}, 0)] * 45
    added = fit_on_top(rows, base)
    assert set(added) == {"n"} and added["n"] > 1.0
    assert fit_on_top([({"a": 1.0}, 1), ({"a": 0.0}, 0)], base) == {}


def test_train_links_refuses_to_extend_what_it_cannot(tmp_path: Path, capsys):
    from aiops.cli import main

    trees = tmp_path / "t.json"
    trees.write_text(json.dumps({"kind": "gradient-boosted-trees", "weights": {}}))
    out = str(tmp_path / "m.json")
    assert main(["train-links", "--out", out, "--extend", str(trees)]) != 0
    assert "kind must be logistic-regression" in capsys.readouterr().err
    shipped_path = str(default_path("link_model.json"))
    assert main(["train-links", "--out", out, "--extend", shipped_path, "--kind", "trees"]) != 0
    assert "--extend takes a logistic model" in capsys.readouterr().err
