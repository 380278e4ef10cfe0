"""The learned link model: how likely a new alert belongs to a live incident, from the
evidence between them (pipeline/links.py features).

Trained offline on generated scenarios with ground truth (`aiops train-links`) and shipped
as JSON, in one of two kinds:
- `LinkModel`: a logistic regression over named, mostly sparse features; scoring is one short
  dot product and the weights can be read and diffed.
- `TreeLinkModel`: gradient-boosted trees (scikit-learn's HistGradientBoostingClassifier,
  exported node by node). Trees express what a sum of weights cannot, e.g. that a link
  through the same service means little for a symptom-like alert whose dependency alerts
  elsewhere. Scoring walks the trees here: scikit-learn's own predict costs ~100 us per call,
  too slow for every candidate of every alert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mypy_extensions import mypyc_attr

from models.modelfile import read_model, write_model

KIND = "logistic-regression"
TREES_KIND = "gradient-boosted-trees"


def _probability(z: float) -> float:
    """sigmoid(z), 0 far below (no overflow in exp)."""
    if z < -30:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


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
        return _probability(z)

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


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class TreeLinkModel:
    """Gradient-boosted trees over the named features: P = sigmoid(baseline + sum of the
    leaves reached). All trees' nodes sit in flat arrays; a node whose `feature` is -1 is a
    leaf, any other goes `left` when the feature's value is <= `split` (an absent feature is
    0, as when the model was fitted)."""

    def __init__(
        self,
        features: list[str],
        baseline: float,
        roots: list[int],
        feature: list[int],
        split: list[float],
        left: list[int],
        right: list[int],
        value: list[float],
        threshold: float = 0.5,
        meta: dict[str, Any] | None = None,
    ) -> None:
        n = len(feature)
        if not (len(split) == len(left) == len(right) == len(value) == n):
            raise ValueError("tree node arrays differ in length")
        for i in range(n):
            f = feature[i]
            # Children come after their parent, so a walk always ends at a leaf.
            if f >= len(features) or (f >= 0 and not (i < left[i] < n and i < right[i] < n)):
                raise ValueError(f"tree node {i} points outside its tree")
        if any(not 0 <= r < n for r in roots):
            raise ValueError("a tree root points outside the model")
        self.features = features
        self.baseline = baseline
        self.roots = roots
        self.feature = feature
        self.split = split
        self.left = left
        self.right = right
        self.value = value
        self.threshold = threshold
        self.meta: dict[str, Any] = meta if meta is not None else {}
        self._index = {name: i for i, name in enumerate(features)}

    def score(self, features: dict[str, float]) -> float:
        """P(the alert belongs to the incident) in [0, 1]."""
        x = [0.0] * len(self.features)
        index = self._index
        for name, v in features.items():
            i = index.get(name, -1)
            if i >= 0:
                x[i] = v
        feature, split, left, right = self.feature, self.split, self.left, self.right
        value = self.value
        z = self.baseline
        for node in self.roots:
            f = feature[node]
            while f >= 0:
                node = left[node] if x[f] <= split[node] else right[node]
                f = feature[node]
            z += value[node]
        return _probability(z)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": TREES_KIND,
            "threshold": self.threshold,
            "baseline": self.baseline,
            "features": self.features,
            "roots": self.roots,
            "nodes": {
                "feature": self.feature,
                "split": self.split,
                "left": self.left,
                "right": self.right,
                "value": self.value,
            },
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> TreeLinkModel:
        nodes = doc["nodes"]
        return cls(
            features=[str(n) for n in doc["features"]],
            baseline=float(doc["baseline"]),
            roots=[int(r) for r in doc["roots"]],
            feature=[int(f) for f in nodes["feature"]],
            split=[float(v) for v in nodes["split"]],
            left=[int(i) for i in nodes["left"]],
            right=[int(i) for i in nodes["right"]],
            value=[float(v) for v in nodes["value"]],
            threshold=float(doc.get("threshold", 0.5)),
            meta=dict(doc.get("meta") or {}),
        )

    def save(self, path: Path) -> None:
        # One line: tens of thousands of node numbers are not read by eye.
        write_model(path, self.to_dict(), indent=None)


AnyLinkModel = LinkModel | TreeLinkModel


def load_link_model(path: Path) -> AnyLinkModel:
    """The link model in a file, of either kind; ValueError when it is neither."""
    doc = read_model(path, (KIND, TREES_KIND))
    try:
        if doc["kind"] == TREES_KIND:
            return TreeLinkModel.from_dict(doc)
        return LinkModel.from_dict(doc)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"model {path}: {exc}") from None
