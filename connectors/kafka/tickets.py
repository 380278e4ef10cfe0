"""The ticket topics: `aiops.tickets` in (one message per ticket update), `aiops.forecasts` out.

A ticket update message is a JSON object with the columns of a ServiceNow-style export
(CONTRACT.md §1.4: `number`, `opened_at`, and where present `priority`, `category`,
`assignment_group`, `cmdb_ci`, `resolved_at`, `closed_at`, `closed_code`, ...; times as in the
export, `d/m/Y H:M`), so a row of the file and a message fold the same way. Forecasts are
planned on a schedule (capacity planners read them daily), so the forecast commands read the
topic whole, from its beginning to the end offsets seen at the start: no consumer group, no
offsets to lose, the same answer as the same rows in a file. The topic is the ticket history:
give it a retention that covers the history the forecast needs (8 weeks or more).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from connectors.files import RAW_LIMIT, DeadLetter
from connectors.tickets import TicketLoad, update_from_row
from pipeline.tickets import TicketError, TicketFold


def _row(doc: Any) -> dict[str, str | None]:
    if not isinstance(doc, dict):
        raise TicketError(f"a ticket update must be a JSON object, got {type(doc).__name__}")
    return {str(k): (None if v is None else str(v)) for k, v in doc.items()}


def fold_messages(topic: str, messages: Iterable[tuple[int, int, bytes | None]]) -> TicketLoad:
    """Fold (partition, offset, value) messages into tickets; bad ones become dead letters
    named `topic/partition` with the offset as their line."""
    load = TicketLoad(fold=TicketFold())
    for partition, offset, value in messages:
        load.rows += 1
        raw = (value or b"")[:RAW_LIMIT].decode("utf-8", "replace")
        where = f"{topic}/{partition}"
        try:
            if value is None:
                raise TicketError("empty message (no value)")
            load.fold.add(update_from_row(_row(orjson.loads(value))))
        except orjson.JSONDecodeError as exc:
            load.dead_letters.append(DeadLetter(where, offset, f"invalid JSON: {exc}", raw))
        except TicketError as exc:
            load.dead_letters.append(DeadLetter(where, offset, str(exc), raw))
    return load


def read_topic(
    bootstrap_servers: str, topic: str, timeout_s: float = 60.0
) -> Iterable[tuple[int, int, bytes | None]]:
    """Every message of the topic up to the end offsets seen at the call, per partition in
    offset order. Raises TimeoutError when the end is not reached in time."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        client_id="aiops-tickets",
    )
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise LookupError(f"topic {topic} does not exist")
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning()
        end = {tp: o for tp, o in consumer.end_offsets(tps).items() if o > 0}
        out: dict[int, list[tuple[int, int, bytes | None]]] = {tp.partition: [] for tp in tps}
        waited = 0.0
        while any(consumer.position(tp) < o for tp, o in end.items()):
            batch = consumer.poll(timeout_ms=500)
            waited = 0.0 if batch else waited + 0.5
            if waited > timeout_s:
                raise TimeoutError(f"{topic}: no progress for {timeout_s:.0f} s")
            for tp, msgs in batch.items():
                out[tp.partition].extend(
                    (tp.partition, m.offset, m.value) for m in msgs if m.offset < end[tp]
                )
        return [m for p in sorted(out) for m in out[p]]
    finally:
        consumer.close(autocommit=False)


def forecast_messages(rows: Iterable[dict[str, Any]]) -> list[tuple[bytes, bytes]]:
    """(key, value) per forecast row; the key `series|timestamp` makes a re-run replace its
    earlier rows for a consumer that keeps the latest message per key."""
    return [(f"{row['series']}|{row['timestamp']}".encode(), orjson.dumps(row)) for row in rows]


def produce(bootstrap_servers: str, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    """Send and wait for every acknowledgement (raises KafkaError on failure)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", linger_ms=5)
    try:
        futures = [producer.send(topic, key=k, value=v) for k, v in messages]
        producer.flush()
        for f in futures:
            f.get(timeout=30)
    finally:
        producer.close()
