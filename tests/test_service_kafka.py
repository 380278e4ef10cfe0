"""`aiops run` against the real broker: same incidents as `aiops replay`, redeliveries and
crashes change nothing, offsets never run ahead of acknowledged outputs."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import orjson
import pytest

from aiops.cli import main
from connectors.files import DeadLetter, merge_streams, read_alerts, read_changes
from connectors.kafka.checkpoint import Snapshot, read_latest, snapshot_key, state_digest
from connectors.kafka.messages import alert_messages, change_message
from pipeline.config import load_config
from tests.kafka_helpers import KafkaBroker, kafka_broker  # noqa: F401  (the fixture)
from tests.service_helpers import (
    Deployment,
    free_port,
    live_groups,
    replay_incidents,
    scrape,
    small_scenario,
    stop,
    wait_for,
)

pytestmark = pytest.mark.slow

BAD_MESSAGES = [
    b"not json at all",
    b'{"id": "x-1", "time": "2026-01-05T08:00:00Z"}',
    b'{"version": "3", "alerts": [], "receiver": "r"}',
    b'{"version": "4", "receiver": "r", "alerts": [{"labels": {"service": "s"}, '
    b'"startsAt": "2026-01-05T08:00:00Z"}]}',
]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_scenario(tmp_path_factory.mktemp("scenario"))


@pytest.fixture(scope="module")
def replayed(scenario: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    return replay_incidents(scenario, tmp_path_factory.mktemp("replay"))


@pytest.fixture(scope="module")
def expected(replayed: dict[str, dict]) -> list[list[str]]:
    return live_groups(replayed)


def test_backlog_gives_replays_incidents_and_redelivery_adds_nothing(
    kafka_broker: KafkaBroker,  # noqa: F811
    scenario: Path,
    expected: list[list[str]],
) -> None:
    d = Deployment.create(kafka_broker, "backlog")
    try:
        kafka_broker.produce(d.topics.alerts, [(b"", m) for m in BAD_MESSAGES])
        n_alerts, n_changes = d.produce_scenario(scenario)
        d.run_until_caught_up(topology=scenario / "topology.yaml")
        first = d.latest_incidents()
        assert live_groups(first) == expected

        letters = [json.loads(r.value) for r in kafka_broker.read_all(d.topics.dead_letter)]
        assert sorted(x["offset"] for x in letters) == [0, 1, 2, 3]
        for letter in letters:
            assert letter["topic"] == d.topics.alerts and letter["partition"] == 0
            assert letter["error"] and letter["raw"] == BAD_MESSAGES[letter["offset"]].decode()
        assert "alertname" in next(x["error"] for x in letters if x["offset"] == 3)

        # The last 100 alert messages arrive a second time (a producer retried them).
        lines = (scenario / "alerts.jsonl").read_bytes().splitlines()[-100:]
        kafka_broker.produce(d.topics.alerts, [m for x in lines for m in alert_messages(x, "env")])
        d.run_until_caught_up(topology=scenario / "topology.yaml")
        second = d.latest_incidents()
        assert set(second) == set(first)  # no second incident
        assert live_groups(second) == expected
        ids = [a for inc in second.values() for a in inc["alert_ids"]]
        assert len(ids) == len(set(ids))  # no duplicate alert entry
        committed = d.committed()
        assert committed == d.end_offsets()
        assert sum(committed.values()) == len(BAD_MESSAGES) + n_alerts + 100 + n_changes

        # A crash after the snapshot but before the commit leaves the committed offsets
        # behind the snapshot's: a restart resumes from the snapshot's, processing nothing.
        messages = len(kafka_broker.read_all(d.topics.incidents))
        d.set_committed(dict.fromkeys(committed, 0))
        log = d.run_until_caught_up(topology=scenario / "topology.yaml")
        assert "restored at offsets" in log and "stopped after 0 records" in log
        assert len(kafka_broker.read_all(d.topics.incidents)) == messages
    finally:
        d.delete()


def test_kill_9_mid_stream_then_restart_gives_replays_incidents(
    kafka_broker: KafkaBroker,  # noqa: F811
    scenario: Path,
    expected: list[list[str]],
    replayed: dict[str, dict],
    tmp_path: Path,
) -> None:
    d = Deployment.create(kafka_broker, "kill9")
    topology = scenario / "topology.yaml"
    # Checkpoints only by time: 3 s after the first record not yet checkpointed.
    options = ("--checkpoint-records", "1000000", "--checkpoint-interval-s", "3")
    options += ("--instance-id", "worker-1")  # static membership: the restart takes over at once
    parts = _merged_parts(scenario, (200, 240))

    def send(part: tuple[list[bytes], list[bytes]]) -> None:
        alerts, changes = part
        kafka_broker.produce(d.topics.alerts, [alert_messages(x, "env")[0] for x in alerts])
        kafka_broker.produce(d.topics.changes, [change_message(x, "env") for x in changes])

    try:
        send(parts[0])
        checkpointed = d.end_offsets()
        service = d.start(*options, topology=topology, log=tmp_path / "run1.log")
        try:
            wait_for(lambda: d.committed() == checkpointed, 60, "the first part checkpointed")
            produced = len(kafka_broker.read_all(d.topics.incidents))
            send(parts[1])
            # Its outputs are out, its checkpoint is not due for 3 s: kill it now.
            wait_for(
                lambda: len(kafka_broker.read_all(d.topics.incidents)) > produced,
                20,
                "outputs of the second part",
                step=0.05,
            )
        finally:
            assert stop(service, signal.SIGKILL) == -signal.SIGKILL
        assert d.committed() == checkpointed  # processed and produced, not committed

        send(parts[2])
        log = d.run_until_caught_up(*options, topology=topology)
        assert "restored at offsets" in log
        assert live_groups(d.latest_incidents()) == expected
        assert d.committed() == d.end_offsets()
        # Not only the groups: the latest message of every incident is replay's final state,
        # field for field (ids, versions, root causes), although the second part was
        # processed, and its outputs produced, twice.
        latest = d.latest_incidents()
        assert {k: latest[k] for k in replayed} == replayed
    finally:
        d.delete()


def _merged_parts(scenario: Path, cuts: tuple[int, ...]) -> list[tuple[list[bytes], list[bytes]]]:
    """The alert and change lines cut into parts at record counts `cuts` of replay's merged
    order (the parts of each file stay in file order)."""
    alerts = (scenario / "alerts.jsonl").read_bytes().splitlines()
    changes = (scenario / "changes.jsonl").read_bytes().splitlines()
    merged = merge_streams(
        read_alerts(scenario / "alerts.jsonl"), read_changes(scenario / "changes.jsonl")
    )
    ends: list[tuple[int, int]] = []
    n_alerts = n_changes = 0
    for i, record in enumerate(merged):
        if i in cuts:
            ends.append((n_alerts, n_changes))
        assert not isinstance(record, DeadLetter)
        if record.id.startswith("a-"):
            n_alerts += 1
        else:
            n_changes += 1
    ends.append((n_alerts, n_changes))
    parts, start = [], (0, 0)
    for end in ends:
        parts.append((alerts[start[0] : end[0]], changes[start[1] : end[1]]))
        start = end
    return parts


def test_offsets_stay_uncommitted_while_outputs_are_rejected(
    kafka_broker: KafkaBroker,  # noqa: F811
    scenario: Path,
) -> None:
    # The broker refuses every incident message (too large for the topic): nothing that
    # produced one may be committed, and no snapshot may claim those records.
    d = Deployment.create(kafka_broker, "rejected", incidents_configs={"max.message.bytes": "200"})
    try:
        d.produce_scenario(scenario)
        result = __import__("subprocess").run(
            d.args("--exit-when-caught-up", topology=scenario / "topology.yaml"),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 1, result.stderr[-2000:]
        assert "not acknowledged" in result.stderr
        assert d.committed() == {}
        assert read_latest(kafka_broker.bootstrap_servers, d.topics.checkpoints, {b""}) == {}
        assert kafka_broker.read_all(d.topics.checkpoints) == []
    finally:
        d.delete()


def test_sigterm_flushes_snapshots_and_commits_and_metrics_count(
    kafka_broker: KafkaBroker,  # noqa: F811
    scenario: Path,
    expected: list[list[str]],
    tmp_path: Path,
) -> None:
    d = Deployment.create(kafka_broker, "sigterm", suppressed=True)
    port = free_port()
    try:
        n_alerts, n_changes = d.produce_scenario(scenario)
        # No checkpoint would happen on its own within this test.
        options = ("--checkpoint-records", "1000000", "--checkpoint-interval-s", "600")
        options += ("--metrics-port", str(port), "--metrics-addr", "127.0.0.1")
        service = d.start(*options, topology=scenario / "topology.yaml", log=tmp_path / "run.log")
        try:
            wait_for(lambda: live_groups(d.latest_incidents()) == expected, 60, "all incidents")
            assert d.committed() == {}
            metrics: dict = {}

            def settled() -> bool:  # not in the middle of a (start-up) rebalance
                metrics.update(scrape(port))
                return metrics.get("aiops_shards", {}).get((), 0) == 1

            wait_for(settled, 30, "one shard")
        finally:
            assert stop(service, signal.SIGTERM) == 0, (tmp_path / "run.log").read_text()
        assert d.committed() == d.end_offsets()
        # The latest snapshot is the one SIGTERM wrote: the end of both topics (a rebalance
        # at start-up may have written an earlier one).
        key = snapshot_key(d.group, d.topics.alerts, d.topics.changes, 0)
        value = read_latest(kafka_broker.bootstrap_servers, d.topics.checkpoints, {key})[key]
        topology = (scenario / "topology.yaml").read_bytes()
        snapshot = Snapshot.decode(value, state_digest(load_config(), topology))
        assert snapshot.offsets == {tp.topic: o for tp, o in d.end_offsets().items()}
        assert d.topics.suppressed is not None
        suppressed = [json.loads(r.value) for r in kafka_broker.read_all(d.topics.suppressed)]
        in_incidents = {a for g in expected for a in g}
        assert suppressed and all(s["reason"] for s in suppressed)
        assert not {s["alert_id"] for s in suppressed} & in_incidents
    finally:
        d.delete()
    events = metrics["aiops_events_in_total"]
    assert sum(events.values()) == n_alerts + n_changes
    assert events[(("source", "change"), ("topic", d.topics.changes))] == n_changes
    assert sum(v for k, v in events.items() if dict(k)["topic"] == d.topics.alerts) == n_alerts
    assert metrics["aiops_incidents_opened_total"][()] >= len(expected)
    assert metrics["aiops_incidents_open"][()] >= 1
    assert sum(metrics["aiops_duplicates_folded_total"].values()) > 0
    assert metrics.get("aiops_dead_letters_total", {}) == {}
    assert sum(metrics["aiops_suppressed_total"].values()) == len(suppressed)
    assert set(metrics["aiops_consumer_lag"].values()) == {0.0}
    assert metrics["aiops_poll_to_produce_seconds_count"][()] > 0
    assert metrics["aiops_checkpoint_age_seconds"][()] > 0  # none written yet: since start
    assert metrics["aiops_shards"][()] == 1


def test_broker_restart_under_a_running_service(
    kafka_broker: KafkaBroker,  # noqa: F811
    scenario: Path,
    expected: list[list[str]],
    tmp_path: Path,
) -> None:
    d = Deployment.create(kafka_broker, "restart")
    parts = _merged_parts(scenario, (250,))
    log = tmp_path / "run.log"
    try:
        for part in parts[:1]:
            kafka_broker.produce(d.topics.alerts, [alert_messages(x, "env")[0] for x in part[0]])
            kafka_broker.produce(d.topics.changes, [change_message(x, "env") for x in part[1]])
        service = d.start(
            "--checkpoint-interval-s", "0.5", topology=scenario / "topology.yaml", log=log
        )
        try:
            wait_for(lambda: d.committed() == d.end_offsets(), 60, "the first part processed")
            kafka_broker.restart()
            alerts, changes = parts[1]
            kafka_broker.produce(d.topics.alerts, [alert_messages(x, "env")[0] for x in alerts])
            kafka_broker.produce(d.topics.changes, [change_message(x, "env") for x in changes])
            wait_for(lambda: d.committed() == d.end_offsets(), 90, "the rest after the restart")
            assert service.poll() is None, log.read_text()
        finally:
            assert stop(service) == 0, log.read_text()
        assert live_groups(d.latest_incidents()) == expected
    finally:
        d.delete()


def test_two_workers_share_partitions_by_scope_and_hand_over_state(
    kafka_broker: KafkaBroker,  # noqa: F811
    scenario: Path,
    expected: list[list[str]],
    tmp_path: Path,
) -> None:
    """Two copies of the scenario in two scopes that hash to different partitions. One worker
    takes both shards and processes the first part; a second worker joins, the rebalance
    hands one shard over (restored from its snapshot), the rest arrives, and each scope's
    incidents are replay's."""
    from kafka.partitioner.default import murmur2

    other = next(
        s for s in ("stage", "dev", "qa") if murmur2(s.encode()) % 2 != murmur2(b"prod") % 2
    )
    scopes = ("prod", other)
    d = Deployment.create(kafka_broker, "scale", partitions=2)
    parts = _merged_parts(scenario, (200,))
    logs = [tmp_path / "worker0.log", tmp_path / "worker1.log"]

    def send(part: int) -> None:
        for scope in scopes:
            alerts, changes = _scoped(parts[part], scope)
            kafka_broker.produce(d.topics.alerts, alerts)
            kafka_broker.produce(d.topics.changes, changes)

    topology = scenario / "topology.yaml"
    options = ("--checkpoint-interval-s", "0.5")
    workers = []
    try:
        send(0)
        workers.append(d.start(*options, topology=topology, log=logs[0]))
        wait_for(lambda: d.committed() == d.end_offsets(), 60, "the first part processed")
        assert "assigned shards [0, 1]" in logs[0].read_text()
        workers.append(d.start(*options, topology=topology, log=logs[1]))
        wait_for(
            lambda: (
                _last_assignment(logs[1]) not in (None, "[]")
                and _last_assignment(logs[0]) != "[0, 1]"
            ),
            60,
            "the rebalance",
        )
        send(1)
        wait_for(lambda: d.committed() == d.end_offsets(), 60, "the second part processed")
        texts = [x.read_text() for x in logs]
        assert {_last_assignment(x) for x in logs} == {"[0]", "[1]"}, texts
        assert "restored at offsets" in texts[1], texts[1]
    finally:
        for worker in workers:  # the first to stop hands its shard to the other
            assert stop(worker) == 0
    incidents = d.latest_incidents()
    d.delete()
    for scope in scopes:
        prefix = f"{scope}-"
        mine = {
            k: v
            for k, v in incidents.items()
            if v["alert_ids"][:1] and v["alert_ids"][0].startswith(prefix)
        }
        groups = [sorted(a.removeprefix(prefix) for a in g) for g in live_groups(mine)]
        assert sorted(groups) == expected, scope


