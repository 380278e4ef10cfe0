"""The evaluation scenario sets, rebuilt exactly, and the grouping/root-cause table over them.

The figures in the README and the issue notes come from these sets. Each scenario is
`aiops generate` with the options listed here (same options and seed, same bytes), except
the other shape (`tests/other_shape.py`, a generator written apart from ours), whose truth is
written here in `aiops evaluate`'s format.

    python scripts/eval_scenarios.py make /tmp/scen              # held out: what we report
    python scripts/eval_scenarios.py make /tmp/train --training  # seeds 200-211, for tuning
    python scripts/eval_scenarios.py make /tmp/more --more   # dense/storm 212-223, slowhop 300-302
    python scripts/eval_scenarios.py make /tmp/fresh --randomised 300  # 10 per profile, randomised
    python scripts/eval_scenarios.py make /tmp/bulk --bulk   # dense and storm 1000-1099
    python scripts/eval_scenarios.py score /tmp/scen/* --out /tmp/eval
    python scripts/eval_scenarios.py compare /tmp/eval-before /tmp/eval-after

A single scenario's pairwise F1 moves by up to 0.2 when two large faults merge or part, so
a mean over 4-12 seeds cannot tell a change of 0.02 from luck. The bulk set (100 seeds each
of the two hardest profiles, not used for training) and `compare` (the mean of the
per-scenario differences with its standard error, scenario by scenario against the same
scenario) are for deciding such changes.

`--randomised SEED` writes what `aiops train-links` trains on (its randomised parameters, 10
scenarios per profile, seeds SEED + 1000 * profile index + k), from another first seed: the
"fresh" rows of the README's measurements use 300.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.other_shape

PROFILES = ("default", "wide", "dense", "storm")
# Variants of a profile with one dimension pushed: Kubernetes pod names, slow propagation
# (callers alert up to 7 min after their dependency), an 80-service storm.
VARIANTS: dict[str, list[str]] = {
    "k8s-6": ["--profile", "default", "--seed", "6", "--resource-names", "k8s"],
    "slowhop-5": ["--profile", "default", "--seed", "5", "--hop-delay", "60", "420"],
    "storm80-7": ["--profile", "storm", "--seed", "7", "--services", "80"],
}
BENCH = {"large-1": ["--profile", "large", "--seed", "1"]}


def generate_args(training: bool) -> Iterator[tuple[str, list[str]]]:
    """(name, `aiops generate` options) of every generated scenario in the set."""
    seeds = range(200, 212) if training else range(1, 5)
    for profile in PROFILES:
        for seed in seeds:
            yield f"{profile}-{seed}", ["--profile", profile, "--seed", str(seed)]
    if not training:
        yield from VARIANTS.items()
        yield from BENCH.items()


def more_args() -> Iterator[tuple[str, list[str]]]:
    """Dense and storm seeds 212-223 and slow propagation 300-302 (more tuning seeds)."""
    for profile in ("dense", "storm"):
        for seed in range(212, 224):
            yield f"{profile}-{seed}", ["--profile", profile, "--seed", str(seed)]
    for seed in range(300, 303):
        slow = ["--profile", "default", "--seed", str(seed), "--hop-delay", "60", "420"]
        yield f"slowhop-{seed}", slow


BULK_SEEDS = range(1000, 1100)


def bulk_args() -> Iterator[tuple[str, list[str]]]:
    """Dense and storm seeds 1000-1099: enough scenarios to measure a small change."""
    for profile in ("dense", "storm"):
        for seed in BULK_SEEDS:
            yield f"{profile}-{seed}", ["--profile", profile, "--seed", str(seed)]


def other_shape_seeds(training: bool) -> range:
    return range(200, 212) if training else range(11, 17)


def write_other(out: Path, seed: int) -> None:
    """An other-shape scenario with a truth.json `aiops evaluate` reads."""
    from tests.other_shape import write_other_shape

    truth = write_other_shape(out, seed)
    alerts = [json.loads(line) for line in (out / "alerts.jsonl").read_text().splitlines()]
    times = sorted(a["time"] for a in alerts)
    first: dict[str, str] = {}
    services: dict[str, list[str]] = {}
    for a in alerts:
        group = truth["alerts"][a["id"]]
        if group in truth["roots"]:
            first[group] = min(first.get(group, a["time"]), a["time"])
            if a["service"] not in services.setdefault(group, []):
                services[group].append(a["service"])
    faults = [
        {
            "id": fault,
            "kind": "service",
            "root": root,
            "root_service": root,
            "root_resource": None,
            "start": first[fault],
            "end": times[-1],
            "severity": "critical",
            "outage": False,
            "cause_change": None,
            "predictable": False,
            "precursor_start": None,
            "services": services[fault],
        }
        for fault, root in truth["roots"].items()
        if fault in first
    ]
    doc = {
        "scenario": {"profile": "other-shape", "seed": seed, "start": times[0], "end": times[-1]},
        "alerts": truth["alerts"],
        "faults": faults,
        "noise": [],
        "changes": [],
    }
    (out / "truth.json").write_text(json.dumps(doc))


def make_randomised(out: Path, seed0: int) -> None:
    from aiops.training.links import training_scenarios

    print(f"writing 10 randomised scenarios per profile from seed {seed0} into {out}")
    training_scenarios(out, 10, seed0)


def make(out: Path, training: bool, more: bool = False, bulk: bool = False) -> None:
    jobs = list(bulk_args() if bulk else more_args() if more else generate_args(training))
    others = range(0) if more or bulk else other_shape_seeds(training)
    with tqdm(total=len(jobs) + len(others), desc="scenarios", unit="scenario") as bar:
        for name, options in jobs:
            target = out / name
            if not (target / "truth.json").is_file():
                cmd = ["aiops", "generate", *options, "--out", str(target), "--no-progress"]
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            bar.update()
        for seed in others:
            target = out / f"other-{seed}"
            if not (target / "truth.json").is_file():
                write_other(target, seed)
            bar.update()


def _score_one(args: tuple[Path, Path, str | None]) -> dict[str, Any]:
    from aiops.evaluation.scenario import evaluate
    from pipeline.config import load_config

    scenario, out, config = args
    result = evaluate(scenario, out, load_config(Path(config) if config else None), progress=False)
    result["name"] = scenario.name
    return result


def score(scenarios: list[Path], out: Path, config: str | None, workers: int) -> None:
    jobs = [(s, out / s.name, config) for s in scenarios if s.name not in BENCH]
    rows = []
    with ProcessPoolExecutor(workers) as pool:
        for r in tqdm(pool.map(_score_one, jobs), total=len(jobs), desc="evaluate"):
            rows.append(r)
    head = f"{'scenario':<14} {'F1':>6} {'best naive':>10} {'NR':>6} {'in two':>6}"
    print(f"{head} {'AC@1':>6} {'AC@3':>6}")
    for r in sorted(rows, key=lambda r: r["name"]):
        rc = r["root_cause"]
        best = max(b["pairwise_f1"] for b in r["baselines"].values())
        print(
            f"{r['name']:<14} {r['grouping']['pairwise_f1']:>6.3f} {best:>10.3f} "
            f"{r['grouping']['noise_reduction']:>6.3f} {r['alerts_in_two_incidents']:>6} "
            f"{rc['ac@1'] or 0.0:>6.3f} {rc['ac@3'] or 0.0:>6.3f}"
        )
    by_profile: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_profile.setdefault(r["name"].rsplit("-", 1)[0], []).append(r)
    print("profile        mean F1  >= 0.80  pooled AC@1  AC@3  change in top 3")
    for profile, rs in sorted(by_profile.items()):
        f1s = [r["grouping"]["pairwise_f1"] for r in rs]
        f1 = statistics.mean(f1s)
        good = f"{sum(f >= 0.80 for f in f1s)}/{len(f1s)}"
        rcs = [r["root_cause"] for r in rs]
        n = sum(rc["faults"] for rc in rcs) or 1
        ac = [sum((rc[f"ac@{k}"] or 0.0) * rc["faults"] for rc in rcs) / n for k in (1, 3)]
        changes = sum(rc["change_caused_faults"] for rc in rcs)
        hit = sum((rc["change_in_top3"] or 0.0) * rc["change_caused_faults"] for rc in rcs)
        top3 = f"{hit / changes:.3f} of {changes}" if changes else "-"
        print(f"{profile:<14} {f1:>7.3f} {good:>8} {ac[0]:>12.3f} {ac[1]:>5.3f}  {top3}")


def _f1s(out: Path) -> dict[str, float]:
    found = {}
    for path in sorted(out.glob("*/evaluation.json")):
        found[path.parent.name] = json.loads(path.read_text())["grouping"]["pairwise_f1"]
    return found


def paired(before: dict[str, float], after: dict[str, float]) -> dict[str, dict[str, float]]:
    """Per profile, over the scenarios scored in both: n, the mean of after - before, its
    standard error, and how many scenarios rose or fell by more than 0.001."""
    by_profile: dict[str, list[float]] = {}
    for name in sorted(before.keys() & after.keys()):
        by_profile.setdefault(name.rsplit("-", 1)[0], []).append(after[name] - before[name])
    out = {}
    for profile, diffs in sorted(by_profile.items()):
        n = len(diffs)
        se = statistics.stdev(diffs) / n**0.5 if n > 1 else float("nan")
        out[profile] = {
            "n": n,
            "mean": statistics.mean(diffs),
            "se": se,
            "rose": sum(d > 0.001 for d in diffs),
            "fell": sum(d < -0.001 for d in diffs),
        }
    return out


def compare(before: Path, after: Path) -> None:
    rows = paired(_f1s(before), _f1s(after))
    if not rows:
        raise SystemExit(f"no scenario scored in both {before} and {after}")
    print("profile          n  mean F1 change     se  rose  fell")
    for profile, r in rows.items():
        print(
            f"{profile:<14} {r['n']:>3} {r['mean']:>+15.4f} {r['se']:>6.4f} "
            f"{r['rose']:>5} {r['fell']:>5}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("make", help="generate the scenario set into DIR (skips existing ones)")
    m.add_argument("out", type=Path)
    which = m.add_mutually_exclusive_group()
    which.add_argument("--training", action="store_true", help="seeds 200-211 instead of held out")
    which.add_argument("--more", action="store_true", help="dense, storm 212-223; slowhop 300-302")
    which.add_argument(
        "--randomised", type=int, metavar="SEED", help="10 randomised per profile from SEED"
    )
    which.add_argument("--bulk", action="store_true", help="dense and storm seeds 1000-1099")
    s = sub.add_parser("score", help="evaluate scenarios and print one line each")
    s.add_argument("scenarios", type=Path, nargs="+")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--config", default=None)
    s.add_argument("--workers", type=int, default=2)
    c = sub.add_parser("compare", help="paired F1 change between two `score --out` directories")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "make" and args.randomised is not None:
        if args.randomised < 100:
            parser.error("--randomised: seeds below 100 are the held-out ones")
        make_randomised(args.out, args.randomised)
    elif args.command == "make":
        make(args.out, args.training, args.more, args.bulk)
    elif args.command == "compare":
        compare(args.before, args.after)
    else:
        score(args.scenarios, args.out, args.config, args.workers)


if __name__ == "__main__":
    main()
