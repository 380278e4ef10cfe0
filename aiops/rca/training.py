"""Learning the root-cause scorers from generated incidents with ground truth
(`aiops train-rca`).

1. Generate training scenarios: every profile, seeds from `seed0` (>= 1000; evaluation uses
   1-99, the link model 100-999), each with randomised parameters (silent roots, change share,
   hop delays, noise, storms, naming) so the weights follow the signals, not one setting.
2. Replay each through the full pipeline. As incidents become final, a simulated problem
   manager confirms the true root of a share of them (`feedback_share`), exactly as
   `aiops feedback` would, so the `history` signal has something to learn from.
3. Label every candidate of every incident's final ranking by the truth: a candidate is
   positive when it is the root of a fault whose alerts this incident holds most of (the
   evaluation's rule); a change is positive when it caused such a fault.
4. Fit logistic regressions (scikit-learn) for candidates and for changes; replay again with
   the fitted model (change signals include the candidate's score) and refit on everything.
"""

from __future__ import annotations

import dataclasses
import random
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from sklearn.linear_model import LogisticRegression

from aiops.evaluation.rootcause import candidate_matches
from aiops.scenarios import generate, write_scenario
from aiops.training.links import PROFILES, randomised_params
from aiops.wiring import build_pipeline
from connectors.files import DeadLetter, load_topology, merge_streams, read_alerts, read_changes
from models.rca_model import LogisticScorer, RootCauseModel
from models.rca_signals import CHANGE_SIGNALS, ENTITY_SIGNALS
from models.rootcause import RootCauseRanker
from pipeline.config import Config
from pipeline.engine import Drained, Pipeline
from pipeline.feedback import Feedback
from pipeline.incidents import MERGED, PENDING, Incident
from pipeline.records import Alert, Change
from pipeline.times import format_time, parse_time

_DRAIN_EVERY = 500
_DAY_GAP_S = 8 * 3600.0  # past alert timeouts and reopen windows: the day's incidents end

Row = tuple[str, list[float], int]  # (incident key, signals, label)


@dataclass(slots=True)
class Collected:
    entity: list[Row] = field(default_factory=list)
    change: list[Row] = field(default_factory=list)
    hits: Counter[str] = field(default_factory=Counter)  # "faults", "ac@1", "ac@3", ...

    def extend(self, other: Collected) -> None:
        self.entity.extend(other.entity)
        self.change.extend(other.change)
        self.hits.update(other.hits)


def _variant(profile: str, rng: random.Random) -> dict[str, Any]:
    """Random but plausible departures from a profile's parameters."""
    lo = rng.choice((10.0, 30.0, 60.0))
    over: dict[str, Any] = {
        "hop_delay": (lo, lo + rng.choice((90.0, 180.0, 400.0))),
        "resource_names": rng.choice(("ordinal", "k8s")),
        "silent_root_share": rng.choice((0.0, 0.08, 0.2)),
        "change_fault_share": rng.choice((0.2, 0.4, 0.6)),
        "decoy_share": rng.choice((0.1, 0.3, 0.5)),
        "propagation": rng.choice((0.6, 0.8, 0.95)),
        "precursor_share": rng.choice((0.2, 0.5, 0.8)),
    }
    if profile in ("default", "wide"):
        over["noise_per_hour"] = rng.choice((30.0, 80.0, 200.0))
    return over


def training_scenarios(root: Path, per_profile: int, seed0: int) -> list[list[Path]]:
    """Per training seed its days: every other seed gets a second day a day later with other
    noise, where the same faults recur (the generator's faults do not depend on the start or
    the noise), so the model learns what a confirmed similar incident is worth."""
    out = []
    for profile, seed, k, rng, params in randomised_params(per_profile, seed0, _variant):
        days = [params]
        if k % 2 == 1:
            start = format_time(parse_time(params.start) + 86400.0)
            noise = params.noise_per_hour * rng.choice((0.5, 1.5))
            days.append(dataclasses.replace(params, start=start, noise_per_hour=noise))
        paths = []
        for day, day_params in enumerate(days):
            path = root / f"{profile}-{seed}-day{day}"
            write_scenario(generate(day_params, seed, profile), path)
            paths.append(path)
        out.append(paths)
    return out


def fault_root(fault: dict[str, Any]) -> tuple[str, str]:
    """(root entity, kind) as a problem manager would confirm it."""
    return str(fault["root"]), str(fault["kind"])


