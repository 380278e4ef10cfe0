"""scripts/eval_scenarios.py: the other shape's truth must be one `aiops evaluate` scores."""

import importlib.util
from pathlib import Path

from aiops.evaluation.scenario import evaluate
from pipeline.config import load_config

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "eval_scenarios.py"


def _script():
    spec = importlib.util.spec_from_file_location("eval_scenarios", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_other_shape_scenario_is_scored_with_its_faults_and_roots(tmp_path):
    script = _script()
    script.write_other(tmp_path / "other", 5)
    result = evaluate(tmp_path / "other", tmp_path / "out", load_config(None), progress=False)
    rc = result["root_cause"]
    assert rc["faults"] == rc["faults_detected"] > 0
    assert result["grouping"]["pairwise_f1"] > max(
        b["pairwise_f1"] for b in result["baselines"].values()
    )


def test_the_variants_are_generate_options_with_their_seed_in_the_name():
    script = _script()
    for name, options in script.VARIANTS.items():
        assert options[options.index("--seed") + 1] == name.rsplit("-", 1)[1]


def test_the_more_set_is_dense_and_storm_212_to_223_and_slow_propagation():
    script = _script()
    more = dict(script.more_args())
    assert len(more) == 27
    assert more["storm-223"] == ["--profile", "storm", "--seed", "223"]
    assert more["slowhop-301"][-3:] == ["--hop-delay", "60", "420"]
    held_out = {name for name, _ in script.generate_args(False)}
    tuning = {name for name, _ in script.generate_args(True)}
    assert not set(more) & (held_out | tuning)


def test_the_bulk_set_is_dense_and_storm_1000_to_1099_apart_from_every_other_set():
    script = _script()
    bulk = dict(script.bulk_args())
    assert len(bulk) == 200
    assert bulk["dense-1000"] == ["--profile", "dense", "--seed", "1000"]
    assert "storm-1099" in bulk and "storm-1100" not in bulk
    others = {name for name, _ in script.generate_args(False)}
    others |= {name for name, _ in script.generate_args(True)}
    others |= set(dict(script.more_args()))
    assert not set(bulk) & others


def test_compare_pairs_each_scenario_with_itself():
    """The change is the mean of per-scenario differences (scenarios scored on one side only
    are left out), with its standard error and how many rose or fell."""
    script = _script()
    before = {"storm-1": 0.5, "storm-2": 0.9, "storm-3": 0.7, "dense-1": 0.8, "wide-1": 0.9}
    after = {"storm-1": 0.6, "storm-2": 0.9, "storm-3": 0.8, "dense-1": 0.7}
    rows = script.paired(before, after)
    assert set(rows) == {"storm", "dense"}
    storm = rows["storm"]
    assert storm["n"] == 3 and (storm["rose"], storm["fell"]) == (2, 0)
    assert abs(storm["mean"] - 0.2 / 3) < 1e-9
    diffs = [0.1, 0.0, 0.1]
    mean = sum(diffs) / 3
    sd = (sum((d - mean) ** 2 for d in diffs) / 2) ** 0.5
    assert abs(storm["se"] - sd / 3**0.5) < 1e-9
    assert rows["dense"]["fell"] == 1 and rows["dense"]["n"] == 1
