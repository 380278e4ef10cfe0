"""Root-cause feedback: a problem manager confirms or corrects an incident's root cause.

One record per decision, the same shape in the feedback store (JSONL, one record per line,
appended in the order decisions were made) and on the `aiops.feedback` topic:

```json
{"incident": "inc-3f2a9c0d1b7e", "root": "payments-db", "kind": "service",
 "by": "alice", "at": "2026-01-05T11:02:00Z", "note": "pool exhausted after CHG0042",
 "context": {"title": "...", "started_at": "...", "tokens": ["svc:payments", ...],
             "candidates": [{"entity": "payments-db", "kind": "service",
                             "signals": {"explains": 1.0, ...}}],
             "changes": [{"entity": "CHG0042", "signals": {...}}]}}
```
Required: `incident`, `root`. `kind` is `service` (default), `resource`, `node` or `change`;
`by` defaults to `unknown`; `at` is ISO 8601 with a zone or epoch seconds (default: when it
was recorded). `context` is what the ranker saw when it ranked the incident (its candidates'
signals and the incident's tokens): with it a record teaches on its own, so replaying the
store rebuilds the learned state without the incidents. A message without `context` is
completed by the pipeline that ranked the incident (`Pipeline.feedback` returns the record to
persist).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from pipeline.records import RecordError
from pipeline.times import TimeError, format_time, parse_time

ROOT_KINDS = ("service", "resource", "node", "change")


@dataclass(slots=True)
class Feedback:
    incident: str
    root: str
    kind: str = "service"
    by: str = "unknown"
    at: float = 0.0
    note: str = ""
    context: dict[str, Any] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "incident": self.incident,
            "root": self.root,
            "kind": self.kind,
            "by": self.by,
            "at": format_time(self.at),
        }
        if self.note:
            out["note"] = self.note
        if self.context is not None:
            out["context"] = self.context
        return out


def _text(doc: dict[str, Any], key: str, required: bool = False) -> str | None:
    value = doc.get(key)
    if value is None:
        if required:
            raise RecordError(f"feedback has no {key!r}")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise RecordError(f"feedback {key!r} must be a non-empty string")
    return value.strip()


def feedback_from_dict(doc: Any, now: float | None = None) -> Feedback:
    """Validate one feedback record; raises RecordError with the reason."""
    if not isinstance(doc, dict):
        raise RecordError("feedback must be a JSON object")
    incident = _text(doc, "incident", required=True)
    root = _text(doc, "root", required=True)
    assert incident is not None and root is not None
    kind = _text(doc, "kind") or "service"
    if kind not in ROOT_KINDS:
        raise RecordError(f"feedback kind {kind!r} is not one of {', '.join(ROOT_KINDS)}")
    at_raw = doc.get("at")
    try:
        at = parse_time(at_raw) if at_raw is not None else (now if now is not None else time.time())
    except TimeError as exc:
        raise RecordError(f"feedback 'at': {exc}") from None
    context = doc.get("context")
    if context is not None and not isinstance(context, dict):
        raise RecordError("feedback 'context' must be an object")
    return Feedback(
        incident=incident,
        root=root,
        kind=kind,
        by=_text(doc, "by") or "unknown",
        at=at,
        note=_text(doc, "note") or "",
        context=context,
    )