def _last_assignment(log: Path) -> str | None:
    lines = [x for x in log.read_text().splitlines() if "assigned shards" in x]
    return lines[-1].split("assigned shards ")[1].split(" of ")[0] if lines else None


def _scoped(part: tuple[list[bytes], list[bytes]], scope: str) -> tuple[list, list]:
    """Messages of a part with ids prefixed by `scope` and the scope label set to it."""
    alerts = []
    for line in part[0]:
        obj = orjson.loads(line)
        obj["id"] = f"{scope}-{obj['id']}"
        obj["labels"]["env"] = scope
        alerts.extend(alert_messages(orjson.dumps(obj), "env"))
    changes = []
    for line in part[1]:
        obj = orjson.loads(line)
        obj["id"] = f"{scope}-{obj['id']}"
        obj["labels"] = {"env": scope}
        changes.append(change_message(orjson.dumps(obj), "env"))
    return alerts, changes


def test_idle_advance_lets_a_quiet_shard_resolve_its_incidents(
    kafka_broker: KafkaBroker,  # noqa: F811
) -> None:
    """With --idle-advance-s, a caught-up shard's event clock follows the wall clock while
    nothing arrives (here: 400 quiet seconds, faked), so the resolved alert's quiet period
    passes and the incident resolves without another event."""
    from aiops.wiring import build_pipeline
    from connectors.kafka.service import Service
    from connectors.kafka.settings import Settings
    from pipeline.topology import Topology

    d = Deployment.create(kafka_broker, "idle")
    fired = {"id": "a-1", "time": "2026-01-05T10:00:00Z", "name": "DBDown", "service": "db",
             "severity": "critical"}  # fmt: skip
    resolved = {**fired, "id": "a-2", "time": "2026-01-05T10:01:00Z", "status": "resolved"}
    kafka_broker.produce(d.topics.alerts, [(b"", orjson.dumps(x)) for x in (fired, resolved)])
    config = load_config()
    service = Service(
        Settings(kafka_broker.bootstrap_servers, d.topics, d.group, idle_advance_s=1.0),
        lambda: build_pipeline(config, Topology()),
        "digest",
    )
    try:
        service.subscribe()
        wait_for(lambda: service.poll_once() >= 0 and service.caught_up(), 60, "caught up")
        (shard,) = service.shards.values()
        clock = shard.pipeline.clock
        assert [i.status for i in shard.pipeline.store.live.values()] == ["open"]
        shard.last_record -= 400  # as if 400 s passed without a record
        service.poll_once()
        assert shard.pipeline.clock is not None and clock is not None
        assert shard.pipeline.clock - clock >= 400
        service.checkpoint()
    finally:
        service.close()
    statuses = [json.loads(r.value)["status"] for r in kafka_broker.read_all(d.topics.incidents)]
    d.delete()
    assert statuses[0] == "open" and statuses[-1] == "resolved"


