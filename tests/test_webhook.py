"""`aiops webhook`'s receiver: HTTP in, Kafka out, 2xx only after the broker's ack; and a
real Prometheus Alertmanager (Debian's prometheus-alertmanager) delivering to it."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from kafka.errors import KafkaTimeoutError

from connectors.formats import parse_alert_payload
from connectors.telemetry import WebhookMetrics
from connectors.webhook import AlertReceiver, ReceiverSettings, WebhookServer, make_producer
from tests.format_samples import CANONICAL, am_alert, am_payload, cloudevent, pd_trigger
from tests.kafka_helpers import KafkaBroker, kafka_broker  # noqa: F401  (the fixture)
from tests.service_helpers import AIOPS, REPO, Deployment, free_port, live_groups, wait_for

TOKEN = "s3cret-token"


class Endpoint:
    def __init__(self, port: int) -> None:
        self.port = port

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> tuple[int, dict | str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read().decode()
        finally:
            conn.close()
        try:
            return response.status, json.loads(data)
        except ValueError:
            return response.status, data

    def post(self, obj: object, token: str | None = TOKEN) -> tuple[int, dict | str]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.request("POST", "/alerts", orjson.dumps(obj), headers)


@pytest.fixture
def receiver(kafka_broker: KafkaBroker) -> Iterator[tuple[Endpoint, str]]:  # noqa: F811
    topic = kafka_broker.create_topic("webhook-alerts")
    producer = make_producer(kafka_broker.bootstrap_servers)
    metrics = WebhookMetrics()
    settings = ReceiverSettings(topic, "env", token=TOKEN, max_body_bytes=64 * 1024)
    server = WebhookServer(("127.0.0.1", 0), AlertReceiver(producer, settings, metrics), metrics)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Endpoint(server.server_port), topic
    finally:
        server.shutdown()
        server.server_close()
        producer.close()
        kafka_broker.delete_topics([topic])


def test_every_format_is_produced_keyed_by_scope_after_the_ack(
    kafka_broker: KafkaBroker,  # noqa: F811
    receiver: tuple[Endpoint, str],
) -> None:
    endpoint, topic = receiver
    grouped = am_payload(am_alert(pod="p-1", env="prod"), am_alert(pod="p-2", env="qa"))
    status, body = endpoint.post(grouped)
    assert (status, body["accepted"], body["format"]) == (202, 2, "alertmanager")
    assert endpoint.post({**CANONICAL, "labels": {"env": "dev"}})[0] == 202
    status, body = endpoint.post(pd_trigger())
    assert (status, body["format"], body["dedup_key"]) == (202, "pagerduty", "pg-main-2/disk/var")
    status, body = endpoint.post(cloudevent(data={**CANONICAL, "id": "a-9", "env": "qa"}))
    assert (status, body["format"]) == (202, "cloudevents")
    records = kafka_broker.read_all(topic)
    assert [r.key for r in records] == [b"prod", b"qa", b"dev", b"", b"qa"]
    alerts = [a for r in records for a in parse_alert_payload(orjson.loads(r.value)).alerts]
    assert len(alerts) == 5


def test_bad_requests_get_4xx_with_a_reason_and_produce_nothing(
    kafka_broker: KafkaBroker,  # noqa: F811
    receiver: tuple[Endpoint, str],
) -> None:
    endpoint, topic = receiver
    assert endpoint.post(CANONICAL, token=None)[0] == 401
    assert endpoint.post(CANONICAL, token="wrong")[0] == 401
    status, body = endpoint.request(
        "POST", "/alerts", b"{oops", {"Authorization": f"Bearer {TOKEN}"}
    )
    assert status == 400 and body["error"].startswith("invalid JSON")
    status, body = endpoint.post({"hello": "world"})
    assert status == 400 and "unrecognised alert payload" in body["error"]
    status, body = endpoint.post(am_payload({"labels": {"service": "s"}, "startsAt": "x"}))
    assert status == 400 and body["rejected"][0]["index"] == 0
    big = {**CANONICAL, "summary": "x" * 70_000}
    assert endpoint.post(big)[0] == 413
    assert endpoint.request("GET", "/nowhere")[0] == 404
    assert (
        endpoint.request("POST", "/elsewhere", b"{}", {"Authorization": f"Bearer {TOKEN}"})[0]
        == 404
    )
    with socket.create_connection(("127.0.0.1", endpoint.port), timeout=10) as raw:
        raw.sendall(
            f"POST /alerts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
        )
        assert raw.recv(100).startswith(b"HTTP/1.1 411")
    assert kafka_broker.read_all(topic, timeout_s=10) == []
    assert endpoint.request("GET", "/healthz") == (200, "ok\n")
    status, text = endpoint.request("GET", "/metrics")
    assert status == 200 and 'aiops_webhook_requests_total{code="401"} 2.0' in text


def test_no_ack_from_kafka_means_503() -> None:
    class Unacknowledged:
        def get(self, timeout: float) -> None:
            raise KafkaTimeoutError("no ack")

    class Producer:
        def send(self, *args: object, **kwargs: object) -> Unacknowledged:
            return Unacknowledged()

    receiver = AlertReceiver(Producer(), ReceiverSettings("t", "env"), WebhookMetrics())  # type: ignore[arg-type]
    status, body = receiver.accept(orjson.dumps(CANONICAL), time.time())
    assert status == 503 and "did not acknowledge" in body["error"]


# ---- a real Alertmanager -------------------------------------------------------------------
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def _alertmanager_or_skip() -> None:
    if ALERTMANAGER is None:
        reason = "prometheus-alertmanager is not installed (Debian: prometheus-alertmanager)"
        if os.environ.get("AIOPS_REQUIRE_ALERTMANAGER", "") in ("1", "true", "yes"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


def _alertmanager(command: str, env: dict[str, str]) -> str:
    """Run scripts/alertmanager-local COMMAND (it writes the config: one webhook receiver)."""
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "alertmanager-local"), command],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.slow
def test_a_real_alertmanager_delivers_through_the_webhook_to_incidents(
    kafka_broker: KafkaBroker,  # noqa: F811
    tmp_path: Path,
) -> None:
    _alertmanager_or_skip()
    d = Deployment.create(kafka_broker, "alertmanager")
    webhook_port, am_port = free_port(), free_port()
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    webhook = subprocess.Popen(
        [*AIOPS, "webhook", "--bootstrap-servers", kafka_broker.bootstrap_servers,
         "--alerts-topic", d.topics.alerts, "--host", "127.0.0.1", "--port", str(webhook_port),
         "--token-file", str(token_file)],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "webhook.log", "wb"),  # noqa: SIM115
    )  # fmt: skip
    am_env = {
        "AM_PORT": str(am_port),
        "AM_DIR": str(tmp_path / "alertmanager"),
        "AIOPS_WEBHOOK_URL": f"http://127.0.0.1:{webhook_port}/alerts",
        "AIOPS_WEBHOOK_TOKEN": TOKEN,
    }
    assert "started" in _alertmanager("start", am_env)
    base = f"http://127.0.0.1:{am_port}"
    try:
        wait_for(
            lambda: (
                _ready(f"{base}/-/ready") and _ready(f"http://127.0.0.1:{webhook_port}/healthz")
            ),
            30,
            "alertmanager and webhook",
        )
        starts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
        injected = [
            {"labels": {"alertname": "PostgresDown", "service": "payments-db", "env": "prod",
                        "severity": "critical", "instance": "pg-1"},
             "annotations": {"summary": "payments-db is down"}, "startsAt": starts},
            {"labels": {"alertname": "HighLatency", "service": "checkout", "env": "prod",
                        "severity": "major", "instance": "checkout-1"},
             "annotations": {"summary": "p99 2.3s"}, "startsAt": starts},
            {"labels": {"alertname": "DiskFull", "service": "reports", "env": "staging",
                        "severity": "critical", "instance": "reports-1"},
             "annotations": {"summary": "disk 99%"}, "startsAt": starts},
        ]  # fmt: skip
        request = urllib.request.Request(
            f"{base}/api/v2/alerts",
            data=orjson.dumps(injected),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        assert urllib.request.urlopen(request, timeout=10).status == 200
        wait_for(lambda: len(_alerts_on(kafka_broker, d)) >= 3, 60, "three alerts on the topic")
        fingerprints = {
            a["labels"]["alertname"]: a["fingerprint"]
            for a in json.load(urllib.request.urlopen(f"{base}/api/v2/alerts", timeout=10))
        }
    finally:
        assert "stopped" in _alertmanager("stop", am_env)
        webhook.terminate()
        assert webhook.wait(30) == 0
    records = kafka_broker.read_all(d.topics.alerts)
    alerts = _alerts_on(kafka_broker, d)
    assert {a.name: a.fingerprint for a in alerts} == fingerprints  # Alertmanager's own, kept
    keys = {parse_alert_payload(orjson.loads(r.value)).alerts[0].name: r.key for r in records}
    assert keys == {"PostgresDown": b"prod", "HighLatency": b"prod", "DiskFull": b"staging"}
    assert all(orjson.loads(r.value)["receiver"] == "aiops" for r in records)

    # And on through the correlator: every alert ends in an incident (all are major+).
    d.run_until_caught_up()
    incidents = d.latest_incidents()
    d.delete()
    assert sorted(a for g in live_groups(incidents) for a in g) == sorted(a.id for a in alerts)


def _alerts_on(broker: KafkaBroker, d: Deployment) -> list:
    records = broker.read_all(d.topics.alerts, timeout_s=10)
    return [a for r in records for a in parse_alert_payload(orjson.loads(r.value)).alerts]


def _ready(url: str) -> bool:
    try:
        return urllib.request.urlopen(url, timeout=2).status == 200
    except OSError:
        return False
