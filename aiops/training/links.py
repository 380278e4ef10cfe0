"""Training the link model on generated scenarios with ground truth (`aiops train-links`).

1. Generate training scenarios: every profile, seeds from `seed0` up, each with randomised
   parameters (hop delays, noise, naming, silent roots, storm share ...) so the model learns
   the relations, not one generator setting. Evaluation seeds (1-99) are never used here.
2. Replay each with the correlator, recording for every new alert the features of every
   candidate incident it had evidence for, labelled by the truth: 1 when the alert belongs to
   a fault and the candidate is mostly that fault.
3. Fit the model (a logistic regression, or gradient-boosted trees); replay again with it
   and refit on everything seen (so the model also learns from the situations its own
   choices lead to).
4. Pick the join threshold that maximises the mean pairwise F1 over the training scenarios.

`extend` is the other way to a model: when the correlator gains a feature, keep a trained
regression and fit only the weights of the features it lacks, on links recorded with it,
its own score held fixed as an offset. Its other weights, bias and threshold stay: a retrain
from scratch moves every weight, and those retrains differ from each other by more than
most features are worth (README, "Learned parts").
"""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from scipy.optimize import minimize
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression

from aiops.evaluation.scenario import evaluate
from aiops.scenarios import Params, generate, profile_params, validate, write_scenario
from aiops.wiring import build_pipeline
from connectors.files import DeadLetter, load_topology, merge_streams, read_alerts, read_changes
from models.linkmodel import AnyLinkModel, LinkModel, TreeLinkModel
from pipeline.config import Config
from pipeline.incidents import Incident, Member

PROFILES = ("small", "default", "dense", "wide", "storm")
STANDARD_SEED_OFFSET = 500  # standard scenarios: seed0 + 1000 * profile index + 500 + k
THRESHOLDS = (0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5)
KINDS = ("logistic", "trees")
# Boosting settings: small trees (15 leaves), a fixed number of rounds and no early stopping
# (its validation split would make the model depend on more than the seeds).
TREE_PARAMS: dict[str, Any] = {
    "max_iter": 200,
    "learning_rate": 0.1,
    "max_leaf_nodes": 15,
    "early_stopping": False,
    "random_state": 0,
}

Row = tuple[dict[str, float], int]


def _variant(profile: str, rng: random.Random) -> dict[str, Any]:
    """Random but plausible departures from a profile's parameters."""
    lo = rng.choice((5.0, 15.0, 30.0, 60.0))
    over: dict[str, Any] = {
        "hop_delay": (lo, lo + rng.choice((60.0, 165.0, 300.0))),
        "resource_names": rng.choice(("ordinal", "k8s")),
        "silent_root_share": rng.choice((0.0, 0.08, 0.2)),
        "max_delay": rng.choice((15.0, 45.0, 90.0, 180.0)),
        "propagation": rng.choice((0.6, 0.8, 0.95)),
    }
    if profile in ("default", "wide"):
        over["noise_per_hour"] = rng.choice((20.0, 60.0, 150.0, 320.0))
    if profile == "default":
        over["storm_share"] = rng.choice((0.0, 0.0, 0.4))
    return over


def randomised_params(
    per_profile: int,
    seed0: int,
    variant: Callable[[str, random.Random], dict[str, Any]],
) -> Iterator[tuple[str, int, int, random.Random, Params]]:
    """(profile, seed, k, rng, params) of every training scenario: `per_profile` of each
    profile, seeds `seed0 + 1000 * profile index + k`, parameters departing from the profile
    by `variant(profile, rng)` (each learner randomises what matters to it); `rng` is the
    seed's generator after the variant drew from it."""
    for p_index, profile in enumerate(PROFILES):
        for k in range(per_profile):
            seed = seed0 + p_index * 1000 + k
            rng = random.Random(seed)
            params = profile_params(profile, **variant(profile, rng))
            validate(params)
            yield profile, seed, k, rng, params


def training_scenarios(root: Path, per_profile: int, seed0: int) -> list[Path]:
    """Generate the training scenarios under `root` (seeds from seed0 on)."""
    out = []
    for profile, seed, _, _, params in randomised_params(per_profile, seed0, _variant):
        path = root / f"{profile}-{seed}"
        write_scenario(generate(params, seed, profile), path)
        out.append(path)
    return out


def standard_seeds(per_profile: int, seed0: int) -> Iterator[tuple[str, int]]:
    """(profile, seed) of the standard scenarios: beside the randomised ones' seeds
    (`seed0 + 1000 * profile index + k`), never the same for fewer than 500 per profile."""
    for p_index, profile in enumerate(PROFILES):
        for k in range(per_profile):
            yield profile, seed0 + p_index * 1000 + STANDARD_SEED_OFFSET + k


