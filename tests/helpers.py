"""Small builders shared by the pipeline tests."""

from __future__ import annotations

from typing import Any

from aiops.wiring import build_pipeline
from pipeline.config import load_config
from pipeline.engine import Pipeline
from pipeline.records import Alert, Change
from pipeline.topology import Topology

T0 = 1767607200.0  # 2026-01-05T10:00:00Z


def alert(
    id: str,
    t: float,
    name: str,
    service: str | None = None,
    resource: str | None = None,
    severity: str = "major",
    status: str = "firing",
    **labels: str,
) -> Alert:
    return Alert(
        id=id,
        time=T0 + t,
        name=name,
        status=status,
        severity=severity,
        service=service,
        resource=resource,
        labels=dict(labels),
    )


def change(id: str, t: float, service: str, type: str = "deploy") -> Change:
    return Change(id=id, time=T0 + t, service=service, type=type, summary=f"{service} rollout")


def topology(doc: dict[str, Any]) -> Topology:
    return Topology.from_dict(doc)


# payments-db <- payments <- checkout <- web; search <- web; auth <- payments, search;
# inventory-db <- inventory <- checkout; reports-db <- reports; mail
SHOP = {
    "services": {
        "web": {"depends_on": ["checkout", "search"], "criticality": "high"},
        "checkout": {"depends_on": ["payments", "inventory"]},
        "payments": {"depends_on": ["payments-db", "auth"]},
        "inventory": {"depends_on": ["inventory-db"]},
        "search": {"depends_on": ["search-index", "auth"]},
        "auth": {},
        "payments-db": {},
        "inventory-db": {},
        "search-index": {},
        "mail": {},
        "reports": {"depends_on": ["reports-db"]},
        "reports-db": {},
    },
    "resources": {
        "payments-1": {"service": "payments", "node": "node-1"},
        "payments-2": {"service": "payments", "node": "node-2"},
        "checkout-1": {"service": "checkout", "node": "node-1"},
        "checkout-2": {"service": "checkout", "node": "node-2"},
        "mail-1": {"service": "mail", "node": "node-1"},
        "reports-1": {"service": "reports", "node": "node-3"},
        "search-1": {"service": "search", "node": "node-3"},
    },
}


def pipeline(
    doc: dict[str, Any] | None = None, *, link_model: Any = None, **overrides: Any
) -> Pipeline:
    """A pipeline over the SHOP topology. Correlation uses the hand-weighted link score unless
    a link model is given (`aiops.wiring.CONFIGURED` for the shipped one): the mechanics
    tests pin exact rules; tests/test_link_model.py covers the learned model."""
    config = load_config(overrides=overrides or None)
    return build_pipeline(config, topology(doc or SHOP), link_model)


def run(p: Pipeline, records: list[Alert | Change], finish: bool = False) -> dict[str, dict]:
    """Process records; return the latest emitted state of every incident by id."""
    out: dict[str, dict] = {}
    for r in records:
        p.process(r)
    drained = p.finish() if finish else p.drain()
    for inc in drained.incidents:
        out[inc.id] = inc.to_dict()
    return out


def groups(incidents: dict[str, dict]) -> list[set[str]]:
    """Alert id sets of incidents that still hold alerts."""
    return sorted(
        (set(i["alert_ids"]) for i in incidents.values() if i["alert_ids"]),
        key=lambda s: sorted(s),
    )
