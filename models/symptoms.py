"""Which alert names are symptoms and which start problems, learned online from the stream.

A symptom (HighLatency, UpstreamTimeouts, CircuitBreakerOpen) usually fires while something
its service depends on is already alerting; a cause (OOMKilled, DiskFull, DBDeadlocks) usually
fires with nothing below it alerting. For every new alert the correlator tells the model which
of the two it saw; the model answers, per name, the probability that an alert of that name is
a symptom. No labels needed: the topology and the clock provide the evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mypy_extensions import mypyc_attr


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(slots=True)
class SymptomModel:
    """Beta-Bernoulli estimate per alert name, river-style `learn_one` / `predict_one`.

    `prior` is the answer for a name never seen; `prior_weight` how many observations the
    prior is worth, so a name's first few alerts move it gently.
    """

    prior: float = 0.5
    prior_weight: float = 4.0
    counts_: dict[str, list[float]] = field(default_factory=dict)  # name -> [symptom, total]

    def learn_one(self, name: str, dependency_alerting: bool) -> None:
        c = self.counts_.get(name)
        if c is None:
            c = self.counts_[name] = [0.0, 0.0]
        c[0] += 1.0 if dependency_alerting else 0.0
        c[1] += 1.0

    def predict_one(self, name: str) -> float:
        c = self.counts_.get(name)
        if c is None:
            return self.prior
        return (c[0] + self.prior * self.prior_weight) / (c[1] + self.prior_weight)
