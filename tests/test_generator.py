"""`aiops generate`: determinism, valid records, complete ground truth, and scenario shape."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from aiops.cli import main
from aiops.scenarios import PROFILES
from pipeline.records import SEVERITIES, alert_from_dict, change_from_dict
from pipeline.times import parse_time

FILES = ("alerts.jsonl", "changes.jsonl", "topology.yaml", "truth.json")


@dataclass
class Out:
    alerts: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    topology: dict[str, Any]
    truth: dict[str, Any]

    @property
    def params(self) -> dict[str, Any]:
        return self.truth["scenario"]["params"]

    def by_group(self) -> dict[str, list[dict[str, Any]]]:
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for a in self.alerts:
            groups[self.truth["alerts"][a["id"]]].append(a)
        return groups


def generate(out: Path, *args: str) -> Out:
    assert main(["generate", "--out", str(out), "--no-progress", *args]) == 0
    return load(out)


def load(out: Path) -> Out:
    def lines(name: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in (out / name).read_text().splitlines()]

    return Out(
        alerts=lines("alerts.jsonl"),
        changes=lines("changes.jsonl"),
        topology=yaml.safe_load((out / "topology.yaml").read_text()),
        truth=json.loads((out / "truth.json").read_text()),
    )


def ms(text: str) -> int:
    return round(parse_time(text) * 1000)


def dependencies(topology: dict[str, Any]) -> dict[str, set[str]]:
    """Every service each service depends on, directly or not."""
    direct = {name: set(spec["depends_on"]) for name, spec in topology["services"].items()}
    closure: dict[str, set[str]] = {}

    def reach(name: str) -> set[str]:
        if name not in closure:
            closure[name] = set()
            for dep in direct[name]:
                closure[name] |= {dep} | reach(dep)
        return closure[name]

    for name in direct:
        reach(name)
    return closure


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Out:
    return generate(tmp_path_factory.mktemp("small"), "--profile", "small", "--seed", "5")


@pytest.fixture(scope="module")
def dense(tmp_path_factory: pytest.TempPathFactory) -> Out:
    # Every fault critical and predictable, half caused by changes: all the features at once.
    return generate(
        tmp_path_factory.mktemp("dense"),
        "--profile",
        "dense",
        "--seed",
        "9",
        "--critical-share",
        "1",
        "--precursor-share",
        "1",
        "--change-fault-share",
        "0.5",
    )


@pytest.fixture(scope="module")
def scenarios(small: Out, dense: Out) -> list[Out]:
    return [small, dense]


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    for name, seed in (("a", "11"), ("b", "11"), ("c", "12")):
        generate(tmp_path / name, "--profile", "small", "--seed", seed)
    for f in FILES:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    for f in ("alerts.jsonl", "truth.json", "topology.yaml"):
        assert (tmp_path / "a" / f).read_bytes() != (tmp_path / "c" / f).read_bytes(), f
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(FILES)  # no temp files


def test_bytes_do_not_depend_on_the_process(tmp_path: Path) -> None:
    # Set and dict iteration must not leak into the output: run under two hash seeds.
    for name, hashseed in (("x", "1"), ("y", "4242")):
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        cmd = [sys.executable, "-m", "aiops", "generate", "--out", str(tmp_path / name)]
        subprocess.run(
            [*cmd, "--profile", "small", "--seed", "8"], env=env, check=True, capture_output=True
        )
    for f in FILES:
        assert (tmp_path / "x" / f).read_bytes() == (tmp_path / "y" / f).read_bytes(), f


def test_every_record_validates(scenarios: list[Out]) -> None:
    for out in scenarios:
        sources = set()
        for a in out.alerts:
            alert = alert_from_dict(a)
            assert alert.status in ("firing", "resolved")
            assert a["severity"] in SEVERITIES
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z", a["time"])
            assert a["labels"]["env"] == "prod" and a["labels"]["team"] and a["summary"]
            sources.add(a["source"])
        assert len(sources) >= 3
        for c in out.changes:
            change = change_from_dict(c)
            assert re.fullmatch(r"CHG\d{4}", change.id) and change.type and change.summary
        ids = [a["id"] for a in out.alerts]
        assert len(ids) == len(set(ids))


def test_truth_covers_every_alert_exactly_once(scenarios: list[Out]) -> None:
    for out in scenarios:
        ids = [a["id"] for a in out.alerts]
        assert list(out.truth["alerts"]) == ids  # same ids, same order, nothing extra
        groups = {f["id"] for f in out.truth["faults"]} | {n["id"] for n in out.truth["noise"]}
        used = set(out.truth["alerts"].values())
        assert used <= groups
        assert {n["id"] for n in out.truth["noise"]} <= used  # listed noise sources all speak
        sc = out.truth["scenario"]
        assert sc["alerts"] == len(ids) and sc["changes"] == len(out.changes)
        assert sc["services"] == len(out.topology["services"])
        assert sc["faults"] == len(out.truth["faults"])
        assert set(out.truth["changes"]) == {c["id"] for c in out.changes}
        for key in ("hop_delay", "max_delay", "refire_interval", "noise_per_hour", "faults"):
            assert key in sc["params"]


def test_cascades_go_upstream(scenarios: list[Out]) -> None:
    cascades = 0
    for out in scenarios:
        deps = dependencies(out.topology)
        resources = out.topology["resources"]
        groups = out.by_group()
        for f in out.truth["faults"]:
            if f["kind"] == "node":
                assert f["root_service"] is None and f["root_resource"] is None
                origins = {r["service"] for r in resources.values() if r["node"] == f["root"]}
            else:
                assert f["services"][0] == f["root_service"]
                origins = {f["root_service"]}
                if f["kind"] == "resource":
                    assert resources[f["root_resource"]]["service"] == f["root_service"]
                    assert f["root"] == f["root_resource"]
            for svc in f["services"]:
                assert svc in origins or deps[svc] & origins, (f["id"], svc)
            cascades += len(f["services"]) > len(origins)
            for a in groups.get(f["id"], []):
                assert a.get("service") in f["services"] or a["resource"] == f["root"], a
    assert cascades >= 5


def test_delivery_is_out_of_order_within_max_delay(scenarios: list[Out]) -> None:
    for out in scenarios:
        times = [ms(a["time"]) for a in out.alerts]
        inversions = sum(1 for x, y in itertools.pairwise(times) if y < x)
        assert inversions > 0
        # File order is delivery order: an event is never delivered before its time, and at
        # most max_delay after it, so nothing earlier in the file is later by more than that.
        limit = out.params["max_delay"] * 1000
        latest = times[0]
        for t in times:
            assert latest - t <= limit
            latest = max(latest, t)


def test_precursors_precede_their_outage(dense: Out) -> None:
    groups = dense.by_group()
    predictable = [f for f in dense.truth["faults"] if f["predictable"]]
    assert len(predictable) >= len(dense.truth["faults"]) // 2
    hi = dense.params["precursor_lead"][1]
    for f in dense.truth["faults"]:
        onset = ms(f["start"])
        times = sorted(ms(a["time"]) for a in groups[f["id"]])
        if not f["predictable"]:
            assert f["precursor_start"] is None and times[0] >= onset
            continue
        begin = ms(f["precursor_start"])
        assert times[0] == begin < onset
        assert onset - begin <= hi * 60_000 + 1
        early = [a for a in groups[f["id"]] if ms(a["time"]) < onset]
        assert early and all(a["resource"].startswith(f["root"]) for a in early)
        assert min(early, key=lambda a: ms(a["time"]))["severity"] == "warning"


def test_onset_is_the_first_root_alert(scenarios: list[Out]) -> None:
    for out in scenarios:
        groups = out.by_group()
        hosted = {r: spec["node"] for r, spec in out.topology["resources"].items()}
        for f in out.truth["faults"]:
            if f["predictable"]:
                continue
            if f["kind"] == "node":
                roots = [
                    a
                    for a in groups[f["id"]]
                    if f["root"] in (a.get("resource"), hosted.get(a.get("resource", "")))
                ]
            else:
                roots = [a for a in groups[f["id"]] if a.get("service") == f["root_service"]]
            if roots:  # else an unmonitored root: see test_silent_roots
                assert min(ms(a["time"]) for a in roots) == ms(f["start"])


def test_silent_roots_show_only_through_their_callers(tmp_path: Path) -> None:
    out = generate(
        tmp_path, "--profile", "dense", "--silent-root-share", "1", "--kind-mix", "1", "0", "0"
    )
    deps = dependencies(out.topology)
    groups = out.by_group()
    # Roots that nobody calls, or whose fault reached no caller, cannot be silent.
    silent = [f for f in out.truth["faults"] if len(f["services"]) > 1]
    assert len(silent) >= len(out.truth["faults"]) // 2
    for f in silent:
        alerts = groups[f["id"]]
        assert all(a["service"] != f["root"] for a in alerts)
        assert all(f["root"] in deps[a["service"]] for a in alerts)
        assert min(ms(a["time"]) for a in alerts) > ms(f["start"])
        assert not f["predictable"]


def test_k8s_resource_names(tmp_path: Path) -> None:
    out = generate(tmp_path, "--profile", "small", "--resource-names", "k8s")
    for name, res in out.topology["resources"].items():
        assert re.fullmatch(re.escape(res["service"]) + r"-(\d|[a-z0-9]{9,10}-[a-z0-9]{5})", name)
    assert any(re.search(r"-[a-z0-9]{5}$", a.get("resource", "")) for a in out.alerts)


def test_stream_starts_mid_way_and_knows_more_hosts(tmp_path: Path) -> None:
    out = generate(tmp_path, "--profile", "default", "--unlisted-share", "0.3")
    seen: set[tuple[Any, ...]] = set()
    cut = 0
    for a in sorted(out.alerts, key=lambda a: ms(a["time"])):
        key = (a["name"], a.get("service"), a.get("resource"))
        cut += key not in seen and a["status"] == "resolved"
        seen.add(key)
    assert cut  # a resolve whose firing happened before the scenario began
    services = set(out.topology["services"])
    unlisted = [n for n in out.truth["noise"] if n["service"] and n["service"] not in services]
    assert unlisted
    assert all(n["resource"] not in out.topology["resources"] for n in unlisted)


def test_caused_faults_follow_their_change(dense: Out) -> None:
    changes = {c["id"]: c for c in dense.changes}
    hi = dense.params["change_lead"][1]
    caused = [f for f in dense.truth["faults"] if f["cause_change"]]
    assert caused
    for f in caused:
        change = changes[f["cause_change"]]
        lead = ms(f["start"]) - ms(change["time"])
        assert 0 < lead <= hi * 60_000 + 1000
        assert f["root"] in (change.get("service"), change.get("resource"))
        assert dense.truth["changes"][change["id"]] == f["id"]
    linked = {f["cause_change"] for f in caused}
    unlinked = [cid for cid, fid in dense.truth["changes"].items() if fid is None]
    assert unlinked and not linked & set(unlinked)


def test_topology_is_acyclic_and_consistent(scenarios: list[Out]) -> None:
    for out in scenarios:
        services = out.topology["services"]
        for name, spec in services.items():
            assert set(spec["depends_on"]) <= set(services)
            assert name not in dependencies(out.topology)[name]  # no cycle through it
            assert spec["criticality"] in ("high", "medium", "low")
        replicas = Counter(r["service"] for r in out.topology["resources"].values())
        assert set(replicas) == set(services)
        assert all(1 <= n <= 5 for n in replicas.values())
        for name, res in out.topology["resources"].items():
            assert re.fullmatch(re.escape(res["service"]) + r"-\d+", name)
            assert re.fullmatch(r"node-\d{2,}", res["node"])
        nodes = {r["node"] for r in out.topology["resources"].values()}
        assert len(nodes) < len(out.topology["resources"])  # services share nodes


def test_node_alerts_have_the_node_as_resource_and_no_service(dense: Out) -> None:
    nodes = {r["node"] for r in dense.topology["resources"].values()}
    on_nodes = [a for a in dense.alerts if a.get("resource") in nodes]
    assert on_nodes
    for a in on_nodes:
        assert "service" not in a and a["labels"]["team"] == "infra"


def test_refires_flaps_and_resolves(small: Out) -> None:
    series: dict[tuple[Any, ...], list[str]] = defaultdict(list)
    for a in small.alerts:
        key = (a["name"], a.get("service"), a.get("resource"), json.dumps(a["labels"]))
        series[key].append(a["status"])
    assert any(s.count("firing") >= 3 for s in series.values())  # re-sent duplicates
    assert any(s.count("resolved") >= 2 for s in series.values())  # flapping
    assert sum(a["status"] == "resolved" for a in small.alerts) >= 10


def test_no_resolves_option(tmp_path: Path) -> None:
    out = generate(tmp_path, "--profile", "small", "--no-resolves")
    assert all(a["status"] == "firing" for a in out.alerts)
    out = generate(tmp_path, "--profile", "small", "--no-resolve-sources", "prometheus,nagios")
    silent = [a for a in out.alerts if a["source"] in ("prometheus", "nagios")]
    assert silent and all(a["status"] == "firing" for a in silent)
    assert any(a["status"] == "resolved" for a in out.alerts)


def test_noise_is_mostly_low_severity(dense: Out) -> None:
    noise = [a for a in dense.alerts if dense.truth["alerts"][a["id"]].startswith("N")]
    assert len(noise) > 50
    low = sum(a["severity"] in ("info", "warning", "minor") for a in noise)
    assert low / len(noise) > 0.7
    assert not any(a["severity"] == "critical" for a in noise)


def test_concurrent_faults_overlap(dense: Out) -> None:
    spans = sorted((ms(f["start"]), ms(f["end"])) for f in dense.truth["faults"])
    overlaps = sum(1 for (_, e), (s, _) in itertools.pairwise(spans) if s < e)
    assert overlaps >= 5


def test_storm_starts_most_faults_within_minutes(tmp_path: Path) -> None:
    out = generate(tmp_path, "--profile", "storm", "--seed", "2")
    starts = sorted(ms(f["start"]) for f in out.truth["faults"])
    window = out.params["storm_minutes"] * 60_000
    most = max(sum(1 for t in starts if s <= t <= s + window) for s in starts)
    assert most >= 0.75 * len(starts)


def test_target_alerts_lands_near_target(tmp_path: Path) -> None:
    out = generate(tmp_path, "--profile", "small", "--target-alerts", "4000", "--seed", "3")
    assert 3600 <= len(out.alerts) <= 4400
    assert out.params["target_alerts"] == 4000 and out.params["hours"] > 1.5


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_runs(tmp_path: Path, profile: str) -> None:
    shrink = ("--hours", "3") if profile == "large" else ()
    out = generate(tmp_path, "--profile", profile, "--seed", "1", *shrink)
    assert out.truth["scenario"]["profile"] == profile
    assert out.truth["faults"] and out.truth["noise"] and out.changes
    expected = {"small": (300, 700), "default": (1000, 8000), "dense": (1000, 10000)}
    lo, hi = expected.get(profile, (1000, 10**6))
    assert lo <= len(out.alerts) <= hi
    if profile == "wide":
        assert 80 <= len(out.topology["services"]) <= 150


@pytest.mark.slow
def test_large_profile_makes_100k_alerts_in_seconds(tmp_path: Path) -> None:
    began = time.perf_counter()
    assert main(["generate", "--out", str(tmp_path), "--profile", "large", "--no-progress"]) == 0
    elapsed = time.perf_counter() - began
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["scenario"]["alerts"] >= 100_000
    assert elapsed < 30, elapsed


def test_bad_usage_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = (
        ["--hop-delay", "50", "10"],
        ["--precursor-share", "1.5"],
        ["--profile", "nope"],
        ["--services", "3"],
        ["--start", "yesterday"],
        ["--hours", "x"],
    )
    for args in bad:
        assert main(["generate", "--out", str(tmp_path / "o"), *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err
    (tmp_path / "file").write_text("x")
    assert main(["generate", "--out", str(tmp_path / "file")]) == 2
    assert not (tmp_path / "o").exists()
