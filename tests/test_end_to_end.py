"""End to end: generate a scenario, replay it, score it against its ground truth."""

import random
from pathlib import Path

import orjson
import pytest
from sklearn.metrics import adjusted_rand_score

from aiops.evaluation.scenario import evaluate
from aiops.scenarios import generate_for_target, profile_params, write_scenario
from pipeline.config import load_config
from pipeline.times import parse_time

pytestmark = pytest.mark.slow


def make(tmp: Path, profile: str, seed: int) -> Path:
    out = tmp / f"{profile}-{seed}"
    write_scenario(generate_for_target(profile_params(profile), seed, profile), out)
    return out


@pytest.mark.parametrize(("profile", "seed"), [("default", 1), ("default", 2)])
def test_quality_floor_on_generated_scenarios(tmp_path, profile, seed):
    scenario = make(tmp_path, profile, seed)
    r = evaluate(scenario, tmp_path / "out", load_config(), progress=False)
    g = r["grouping"]
    assert r["alerts_in_two_incidents"] == 0
    assert g["pairwise_f1"] >= 0.80, g
    assert all(g["pairwise_f1"] > b["pairwise_f1"] for b in r["baselines"].values())
    assert g["noise_reduction"] >= 0.90
    assert r["root_cause"]["faults_detected"] == r["root_cause"]["faults"]


def _groups(out: Path) -> dict[str, str]:
    groups = {}
    for line in (out / "incidents.jsonl").read_text().splitlines():
        inc = orjson.loads(line)
        for alert_id in inc["alert_ids"]:
            groups[alert_id] = inc["id"]
    return groups


def test_delivery_jitter_barely_changes_the_grouping(tmp_path):
    """Swap neighbouring deliveries at random (delays of up to ~20 s more): the grouping
    of the same alerts stays nearly the same."""
    scenario = make(tmp_path, "default", 3)
    lines = (scenario / "alerts.jsonl").read_text().splitlines()
    rng = random.Random(7)
    jittered = list(lines)
    for i in range(len(jittered) - 1):
        a, b = orjson.loads(jittered[i]), orjson.loads(jittered[i + 1])
        close = abs(_t(a) - _t(b)) <= 20
        if close and rng.random() < 0.5:
            jittered[i], jittered[i + 1] = jittered[i + 1], jittered[i]
    assert jittered != lines
    other = tmp_path / "jittered"
    other.mkdir()
    for name in ("changes.jsonl", "topology.yaml", "truth.json"):
        (other / name).write_bytes((scenario / name).read_bytes())
    (other / "alerts.jsonl").write_text("\n".join(jittered) + "\n")
    first = evaluate(scenario, tmp_path / "o1", load_config(), progress=False)
    second = evaluate(other, tmp_path / "o2", load_config(), progress=False)
    g1, g2 = _groups(tmp_path / "o1"), _groups(tmp_path / "o2")
    ids = sorted(set(g1) | set(g2))
    ari = adjusted_rand_score([g1.get(i, i) for i in ids], [g2.get(i, i) for i in ids])
    print(
        f"ARI {ari:.3f}, F1 {first['grouping']['pairwise_f1']} vs "
        f"{second['grouping']['pairwise_f1']}"
    )
    assert ari >= 0.9
    f1, f2 = first["grouping"]["pairwise_f1"], second["grouping"]["pairwise_f1"]
    assert abs(f1 - f2) <= 0.05


def _t(alert: dict) -> float:
    return parse_time(alert["time"])
