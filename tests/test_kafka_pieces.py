"""The Kafka service's pure parts, without a broker: merge order, message decoding and
keying, snapshot format."""

from __future__ import annotations

import random

import orjson
import pytest

from connectors.files import merge_streams
from connectors.formats import parse_alert_payload
from connectors.kafka.checkpoint import FORMAT_VERSION, Snapshot, SnapshotError, state_digest
from connectors.kafka.messages import (
    MessageDeadLetter,
    alert_messages,
    change_message,
    decode_alerts,
    decode_change,
    keyed_payloads,
)
from connectors.kafka.ordering import ALERTS, CHANGES, METRICS, ShardMerger
from pipeline.config import load_config
from pipeline.records import Alert, Change, MetricSample
from tests.format_samples import am_alert, am_payload
from tests.helpers import T0, alert, change, pipeline, run


def _streams(seed: int) -> tuple[list[Alert], list[Change], list[MetricSample]]:
    rng = random.Random(seed)
    alerts = [alert(f"a-{i}", rng.uniform(0, 600), "X", "svc") for i in range(60)]
    changes = [change(f"c-{i}", rng.uniform(0, 600), "svc") for i in range(8)]
    changes.sort(key=lambda c: c.time)
    # Samples every 15 s; a few arrive late (out of order), like alerts do.
    samples = [
        MetricSample(T0 + 15 * i + rng.choice([0, 0, 0, -40]), "cpu", 1.0, "svc", "svc-1")
        for i in range(40)
    ]
    return alerts, changes, samples


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("batch", [1, 7, 100])
def test_merger_on_a_backlog_gives_merge_streams_order(seed: int, batch: int) -> None:
    """However the three partitions arrive in polls, a backlog is released in replay's
    order."""
    alerts, changes, samples = _streams(seed)
    expected = [_name(r) for r in merge_streams(alerts, changes, samples)]
    merger = ShardMerger()
    sources: dict[int, list] = {ALERTS: alerts, CHANGES: changes, METRICS: samples}
    fed = dict.fromkeys(sources, 0)
    out: list[str] = []
    rng = random.Random(seed)
    while len(out) < len(expected):
        stream = rng.choice(list(sources))
        start = fed[stream]
        for offset in range(start, min(start + batch, len(sources[stream]))):
            merger.add(stream, offset, [sources[stream][offset]])
        fed[stream] = min(start + batch, len(sources[stream]))
        # A stream is exhausted only once all of it was fetched.
        done = {s: fed[s] == len(sources[s]) for s in sources}
        out.extend(_name(p.record) for _, p in merger.release(lambda s, done=done: done[s]))
    assert out == expected


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("batch", [1, 5, 50])
def test_merger_breaks_ties_and_passes_dead_letters_like_merge_streams(
    seed: int, batch: int
) -> None:
    """Equal times across streams (alerts, then changes, then samples), undated dead letters
    in every stream, and late records: still replay's order, however the polls cut it (the
    merger releases runs of one stream; a run must stop exactly where another head ties)."""
    rng = random.Random(seed)

    def stream(kind: str, n: int) -> list[object]:
        out: list[object] = []
        t = 0
        for i in range(n):
            t += rng.choice([0, 0, 1, 2])  # many equal times, within and across streams
            late = rng.random() < 0.1
            if rng.random() < 0.1:
                out.append(MessageDeadLetter(kind, 0, i, "bad", None))
            elif kind == "a":
                out.append(alert(f"a-{i}", t - 3 * late, "X", "svc"))
            elif kind == "c":
                out.append(change(f"c-{i}", t - 3 * late, "svc"))
            else:
                out.append(MetricSample(T0 + t - 3 * late, "cpu", float(i), "svc", "svc-1"))
        return out

    sources: dict[int, list] = {ALERTS: stream("a", 80), CHANGES: stream("c", 30)}
    sources[METRICS] = stream("m", 40)
    expected = [_name(r) for r in merge_streams(*sources.values())]
    merger = ShardMerger()
    fed = dict.fromkeys(sources, 0)
    out: list[str] = []
    while len(out) < len(expected):
        s = rng.choice(list(sources))
        start, end = fed[s], min(fed[s] + batch, len(sources[s]))
        for offset in range(start, end):
            merger.add(s, offset, [sources[s][offset]])
        fed[s] = end
        done = {k: fed[k] == len(sources[k]) for k in sources}
        out.extend(_name(p.record) for _, p in merger.release(lambda k, done=done: done[k]))
    assert out == expected


def _name(record: object) -> str:
    if isinstance(record, MetricSample):
        return f"m{record.value:.0f}@{record.time}"
    if isinstance(record, MessageDeadLetter):
        return f"{record.topic}-dead-{record.offset}"
    return record.id  # type: ignore[attr-defined]


def test_merger_holds_records_while_the_other_stream_may_have_earlier_ones() -> None:
    merger = ShardMerger()
    merger.add(ALERTS, 0, [alert("a-1", 10, "X", "svc")])
    assert list(merger.release(lambda s: False)) == []
    assert list(merger.release(lambda s: s != METRICS)) == []  # one silent stream is enough
    assert merger.first_offset(ALERTS) == 0
    letter = MessageDeadLetter("t", 0, 5, "bad", b"x")
    merger.add(CHANGES, 5, [letter])  # undated: goes as soon as it is a head
    released = list(merger.release(lambda s: False))
    assert [p.record for _, p in released] == [letter]
    assert [p.record.id for _, p in merger.release(lambda s: s != ALERTS)] == ["a-1"]
    assert len(merger) == 0 and merger.first_offset(ALERTS) is None


