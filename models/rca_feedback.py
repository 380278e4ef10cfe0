"""Teaching the root-cause ranker from a problem manager's verdict.

A verdict comes with the context of the ranking it judges (`pipeline.feedback`): the
candidates with their signals, the changes, the incident's tokens. The confirmed root should
have outscored every other candidate: one pairwise SGD step per (root, other) pair moves the
entity scorer that way (a confirmed change does the same for the change scorer). The incident
also becomes a past case, so the next incident that looks like it gets the `history` signal
for that root, even when the root is a service the incident's alerts do not name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models.rca_history import IncidentHistory, PastCase, incident_tokens
from models.rca_model import RootCauseModel
from pipeline.feedback import Feedback


def rounded(signals: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in signals.items() if v}


def _valid(c: Any) -> bool:
    return (
        isinstance(c, dict)
        and isinstance(c.get("entity"), str)
        and isinstance(c.get("signals"), dict)
    )


def _floats(signals: dict[str, Any]) -> dict[str, float]:
    return {
        str(k): float(v)
        for k, v in signals.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }


def context_from_incident(doc: dict[str, Any]) -> dict[str, Any]:
    """The feedback context of an incident as written to incidents.jsonl (its `root_cause`
    entries carry their signals), for feedback given after the pipeline has moved on."""
    entries = [c for c in doc.get("root_cause") or () if _valid(c)]
    title = str(doc.get("title") or "")
    return {
        "title": title,
        "started_at": doc.get("started_at"),
        "tokens": sorted(
            incident_tokens(
                doc.get("services") or (), doc.get("nodes") or (), doc.get("alert_names") or ()
            )
        ),
        "candidates": [
            {"entity": c["entity"], "kind": c.get("kind", "service"), "signals": c["signals"]}
            for c in entries
            if c.get("kind") != "change"
        ],
        "changes": [
            {"entity": c["entity"], "on": c.get("on"), "signals": c["signals"]}
            for c in entries
            if c.get("kind") == "change"
        ],
    }


def teach(
    fb: Feedback,
    ctx: dict[str, Any],
    model: RootCauseModel,
    history: IncidentHistory,
    service_of: Callable[[str], str | None],
) -> None:
    """Apply one verdict with its context to the scorers and the history."""
    cands = [c for c in ctx.get("candidates") or () if _valid(c)]
    changes = [c for c in ctx.get("changes") or () if _valid(c)]
    roots = {fb.root}
    if service_of(fb.root):
        roots.add(str(service_of(fb.root)))
    if fb.kind == "change":
        roots.update(str(c.get("on")) for c in changes if c["entity"] == fb.root)

    def is_root(entity: str) -> bool:
        return entity in roots or service_of(entity) in roots

    _pairs(model, "entity", [c for c in cands if is_root(c["entity"])], cands, is_root)
    if fb.kind == "change":
        confirmed = [c for c in changes if c["entity"] == fb.root]
        _pairs(model, "change", confirmed, changes, lambda e: e == fb.root)
    tokens = ctx.get("tokens")
    if isinstance(tokens, list) and tokens:
        # A confirmed change stands for the entity it touched in similar incidents.
        touched = sorted(roots - {fb.root}) if fb.kind == "change" else []
        history.add(
            PastCase(
                key=fb.incident,
                tokens=frozenset(str(t) for t in tokens),
                root=touched[0] if touched else fb.root,
                kind=fb.kind,
                title=str(ctx.get("title") or ""),
                resolution=fb.note,
            )
        )


def _pairs(
    model: RootCauseModel,
    which: str,
    positives: list[dict[str, Any]],
    all_: list[dict[str, Any]],
    is_root: Callable[[str], bool],
) -> None:
    scorer = model.entity if which == "entity" else model.change
    for pos in positives:
        better = _floats(pos["signals"])
        for other in all_:
            if not is_root(other["entity"]):
                scorer.learn_pair(better, _floats(other["signals"]))
