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
