"""`aiops rca-bench --feedback`: do later incidents benefit when problem managers confirm roots?

Two more passes over the same day, each answering every fault when its window closes (the
injection plus `WINDOW_AFTER_S`: the ranking the on-call engineer sees then, not the one at
the end of the day):

- `without`: nobody gives feedback;
- `with`: right after a fault's answer is recorded, a simulated problem manager confirms the
  fault's true root service on the incident holding most of its alerts (`aiops feedback
  --root`), and the ranker learns from it (`RootCauseRanker.learn_one`: the pairwise step on
  its weights, and a past case for the `history` signal).

The fault list is read up front here, because it is the simulated problem manager's
knowledge. It never locates a fault for the pipeline: each answer is recorded before its own
verdict, so a fault can only gain from verdicts on earlier faults. The main figures of
`aiops rca-bench` (no feedback, answered at the end of the day) are unchanged by this mode.
"""

from __future__ import annotations

from typing import Any

from aiops.rca.nezha_bench import (
    WINDOW_AFTER_S,
    Hook,
    Streamed,
    accuracy,
    answer,
    stream,
)
from aiops.rca.nezha_data import Fault, NezhaDay
from pipeline.config import Config
from pipeline.engine import Pipeline
from pipeline.feedback import Feedback

RUNS = ("without", "with")


def answers_as_the_day_goes(
    day: NezhaDay,
    config: Config,
    faults: list[Fault],
    teach: bool,
    progress: bool | None = None,
    seed: int = 1,
) -> list[dict[str, Any]]:
    """Each fault's row as of its window's end; with `teach`, its root confirmed right after."""
    rows: list[dict[str, Any]] = []

    def hook_for(fault: Fault) -> Hook:
        def hook(pipeline: Pipeline, streamed: Streamed) -> None:
            row, found = answer(fault, streamed, pipeline.topology, seed)
            row["verdict_given"] = bool(teach and found)
            rows.append(row)
            if teach and found:
                pipeline.feedback(
                    Feedback(
                        incident=found[0][0].id,
                        root=fault.service,
                        kind="service",
                        by="rca-bench",
                        at=fault.time + WINDOW_AFTER_S,
                    )
                )

        return fault.time + WINDOW_AFTER_S, hook

    stream(day, config, progress, hooks=[hook_for(f) for f in faults])
    return rows


def repeats(rows: list[dict[str, Any]]) -> list[bool]:
    """Whether each fault's root service was already the root of an earlier fault."""
    seen: set[str] = set()
    out = []
    for row in rows:
        out.append(row["root_service"] in seen)
        seen.add(row["root_service"])
    return out


def feedback_runs(
    day: NezhaDay, config: Config, progress: bool | None = None, seed: int = 1
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Both passes: the summary (pipeline AC@k without and with feedback, over all faults
    and over the faults whose root was confirmed before) and the rows, tagged by run."""
    faults = day.faults()  # the simulated problem manager's knowledge (see the module doc)
    summary: dict[str, Any] = {"answered_at_s_after_injection": WINDOW_AFTER_S}
    tagged: list[dict[str, Any]] = []
    for run in RUNS:
        rows = answers_as_the_day_goes(day, config, faults, run == "with", progress, seed)
        again = repeats(rows)
        summary[run] = {
            "all": accuracy(rows)["pipeline"],
            "repeated_root": accuracy([r for r, a in zip(rows, again, strict=True) if a])[
                "pipeline"
            ],
        }
        tagged += [dict(row, run=run) for row in rows]
    summary["faults_with_repeated_root"] = sum(repeats([r for r in tagged if r["run"] == "with"]))
    return summary, tagged
