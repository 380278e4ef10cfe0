"""The root-cause scorers: logistic models over named signals, learned offline and online.

Two scorers share one file (`config/rootcause_model.json`, made by `aiops train-rca`):
`entity` scores candidate services, nodes and silent dependencies; `change` scores the
changes on them. Each answers P(this candidate is a root of the incident) in [0, 1], so a
score means the same thing in every incident.

Online learning is river-style: `learn_one(signals, label)` takes one SGD step on the
logistic loss, `learn_pair(better, worse)` one on the pairwise loss the offline weights were
fitted with, each with an L2 pull back towards the offline weights so that a handful of
corrections moves the model without wrecking what the generated history taught it. The
offline weights are kept (`prior_`), so the learned state is always "prior + the feedback
seen", and replaying the same feedback from the prior gives the same weights.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mypy_extensions import mypyc_attr


def _sigmoid(z: float) -> float:
    if z < -30.0:
        return 0.0
    if z > 30.0:
        return 1.0
    return 1.0 / (1.0 + math.exp(-z))


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class LogisticScorer:
    """P(label = 1 | signals) = sigmoid(bias + sum(weight * signal))."""

    weights: dict[str, float]
    bias: float = 0.0
    learning_rate: float = 0.05
    prior_strength: float = 0.01  # L2 pull towards the offline weights per step
    prior_: dict[str, float] = field(default_factory=dict)
    prior_bias_: float = 0.0
    updates_: int = 0

    def __post_init__(self) -> None:
        if not self.prior_:
            self.prior_ = dict(self.weights)
            self.prior_bias_ = self.bias

    def predict_one(self, signals: dict[str, float]) -> float:
        w = self.weights
        z = self.bias
        for name, value in signals.items():
            z += w.get(name, 0.0) * value
        return _sigmoid(z)

    def learn_one(self, signals: dict[str, float], label: bool, weight: float = 1.0) -> None:
        """One SGD step on the logistic loss of this example."""
        error = (1.0 if label else 0.0) - self.predict_one(signals)
        rate, pull = self.learning_rate * weight, self.prior_strength
        w = self.weights
        for name, value in signals.items():
            current = w.get(name, 0.0)
            w[name] = current + rate * error * value - pull * (current - self.prior_.get(name, 0.0))
        self.bias += rate * error - pull * (self.bias - self.prior_bias_)
        self.updates_ += 1

    def learn_pair(
        self, better: dict[str, float], worse: dict[str, float], weight: float = 1.0
    ) -> None:
        """One SGD step on the pairwise logistic loss: `better` should outscore `worse` (the
        confirmed root over another candidate of the same incident). The bias cancels."""
        # `better`'s names, then `worse`'s others: in their order, not a set's (a set of
        # strings iterates in an order that follows the hash seed, and the sum below
        # would follow it).
        diff = {k: better.get(k, 0.0) - worse.get(k, 0.0) for k in {**better, **worse}}
        w = self.weights
        error = 1.0 - _sigmoid(sum(w.get(k, 0.0) * v for k, v in diff.items()))
        rate, pull = self.learning_rate * weight, self.prior_strength
        for name, value in diff.items():
            current = w.get(name, 0.0)
            w[name] = current + rate * error * value - pull * (current - self.prior_.get(name, 0.0))
        self.updates_ += 1

    def reset(self) -> None:
        """Back to the offline weights (before replaying a feedback store)."""
        self.weights = dict(self.prior_)
        self.bias = self.prior_bias_
        self.updates_ = 0

    def to_dict(self) -> dict[str, Any]:
        return {"bias": self.bias, "weights": dict(sorted(self.weights.items()))}

    @classmethod
    def from_dict(cls, doc: Any, what: str) -> LogisticScorer:
        if not isinstance(doc, dict):
            raise ValueError(f"root-cause model: {what} must be an object")
        weights = doc.get("weights")
        if not isinstance(weights, dict) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in weights.values()
        ):
            raise ValueError(f"root-cause model: {what}.weights must map names to numbers")
        bias = doc.get("bias", 0.0)
        if not isinstance(bias, int | float):
            raise ValueError(f"root-cause model: {what}.bias must be a number")
        return cls(weights={str(k): float(v) for k, v in weights.items()}, bias=float(bias))


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class RootCauseModel:
    entity: LogisticScorer
    change: LogisticScorer
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "root-cause-logistic",
            "entity": self.entity.to_dict(),
            "change": self.change.to_dict(),
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, doc: Any) -> RootCauseModel:
        if not isinstance(doc, dict) or doc.get("kind") != "root-cause-logistic":
            raise ValueError("root-cause model: kind must be root-cause-logistic")
        return cls(
            entity=LogisticScorer.from_dict(doc.get("entity"), "entity"),
            change=LogisticScorer.from_dict(doc.get("change"), "change"),
            meta=dict(doc.get("meta") or {}),
        )

    @classmethod
    def load(cls, path: Path) -> RootCauseModel:
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"cannot read root-cause model {path}: {exc}") from None

    def save(self, path: Path) -> None:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)

    def set_learning(self, learning_rate: float, prior_strength: float) -> None:
        for scorer in (self.entity, self.change):
            scorer.learning_rate = learning_rate
            scorer.prior_strength = prior_strength