def test_a_rebalance_whose_assignment_never_came_is_joined_again(
    kafka_broker: KafkaBroker,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    """kafka-python 3.0.12 can lose the end of a rebalance that completes between two polls
    (seen in this suite: revoked, then no assignment for minutes). The service notices that
    a revoke was not followed by an assignment and joins the group again."""
    from aiops.wiring import build_pipeline
    from connectors.kafka.service import Service
    from connectors.kafka.settings import Settings
    from pipeline.topology import Topology

    d = Deployment.create(kafka_broker, "lost")
    config = load_config()
    service = Service(
        Settings(kafka_broker.bootstrap_servers, d.topics, d.group, session_timeout_ms=6000),
        lambda: build_pipeline(config, Topology()),
        "digest",
    )
    try:
        service.subscribe()
        wait_for(lambda: service.poll_once(200) >= 0 and bool(service.shards), 60, "shards")
        service.on_revoked()  # what the lost rebalance leaves: revoked, nothing assigned
        assert service.shards == {}
        service._revoked_at = time.monotonic() - 60
        wait_for(lambda: service.poll_once(200) >= 0 and bool(service.shards), 60, "shards back")
    finally:
        service.close()
        d.delete()
    assert "joining the group again" in caplog.text


def test_feedback_topic_teaches_the_ranker_once_across_a_restart(
    kafka_broker: KafkaBroker,  # noqa: F811
) -> None:
    """Verdicts on the feedback topic reach the shard's ranker (a record without context is
    completed by the shard that ranked the incident), a bad one is dead-lettered with the
    reason, and a restored shard does not learn the same verdicts twice."""
    from aiops.wiring import build_pipeline
    from connectors.kafka.service import Service
    from connectors.kafka.settings import Settings
    from pipeline.topology import Topology

    d = Deployment.create(kafka_broker, "feedback")
    fired = {"id": "a-1", "time": "2026-01-05T10:00:00Z", "name": "DBDown", "service": "db",
             "severity": "critical"}  # fmt: skip
    kafka_broker.produce(d.topics.alerts, [(b"", orjson.dumps(fired))])
    config = load_config()

    def service() -> Service:
        return Service(
            Settings(kafka_broker.bootstrap_servers, d.topics, d.group),
            lambda: build_pipeline(config, Topology()),
            "digest",
        )

    def ranker_of(s: Service):
        (shard,) = s.shards.values()
        return shard, shard.pipeline.enrichers[0]

    first = service()
    try:
        first.subscribe()
        wait_for(lambda: first.poll_once(200) >= 0 and first.caught_up(), 60, "caught up")
        shard, ranker = ranker_of(first)
        (incident,) = shard.pipeline.store.live
        context = ranker.context_of(incident)
        assert context is not None and ranker.feedback_seen == 0
        # Without context: the shard that ranked the incident completes it.
        code = main(
            ["feedback", "--incident", incident, "--root", "db", "--by", "alice",
             "--bootstrap-servers", kafka_broker.bootstrap_servers,
             "--feedback-topic", d.topics.feedback]
        )  # fmt: skip
        assert code == 0
        verdicts = [
            b"not json",
            {"incident": "inc-elsewhere", "root": "db", "context": context},  # teaches alone
        ]
        kafka_broker.produce(
            d.topics.feedback,
            [(None, v if isinstance(v, bytes) else orjson.dumps(v)) for v in verdicts],
        )
        wait_for(lambda: first.poll_once(200) >= 0 and ranker.feedback_seen == 2, 60, "learned")
        assert shard.feedback_next == {0: 3}
        assert len(ranker.history) == 2  # both verdicts became past cases
        first.checkpoint()
    finally:
        first.close()
    letters = [json.loads(r.value) for r in kafka_broker.read_all(d.topics.dead_letter)]
    assert [(x["topic"], x["offset"]) for x in letters] == [(d.topics.feedback, 1)]
    assert "invalid JSON" in letters[0]["error"]

    second = service()
    try:
        second.subscribe()
        wait_for(
            lambda: (
                second.poll_once(200) >= 0
                and second.caught_up()
                and len(second.feedback.records.get(0, ())) == 3
            ),
            # A join that kafka-python 3.0.12 loses right after the restore costs 2 x the
            # session timeout before the service joins again (Service._recover_lost_rebalance),
            # then a rebalance. Seen in 7 of ~50 runs during one busy half hour; in the one
            # traced, the assignment came as 60 s ran out.
            90,
            "restored and feedback read",
        )
        second.poll_once(200)
        shard, ranker = ranker_of(second)
        assert shard.feedback_next == {0: 3}
        assert (ranker.feedback_seen, len(ranker.history)) == (2, 2)  # nothing learned twice
        assert second.records_processed == 0  # restored past the alert and the verdicts
    finally:
        second.close()
        d.delete()


def test_metric_samples_on_their_topic_give_replays_anomaly_incidents(
    kafka_broker: KafkaBroker,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Samples on the metrics topic become anomaly alerts in the shard's pipeline, merged
    with the alerts in replay's order: the same incidents as `aiops replay --metrics`."""
    import random

    rng = random.Random(5)
    t0 = 1767600000
    samples = [
        {"time": t0 + 60 * i, "service": "payments-db", "resource": "payments-db-1",
         "metric": "latency_ms", "value": 50 + rng.gauss(0, 2) + (400 if i >= 300 else 0)}
        for i in range(360)
    ]  # fmt: skip
    alerts = [
        {"id": "p1", "time": t0 + 60 * 302, "name": "HighLatency", "service": "payments",
         "severity": "major"},
        {"id": "c1", "time": t0 + 60 * 303, "name": "Errors", "service": "checkout",
         "severity": "major"},
    ]  # fmt: skip
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(s) + "\n" for s in samples))
    (tmp_path / "alerts.jsonl").write_text("".join(json.dumps(a) + "\n" for a in alerts))
    (tmp_path / "bad.jsonl").write_text('{"time": 1767600000, "service": "x"}\n')
    topology = tmp_path / "topology.yaml"
    topology.write_text(
        "services:\n  checkout: {depends_on: [payments]}\n"
        "  payments: {depends_on: [payments-db]}\n  payments-db: {}\n"
    )
    code = main(
        ["replay", "--alerts", str(tmp_path / "alerts.jsonl"),
         "--metrics", str(tmp_path / "metrics.jsonl"), "--topology", str(topology),
         "--out", str(tmp_path / "replay"), "--no-progress"]
    )  # fmt: skip
    assert code == 0
    rows = (tmp_path / "replay/incidents.jsonl").read_text().splitlines()
    replayed = {r["id"]: r for r in map(json.loads, rows)}
    expected = live_groups(replayed)
    assert any({"p1", "c1"} < set(g) for g in expected)  # the anomaly joined the incident

    d = Deployment.create(kafka_broker, "metrics")
    try:
        for flag, path in (("--metrics", "metrics.jsonl"), ("--alerts", "alerts.jsonl")):
            code = main(
                ["produce", "--bootstrap-servers", kafka_broker.bootstrap_servers,
                 "--alerts-topic", d.topics.alerts, "--metrics-topic", d.topics.metrics,
                 flag, str(tmp_path / path), "--no-progress"]
            )  # fmt: skip
            assert code == 0
        kafka_broker.produce(d.topics.metrics, [(b"", (tmp_path / "bad.jsonl").read_bytes())])
        d.run_until_caught_up(topology=topology)
        latest = d.latest_incidents()
        letters = [json.loads(r.value) for r in kafka_broker.read_all(d.topics.dead_letter)]
    finally:
        d.delete()
    assert live_groups(latest) == expected
    assert {i: r["alert_ids"] for i, r in latest.items()} == {
        i: r["alert_ids"] for i, r in replayed.items()
    }
    assert [(x["topic"], x["offset"]) for x in letters] == [(d.topics.metrics, 360)]
    assert "value" in letters[0]["error"]
