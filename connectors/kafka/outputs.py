"""What the service produces: incidents, predictions, suppressed alerts, dead letters and
snapshots, through one idempotent producer (acks=all), with the metrics that go with them.

Sends are asynchronous; `flush` waits for the broker's acknowledgement of everything sent
so far and raises `OutputError` if any send failed, so the caller commits nothing that an
unacknowledged output came from.
"""

from __future__ import annotations

import time
from collections import Counter

from kafka import KafkaProducer
from kafka.errors import KafkaError

from connectors.kafka import messages
from connectors.kafka.messages import MessageDeadLetter
from connectors.kafka.topics import CHECKPOINT_MAX_BYTES, Topics
from connectors.telemetry import ServiceMetrics
from pipeline.engine import Drained
from pipeline.incidents import MERGED, OPEN, RESOLVED


class OutputError(RuntimeError):
    """The broker did not acknowledge an output: nothing after the last checkpoint may be
    committed, and the service restarts from it."""


class OutputWriter:
    def __init__(
        self, bootstrap_servers: str, client_id: str, topics: Topics, metrics: ServiceMetrics
    ) -> None:
        self.topics = topics
        self.metrics = metrics
        self.errors: list[BaseException] = []
        self._unacked_polls: list[float] = []
        self.producer = KafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            batch_size=256 * 1024,
            max_request_size=CHECKPOINT_MAX_BYTES,  # snapshots go through this producer too
        )

    def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        self.producer.send(topic, key=key, value=value).add_errback(self.errors.append)

    def dead_letter(self, letter: MessageDeadLetter) -> None:
        self.metrics.dead_letters.labels(letter.topic).inc()
        self.send(self.topics.dead_letter, *messages.dead_letter_message(letter))

    def emit(self, drained: Drained, statuses: dict[str, str]) -> None:
        """Produce a shard's drained outputs. `statuses` (incident id -> last emitted status,
        live incidents only) turns status changes into opened/resolved counts."""
        m = self.metrics
        for inc in drained.incidents:
            self.send(self.topics.incidents, *messages.incident_message(inc))
            m.incident_updates.inc()
            before = statuses.get(inc.id)
            # An incident may open and resolve between two drains: count both.
            if (before is None and inc.status != MERGED) or (inc.status == OPEN != before):
                m.incidents_opened.inc()
            if inc.status == RESOLVED != before:
                m.incidents_resolved.inc()
            if inc.status == MERGED:
                statuses.pop(inc.id, None)
            else:
                statuses[inc.id] = inc.status
        for inc in drained.final:
            statuses.pop(inc.id, None)
        for prediction in drained.predictions:
            m.predictions.inc()
            self.send(self.topics.predictions, *messages.prediction_message(prediction))
        # Most alerts of a storm end suppressed: count them per reason, not one by one
        # (a labelled child's lookup costs more than the rest of this loop).
        reasons: Counter[str] = Counter()
        for s in drained.suppressed:
            reasons[s.reason.split(" ", 1)[0].rstrip(":")] += 1
            if self.topics.suppressed:
                self.send(self.topics.suppressed, *messages.suppressed_message(s))
        for reason, n in reasons.items():
            m.suppressed.labels(reason).inc(n)

    def polled(self, at: float) -> None:
        """Outputs of records polled at `at` (monotonic) were sent; `flush` times their ack."""
        self._unacked_polls.append(at)

    def flush(self) -> None:
        """Wait until the broker acknowledged every output so far, or raise OutputError."""
        try:
            self.producer.flush()
        except KafkaError as exc:  # a fatal producer error surfaces here, not in a future
            self.errors.append(exc)
        if self.errors:
            raise OutputError(f"an output was not acknowledged: {self.errors[0]!r}")
        now = time.monotonic()
        for at in self._unacked_polls:
            self.metrics.poll_to_ack.observe(now - at)
        self._unacked_polls.clear()

    def close(self) -> None:
        self.producer.close()
