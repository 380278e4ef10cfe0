"""What tests/test_determinism.py runs in fresh interpreters under different PYTHONHASHSEED
values: the same input must give the same bytes whatever the seed. The seed decides the order
in which a set of strings (or a dict built from one) iterates, and that order must decide
nothing: not a tie, not the order of a list, not the order of a float sum.

    python -m tests.determinism_probe replay SCENARIO OUT   # the replay outputs in OUT, and
                                                            # every forewarning risk, exactly
    python -m tests.determinism_probe pieces                # the order-sensitive pieces, JSON
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

T = 1767607200.0  # 2026-01-05T10:00:00Z


def replay_scenario(scenario: Path, out: Path) -> None:
    """`aiops replay` of a generated scenario into `out`, plus `risks.txt`: every risk the
    forewarning stage scored, as exact floats (a risk is written rounded to 3 digits, and
    only when it reaches the threshold, so a last-bit difference rarely shows otherwise)."""
    import aiops.replay as replay_module
    from aiops.wiring import load_inputs
    from pipeline.forewarn import OutagePredictor

    risks: list[str] = []
    build = replay_module.build_pipeline

    def traced(*args: Any, **kwargs: Any) -> Any:
        pipeline = build(*args, **kwargs)
        for observer in pipeline.observers:
            if isinstance(observer, OutagePredictor):
                observer.tracer = lambda e, t, risk: risks.append(f"{e} {t!r} {risk.hex()}")
        return pipeline

    replay_module.build_pipeline = traced
    config, topology = load_inputs(None, scenario / "topology.yaml")
    replay_module.replay(
        scenario / "alerts.jsonl",
        out,
        config,
        topology,
        changes=scenario / "changes.jsonl",
        progress=False,
    )
    (out / "risks.txt").write_text("".join(f"{line}\n" for line in risks))


def _exact(values: dict[str, float]) -> list[list[str]]:
    """A dict of floats in its own order, each value exactly."""
    return [[k, float(v).hex()] for k, v in values.items()]


def pieces() -> dict[str, Any]:
    """Each piece whose answer depended on the hash seed, on inputs made to show it: many
    names where a set's order could decide."""
    from collections import Counter

    from aiops.rca.event_mix import EventMix
    from models.rca_history import IncidentHistory, PastCase
    from models.rca_signals import EntityCandidate
    from models.rootcause import RootCauseRanker
    from models.symptoms import SymptomModel
    from pipeline.changes import ChangeIndex
    from pipeline.config import load_config
    from pipeline.forewarn_features import snapshot_features
    from pipeline.forewarn_signs import Background, Sign
    from pipeline.incidents import Member
    from pipeline.links import LinkFinder
    from pipeline.store import IncidentStore
    from pipeline.topology import Topology

    out: dict[str, Any] = {}
    config = load_config()
    # Topology: twelve services call `db`, `edge` calls all twelve. Their distances come
    # from a search over sets of names.
    callers = [f"caller-{i:02d}" for i in range(12)]
    replicas = {f"db-{i}": {"service": "db", "node": f"node-{i}"} for i in range(8)}
    topo = Topology.from_dict(
        {
            "services": {
                "db": {},
                **{c: {"depends_on": ["db"]} for c in callers},
                "edge": {"depends_on": callers},
            },
            "resources": replicas,
        }
    )
    out["upstream"] = list(topo.upstream("db", 2).items())
    out["downstream"] = list(topo.downstream("edge", 2).items())

    # Link evidence: an alert on db while every caller alerts, all at once and alike: which
    # member it links through is a tie, and the first offered keeps it.
    store = IncidentStore()
    inc = store.create("a-0", T)
    for i, c in enumerate(callers):
        m = Member(f"fp-{c}", "HighLatency", c, None, None, 3, T, True, T)
        inc.add_member(m, f"a-{i}", T)
        store.index(inc, m)
    finder = LinkFinder(config.correlation, topo, store)
    new = Member("fp-db", "DBDown", "db", None, None, 3, T, True, T)
    ev = finder.find(new, inc)
    out["link_via"] = {kind: m.fingerprint for kind, m in ev.via.items()}
    out["link_features"] = _exact(finder.features(new, inc, ev))

    # Forewarning: eight warning names firing on one entity.
    names = ["HighLatency", "ErrorRate", "OOMKilled", "DiskFull", "CPUThrottling"]
    names += ["PodRestarted", "QueueLag", "CacheMiss"]
    symptoms = SymptomModel()
    for i, name in enumerate(names):
        for j in range(i + 1):
            symptoms.learn_one(name, j % 3 == 0)
    signs = {
        f"fp-{i}": Sign(
            onset=T - 600 - 7 * i,
            name=name,
            severity=1,
            chronic=False,
            anomaly=False,
            last=T,
            resends=3,
            resource=f"caller-00-{i % 2}",
        )
        for i, name in enumerate(names)
    }
    changes = ChangeIndex(topo, 3600.0)
    features = snapshot_features(
        config.prediction, "caller-00", T, signs, Background(), symptoms, changes, topo, 0, False
    )
    out["forewarn_features"] = _exact(features)

    # History: past incidents sharing many tokens with a new one.
    history = IncidentHistory(min_similarity=0.0)
    for i in range(6):
        tokens = frozenset({*(f"svc:s{j}" for j in range(i, i + 10)), f"name:N{i % 3}"})
        history.add(PastCase(key=f"inc-{i}", tokens=tokens, root=f"s{i}", kind="service"))
    query = frozenset({*(f"svc:s{j}" for j in range(3, 15)), "name:N1"})
    out["history"] = [[case.key, sim.hex()] for sim, case in history.similar(query)]

    # A service's history hit: past cases on several of its replicas, equally alike.
    ranker = RootCauseRanker(config.root_cause, topo, changes)
    past = {
        r: (0.5, PastCase(key=f"case-{r}", tokens=frozenset(), root=r, kind="resource"), 1)
        for r in replicas
    }
    hit = ranker._history_hit(EntityCandidate("db", "service", {}, T, T), past)
    out["history_hit"] = hit[1].key if hit else None

    # Log template mix: the kinds learned, in order.
    mix = EventMix()
    for minute in range(3):
        mix.missing("pod", Counter({f"template-{minute}-{k}": 5 + k for k in range(10)}))
    out["event_mix"] = _exact(mix._shares["pod"])
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["replay"] and len(argv) == 3:
        replay_scenario(Path(argv[1]), Path(argv[2]))
    elif argv == ["pieces"]:
        print(json.dumps(pieces(), indent=1))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