def standard_scenarios(root: Path, per_profile: int, seed0: int) -> list[Path]:
    """`per_profile` scenarios of each profile with its own parameters."""
    out = []
    for profile, seed in standard_seeds(per_profile, seed0):
        path = root / f"{profile}-{seed}"
        write_scenario(generate(profile_params(profile), seed, profile), path)
        out.append(path)
    return out


@dataclass(slots=True)
class _Collector:
    """Labels candidate features with the scenario's truth as the replay goes."""

    truth: dict[str, str]
    faults: frozenset[str]
    rows: list[Row]
    fp_group: dict[str, str]

    def __call__(
        self, alert_id: str, member: Member, inc: Incident | None, features: dict[str, float]
    ) -> None:
        group = self.truth.get(alert_id, "")
        if inc is None:  # the member has been placed: remember what it is
            self.fp_group[member.fingerprint] = group
            return
        held = Counter(self.fp_group.get(fp, "") for fp in inc.members)
        majority = held.most_common(1)[0][0] if held else ""
        self.rows.append((features, int(group in self.faults and majority == group)))


def collect(scenario: Path, config: Config, model: AnyLinkModel | None) -> list[Row]:
    """Replay a scenario and return the labelled candidate features it produced."""
    truth_doc = orjson.loads((scenario / "truth.json").read_bytes())
    collector = _Collector(
        truth=truth_doc["alerts"],
        faults=frozenset(f["id"] for f in truth_doc["faults"]),
        rows=[],
        fp_group={},
    )
    pipeline = build_pipeline(config, load_topology(scenario / "topology.yaml"), model)
    pipeline.correlator.recorder = collector
    records = merge_streams(
        read_alerts(scenario / "alerts.jsonl"), read_changes(scenario / "changes.jsonl")
    )
    for record in records:
        if not isinstance(record, DeadLetter):
            pipeline.process(record)
    return collector.rows


def fit_logistic(
    rows: list[tuple[dict[str, float], Any]], balanced: bool = False
) -> tuple[dict[str, float], float]:
    """Weights and intercept of a logistic regression over named sparse features."""
    vec = DictVectorizer(sparse=True)
    x = vec.fit_transform([f for f, _ in rows])
    y = np.array([int(label) for _, label in rows])
    clf = LogisticRegression(C=1.0, max_iter=5000, class_weight="balanced" if balanced else None)
    clf.fit(x, y)
    names = vec.get_feature_names_out()
    weights = {n: round(float(w), 5) for n, w in zip(names, clf.coef_[0], strict=True)}
    return weights, round(float(clf.intercept_[0]), 5)


def fit(rows: list[Row], meta: dict[str, Any]) -> LinkModel:
    weights, bias = fit_logistic(rows)
    return LinkModel(weights, bias, 0.5, meta)


def fit_on_top(rows: list[Row], base: LinkModel, l2: float = 1.0) -> dict[str, float]:
    """Weights of the features `base` lacks: a logistic regression (penalty `l2`, as
    scikit-learn's C=1) whose linear part is `base`'s own, held fixed as an offset."""
    new = sorted({name for features, _ in rows for name in features} - set(base.weights))
    if not new:
        return {}
    index = {name: i for i, name in enumerate(new)}
    x = np.zeros((len(rows), len(new)))
    offset = np.full(len(rows), base.bias)
    for r, (features, _) in enumerate(rows):
        for name, value in features.items():
            i = index.get(name)
            if i is None:
                offset[r] += base.weights[name] * value
            else:
                x[r, i] = value
    y = np.array([label for _, label in rows], dtype=float)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = offset + x @ w
        p = 1.0 / (1.0 + np.exp(-z))
        value = float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * w @ w)
        return value, x.T @ (p - y) + l2 * w

    fitted = minimize(loss, np.zeros(len(new)), jac=True, method="L-BFGS-B")
    if not fitted.success:
        raise RuntimeError(f"fitting the new link features failed: {fitted.message}")
    return {name: round(float(w), 5) for name, w in zip(new, fitted.x, strict=True)}


def extend(
    config: Config,
    base: LinkModel,
    per_profile: int,
    seed0: int,
    rounds: int = 2,
    log: Callable[[str], object] = print,
) -> LinkModel:
    """`base` with weights for the features it lacks (`fit_on_top`), on the randomised
    training scenarios; each round replays them with the model so far and refits on every
    link seen (as `train` does)."""
    with tempfile.TemporaryDirectory(prefix="aiops-extend-") as tmp:
        log(f"generating {per_profile * len(PROFILES)} training scenarios (seeds from {seed0})")
        scenarios = training_scenarios(Path(tmp), per_profile, seed0)
        rows: list[Row] = []
        model = base
        for round_no in range(rounds):
            for scenario in scenarios:
                rows.extend(collect(scenario, config, model))
            added = fit_on_top(rows, base)
            log(f"round {round_no + 1}: {len(rows)} candidate links, new weights {added}")
            meta = dict(base.meta, extended=f"{sorted(added)} fitted on {len(rows)} links")
            model = LinkModel({**base.weights, **added}, base.bias, base.threshold, meta)
        return model