def _day_records(day: int, scenario: Path) -> Iterator[Alert | Change]:
    """A day's alerts and changes with ids made unique across days."""
    records = merge_streams(
        read_alerts(scenario / "alerts.jsonl"), read_changes(scenario / "changes.jsonl")
    )
    for record in records:
        if not isinstance(record, DeadLetter):
            record.id = f"d{day}-{record.id}"
            yield record


class _Replay:
    """A scenario's days through one pipeline, with simulated feedback on final incidents."""

    def __init__(
        self, days: list[Path], config: Config, model: RootCauseModel, feedback_share: float
    ) -> None:
        self.group: dict[str, str] = {}
        self.faults: dict[str, dict[str, Any]] = {}
        for day, scenario in enumerate(days):
            truth = orjson.loads((scenario / "truth.json").read_bytes())
            self.group.update((f"d{day}-{a}", f"d{day}-{g}") for a, g in truth["alerts"].items())
            for f in truth["faults"]:
                cause = f.get("cause_change")
                fault = dict(f, id=f"d{day}-{f['id']}")
                fault["cause_change"] = f"d{day}-{cause}" if cause else None
                self.faults[fault["id"]] = fault
        self.days = days
        scenario = days[0]
        self.topology = load_topology(scenario / "topology.yaml")
        self.scenario = scenario
        self.pipeline: Pipeline = build_pipeline(config, self.topology)
        ranker = self.pipeline.enrichers[0]
        assert isinstance(ranker, RootCauseRanker)
        ranker.model = RootCauseModel.from_dict(model.to_dict())
        ranker.model.set_learning(
            config.root_cause.feedback_learning_rate, config.root_cause.feedback_prior_strength
        )
        self.ranker = ranker
        self.rng = random.Random(scenario.name)
        self.feedback_share = feedback_share
        self.seen: dict[str, Incident] = {}

    def majority_fault(self, inc: Incident) -> str | None:
        held = Counter(self.group.get(a, "") for a in inc.alert_ids)
        group = held.most_common(1)[0][0] if held else ""
        return group if group in self.faults else None

    def take(self, drained: Drained) -> None:
        for inc in drained.incidents:
            self.seen[inc.id] = inc
        for inc in drained.final:
            if inc.status == MERGED or self.rng.random() >= self.feedback_share:
                continue
            fault = self.majority_fault(inc)
            if fault is not None:
                root, kind = fault_root(self.faults[fault])
                at = self.pipeline.clock or 0.0
                self.pipeline.feedback(Feedback(inc.id, root, kind, by="trainer", at=at))

    def run(self) -> Collected:
        for day, scenario in enumerate(self.days):
            if day:  # let the previous day's incidents become final (and confirmed)
                self.take(self.pipeline.drain())
                self.pipeline.advance((self.pipeline.clock or 0.0) + _DAY_GAP_S)
                self.take(self.pipeline.drain())
            for n, record in enumerate(_day_records(day, scenario), start=1):
                self.pipeline.process(record)
                if n % _DRAIN_EVERY == 0:
                    self.take(self.pipeline.drain())
        self.take(self.pipeline.finish())
        return self.label()

    def label(self) -> Collected:
        incidents = {i.id: i for i in self.seen.values() if i.status not in (MERGED, PENDING)}
        holder: dict[str, str] = {}  # fault -> the incident holding most of its alerts
        counts: Counter[tuple[str, str]] = Counter()
        for inc in incidents.values():
            for a in inc.alert_ids:
                g = self.group.get(a, "")
                if g in self.faults:
                    counts[(g, inc.id)] += 1
        for (fault, inc_id), _ in sorted(counts.items(), key=lambda kv: -kv[1]):
            holder.setdefault(fault, inc_id)
        roots: dict[str, list[dict[str, Any]]] = {}
        for fault, inc_id in holder.items():
            roots.setdefault(inc_id, []).append(self.faults[fault])
        out = Collected()
        for inc_id in incidents:
            ranking = self.ranker.last_ranking(inc_id)
            if ranking is None:
                continue
            cands, changes = ranking.candidates, ranking.changes
            faults = roots.get(inc_id, [])
            causes = {f["cause_change"] for f in faults if f.get("cause_change")}
            key = f"{self.scenario.name}/{inc_id}"
            for entity, kind, signals in cands:
                as_dict = {"entity": entity, "kind": kind}
                label = any(candidate_matches(as_dict, f, self.topology) for f in faults)
                vector = [signals.get(k, 0.0) for k in ENTITY_SIGNALS]
                out.entity.append((key, vector, int(label)))
            for change_id, _, signals in changes:
                vector = [signals.get(k, 0.0) for k in CHANGE_SIGNALS]
                out.change.append((key, vector, int(change_id in causes)))
            for f in faults:
                out.hits["faults"] += 1
                rank = next(
                    (
                        i
                        for i, (entity, kind, _) in enumerate(cands)
                        if candidate_matches({"entity": entity, "kind": kind}, f, self.topology)
                    ),
                    None,
                )
                for k in (1, 3, 5):
                    out.hits[f"ac@{k}"] += int(rank is not None and rank < k)
        out.hits["faults"] += sum(1 for f in self.faults if f not in holder)
        return out


