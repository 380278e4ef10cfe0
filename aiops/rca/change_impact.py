"""For a change, the incidents it likely caused: every incident whose ranking lists it, from
its `suspected_changes` (changes scoring at least `root_cause.suspect_min_score`) or its
`root_cause` list, best score first."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def incidents_of_change(
    change_id: str, incidents: Iterable[dict[str, Any]], min_score: float = 0.0
) -> list[dict[str, Any]]:
    rows = []
    for inc in incidents:
        found: dict[str, Any] | None = None
        for rank, c in enumerate(inc.get("root_cause") or (), start=1):
            if c.get("kind") == "change" and c.get("entity") == change_id:
                found = {
                    "score": c["score"],
                    "rank": rank,
                    "on": c.get("on"),
                    "evidence": c.get("evidence", ""),
                }
                break
        for c in inc.get("suspected_changes") or ():
            if c.get("change") == change_id and (found is None or c["score"] > found["score"]):
                found = {
                    **(found or {"rank": None}),
                    "score": c["score"],
                    "on": c.get("entity"),
                    "evidence": c.get("evidence", ""),
                }
        if found is None or found["score"] < min_score:
            continue
        rows.append(
            {
                "incident": inc["id"],
                "title": inc.get("title", ""),
                "started_at": inc.get("started_at") or inc.get("opened_at"),
                "status": inc.get("status"),
                "priority": inc.get("priority"),
                "services": inc.get("services", []),
                **found,
            }
        )
    rows.sort(key=lambda r: (-r["score"], r["started_at"] or "", r["incident"]))
    return rows
