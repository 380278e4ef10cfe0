from pipeline.config import load_config
from pipeline.dedup import Deduplicator, Outcome
from pipeline.fingerprint import alert_label_set, label_fingerprint
from tests.helpers import T0, alert


def dedup(**overrides):
    return Deduplicator(load_config(overrides={"dedup": overrides} if overrides else None).dedup)


def feed(d, *alerts):
    out = []
    for a in alerts:
        out.append(d.process(a, d.fingerprint(a))[0])
    return out


def test_upstream_fingerprint_is_kept_verbatim():
    d = dedup()
    a = alert("a1", 0, "X", "svc")
    a.fingerprint = "0123456789abcdef"
    assert d.fingerprint(a) == "0123456789abcdef"


def test_canonical_fingerprint_ignores_id_time_and_severity_but_not_labels():
    d = dedup()
    a = alert("a1", 0, "HighLatency", "checkout", "checkout-2", env="prod")
    b = alert("a2", 60, "HighLatency", "checkout", "checkout-2", severity="critical", env="prod")
    c = alert("a3", 60, "HighLatency", "checkout", "checkout-2", env="staging")
    assert d.fingerprint(a) == d.fingerprint(b) != d.fingerprint(c)


def test_prometheus_label_set_hashes_like_alertmanager():
    labels = {
        "alertname": "SLOBurnRateFast",
        "env": "prod",
        "instance": "cart-web-1",
        "service": "cart-web",
        "severity": "minor",
    }
    # The label set is used as it is, so service/resource fields do not alter it.
    assert alert_label_set("SLOBurnRateFast", "cart-web", "cart-web-1", labels) == labels
    assert label_fingerprint(labels) == "44e536a739afc86d"  # Alertmanager's, from the dataset


def test_ignore_labels_are_left_out_of_the_fingerprint():
    d = dedup(ignore_labels=["value"])
    a = alert("a1", 0, "DiskFull", "db", value="91")
    b = alert("a2", 10, "DiskFull", "db", value="93")
    assert d.fingerprint(a) == d.fingerprint(b)


def test_outcomes_over_an_alert_lifetime():
    d = dedup()
    mk = lambda i, t, **kw: alert(i, t, "HighLatency", "checkout", "checkout-2", **kw)  # noqa: E731
    assert feed(
        d,
        mk("a1", 0),
        mk("a2", 60),  # same content: full duplicate
        mk("a3", 120, severity="critical"),  # escalated: partial duplicate
        mk("a4", 300, status="resolved"),
        mk("a5", 310, status="resolved"),
        mk("a6", 200),  # fired before the resolve we already saw: late
        mk("a7", 900),  # fires again
        mk("a7", 900),  # the same event delivered twice
    ) == [
        Outcome.NEW,
        Outcome.DUPLICATE,
        Outcome.UPDATE,
        Outcome.RESOLVE,
        Outcome.RESOLVE_AGAIN,
        Outcome.LATE,
        Outcome.REFIRE,
        Outcome.REDELIVERED,
    ]
    assert d.counts["duplicate"] == 1 and d.counts["redelivered"] == 1


def _resolve_then_fire(resolved_at: float, fired_at: float):
    """A resolve delivered first, then a firing of the same alert: its state."""
    d = dedup()
    res = alert("r", resolved_at, "X", "svc", status="resolved")
    fire = alert("f", fired_at, "X", "svc")
    assert feed(d, res, fire) == [Outcome.UNSEEN_RESOLVE, Outcome.NEW]
    return d.states[d.fingerprint(fire)]


def test_resolve_delivered_before_its_firing():
    state = _resolve_then_fire(60, 0)
    assert state.onset == T0 and state.firing is False


def test_a_firing_newer_than_the_resolve_delivered_first_is_firing():
    """Only the end of an earlier episode came; the alert fired again after it."""
    state = _resolve_then_fire(0, 60)
    assert state.firing is True
    assert state.onset == state.status_time == T0 + 60


def test_acknowledge_folds_only_into_a_known_alert():
    d = dedup()
    ack = alert("k1", 5, "X", "svc", status="acknowledged")
    assert feed(d, ack) == [Outcome.UNSEEN_RESOLVE]
    d2 = dedup()
    assert feed(
        d2, alert("a", 0, "X", "svc"), alert("k", 5, "X", "svc", status="acknowledged")
    ) == [
        Outcome.NEW,
        Outcome.ACK,
    ]


def test_flapping_is_marked_and_clears_after_the_window():
    d = dedup(flap_threshold=4, flap_window_s=600)
    events = []
    for i in range(3):
        events.append(alert(f"f{i}", i * 60, "Flappy", "svc"))
        events.append(alert(f"r{i}", i * 60 + 30, "Flappy", "svc", status="resolved"))
    feed(d, *events)
    state = next(iter(d.states.values()))
    assert state.flapping  # 5 status changes within 10 minutes
    d.sweep(T0 + 150 + 601)
    assert not state.flapping


def test_sweep_times_out_silent_alerts_and_forgets_resolved_ones():
    d = dedup(alert_timeout_s=600, resolved_ttl_s=300, redelivery_window_s=100)
    feed(
        d,
        alert("a", 0, "Stuck", "svc"),
        alert("b", 0, "Done", "svc"),
        alert("c", 10, "Done", "svc", status="resolved"),
    )
    timed_out = d.sweep(T0 + 400)
    assert timed_out == [] and len(d.states) == 1  # "Done" forgotten after 300 s
    assert d.remembered_ids() == 0  # ids older than 100 s dropped
    timed_out = d.sweep(T0 + 700)
    assert [s.name for s in timed_out] == ["Stuck"] and not timed_out[0].firing
