"""Events a source used to emit that went missing: the mark of a code-level fault.

An exception thrown in a method, or a method that returns something else, rarely makes its
own service log an error or slow down: the lines and spans after that point in the code are
simply no longer written, and the callers complain instead. What the faulty service still
shows is its own mix of events changing: a log template it wrote in every minute's traffic
stops.

`EventMix` learns, per source (a pod), the share of each event kind (a log template) in its
output, as an exponentially weighted average over the source's earlier minutes. For a new
minute with n events it asks, for each kind it knows, how surprising the count observed is
when share * n were expected, and reports the largest surprise: -log10 P(X <= count) for
X ~ Poisson(share * n). Only kinds expected at least `min_expected` times count: a kind seen
now and then says nothing by being absent. Shares are scaled by the minute's own volume, so
a quiet minute does not look like a drop, and are learned only from earlier minutes (no
look-ahead).
"""

from __future__ import annotations

import math
from collections import Counter


def poisson_low_surprise(x: float, lam: float) -> float:
    """-log10 P(X <= x) for X ~ Poisson(lam); 0 when x is not below lam."""
    if x >= lam:
        return 0.0
    k = int(x)
    # P(X <= k) summed from i = 0 in log space: log P(X = i) = -lam + i log lam - log i!
    terms = [-lam + i * math.log(lam) - math.lgamma(i + 1) for i in range(k + 1)]
    top = max(terms)
    log_cdf = top + math.log(sum(math.exp(t - top) for t in terms))
    return max(-log_cdf / math.log(10), 0.0)


class EventMix:
    """Per source, the learned share of each event kind and the surprise of its absence."""

    def __init__(
        self, *, decay: float = 0.9, min_expected: float = 3.0, min_share: float = 1e-3
    ) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError("decay must be in (0, 1)")
        self.decay = decay
        self.min_expected = min_expected
        self.min_share = min_share
        self._shares: dict[str, dict[str, float]] = {}

    def missing(self, source: str, counts: Counter[str]) -> float:
        """The surprise of the least expected shortfall in this minute's `counts`, then learn
        them. Call once per source and minute, in time order."""
        n = sum(counts.values())
        shares = self._shares.setdefault(source, {})
        worst = 0.0
        if n:
            for kind, share in shares.items():
                expected = share * n
                if expected >= self.min_expected:
                    worst = max(worst, poisson_low_surprise(counts.get(kind, 0), expected))
            self._learn(shares, counts, n)
        return worst

    def _learn(self, shares: dict[str, float], counts: Counter[str], n: int) -> None:
        d = self.decay
        # The known kinds, then the new ones, in their order (a set's would follow the hash
        # seed, and so would the order of the kinds kept).
        for kind in [*shares, *(k for k in counts if k not in shares)]:
            share = d * shares.get(kind, 0.0) + (1.0 - d) * counts.get(kind, 0) / n
            if share >= self.min_share:
                shares[kind] = share
            else:
                shares.pop(kind, None)
