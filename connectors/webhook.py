"""The HTTP receiver behind `aiops webhook`: alert payloads in, Kafka messages out.

POST a payload in any supported format (Alertmanager webhook v4, PagerDuty Events v2,
CloudEvents 1.0 structured JSON, canonical JSON) to `/alerts` (also `/` and PagerDuty's
`/v2/enqueue`). The payload is validated with the same parser the service uses, split by
correlation scope if it carries several (an Alertmanager group), and produced to the alerts
topic keyed by scope; the answer waits for the broker's acknowledgement:

- 202 with `accepted` and `rejected` (alerts of the payload that cannot be used: they are
  forwarded too, so the service dead-letters them with the reason);
- 400 a payload that is not JSON or that no parser accepts, with the reason; 401 a missing
  or wrong bearer token; 411 no Content-Length; 413 a body over the limit;
- 503 when Kafka did not acknowledge in time: the sender retries (Alertmanager does on 5xx).

`GET /healthz` answers 200; `GET /metrics` serves the receiver's Prometheus metrics.

The standard library's ThreadingHTTPServer is enough here: three routes, one blocking wait
per request (the broker's ack) that a thread per connection expresses directly, and no
dependency to keep up to date.
"""

from __future__ import annotations

import hmac
import logging
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from kafka import KafkaProducer
from kafka.errors import KafkaError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from connectors.formats import parse_alert_payload
from connectors.kafka.messages import keyed_payloads
from connectors.telemetry import WebhookMetrics
from pipeline.records import RecordError

log = logging.getLogger(__name__)

POST_PATHS = ("/alerts", "/", "/v2/enqueue")
DEFAULT_PORT = 9095
DEFAULT_MAX_BODY = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ReceiverSettings:
    alerts_topic: str
    scope_label: str
    token: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY
    ack_timeout_s: float = 30.0


class AlertReceiver:
    """Validates a payload, produces it keyed by scope, and waits for the broker."""

    def __init__(
        self, producer: KafkaProducer, settings: ReceiverSettings, metrics: WebhookMetrics
    ) -> None:
        self.producer = producer
        self.settings = settings
        self.metrics = metrics

    def accept(self, body: bytes, received_at: float) -> tuple[int, dict[str, Any]]:
        try:
            obj = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            return 400, {"error": f"invalid JSON: {exc}"}
        try:
            parsed = parse_alert_payload(obj, received_at=received_at)
        except RecordError as exc:
            return 400, {"error": str(exc)}
        rejected = [{"index": i, "error": reason} for i, reason in parsed.errors]
        if not parsed.alerts:
            return 400, {"error": "no usable alert in the payload", "rejected": rejected}
        futures = [
            self.producer.send(self.settings.alerts_topic, key=key, value=orjson.dumps(payload))
            for key, payload in keyed_payloads(obj, parsed, self.settings.scope_label)
        ]
        try:
            for future in futures:
                future.get(timeout=self.settings.ack_timeout_s)
        except KafkaError as exc:
            log.warning("Kafka did not acknowledge a payload: %s", exc)
            return 503, {"error": f"Kafka did not acknowledge the alerts: {exc}"}
        self.metrics.alerts.labels(parsed.format).inc(len(parsed.alerts))
        answer: dict[str, Any] = {
            "status": "success",
            "format": parsed.format,
            "accepted": len(parsed.alerts),
            "rejected": rejected,
        }
        if parsed.format == "pagerduty" and parsed.alerts[0].fingerprint:
            answer["dedup_key"] = parsed.alerts[0].fingerprint  # what PagerDuty answers too
        return 202, answer


class _Handler(BaseHTTPRequestHandler):
    server: WebhookServer
    protocol_version = "HTTP/1.1"  # keep-alive: Alertmanager reuses connections
    timeout = 30  # seconds a client may take to send its request

    def do_POST(self) -> None:
        started = time.monotonic()
        code, body = self._post()
        self._reply(code, body)
        self.server.metrics.latency.observe(time.monotonic() - started)

    def _post(self) -> tuple[int, dict[str, Any]]:
        settings = self.server.receiver.settings
        if self.path.split("?", 1)[0] not in POST_PATHS:
            return 404, {"error": f"POST to {POST_PATHS[0]}"}
        if settings.token is not None:
            given = self.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {settings.token}".encode()):
                return 401, {"error": "missing or wrong bearer token"}
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            self.close_connection = True
            return 411, {"error": "Content-Length required"}
        try:
            length = int(length_header)
        except ValueError:
            self.close_connection = True
            return 400, {"error": "bad Content-Length"}
        if length > settings.max_body_bytes:
            self.close_connection = True  # the unread body must not be taken for a request
            return 413, {"error": f"body over {settings.max_body_bytes} bytes"}
        body = self.rfile.read(length)
        return self.server.receiver.accept(body, time.time())

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._send(200, b"ok\n", "text/plain")
        elif self.path == "/metrics":
            self._send(200, generate_latest(self.server.metrics.registry), CONTENT_TYPE_LATEST)
        else:
            self._reply(404, {"error": "not found"})

    def _reply(self, code: int, body: dict[str, Any]) -> None:
        self.server.metrics.requests.labels(str(code)).inc()
        self._send(code, orjson.dumps(body) + b"\n", "application/json")

    def _send(self, code: int, data: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if code == 401:
            self.send_header("WWW-Authenticate", "Bearer")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class WebhookServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], receiver: AlertReceiver, metrics: WebhookMetrics
    ) -> None:
        self.receiver = receiver
        self.metrics = metrics
        super().__init__(address, _Handler)


def make_producer(bootstrap_servers: str) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id="aiops-webhook",
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
    )
