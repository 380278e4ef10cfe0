"""Invariants of the correlator over random alert streams (hypothesis)."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.records import SEVERITIES, Alert
from tests.helpers import T0, pipeline

SERVICES = ["web", "checkout", "payments", "payments-db", "search", "auth", "mail", "reports"]
NAMES = ["HighLatency", "HighErrorRate", "DBDown", "OOMKilled", "DiskUsageHigh", "NodeNotReady"]

event = st.tuples(
    st.floats(min_value=0, max_value=7200, allow_nan=False),  # event time offset
    st.integers(min_value=0, max_value=len(SERVICES) - 1),
    st.integers(min_value=0, max_value=len(NAMES) - 1),
    st.sampled_from(SEVERITIES),
    st.sampled_from(["firing", "firing", "resolved"]),
    st.integers(min_value=1, max_value=2),  # replica
)


def alerts_from(events):
    return [
        Alert(
            id=f"a{i}",
            time=T0 + t,
            name=NAMES[n],
            status=status,
            severity=sev,
            service=SERVICES[s],
            resource=f"{SERVICES[s]}-{r}" if SERVICES[s] in ("payments", "checkout") else None,
        )
        for i, (t, s, n, sev, status, r) in enumerate(events)
    ]


def replay(alerts):
    """Final state of every incident (by id) and the suppressed alert ids."""
    p = pipeline()
    states, suppressed = {}, []
    for i, a in enumerate(alerts):
        p.process(a)
        if i % 7 == 0:  # drain at odd points, as a live service would
            d = p.drain()
            states.update({inc.id: inc.to_dict() for inc in d.incidents})
            suppressed += [s.alert_id for s in d.suppressed]
    d = p.finish()
    states.update({inc.id: inc.to_dict() for inc in d.incidents})
    suppressed += [s.alert_id for s in d.suppressed]
    for inc in p.store.live.values():  # incidents that stayed live were drained above
        states[inc.id] = inc.to_dict()
    return states, suppressed


settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")


@given(st.lists(event, min_size=1, max_size=120))
@settings(max_examples=150)
def test_every_alert_is_in_at_most_one_incident_and_none_is_lost(events):
    alerts = alerts_from(events)
    states, suppressed = replay(alerts)
    placed = [a for inc in states.values() for a in inc["alert_ids"]]
    assert len(placed) == len(set(placed)), "an alert id in two incidents"
    assert not set(placed) & set(suppressed), "an alert both in an incident and suppressed"
    assert sorted(placed + suppressed) == sorted(a.id for a in alerts), "an alert was lost"


@given(st.lists(event, min_size=1, max_size=80))
@settings(max_examples=60)
def test_same_input_same_incidents_and_ids(events):
    assert replay(alerts_from(events)) == replay(alerts_from(events))


@given(st.lists(event, min_size=1, max_size=80))
@settings(max_examples=60)
def test_merged_incidents_hold_nothing_and_point_to_a_survivor(events):
    states, _ = replay(alerts_from(events))
    for inc in states.values():
        if inc["merged_into"]:
            assert inc["alert_ids"] == [] and inc["status"] == "resolved"
            assert inc["merged_into"] in states
        else:
            assert 0.0 <= min((c["score"] for c in inc["root_cause"]), default=0) <= 1.0
