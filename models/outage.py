"""Outage risk: P(a critical alert fires on this entity within the horizon) from what the
entity showed lately (pipeline/forewarn.py builds the features).

An online logistic regression (river) that keeps learning from the stream's delayed labels.
It starts from weights learned offline on generated scenarios (`aiops train-outage`, shipped
as JSON), so it warns sensibly from the first hour instead of after its first outages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from river import linear_model, optim, utils
from river.utils.math import sigmoid

from models.modelfile import read_model, write_model

KIND = "online-logistic-regression"


@dataclass(slots=True)
class OutageModel:
    """river-style `learn_one` / `predict_one` over named features."""

    weights: dict[str, float] = field(default_factory=dict)
    intercept: float = 0.0
    learning_rate: float = 0.02
    threshold: float = 0.5  # warn at or above this risk
    meta: dict[str, Any] = field(default_factory=dict)
    _lr: linear_model.LogisticRegression | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        lr = linear_model.LogisticRegression(
            optimizer=optim.SGD(self.learning_rate),
            intercept_lr=self.learning_rate,
            l2=1e-4,
        )
        # Warm start: river keeps its coefficients in a VectorDict; the public `weights`
        # property is a read-only copy, so the starting point is set here.
        lr._weights = utils.VectorDict(dict(self.weights), lr.initializer)
        lr.intercept = self.intercept
        self._lr = lr

    def predict_one(self, x: dict[str, float]) -> float:
        """river's `predict_proba_one(x)[True]`, by the same calls (the raw dot product,
        then river's sigmoid) without building the two-class dict per snapshot."""
        assert self._lr is not None
        return float(sigmoid(self._lr._raw_dot_one(x)))

    def learn_one(self, x: dict[str, float], y: bool) -> None:
        assert self._lr is not None
        self._lr.learn_one(x, y)

    def to_dict(self) -> dict[str, Any]:
        assert self._lr is not None
        return {
            "kind": KIND,
            "intercept": round(float(self._lr.intercept), 6),
            "learning_rate": self.learning_rate,
            "threshold": self.threshold,
            "weights": {k: round(float(v), 6) for k, v in sorted(self._lr.weights.items())},
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> OutageModel:
        return cls(
            weights={str(k): float(v) for k, v in doc["weights"].items()},
            intercept=float(doc.get("intercept", 0.0)),
            learning_rate=float(doc.get("learning_rate", 0.02)),
            threshold=float(doc.get("threshold", 0.5)),
            meta=dict(doc.get("meta") or {}),
        )

    @classmethod
    def load(cls, path: Path) -> OutageModel:
        return cls.from_dict(read_model(path, KIND))

    def save(self, path: Path) -> None:
        write_model(path, self.to_dict())