def _pairs(rows: list[Row]) -> tuple[np.ndarray, np.ndarray]:
    """Differences root - other within each incident, both ways round."""
    groups: dict[str, tuple[list[list[float]], list[list[float]]]] = {}
    for key, vector, label in rows:
        groups.setdefault(key, ([], []))[0 if label else 1].append(vector)
    diffs = []
    for pos, neg in groups.values():
        for p in pos:
            for n in neg:
                diffs.append(np.subtract(p, n))
    x = np.array(diffs + [-d for d in diffs])
    y = np.array([1] * len(diffs) + [0] * len(diffs))
    return x, y


def _fit(rows: list[Row], names: tuple[str, ...], c: float) -> LogisticScorer:
    """Weights from a pairwise logistic regression (which candidate of an incident is the
    root: only the order inside an incident matters), then a scale and a bias fitted on every
    candidate so that the score is a probability."""
    x_pairs, y_pairs = _pairs(rows)
    pairwise = LogisticRegression(C=c, fit_intercept=False, max_iter=5000)
    pairwise.fit(x_pairs, y_pairs)
    w = pairwise.coef_[0]
    z = np.array([vector for _, vector, _ in rows]) @ w
    labels = np.array([label for _, _, label in rows])
    calibration = LogisticRegression(C=100.0, max_iter=5000)
    calibration.fit(z.reshape(-1, 1), labels)
    scale = float(calibration.coef_[0][0])
    weights = {n: round(float(v) * scale, 4) for n, v in zip(names, w, strict=True)}
    return LogisticScorer(weights, bias=round(float(calibration.intercept_[0]), 4))


def fit(data: Collected, meta: dict[str, Any]) -> RootCauseModel:
    return RootCauseModel(
        entity=_fit(data.entity, ENTITY_SIGNALS, 1.0),
        change=_fit(data.change, CHANGE_SIGNALS, 1.0),
        meta=dict(meta),
    )


def train(
    config: Config,
    per_profile: int,
    seed0: int,
    feedback_share: float = 0.5,
    rounds: int = 2,
    log: Callable[[str], object] = print,
    start: RootCauseModel | None = None,
) -> RootCauseModel:
    from models.rca_start import hand_model

    model = start or hand_model()
    with tempfile.TemporaryDirectory(prefix="aiops-train-rca-") as tmp:
        log(f"generating {per_profile * len(PROFILES)} training scenarios (seeds from {seed0})")
        scenarios = training_scenarios(Path(tmp), per_profile, seed0)
        meta: dict[str, Any] = {
            "trained_on": f"{len(scenarios)} generated scenarios: profiles "
            f"{', '.join(PROFILES)}, {per_profile} each, seeds from {seed0}, randomised "
            f"params, every other one with a second day where its faults recur; simulated "
            f"feedback on {feedback_share:.0%} of final incidents",
        }
        data = Collected()
        for round_no in range(rounds):
            this_round = Collected()
            for scenario in scenarios:
                this_round.extend(_Replay(scenario, config, model, feedback_share).run())
            h = this_round.hits
            log(
                f"round {round_no + 1} (ranking with the {'hand' if round_no == 0 else 'fitted'}"
                f" model): AC@1 {h['ac@1'] / h['faults']:.3f} AC@3 {h['ac@3'] / h['faults']:.3f}"
                f" over {h['faults']} faults; {len(this_round.entity)} candidate rows, "
                f"{len(this_round.change)} change rows"
            )
            data.extend(this_round)
            model = fit(data, meta)
        model.meta.update(
            entity_rows=len(data.entity),
            entity_positive=sum(label for _, _, label in data.entity),
            change_rows=len(data.change),
            change_positive=sum(label for _, _, label in data.change),
            trained=True,
        )
        return model
