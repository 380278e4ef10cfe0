"""Similar past incidents and tickets, and what their root cause was.

Every incident a problem manager confirms (feedback) and every resolved ticket on a
configuration item becomes a past case: a set of tokens (the services, nodes and alert names
involved, the words of its title; a ticket's configuration item) and its root entity with the
resolution when known. A new incident asks for the cases most like it: cosine similarity of
IDF-weighted token sets, so a token every case shares (a gateway, `HighLatency`) counts less
than a rare one (`DBDeadlocks` on `payments-db`). The best similarity per root becomes the
`history` signal of that candidate, and the case itself its evidence.

Memory is bounded (`capacity` most recent cases); an inverted index keeps look-ups to the
cases that share at least one token.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from mypy_extensions import mypyc_attr

from pipeline.incidents import Incident

_WORD = re.compile(r"[a-z][a-z0-9]{2,}")


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
@dataclass(frozen=True, slots=True)
class PastCase:
    key: str  # incident id or ticket number
    tokens: frozenset[str]
    root: str
    kind: str  # service | resource | node | change
    title: str = ""
    resolution: str = ""
    source: str = "feedback"  # feedback | ticket

    def __reduce__(self) -> tuple[type[PastCase], tuple[object, ...]]:
        # Compiled (mypyc), pickle would set the fields one by one, which frozen refuses.
        values = (self.tokens, self.root, self.kind, self.title, self.resolution, self.source)
        return (PastCase, (self.key, *values))


def incident_tokens(
    services: Iterable[str], nodes: Iterable[str], names: Iterable[str], title: str = ""
) -> frozenset[str]:
    """What an incident is about, as tokens comparable across incidents and tickets."""
    tokens = {f"svc:{s}" for s in services}
    tokens.update(f"node:{n}" for n in nodes)
    tokens.update(f"name:{n}" for n in names)
    tokens.update(f"w:{w}" for w in _WORD.findall(title.lower()))
    return frozenset(tokens)


def tokens_of(inc: Incident) -> frozenset[str]:
    return incident_tokens(inc.services, inc.nodes, inc.names, "")


def ticket_tokens(cmdb_ci: str) -> frozenset[str]:
    """A ticket is about one configuration item: a service or a node of that name."""
    return frozenset({f"svc:{cmdb_ci}", f"node:{cmdb_ci}"})


# A resolved ticket on an involved item says "this item has had trouble", not "this pattern
# has been seen": it counts as a past case this alike, without a model trained on tickets.
TICKET_SIMILARITY = 0.75


@mypyc_attr(serializable=True, allow_interpreted_subclasses=True)
class IncidentHistory:
    def __init__(self, capacity: int = 5000, min_similarity: float = 0.2) -> None:
        self.capacity = capacity
        self.min_similarity = min_similarity
        self._cases: deque[tuple[int, PastCase]] = deque()
        self._by_token: dict[str, set[int]] = {}
        self._by_seq: dict[int, PastCase] = {}
        self._seq = 0

    def __len__(self) -> int:
        return len(self._cases)

    def clear(self) -> None:
        self._cases.clear()
        self._by_token.clear()
        self._by_seq.clear()
        self._seq = 0

    def add(self, case: PastCase) -> None:
        self._seq += 1
        self._cases.append((self._seq, case))
        self._by_seq[self._seq] = case
        for token in case.tokens:
            self._by_token.setdefault(token, set()).add(self._seq)
        while len(self._cases) > self.capacity:
            seq, old = self._cases.popleft()
            del self._by_seq[seq]
            for token in old.tokens:
                bucket = self._by_token.get(token)
                if bucket is not None:
                    bucket.discard(seq)
                    if not bucket:
                        del self._by_token[token]

    def _idf(self, token: str) -> float:
        df = len(self._by_token.get(token, ()))
        return math.log(1.0 + len(self._cases) / (1.0 + df))

    def similar(self, tokens: frozenset[str], limit: int = 20) -> list[tuple[float, PastCase]]:
        """Past cases sharing tokens with `tokens`, most similar first (ties: newest first)."""
        if not self._cases or not tokens:
            return []
        shared: dict[int, list[str]] = {}
        for token in tokens:
            for seq in self._by_token.get(token, ()):
                shared.setdefault(seq, []).append(token)
        if not shared:
            return []
        # Token sets are frozensets, which iterate in an order that follows the string hash
        # seed: sums over them are exact (fsum) so the similarities do not depend on it.
        idf = {t: self._idf(t) for t in tokens}
        norm_q = math.sqrt(math.fsum(v * v for v in idf.values())) or 1.0
        out = []
        for seq, common in shared.items():
            case = self._by_seq[seq]
            if case.source == "ticket":
                out.append((TICKET_SIMILARITY, -seq, case))
                continue
            dot = math.fsum(idf[t] ** 2 for t in common)
            norm_c = math.sqrt(math.fsum(self._idf(t) ** 2 for t in case.tokens)) or 1.0
            sim = dot / (norm_q * norm_c)
            if sim >= self.min_similarity:
                out.append((sim, -seq, case))
        out.sort(key=lambda x: (-x[0], x[1]))
        return [(sim, case) for sim, _, case in out[:limit]]

    def roots(self, tokens: frozenset[str]) -> dict[str, tuple[float, PastCase, int]]:
        """Per root entity: the best similarity, that case, and how many similar cases had it."""
        out: dict[str, tuple[float, PastCase, int]] = {}
        for sim, case in self.similar(tokens):
            best = out.get(case.root)
            if best is None:
                out[case.root] = (sim, case, 1)
            else:
                out[case.root] = (best[0], best[1], best[2] + 1)
        return out
