"""Offline training of the forewarning model: the threshold is chosen from replayed risks."""

import orjson

from aiops.training.outage import choose_threshold, trace, warnings_at
from pipeline.config import load_config
from pipeline.times import format_time
from tests.helpers import T0


def test_warnings_from_the_traced_risks_are_the_predictions_the_stage_makes(tmp_path):
    from aiops.replay import replay
    from aiops.scenarios import generate, profile_params, write_scenario
    from aiops.wiring import configured_outage_model
    from connectors.files import load_topology

    config = load_config()
    scenario = tmp_path / "s"
    write_scenario(generate(profile_params("default"), 7, "default"), scenario)
    replay(
        scenario / "alerts.jsonl",
        tmp_path / "out",
        config,
        load_topology(scenario / "topology.yaml"),
        changes=scenario / "changes.jsonl",
        progress=False,
    )
    lines = (tmp_path / "out" / "predictions.jsonl").read_bytes().splitlines()
    made = [(p["time"], p["service"]) for p in map(orjson.loads, lines)]
    assert made  # the scenario has something to warn about
    model = configured_outage_model(config)
    assert model is not None
    cfg = config.prediction
    risks = trace(scenario, config)
    again = warnings_at(risks, model.threshold, cfg.rearm_s, cfg.horizon_s)
    assert [(p["time"], p["service"]) for p in again] == made
    # A lower threshold warns at least as often.
    assert len(warnings_at(risks, model.threshold - 0.3, cfg.rearm_s, cfg.horizon_s)) > len(made)


def _truth(*faults):
    return {
        "scenario": {"start": format_time(T0), "end": format_time(T0 + 86400)},
        "faults": [
            {
                "kind": "service",
                "root_service": e,
                "start": format_time(T0 + t),
                "predictable": True,
            }
            for e, t in faults
        ],
    }


def test_the_threshold_warns_most_outages_within_the_false_alarm_budget():
    config = load_config()
    # One day, two outages: a risk of 0.95 before the one, of 0.75 before the other; noise
    # risks of 0.995 (a false alarm at any threshold), 0.9, and 0.7 three times.
    truth = _truth(("a", 10_000), ("b", 50_000))
    risks = [
        (e, T0 + t, r)
        for e, t, r in (
            ("a", 9_000, 0.95),
            ("b", 49_000, 0.75),
            ("n0", 5_000, 0.995),
            ("n1", 20_000, 0.9),
            ("n2", 30_000, 0.7),
            ("n3", 30_000, 0.7),
            ("n4", 30_000, 0.7),
        )
    ]
    log: list[str] = []
    assert choose_threshold([(truth, risks)], config, 5, log.append) == (0.71, 1.0, 2.0)
    assert choose_threshold([(truth, risks)], config, 2, log.append) == (0.71, 1.0, 2.0)
    assert choose_threshold([(truth, risks)], config, 1, log.append) == (0.91, 0.5, 1.0)
    # Nothing fits the budget: the highest threshold, with what it gives.
    assert choose_threshold([(truth, risks)], config, 0.5, log.append) == (0.99, 0.0, 1.0)
    assert len(log) == 4 * 50