def fit_trees(rows: list[Row], meta: dict[str, Any]) -> TreeLinkModel:
    """Gradient-boosted trees over the rows, exported node by node (see export_trees)."""
    vec = DictVectorizer(sparse=False)
    x = vec.fit_transform([f for f, _ in rows])
    y = np.array([label for _, label in rows])
    clf = HistGradientBoostingClassifier(**TREE_PARAMS).fit(x, y)
    model = export_trees(clf, [str(n) for n in vec.get_feature_names_out()], meta)
    # The export reads scikit-learn's fitted predictors: prove it scores as scikit-learn
    # does, so a change there fails training instead of shipping a different model.
    sample = x[:: max(1, len(x) // 2000)]
    ours = np.array([model.score(dict(zip(model.features, row, strict=True))) for row in sample])
    worst = float(np.max(np.abs(ours - clf.predict_proba(sample)[:, 1])))
    if worst > 1e-9:
        raise RuntimeError(f"exported trees score {worst:.3g} away from scikit-learn's")
    return model


def export_trees(
    clf: HistGradientBoostingClassifier, features: list[str], meta: dict[str, Any]
) -> TreeLinkModel:
    """A fitted binary HistGradientBoostingClassifier as a TreeLinkModel. Reads the fitted
    `_predictors` (per boosting round, one tree of `nodes`); no categorical features and no
    missing values, which the link features never have."""
    roots: list[int] = []
    feature: list[int] = []
    split: list[float] = []
    left: list[int] = []
    right: list[int] = []
    value: list[float] = []
    for (tree,) in clf._predictors:
        nodes = tree.nodes
        base = len(feature)
        roots.append(base)
        for node in nodes:
            leaf = bool(node["is_leaf"])
            feature.append(-1 if leaf else int(node["feature_idx"]))
            split.append(0.0 if leaf else float(node["num_threshold"]))
            left.append(0 if leaf else base + int(node["left"]))
            right.append(0 if leaf else base + int(node["right"]))
            value.append(float(node["value"]) if leaf else 0.0)
    baseline = float(np.ravel(clf._baseline_prediction)[0])
    return TreeLinkModel(features, baseline, roots, feature, split, left, right, value, 0.5, meta)


def mean_f1(scenarios: Iterable[Path], config: Config, model: AnyLinkModel, work: Path) -> float:
    scores = []
    for i, scenario in enumerate(scenarios):
        r = evaluate(scenario, work / f"eval-{i}", config, progress=False, link_model=model)
        scores.append(r["grouping"]["pairwise_f1"])
    return float(np.mean(scores))


def train(
    config: Config,
    per_profile: int,
    seed0: int,
    log: Callable[[str], object] = print,
    standard: int = 0,
    kind: str = "logistic",
) -> AnyLinkModel:
    """`per_profile` randomised scenarios of each profile and `standard` more with the
    profile's own parameters (so the model also sees the situations the profiles as shipped
    produce, not only departures from them); a model of `kind` (one of KINDS)."""
    if kind not in KINDS:
        raise ValueError(f"unknown link model kind {kind!r}: one of {', '.join(KINDS)}")
    with tempfile.TemporaryDirectory(prefix="aiops-train-") as tmp:
        root = Path(tmp)
        n = (per_profile + standard) * len(PROFILES)
        log(f"generating {n} training scenarios (seeds from {seed0})")
        scenarios = training_scenarios(root / "scenarios", per_profile, seed0)
        scenarios += standard_scenarios(root / "standard", standard, seed0)
        trained_on = (
            f"{len(scenarios)} generated scenarios: profiles {', '.join(PROFILES)}, "
            f"{per_profile} each with randomised params"
        )
        if standard:
            trained_on += f" and {standard} each with the profile's own"
        meta: dict[str, Any] = {"trained_on": f"{trained_on}, seeds from {seed0}"}
        rows: list[Row] = []
        model: AnyLinkModel | None = None
        for round_no in range(3):
            for scenario in scenarios:
                rows.extend(collect(scenario, config, model))
            positives = sum(label for _, label in rows)
            log(f"round {round_no + 1}: {len(rows)} candidate links, {positives} positive")
            model = fit_trees(rows, meta) if kind == "trees" else fit(rows, meta)
        assert model is not None
        best = (-1.0, 0.5)
        for threshold in THRESHOLDS:
            model.threshold = threshold
            score = mean_f1(scenarios, config, model, root / "work")
            log(f"threshold {threshold:.2f}: mean pairwise F1 {score:.3f}")
            best = max(best, (score, threshold))
        model.threshold = best[1]
        model.meta["training_mean_f1"] = round(best[0], 4)
        model.meta["rows"] = len(rows)
        return model
