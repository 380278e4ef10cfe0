"""The learned link model: how likely a new alert belongs to a live incident, from the
evidence between them (pipeline/links.py features).

A logistic regression over named, mostly sparse features, trained offline on generated
scenarios with ground truth (`aiops train-links`) and shipped as JSON, so scoring a candidate
is one short dot product and the model can be read, diffed and retrained.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mypy_extensions import mypyc_attr

from models.modelfile import read_model, write_model

KIND = "logistic-regression"


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class LinkModel:
    weights: dict[str, float]
    bias: float
    threshold: float = 0.5  # join the best candidate only if its score reaches this
    meta: dict[str, Any] = field(default_factory=dict)

    def score(self, features: dict[str, float]) -> float:
        """P(the alert belongs to the incident) in [0, 1]."""
        w = self.weights
        z = self.bias
        for name, value in features.items():
            z += w.get(name, 0.0) * value
        if z < -30:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": KIND,
            "bias": self.bias,
            "threshold": self.threshold,
            "weights": dict(sorted(self.weights.items())),
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> LinkModel:
        return cls(
            weights={str(k): float(v) for k, v in doc["weights"].items()},
            bias=float(doc.get("bias", 0.0)),
            threshold=float(doc.get("threshold", 0.5)),
            meta=dict(doc.get("meta") or {}),
        )

    @classmethod
    def load(cls, path: Path) -> LinkModel:
        return cls.from_dict(read_model(path, KIND))

    def save(self, path: Path) -> None:
        write_model(path, self.to_dict())