def test_decode_alerts_turns_bad_messages_and_bad_alerts_into_dead_letters() -> None:
    assert decode_alerts("al", 2, 9, None, None)[0].error == "empty message (no value)"
    bad = decode_alerts("al", 2, 9, b"{nope", 1)
    assert isinstance(bad[0], MessageDeadLetter) and bad[0].error.startswith("invalid JSON")
    assert bad[0].to_dict() == {
        "error": bad[0].error,
        "raw": "{nope",
        "topic": "al",
        "partition": 2,
        "offset": 9,
    }
    payload = am_payload(am_alert(pod="p-1", env="prod"), am_alert(pod="p-2", env="prod"))
    payload["alerts"].append({"labels": {"service": "x"}, "startsAt": "2026-01-05T10:00:00Z"})
    decoded = decode_alerts("al", 0, 3, orjson.dumps(payload), 1767607200000)
    letters = [d for d in decoded if isinstance(d, MessageDeadLetter)]
    assert len(letters) == 1 and letters[0].index == len(payload["alerts"]) - 1
    assert letters[0].key == f"al/0/3/{letters[0].index}".encode()
    assert all(isinstance(d, Alert) for d in decoded[:-1])


def test_undated_events_are_dated_by_the_broker_timestamp() -> None:
    event = {
        "routing_key": "r",
        "event_action": "trigger",
        "payload": {"summary": "s", "source": "db-1", "severity": "error"},
    }
    (decoded,) = decode_alerts("al", 0, 0, orjson.dumps(event), 1767607200500)
    assert isinstance(decoded, Alert) and decoded.time == 1767607200.5


def test_decode_change() -> None:
    ok = decode_change("ch", 0, 1, b'{"id": "C1", "time": 1767607200, "service": "s"}')
    assert isinstance(ok, Change) and ok.service == "s"
    bad = decode_change("ch", 0, 2, b'{"id": "C1", "time": 1767607200}')
    assert isinstance(bad, MessageDeadLetter) and "service" in bad.error


def test_keys_follow_the_scope_label() -> None:
    line = orjson.dumps(
        {"id": "a", "time": T0, "name": "X", "service": "s", "labels": {"cluster": "eu-1"}}
    )
    assert alert_messages(line, "cluster") == [(b"eu-1", line)]
    assert alert_messages(line, "env") == [(b"", line)]
    assert alert_messages(b"garbage", "env") == [(b"", b"garbage")]
    assert change_message(b'{"id": "C", "env": "prod"}', "env") == (
        b"prod",
        b'{"id": "C", "env": "prod"}',
    )
    assert change_message(b'{"id": "C", "labels": {"env": "qa"}}', "env")[0] == b"qa"


def test_a_webhook_payload_of_two_scopes_is_split_without_changing_ids() -> None:
    payload = am_payload(
        am_alert(pod="p-1", env="prod"),
        am_alert(pod="p-2", env="qa"),
        am_alert(pod="p-3", env="prod"),
    )
    parsed = parse_alert_payload(payload)
    split = keyed_payloads(payload, parsed, "env")
    assert [(k, len(p["alerts"])) for k, p in split] == [(b"prod", 2), (b"qa", 1)]
    ids = [a.id for _, p in split for a in parse_alert_payload(p).alerts]
    assert sorted(ids) == sorted(a.id for a in parsed.alerts)
    assert [k for k, _ in alert_messages(orjson.dumps(payload), "env")] == [b"prod", b"qa"]


def test_snapshot_round_trip_keeps_the_pipeline_and_refuses_other_builds() -> None:
    p = pipeline()
    run(p, [alert("a-1", 0, "DBDown", "payments-db", severity="critical")])
    digest = state_digest(load_config(), b"topology")
    value = Snapshot(0, {"alerts": 12, "changes": 3}, p, digest, 1.0).encode()
    back = Snapshot.decode(value, digest)
    assert back.offsets == {"alerts": 12, "changes": 3} and back.shard == 0
    # The restored pipeline continues exactly like the original.
    more = [alert("a-2", 30, "HighLatency", "payments", severity="major")]
    assert run(back.pipeline, list(more)) == run(p, list(more))
    with pytest.raises(SnapshotError, match="another configuration"):
        Snapshot.decode(value, state_digest(load_config(), b"other topology"))
    other = FORMAT_VERSION + 1  # a snapshot written by another build
    with pytest.raises(SnapshotError, match=f"format {other}"):
        Snapshot.decode(value[:8] + other.to_bytes(2, "big") + value[10:], digest)
    # A compiled core's snapshot on a pure-Python one and back (their pickles do not mix).
    other_build = (1 - value[10]).to_bytes(1, "big")
    with pytest.raises(SnapshotError, match=r"snapshot of a (compiled|pure Python) core, this"):
        Snapshot.decode(value[:10] + other_build + value[11:], digest)
    with pytest.raises(SnapshotError, match="cannot read"):
        Snapshot.decode(value[:20], digest)
    with pytest.raises(SnapshotError, match="not an aiops snapshot"):
        Snapshot.decode(b"x" * 20, digest)


def test_tune_gc_freezes_the_startup_heap_and_raises_the_young_threshold() -> None:
    import gc

    from connectors.kafka.service import YOUNG_GC_THRESHOLD, tune_gc

    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_GC_THRESHOLD, *before[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
