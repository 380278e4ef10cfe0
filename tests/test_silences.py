import pytest

from pipeline.silences import MatcherError, parse_matcher
from tests.helpers import T0, alert, groups, pipeline, run


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ('service="payments"', "payments", True),
        ('service="payments"', "payments-db", False),
        ('service!="payments"', "payments-db", True),
        ('alertname=~"Disk.*"', "DiskFull", True),
        ('alertname=~"Disk"', "DiskFull", False),  # anchored, as in Alertmanager
        ('alertname!~"Disk.*"', "HighLatency", True),
        ("env=prod", "prod", True),  # unquoted values are accepted
    ],
)
def test_matchers(text, value, expected):
    m = parse_matcher(text)
    assert m.matches({m.name: value}) is expected


def test_a_missing_label_matches_like_the_empty_string():
    assert parse_matcher('team=""').matches({}) is True
    assert parse_matcher('team!=""').matches({}) is False


@pytest.mark.parametrize("text", ["service", "=x", 'a=~"("'])
def test_bad_matchers_are_rejected(text):
    with pytest.raises(MatcherError):
        parse_matcher(text)


def test_an_active_silence_suppresses_with_a_reason_and_only_in_its_window():
    p = pipeline(
        silences=[
            {
                "matchers": ['service="payments-db"'],
                "starts_at": T0,
                "ends_at": T0 + 600,
                "comment": "db maintenance",
            }
        ]
    )
    incs = run(
        p,
        [
            alert("in", 60, "DBDown", "payments-db", severity="critical"),
            alert("after", 700, "DBDown", "payments-db", severity="critical"),
        ],
    )
    drained_suppressed = p.drain().suppressed  # already drained by run(); nothing new
    assert drained_suppressed == []
    assert groups(incs) == [{"after"}]
    assert p.counts["silenced"] == 1


def test_inhibition_mutes_warnings_while_a_critical_fires_on_the_same_service():
    p = pipeline(
        inhibit_rules=[
            {
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity="warning"'],
                "equal": ["service"],
            }
        ]
    )
    for r in [
        alert("crit", 0, "DBDown", "payments-db", severity="critical"),
        alert("warn", 10, "SlowQueries", "payments-db", "payments-db-2", severity="warning"),
        alert("other", 20, "DiskUsageHigh", "mail", severity="warning"),
    ]:
        p.process(r)
    reasons = {s.alert_id: s.reason for s in p.drain().suppressed}
    assert list(reasons) == ["warn"] and reasons["warn"].startswith("inhibited by firing alert")
    # Once the source resolves, the same warning is no longer muted.
    p.process(alert("res", 30, "DBDown", "payments-db", severity="critical", status="resolved"))
    p.process(alert("warn2", 40, "SlowQueries", "payments-db", "payments-db-2", severity="warning"))
    assert [s.alert_id for s in p.drain().suppressed] == []
    assert p.counts["inhibited"] == 1
